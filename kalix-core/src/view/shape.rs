//! The shape of a row type, read from its `Deserialize` implementation: the JSON names of its
//! fields (nested ones as `address.city`) and what each holds. A view's fingerprint includes it,
//! so a change of the row's fields rebuilds the table; and each query's columns are checked
//! against it at start, so a column that names no field the row stores (a `serde` rename the
//! macro could not see) stops the start instead of matching nothing.
//!
//! A tracing `Deserializer` walks the type: it answers every request with a placeholder value
//! and records the struct fields and leaves it is asked for. It stops at a depth of 8 (recursive
//! types) and at the first error; what it recorded until then is the shape.

use std::fmt::Write;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, Visitor};

/// The most nested a traced type goes.
const MAX_DEPTH: usize = 8;

/// The shape of a row type: one line per field path with what it holds, in declaration order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// (path of JSON names joined by `.`, what it holds).
    pub fields: Vec<(String, String)>,
    /// Whether the whole type was traced (a custom `Deserialize`, or an enum whose first
    /// variant carries data, stops the trace: its columns are then not checked).
    pub complete: bool,
}

/// The shape of `T`.
pub fn shape_of<T: DeserializeOwned>() -> Shape {
    let mut fields = Vec::new();
    let tracer = Tracer {
        path: String::new(),
        depth: 0,
        shape: &mut fields,
    };
    let complete = T::deserialize(tracer).is_ok();
    Shape { fields, complete }
}

impl Shape {
    /// Whether `column` (a path of JSON names) is a field of the shape.
    pub(crate) fn has_column<S: std::borrow::Borrow<str>>(&self, column: &[S]) -> bool {
        let dotted = column.join(".");
        self.fields.iter().any(|(path, _)| *path == dotted)
    }

    /// The shape as one text, for a fingerprint.
    pub(crate) fn describe(&self) -> String {
        let mut text = String::new();
        for (path, kind) in &self.fields {
            let _ = write!(text, "{path}:{kind};");
        }
        text
    }
}

#[derive(Debug)]
struct Stop(String);

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Stop(message.to_string())
    }
}

struct Tracer<'a> {
    path: String,
    depth: usize,
    shape: &'a mut Vec<(String, String)>,
}

impl Tracer<'_> {
    fn leaf(&mut self, kind: &str) {
        if !self.path.is_empty() {
            self.shape.push((self.path.clone(), kind.to_owned()));
        }
    }
}

macro_rules! leaf {
    ($($method:ident => $visit:ident($($value:expr)?), $kind:literal;)*) => {
        $(fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
            self.leaf($kind);
            visitor.$visit($($value)?)
        })*
    };
}

impl<'de> de::Deserializer<'de> for Tracer<'_> {
    type Error = Stop;

    leaf! {
        deserialize_bool => visit_bool(false), "bool";
        deserialize_i8 => visit_i8(0), "number";
        deserialize_i16 => visit_i16(0), "number";
        deserialize_i32 => visit_i32(0), "number";
        deserialize_i64 => visit_i64(0), "number";
        deserialize_i128 => visit_i128(0), "number";
        deserialize_u8 => visit_u8(0), "number";
        deserialize_u16 => visit_u16(0), "number";
        deserialize_u32 => visit_u32(0), "number";
        deserialize_u64 => visit_u64(0), "number";
        deserialize_u128 => visit_u128(0), "number";
        deserialize_f32 => visit_f32(0.0), "number";
        deserialize_f64 => visit_f64(0.0), "number";
        deserialize_char => visit_char('x'), "text";
        deserialize_str => visit_str(""), "text";
        deserialize_string => visit_string(String::new()), "text";
        deserialize_bytes => visit_bytes(&[]), "bytes";
        deserialize_byte_buf => visit_byte_buf(Vec::new()), "bytes";
        deserialize_unit => visit_unit(), "null";
        deserialize_identifier => visit_str(""), "text";
        deserialize_ignored_any => visit_unit(), "any";
        deserialize_any => visit_unit(), "any";
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf("null");
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        // An optional field is the field: its shape is what it holds when present.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        // A list is a column of its own (`:p = ANY(tags)`); its items are not traced.
        self.leaf("list");
        visitor.visit_seq(de::value::SeqDeserializer::<_, Stop>::new(
            std::iter::empty::<()>(),
        ))
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, Stop> {
        self.leaf("map");
        visitor.visit_map(de::value::MapDeserializer::<_, Stop>::new(
            std::iter::empty::<((), ())>(),
        ))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        if self.depth >= MAX_DEPTH {
            return Err(Stop("too deep".to_owned()));
        }
        visitor.visit_map(Fields {
            fields,
            next: 0,
            tracer: self,
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        mut self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.leaf(&format!("enum({})", variants.join("|")));
        // Its first variant, if that one carries nothing; else the trace stops here.
        let first = variants.first().copied().unwrap_or("");
        visitor.visit_enum(de::value::StrDeserializer::<Stop>::new(first))
    }
}

/// A struct's fields, handed out one by one with a tracer for each value.
struct Fields<'a> {
    fields: &'static [&'static str],
    next: usize,
    tracer: Tracer<'a>,
}

impl<'de> de::MapAccess<'de> for Fields<'_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        let Some(field) = self.fields.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize((*field).into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Stop> {
        let field = self.fields[self.next];
        self.next += 1;
        let path = if self.tracer.path.is_empty() {
            field.to_owned()
        } else {
            format!("{}.{field}", self.tracer.path)
        };
        self.tracer
            .shape
            .push((path.clone(), "struct field".to_owned()));
        let index = self.tracer.shape.len() - 1;
        let before = self.tracer.shape.len();
        let result = seed.deserialize(Tracer {
            path,
            depth: self.tracer.depth + 1,
            shape: self.tracer.shape,
        });
        // A field that recorded its own leaf needs no line of its own.
        if self.tracer.shape.len() > before {
            let leaf = self.tracer.shape.remove(index);
            if !self.tracer.shape[index..]
                .iter()
                .any(|(path, _)| *path == leaf.0)
            {
                self.tracer.shape.insert(index, leaf);
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Customer {
        customer_id: String,
        age: Option<u32>,
        address: Option<Address>,
        tags: Vec<String>,
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct Address {
        city: String,
        #[serde(rename = "zip")]
        postal_code: String,
    }

    #[test]
    fn a_rows_fields_are_read_with_their_json_names_nested_ones_too() {
        let shape = shape_of::<Customer>();
        assert!(shape.complete);
        let paths: Vec<&str> = shape.fields.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "customerId",
                "age",
                "address",
                "address.city",
                "address.zip",
                "tags"
            ]
        );
        assert!(shape.has_column(&["address", "zip"]));
        assert!(!shape.has_column(&["customer_id"]));
        assert!(shape.describe().contains("age:number;"));
    }
}
