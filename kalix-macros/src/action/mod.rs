//! `#[action]`: parse -> model -> validate -> expand.

mod expand;
mod model;

pub(crate) use model::type_name;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diagnostics::Diagnostics;

/// Expands `#[action(args)] impl ... { ... }`. On errors the user's item is still emitted (with
/// the handler attributes removed) beside the errors, so one mistake gives one error.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut diagnostics = Diagnostics::default();
    let mut item: syn::ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "`#[action]` goes on an `impl` block: `#[action] impl MyAction { ... }`",
            );
            let error = error.to_compile_error();
            return quote!(#error #item);
        }
    };
    let model = model::Action::from_impl(args, &mut item, &mut diagnostics);
    match model {
        Some(model) if diagnostics.count() == 0 => {
            let generated = expand::generate(&model);
            quote!(#item #generated)
        }
        _ => {
            let errors = diagnostics.into_compile_errors();
            quote!(#item #errors)
        }
    }
}
