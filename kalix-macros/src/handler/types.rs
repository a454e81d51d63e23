//! Types read as text: generic arguments by name, the context and state types, a type for
//! messages.

use syn::spanned::Spanned;
use syn::{GenericArgument, PathArguments, Type};

/// The single type argument of `ty` if its path ends in `Name<T>`.
pub(crate) fn generic_arg<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    generic_args::<1>(ty, name).map(|[inner]| inner)
}

/// The `N` type arguments of `ty` if its path ends in `Name<T1, .., TN>`.
pub(super) fn generic_args<'a, const N: usize>(ty: &'a Type, name: &str) -> Option<[&'a Type; N]> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != name {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    let types: Vec<&Type> = args
        .args
        .iter()
        .map(|arg| match arg {
            GenericArgument::Type(ty) => Some(ty),
            _ => None,
        })
        .collect::<Option<_>>()?;
    types.try_into().ok()
}

/// Whether `ty` is the context type `context`, by reference or not.
pub(super) fn is_context(ty: &Type, context: &str) -> bool {
    let ty = match ty {
        Type::Reference(reference) => reference.elem.as_ref(),
        other => other,
    };
    matches!(ty, Type::Path(path) if path.path.segments.last().is_some_and(|s| s.ident == context))
}

/// A type as readable text for runtime messages, e.g. `Vec<u8>`.
pub(crate) fn type_text(ty: &Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace(" <", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace("& ", "&")
}

/// The span of a parameter's type, for errors about it.
pub(crate) fn type_span(ty: &Type) -> proc_macro2::Span {
    ty.span()
}

/// Whether `ty` names the state in a way a handler cannot take it: by value (unless marked as
/// the body) or by `&mut`.
pub(super) fn mistaken_state(ty: &Type, state: &Type, marked_body: bool) -> bool {
    let state = type_text(state);
    match ty {
        Type::Reference(reference) => {
            reference.mutability.is_some() && type_text(&reference.elem) == state
        }
        _ => !marked_body && type_text(ty) == state,
    }
}

/// Whether `ty` is `&State`.
pub(super) fn is_state(ty: &Type, state: &Type) -> bool {
    matches!(ty, Type::Reference(reference) if reference.mutability.is_none() && type_text(&reference.elem) == type_text(state))
}
