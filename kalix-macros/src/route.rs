//! Route attributes (`#[get("/cart/<cart_id>")]`) and their Rocket-style templates.
//!
//! Errors point inside the string where the compiler allows it (`Literal::subspan`); where it
//! does not, they span the literal and show the template with a caret under the culprit.

use syn::LitStr;

use crate::diagnostics::Diagnostics;

/// The HTTP methods a route attribute names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// The method a route attribute's name stands for (`get` -> GET).
    pub fn from_attribute(name: &str) -> Option<Self> {
        Some(match name {
            "get" => Method::Get,
            "post" => Method::Post,
            "put" => Method::Put,
            "patch" => Method::Patch,
            "delete" => Method::Delete,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The variant of `HttpMethod` in the runtime.
    pub fn variant(self) -> &'static str {
        match self {
            Method::Get => "Get",
            Method::Post => "Post",
            Method::Put => "Put",
            Method::Patch => "Patch",
            Method::Delete => "Delete",
        }
    }

    /// Whether requests of this method carry a body a handler may take.
    pub fn carries_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
}

/// One `/`-separated part of a template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Segment {
    Static(String),
    Param { name: String, offset: usize },
}

/// A validated template.
#[derive(Clone)]
pub(crate) struct Template {
    pub literal: LitStr,
    pub segments: Vec<Segment>,
}

impl Template {
    /// Parses and validates `literal`, reporting every problem found.
    pub fn parse(literal: &LitStr, diagnostics: &mut Diagnostics) -> Option<Self> {
        let text = literal.value();
        let before = diagnostics.count();
        let mut report = |offset: usize, len: usize, message: &str| {
            diagnostics.push(pointed_error(literal, &text, offset, len, message));
        };
        if !text.starts_with('/') {
            report(
                0,
                1,
                "a route template starts with `/`, e.g. \"/cart/<cart_id>\"",
            );
        }
        if let Some(offset) = text.find(['?', '#']) {
            report(
                offset,
                1,
                "a route template has no query or fragment; take query values with `#[query]` parameters",
            );
        }
        let mut segments = Vec::new();
        let mut names: Vec<String> = Vec::new();
        let mut offset = usize::from(text.starts_with('/'));
        let body = text.strip_prefix('/').unwrap_or(&text);
        let parts: Vec<&str> = if body.is_empty() {
            Vec::new()
        } else {
            body.split('/').collect()
        };
        for (index, part) in parts.iter().enumerate() {
            let is_last = index + 1 == parts.len();
            if part.is_empty() {
                let message = if is_last {
                    "a route template does not end with `/`"
                } else {
                    "empty path segment (`//`) in route template"
                };
                report(offset.saturating_sub(1), 1, message);
            } else if part.contains(['<', '>']) {
                match parse_param(part) {
                    Ok(name) => {
                        if names.contains(&name) {
                            report(
                                offset,
                                part.len(),
                                &format!("path parameter `{name}` appears twice in the template"),
                            );
                        } else {
                            names.push(name.clone());
                        }
                        segments.push(Segment::Param { name, offset });
                    }
                    Err((at, len, message)) => report(offset + at, len, &message),
                }
            } else if part.contains(['{', '}']) || part.starts_with(':') {
                report(
                    offset,
                    part.len(),
                    "path parameters are written `<name>`, not `{name}` or `:name`",
                );
            } else if let Some(at) = part.find(|c: char| !is_path_char(c)) {
                let culprit = part[at..].chars().next().map_or(1, char::len_utf8);
                report(
                    offset + at,
                    culprit,
                    "a route template holds only unreserved URL characters (letters, digits, `-._~!$&'()+,;=@`); a request path with others arrives percent-encoded and would never match",
                );
            } else {
                segments.push(Segment::Static((*part).to_owned()));
            }
            offset += part.len() + 1;
        }
        (diagnostics.count() == before).then(|| Template {
            literal: literal.clone(),
            segments,
        })
    }

