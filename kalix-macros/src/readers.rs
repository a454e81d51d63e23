//! What every component kind reads from its `impl` block the same way: the block's shape, the
//! type's name, the command handlers, and which handlers generate code. Kinds read through
//! here, never through a sibling kind's folder.

use syn::{Ident, ImplItem, ItemImpl, LitStr, Type};

use crate::diagnostics::Diagnostics;
use crate::handler::{ComponentKind, Handler, KnownTypes};

/// An attribute's name as written, without its path: `get` for `#[kalix_core::get(..)]`.
pub(crate) fn attribute_name(attribute: &syn::Attribute) -> String {
    attribute
        .path()
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

/// The text of `///` doc comments (`#[doc = ".."]` attributes), lines joined with newlines and
/// the one space rustdoc strips after `///` removed; empty when there are none.
pub(crate) fn doc_text(attributes: &[syn::Attribute]) -> String {
    let lines: Vec<String> = attributes
        .iter()
        .filter(|attribute| attribute.path().is_ident("doc"))
        .filter_map(|attribute| match &attribute.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value()),
            _ => None,
        })
        .flat_map(|text| {
            // `split`, not `lines`: an empty `///` line is a paragraph break to keep.
            text.split('\n')
                .map(|line| line.strip_prefix(' ').unwrap_or(line).trim_end().to_owned())
                .collect::<Vec<_>>()
        })
        .collect();
    lines.join("\n").trim().to_owned()
}

/// The type's own name, e.g. `FibonacciAction` in `impl crate::FibonacciAction`.
pub(crate) fn type_name(
    ty: &Type,
    attribute: &str,
    diagnostics: &mut Diagnostics,
) -> Option<Ident> {
    if let Type::Path(path) = ty
        && path.qself.is_none()
        && let Some(last) = path.path.segments.last()
        && last.arguments.is_none()
    {
        return Some(last.ident.clone());
    }
    diagnostics.error(
        ty,
        format!("`#[{attribute}]` goes on the `impl` block of a named, non-generic type"),
    );
    None
}

/// A component goes on an inherent, non-generic `impl` block.
pub(crate) fn check_impl(item: &ItemImpl, attribute: &str, diagnostics: &mut Diagnostics) {
    if let Some((_, trait_path, _)) = &item.trait_ {
        diagnostics.error(
            trait_path,
            format!("`#[{attribute}]` goes on an inherent `impl` block, not a trait impl"),
        );
    }
    if !item.generics.params.is_empty() {
        diagnostics.error(&item.generics, "an entity cannot be generic");
    }
}

/// The handlers that generate code: those without errors. The others were reported, and left
/// out of the generated client so the rest of the crate still sees the component.
pub(crate) fn sound(mut handlers: Vec<Handler>) -> Vec<Handler> {
    handlers.retain(|handler| !handler.failed);
    handlers
}

/// The command handlers of the block; the id parameter need not be an argument.
pub(crate) fn command_handlers(
    item: &mut ItemImpl,
    kind: ComponentKind,
    id: Option<&LitStr>,
    known: &KnownTypes,
    diagnostics: &mut Diagnostics,
) -> Vec<Handler> {
    let id_name = id.map(LitStr::value);
    let mut handlers = Vec::new();
    for impl_item in &mut item.items {
        if let ImplItem::Fn(method) = impl_item
            && let Some(handler) =
                Handler::from_method(method, kind, id_name.as_deref(), known, diagnostics)
        {
            handlers.push(handler);
        }
    }
    handlers
}
