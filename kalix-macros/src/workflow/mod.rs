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
        |args, item, diagnostics| match model::Workflow::from_impl(args, item, diagnostics) {
            Ok(workflow) => Some(workflow),
            Err(steps) => {
                // No model to generate from: the step constants still exist, so transitions
                // to them do not add errors of their own.
                diagnostics.recover(expand::step_constants(&item.self_ty, &steps));
                None
            }
        },
        expand::generate,
        expand::generate,
    )
}