    /// Parameter names, in order.
    pub fn params(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|segment| match segment {
            Segment::Param { name, .. } => Some(name.as_str()),
            Segment::Static(_) => None,
        })
    }

    /// The template with parameter names erased: two templates of one shape match the same
    /// requests.
    pub fn shape(&self) -> String {
        let mut shape = String::new();
        for segment in &self.segments {
            shape.push('/');
            match segment {
                Segment::Static(text) => shape.push_str(text),
                Segment::Param { .. } => shape.push_str("<>"),
            }
        }
        shape
    }

    /// An error pointing at parameter `name` inside the template.
    pub fn param_error(&self, name: &str, message: &str) -> syn::Error {
        let text = self.literal.value();
        let offset = self
            .segments
            .iter()
            .find_map(|segment| match segment {
                Segment::Param { name: n, offset } if n == name => Some(*offset),
                _ => None,
            })
            .unwrap_or(0);
        pointed_error(&self.literal, &text, offset, name.len() + 2, message)
    }
}

/// A character that stands for itself in a request path.
fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'()+,;=@".contains(c)
}

/// Parses one segment holding `<` or `>`: it must be exactly `<identifier>`.
fn parse_param(part: &str) -> Result<String, (usize, usize, String)> {
    let Some(open) = part.find('<') else {
        let close = part.find('>').unwrap_or(0);
        return Err((
            close,
            1,
            "`>` without a matching `<` in route template".to_owned(),
        ));
    };
    let Some(close) = part[open..].find('>').map(|i| i + open) else {
        return Err((
            open,
            part.len() - open,
            "unclosed `<` in route template: a path parameter is written `<name>`".to_owned(),
        ));
    };
    if open != 0 || close != part.len() - 1 {
        return Err((
            0,
            part.len(),
            "a path parameter must be a whole path segment, e.g. `/items/<id>`".to_owned(),
        ));
    }
    let name = &part[1..close];
    if name.is_empty() {
        return Err((open, 2, "empty path parameter name `<>`".to_owned()));
    }
    if syn::parse_str::<syn::Ident>(name).is_err() {
        return Err((
            open,
            part.len(),
            format!("`{name}` is not a valid parameter name; use a Rust identifier"),
        ));
    }
    Ok(name.to_owned())
}

/// An error at bytes `offset..offset+len` of the template: a sub-span of the literal when the
/// compiler supports it, else the literal's span and a caret under the culprit.
fn pointed_error(
    literal: &LitStr,
    text: &str,
    offset: usize,
    len: usize,
    message: &str,
) -> syn::Error {
    let len = len.max(1);
    // +1 skips the opening quote; raw strings or escapes make offsets unreliable, so only plain
    // literals get a sub-span.
    let token = literal.token();
    let source = token.to_string();
    let plain = source.len() == text.len() + 2 && source.starts_with('"');
    if plain && let Some(span) = token.subspan(offset + 1..offset + 1 + len) {
        return syn::Error::new(span, message);
    }
    let caret = format!(
        "{}{}",
        " ".repeat(offset),
        "^".repeat(len.min(text.len().saturating_sub(offset)).max(1))
    );
    syn::Error::new(literal.span(), format!("{message}\n  {text}\n  {caret}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::Span;

    fn parse(text: &str) -> Result<Vec<Segment>, String> {
        let mut diagnostics = Diagnostics::default();
        let literal = LitStr::new(text, Span::call_site());
        let template = Template::parse(&literal, &mut diagnostics);
        match (template, diagnostics.check()) {
            (Some(template), Ok(())) => Ok(template.segments),
            (_, checked) => Err(checked.err().unwrap_or_default().to_string()),
        }
    }

    #[test]
    fn a_good_template_parses() {
        let segments = parse("/fibonacci/<number>/next").unwrap();
        assert_eq!(
            segments[1],
            Segment::Param {
                name: "number".into(),
                offset: 11
            }
        );
        assert!(parse("/").unwrap().is_empty());
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        for (template, expected) in [
            ("fibonacci", "starts with `/`"),
            ("/a/<b", "unclosed `<`"),
            ("/a/<>", "empty path parameter name"),
            ("/a/<b>/<b>", "appears twice"),
            ("/a/x<b>", "whole path segment"),
            ("/a//b", "empty path segment"),
            ("/a/", "does not end with `/`"),
            ("/a/{b}", "not `{name}`"),
            ("/a?b=1", "no query"),
            ("/a/<1b>", "not a valid parameter name"),
            ("/items/:id", "not `{name}` or `:name`"),
            ("/files/*", "unreserved URL characters"),
            ("/café", "unreserved URL characters"),
            ("/a b", "unreserved URL characters"),
        ] {
            let error = parse(template).unwrap_err();
            assert!(error.contains(expected), "{template}: {error}");
        }
    }
}
