//! Collects every error of an item so they are all reported at once.
//!
//! As serde's `Ctxt`: the collection must be ended with [`Diagnostics::check`], and dropping it
//! unchecked panics, so no code path can lose the errors it found.

use proc_macro2::TokenStream;
use quote::ToTokens;
use std::fmt::Display;

/// The errors found so far in one macro invocation.
pub(crate) struct Diagnostics {
    /// `None` once checked.
    errors: Option<Vec<syn::Error>>,
    /// Code emitted beside the errors so that uses of the item do not fail too (a workflow's
    /// step constants when its model could not be built).
    recovered: TokenStream,
}

impl Default for Diagnostics {
    fn default() -> Self {
        Self {
            errors: Some(Vec::new()),
            recovered: TokenStream::new(),
        }
    }
}

impl Diagnostics {
    fn errors(&mut self) -> &mut Vec<syn::Error> {
        self.errors
            .as_mut()
            .expect("diagnostics are not used after they are checked")
    }

    /// An error spanning `tokens`.
    pub fn error(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.errors().push(syn::Error::new_spanned(tokens, message));
    }

    /// An error already built.
    pub fn push(&mut self, error: syn::Error) {
        self.errors().push(error);
    }

    /// Emits `tokens` beside the errors, if there are any.
    pub fn recover(&mut self, tokens: TokenStream) {
        self.recovered.extend(tokens);
    }

    /// How many errors have been found.
    pub fn count(&self) -> usize {
        self.errors.as_ref().map_or(0, Vec::len)
    }

    /// Ends the collection: `Ok` if nothing was found, otherwise every error as
    /// `compile_error!` invocations.
    pub fn check(mut self) -> Result<(), TokenStream> {
        let errors = self.errors.take().unwrap_or_default();
        if errors.is_empty() {
            return Ok(());
        }
        let mut emitted: TokenStream = errors.into_iter().map(|e| e.to_compile_error()).collect();
        emitted.extend(std::mem::take(&mut self.recovered));
        Err(emitted)
    }
}

impl Drop for Diagnostics {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("macro diagnostics were dropped without being checked");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checking_returns_every_error() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.error(quote::quote!(x), "first");
        diagnostics.error(quote::quote!(y), "second");
        let errors = diagnostics.check().unwrap_err().to_string();
        assert!(
            errors.contains("first") && errors.contains("second"),
            "{errors}"
        );
        assert!(Diagnostics::default().check().is_ok());
    }

    #[test]
    #[should_panic(expected = "dropped without being checked")]
    fn dropping_unchecked_diagnostics_panics() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.error(quote::quote!(x), "lost");
    }
}
