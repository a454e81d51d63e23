//! `#[workflow(type_id = "..", id = "..")]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;

/// Expands `#[workflow(args)] impl ... { ... }`.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    crate::component::expand(
        args,
        item,
        "`#[workflow]` (`#[workflow(type_id = \"transfer\", id = \"transfer_id\")] impl TransferWorkflow { ... }`)",
        model::Workflow::from_impl,
        expand::generate,
        expand::generate,
    )
}
