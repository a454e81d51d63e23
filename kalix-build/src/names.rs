//! How generated code names things: the runtime's paths, and the Rust names prost gives
//! packages and messages.

use heck::{ToSnakeCase, ToUpperCamelCase};

/// Where generated code finds prost, tonic's prost codec and the well-known types: through
/// `kalix-core`, so a crate with `.proto` files depends on it alone.
pub(crate) const PROST: &str = "::kalix_core::grpc::__deps::prost";
pub(crate) const PROST_CODEC: &str = "::kalix_core::grpc::__deps::tonic_prost::ProstCodec";
pub(crate) const TONIC: &str = "::kalix_core::grpc::__deps::tonic";
pub(crate) const PBJSON: &str = "::kalix_core::grpc::__deps::pbjson";
pub(crate) const WELL_KNOWN_TYPES: &str = "::kalix_core::grpc::types";

/// The module of a package segment, as prost names it: `fibonacci`, `r#type`.
pub(crate) fn module(segment: &str) -> String {
    escape(&segment.to_snake_case())
}

/// A message's Rust path from the module of package `from`, as prost names it: the package's
/// modules reached through `super`, each enclosing message a snake-case module, the message in
/// upper camel case. Well-known types are `kalix_core::grpc::types`'.
pub(crate) fn message_path(full_name: &str, package: &str, from: &str) -> String {
    if let Some(name) = full_name.strip_prefix("google.protobuf.") {
        return format!("{WELL_KNOWN_TYPES}::{}", name.to_upper_camel_case());
    }
    let inner = full_name
        .strip_prefix(package)
        .map(|rest| rest.trim_start_matches('.'))
        .unwrap_or(full_name);
    let mut parts: Vec<&str> = inner.split('.').collect();
    let message = parts.pop().unwrap_or_default();
    let mut path = String::from("self");
    for _ in segments(from) {
        path.push_str("::super");
    }
    for segment in segments(package) {
        path.push_str("::");
        path.push_str(&module(segment));
    }
    for outer in parts {
        path.push_str("::");
        path.push_str(&module(outer));
    }
    path.push_str("::");
    path.push_str(&escape(&message.to_upper_camel_case()));
    path
}

/// The dot-separated segments of a package (none for the empty package).
pub(crate) fn segments(package: &str) -> impl Iterator<Item = &str> {
    package.split('.').filter(|segment| !segment.is_empty())
}

/// A name as prost writes it (its `sanitize_identifier`): keywords raw, the names that cannot be
/// raw with a `_` after, a leading digit with a `_` before.
fn escape(name: &str) -> String {
    const KEYWORDS: &[&str] = &[
        "as", "break", "const", "continue", "else", "enum", "false", "fn", "for", "if", "impl",
        "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "static",
        "struct", "trait", "true", "type", "unsafe", "use", "where", "while", "dyn", "abstract",
        "become", "box", "do", "final", "macro", "override", "priv", "typeof", "unsized",
        "virtual", "yield", "async", "await", "try", "gen",
    ];
    match name {
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{name}_"),
        name if KEYWORDS.contains(&name) => format!("r#{name}"),
        name if name.starts_with(|c: char| c.is_numeric()) => format!("_{name}"),
        name => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_named_as_prost_names_them() {
        assert_eq!(
            message_path("com.example.Number", "com.example", "com.example"),
            "self::super::super::com::example::Number"
        );
        assert_eq!(
            message_path("com.example.Outer.Inner", "com.example", "com.example"),
            "self::super::super::com::example::outer::Inner"
        );
        assert_eq!(
            message_path("google.protobuf.Empty", "google.protobuf", "com"),
            "::kalix_core::grpc::types::Empty"
        );
        assert_eq!(module("type"), "r#type");
        assert_eq!(module("extern"), "extern_");
        assert_eq!(module("2d"), "_2d");
    }
}
