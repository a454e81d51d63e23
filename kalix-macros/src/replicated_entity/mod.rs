//! `#[replicated_entity(type_id = "..", id = "..")]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[replicated_entity(args)] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[replicated_entity]` (`#[replicated_entity(type_id = \"counter\", id = \"counter_id\")] impl CounterEntity { ... }`)",
        model::ReplicatedEntity::from_impl,
        expand::generate,
        expand::generate,
    )
}
