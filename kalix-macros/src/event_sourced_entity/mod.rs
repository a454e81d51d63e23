//! `#[event_sourced_entity(type_id = "..", id = "..")]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[event_sourced_entity(args)] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[event_sourced_entity]` (`#[event_sourced_entity(type_id = \"cart\", id = \"cart_id\")] impl CartEntity { ... }`)",
        model::EventSourced::from_impl,
        expand::generate,
        expand::recover,
    )
}
