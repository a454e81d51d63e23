//! `#[view]`: parse -> model -> validate -> expand. The query language has its own parser
//! (`query`), whose tree the expansion writes out for the runtime.

mod expand;
mod model;
mod query;

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
