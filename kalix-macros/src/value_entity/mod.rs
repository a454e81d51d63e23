//! `#[value_entity(type_id = "..", id = "..")]`: parse -> model -> validate -> expand.

mod expand;
mod model;

use proc_macro2::TokenStream;
use quote::quote;

use crate::diagnostics::Diagnostics;

/// Expands `#[value_entity(args)] impl ... { ... }`; on errors the user's item is still emitted.
pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut diagnostics = Diagnostics::default();
    let mut item: syn::ItemImpl = match syn::parse2(item.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new_spanned(
                &item,
                "`#[value_entity]` goes on an `impl` block: `#[value_entity(type_id = \"counter\", id = \"counter_id\")] impl CounterEntity { ... }`",
            )
            .to_compile_error();
            return quote!(#error #item);
        }
    };
    let model = model::ValueEntity::from_impl(args, &mut item, &mut diagnostics);
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
