//! Where generated code reaches the runtime, named once (as Rocket's `exports.rs` does): every
//! path the macros emit into the runtime starts with [`KalixCore`], so the crate's name is
//! written here and nowhere else.

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote_spanned};

/// `::kalix_core`, at the call site: `quote!(#KalixCore::__private::Invocation)`.
pub(crate) struct KalixCore;

impl ToTokens for KalixCore {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        KalixCoreAt(Span::call_site()).to_tokens(tokens);
    }
}

/// `::kalix_core`, spanned at a user's tokens, so that an error in the path's use (a missing
/// trait implementation) points there.
pub(crate) struct KalixCoreAt(pub Span);

impl ToTokens for KalixCoreAt {
    fn to_tokens(&self, tokens: &mut TokenStream) {
        tokens.extend(quote_spanned!(self.0=> ::kalix_core));
    }
}
