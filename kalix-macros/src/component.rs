//! The frame every component attribute shares: parse the `impl` block, build and validate the
//! kind's model, and emit the user's item with either the generated code or every error.

use proc_macro2::TokenStream;
use quote::quote;

use crate::diagnostics::Diagnostics;

/// Expands `#[attribute(args)] impl ... { ... }` with the kind's `model` and `generate` steps. On
/// errors the user's item is still emitted (handler attributes removed) beside the errors, with
/// what `recover` generates from a model that exists despite them (the component's trait impls
/// and its client, with the handlers that had no errors), so code that uses the component does
/// not fail too: one mistake gives one error.
pub(crate) fn expand<M>(
    args: TokenStream,
    item: TokenStream,
    usage: &str,
    model: impl FnOnce(TokenStream, &mut syn::ItemImpl, &mut Diagnostics) -> Option<M>,
    generate: impl FnOnce(&M) -> TokenStream,
    recover: impl FnOnce(&M) -> TokenStream,
) -> TokenStream {
    let mut item: syn::ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(&item, format!("{usage} goes on an `impl` block"));
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let mut diagnostics = Diagnostics::default();
    let model = model(args, &mut item, &mut diagnostics);
    match (model, diagnostics.check()) {
        (Some(model), Ok(())) => {
            let generated = generate(&model);
            quote!(#item #generated)
        }
        (model, checked) => {
            let recovered = model.as_ref().map(recover);
            let errors = checked.err();
            quote!(#item #recovered #errors)
        }
    }
}
