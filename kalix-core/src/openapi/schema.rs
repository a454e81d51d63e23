//! A type's JSON Schema for the API description: from its `schemars::JsonSchema` when it has
//! one, else a schema that accepts any JSON and names the type.
//!
//! Generated code cannot ask whether a type implements a trait, so it calls `describe` on a
//! [`SchemaProbe`] through a reference: method lookup takes [`DescribedBySchema`] (implemented
//! for `SchemaProbe<T>` when `T: JsonSchema`) before [`DescribedByName`] (implemented for
//! `&SchemaProbe<T>`, one reference further), so a type without a schema still compiles.

use std::marker::PhantomData;

use schemars::{JsonSchema, Schema, SchemaGenerator};

/// A type's schema, written into the generator's definitions when it is named.
pub type SchemaFn = fn(&mut SchemaGenerator) -> Schema;

/// Stands for the type `T` in the method lookup that picks how it is described.
pub struct SchemaProbe<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> SchemaProbe<T> {
    /// The probe of `T`.
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

impl<T: ?Sized> Default for SchemaProbe<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// A type described by its `JsonSchema`.
pub trait DescribedBySchema {
    /// The type's schema, or a reference to it in the generator's definitions.
    fn describe(&self, generator: &mut SchemaGenerator) -> Schema;
}

impl<T: JsonSchema + ?Sized> DescribedBySchema for SchemaProbe<T> {
    fn describe(&self, generator: &mut SchemaGenerator) -> Schema {
        generator.subschema_for::<T>()
    }
}

/// A type without a `JsonSchema`: any JSON, with its Rust name.
pub trait DescribedByName {
    /// A schema that accepts any JSON and says which type it stands for.
    fn describe(&self, generator: &mut SchemaGenerator) -> Schema;
}

impl<T: ?Sized> DescribedByName for &SchemaProbe<T> {
    fn describe(&self, _: &mut SchemaGenerator) -> Schema {
        let name = std::any::type_name::<T>();
        schemars::json_schema!({
            "description": format!(
                "JSON of the Rust type `{name}`, which has no JSON Schema: derive \
                 `schemars::JsonSchema` on it to describe it here"
            ),
            "x-rust-type": name,
        })
    }
}

// The probes are called as generated code calls them, through a reference, whichever trait
// answers.
#[cfg(test)]
#[allow(clippy::needless_borrow)]
mod tests {
    use crate::openapi::schema::*;

    #[derive(JsonSchema)]
    #[allow(dead_code)]
    struct Described {
        value: i64,
    }

    #[allow(dead_code)]
    struct Undescribed;

    #[test]
    fn a_type_with_a_schema_is_described_by_it_and_one_without_by_its_name() {
        let mut generator = SchemaGenerator::default();
        let described = (&SchemaProbe::<Described>::new()).describe(&mut generator);
        assert_eq!(
            described.get("$ref").and_then(|r| r.as_str()),
            Some("#/$defs/Described")
        );
        assert!(generator.definitions().contains_key("Described"));
        let number = (&SchemaProbe::<u64>::new()).describe(&mut generator);
        assert_eq!(number.get("type").and_then(|t| t.as_str()), Some("integer"));
        let undescribed = (&SchemaProbe::<Undescribed>::new()).describe(&mut generator);
        let rust_type = undescribed.get("x-rust-type").and_then(|t| t.as_str());
        assert!(
            rust_type.is_some_and(|name| name.ends_with("Undescribed")),
            "{undescribed:?}"
        );
        assert!(
            undescribed.get("type").is_none(),
            "any JSON: {undescribed:?}"
        );
    }
}
