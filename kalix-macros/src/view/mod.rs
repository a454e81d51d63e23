//! `#[view]`: parse -> model -> validate -> expand. The query language is the `kalix-query`
//! crate, which the runtime parses the same text with.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[view(table = "..")] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[view]` (`#[view(table = \"customers\")] impl CustomersByName { ... }`)",
        model::View::from_impl,
        expand::generate,
        expand::generate,
    )
}
