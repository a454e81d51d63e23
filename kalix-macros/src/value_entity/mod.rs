//! `#[value_entity(type_id = "..", id = "..")]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[value_entity(args)] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[value_entity]` (`#[value_entity(type_id = \"counter\", id = \"counter_id\")] impl CounterEntity { ... }`)",
        model::ValueEntity::from_impl,
        expand::generate,
        expand::generate,
    )
}
