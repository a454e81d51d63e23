//! `#[action]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[action(args)] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[action]` (`#[action] impl MyAction { ... }`)",
        model::Action::from_impl,
        expand::generate,
        expand::generate,
    )
}
