//! The types a path or query parameter can have.

use std::fmt::Display;
use std::str::FromStr;

/// A type a path or query parameter can have: read from the URL's text by `FromStr`, and
/// written back into a URL by `Display` (the component client does that). Every type with both
/// is one: integers, floats, `bool`, `char`, `String`, `uuid::Uuid`, your own. A handler may also
/// take a path parameter as `&str`.
///
/// ```
/// use kalix_core::UrlParam;
/// assert_eq!(u64::from_url("42"), Some(42));
/// assert_eq!(true.to_url(), "true");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a path or query parameter: it is read with `FromStr` and written with `Display`",
    label = "not readable from a URL",
    note = "implement `FromStr` and `Display` for `{Self}`, or take a `String`, a number or a `bool`; a JSON value goes in the body"
)]
pub trait UrlParam: Sized {
    /// The value of the text, or `None` if it is not one.
    fn from_url(text: &str) -> Option<Self>;
    /// The value as URL text (before percent-encoding).
    fn to_url(&self) -> String;
}

impl<T: FromStr + Display> UrlParam for T {
    fn from_url(text: &str) -> Option<Self> {
        text.parse().ok()
    }

    fn to_url(&self) -> String {
        self.to_string()
    }
}
