//! Messages on topics as CloudEvents: the type name of a reply, how a published reply becomes a
//! message's type and body, and how a message's body becomes a handler's parameter.
//!
//! A message's `ce-type` is its payload's stable type name: for a value of an externally tagged
//! enum, the variant's serde tag, and the body is what the variant holds
//! (`CounterEvent::ValueIncreased { value: 3 }` is `ValueIncreased` with `{"value":3}`); for any
//! other value, the type's own name, and the body is the value. Bytes (`Vec<u8>`,
//! `bytes::Bytes`) travel as they are, as `application/octet-stream`, with no `ce-type`.

use bytes::Bytes;
use serde::Serialize;

use crate::metadata::Metadata;

/// What a reply is, for publishing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayloadType {
    /// A variant of an externally tagged enum, by its serde tag.
    Variant(&'static str),
    /// Any other value, by its type's name (the last segment of its path).
    Named(&'static str),
    /// Bytes (`Vec<u8>`, `bytes::Bytes`): sent as they are.
    Bytes,
}

impl PayloadType {
    /// The type of `value`.
    ///
    /// ```
    /// use kalix_core::cloud_events::PayloadType;
    ///
    /// #[derive(serde::Serialize)]
    /// enum CounterEvent { ValueIncreased { value: i64 } }
    ///
    /// assert_eq!(PayloadType::of(&CounterEvent::ValueIncreased { value: 1 }).name(), "ValueIncreased");
    /// assert_eq!(PayloadType::of(&42_i64).name(), "i64");
    /// ```
    pub fn of<T: Serialize>(value: &T) -> Self {
        match value.serialize(VariantDetector) {
            Err(Detected(Some(Found::Variant(variant)))) => PayloadType::Variant(variant),
            Err(Detected(Some(Found::Bytes))) => PayloadType::Bytes,
            _ => PayloadType::Named(short_type_name::<T>()),
        }
    }

    /// The `ce-type` of a message carrying it (none for bytes).
    pub fn name(self) -> &'static str {
        match self {
            PayloadType::Variant(name) | PayloadType::Named(name) => name,
            PayloadType::Bytes => "",
        }
    }

    /// The `Content-Type` of a message carrying it.
    pub fn content_type(self) -> &'static str {
        match self {
            PayloadType::Bytes => OCTET_STREAM,
            PayloadType::Variant(_) | PayloadType::Named(_) => "application/json",
        }
    }
}

/// The content type of raw messages.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The last segment of `T`'s path, without generic arguments: `IncreaseCounter`.
pub fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

/// The body of a message carrying `reply` (JSON of a value of `payload_type`): a variant's
/// content, or the value itself.
fn message_body(reply: &Bytes, payload_type: PayloadType) -> Bytes {
    let variant = match payload_type {
        PayloadType::Variant(variant) => variant,
        // JSON has bytes as an array of numbers; the message carries the bytes themselves.
        PayloadType::Bytes => {
            return serde_json::from_slice::<Vec<u8>>(reply)
                .map(Bytes::from)
                .unwrap_or_else(|_| reply.clone());
        }
        PayloadType::Named(_) => return reply.clone(),
    };
    match serde_json::from_slice::<serde_json::Value>(reply) {
        Ok(serde_json::Value::Object(mut object)) if object.len() == 1 => {
            match object.remove(variant) {
                Some(content) => Bytes::from(serde_json::to_vec(&content).unwrap_or_default()),
                None => reply.clone(),
            }
        }
        // A unit variant holds nothing.
        Ok(serde_json::Value::String(tag)) if tag == variant => Bytes::from_static(b"null"),
        _ => reply.clone(),
    }
}

/// A message of a topic on the embedded broker: its id (unique in its topic: publishing an id
/// again changes nothing), its attributes (CloudEvents `ce-*` and `Content-Type`) and its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMessage {
    /// Unique in its topic; a second publish of it is dropped.
    pub id: String,
    /// Its attributes, as (name, value).
    pub attributes: Vec<(String, String)>,
    /// Its body.
    pub payload: Bytes,
}

/// The CloudEvents spec version the messages follow.
const SPEC_VERSION: &str = "1.0";

/// The message carrying `reply` (JSON of a value of `payload_type`) as a CloudEvent, with its
/// id, source, and, when known, its subject and its source event's sequence number.
pub(crate) fn message(
    id: String,
    source: &str,
    payload_type: PayloadType,
    reply: &Bytes,
    subject: Option<&str>,
    sequence: Option<&str>,
) -> TopicMessage {
    // Room for every attribute below, and the dispatcher's few more, without growing.
    let mut attributes = Vec::with_capacity(10);
    attributes.extend([
        ("ce-specversion".to_owned(), SPEC_VERSION.to_owned()),
        ("ce-source".to_owned(), source.to_owned()),
        (Metadata::CE_ID.to_owned(), id.clone()),
        (
            "Content-Type".to_owned(),
            payload_type.content_type().to_owned(),
        ),
    ]);
    if payload_type != PayloadType::Bytes {
        attributes.push((Metadata::CE_TYPE.to_owned(), payload_type.name().to_owned()));
    }
    if let Some(subject) = subject {
        attributes.push((Metadata::CE_SUBJECT.to_owned(), subject.to_owned()));
    }
    if let Some(sequence) = sequence {
        attributes.push((Metadata::CE_SEQUENCE.to_owned(), sequence.to_owned()));
    }
    TopicMessage {
        id,
        attributes,
        payload: message_body(reply, payload_type),
    }
}

/// A message's attribute, by a name compared without case.
pub(crate) fn attribute<'a>(message: &'a TopicMessage, name: &str) -> Option<&'a str> {
    message
        .attributes
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.as_str())
}

/// Whether a message is raw bytes (`Content-Type: application/octet-stream`).
pub(crate) fn is_raw(message: &TopicMessage) -> bool {
    attribute(message, "Content-Type").is_some_and(|value| value.eq_ignore_ascii_case(OCTET_STREAM))
}

/// A raw message's bytes as the JSON a `Vec<u8>` or `bytes::Bytes` parameter reads.
pub(crate) fn bytes_as_json(body: &[u8]) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

/// A message's body as a `T`, read directly (`T` names the message's type) or, when
/// `as_variant`, as the variant `ce_type` of the enum `T`; `None` if it does not parse.
pub fn decode<T: serde::de::DeserializeOwned>(
    ce_type: &str,
    body: &[u8],
    as_variant: bool,
) -> Option<serde_json::Value> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let value = match as_variant {
        true => serde_json::json!({ ce_type: value }),
        false => value,
    };
    // Checked in place: `&Value` is a deserializer, so nothing is copied.
    T::deserialize(&value).ok()?;
    Some(value)
}

/// A serializer that only finds out whether a value is an enum variant, and which: it stops at
/// the first call with an "error" carrying the answer.
struct VariantDetector;

#[derive(Debug)]
struct Detected(Option<Found>);

/// What the detector found.
#[derive(Debug)]
enum Found {
    Variant(&'static str),
    Bytes,
}

impl std::fmt::Display for Detected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl std::error::Error for Detected {}

impl serde::ser::Error for Detected {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Detected(None)
    }
}

type Nothing = serde::ser::Impossible<(), Detected>;

/// Every non-variant method answers "not a variant".
macro_rules! not_a_variant {
    ($($method:ident($($arg:ty),*)),* $(,)?) => {
        $(fn $method(self, $(_: $arg),*) -> Result<(), Detected> { Err(Detected(None)) })*
    };
}

impl serde::Serializer for VariantDetector {
    type Ok = ();
    type Error = Detected;
    type SerializeSeq = SeqOfBytes;
    type SerializeTuple = Nothing;
    type SerializeTupleStruct = Nothing;
    type SerializeTupleVariant = Nothing;
    type SerializeMap = Nothing;
    type SerializeStruct = Nothing;
    type SerializeStructVariant = Nothing;

    not_a_variant!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
    );

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Detected> {
        Err(Detected(Some(Found::Bytes)))
    }

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Detected> {
        Err(Detected(None))
    }

    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Detected> {
        Err(Detected(Some(Found::Variant(variant))))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Detected> {
        Err(Detected(None))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: &T,
    ) -> Result<(), Detected> {
        Err(Detected(Some(Found::Variant(variant))))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<SeqOfBytes, Detected> {
        Ok(SeqOfBytes { any: false })
    }

    fn serialize_tuple(self, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nothing, Detected> {
        Err(Detected(Some(Found::Variant(variant))))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Nothing, Detected> {
        Err(Detected(Some(Found::Variant(variant))))
    }
}

/// A sequence is bytes if it is not empty and each element is a `u8` (a `Vec<u8>`); it stops
/// at the first element that is not.
struct SeqOfBytes {
    any: bool,
}

impl serde::ser::SerializeSeq for SeqOfBytes {
    type Ok = ();
    type Error = Detected;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Detected> {
        self.any = true;
        value.serialize(U8Probe)
    }

    fn end(self) -> Result<(), Detected> {
        Err(Detected(self.any.then_some(Found::Bytes)))
    }
}

/// Accepts a `u8`, refuses anything else.
struct U8Probe;

impl serde::Serializer for U8Probe {
    type Ok = ();
    type Error = Detected;
    type SerializeSeq = Nothing;
    type SerializeTuple = Nothing;
    type SerializeTupleStruct = Nothing;
    type SerializeTupleVariant = Nothing;
    type SerializeMap = Nothing;
    type SerializeStruct = Nothing;
    type SerializeStructVariant = Nothing;

    fn serialize_u8(self, _: u8) -> Result<(), Detected> {
        Ok(())
    }

    not_a_variant!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_str(&str),
        serialize_bytes(&[u8]),
        serialize_none(),
        serialize_unit(),
        serialize_unit_struct(&'static str),
        serialize_unit_variant(&'static str, u32, &'static str),
    );

    fn serialize_some<T: ?Sized + Serialize>(self, _: &T) -> Result<(), Detected> {
        Err(Detected(None))
    }

    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Detected> {
        Err(Detected(None))
    }

    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Detected> {
        Err(Detected(None))
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_tuple(self, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Nothing, Detected> {
        Err(Detected(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Event {
        ValueIncreased {
            value: i64,
        },
        #[serde(rename = "Reset")]
        Cleared,
        Pair(u8, u8),
    }

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct IncreaseCounter {
        counter_id: String,
        value: i64,
    }

    #[test]
    fn a_variant_is_published_by_its_tag_with_its_content() {
        let event = Event::ValueIncreased { value: 3 };
        let kind = PayloadType::of(&event);
        assert_eq!(kind, PayloadType::Variant("ValueIncreased"));
        let json = Bytes::from(serde_json::to_vec(&event).unwrap());
        assert_eq!(&message_body(&json, kind)[..], br#"{"value":3}"#);
        assert_eq!(PayloadType::of(&Event::Cleared).name(), "Reset");
        let unit = Bytes::from(serde_json::to_vec(&Event::Cleared).unwrap());
        let body = message_body(&unit, PayloadType::of(&Event::Cleared));
        assert_eq!(&body[..], b"null");
        let decoded = decode::<Event>("Reset", &body, true).unwrap();
        assert_eq!(
            serde_json::from_value::<Event>(decoded).unwrap(),
            Event::Cleared
        );
        assert_eq!(PayloadType::of(&Event::Pair(1, 2)).name(), "Pair");
    }

    #[test]
    fn any_other_value_is_published_by_its_type_name_as_it_is() {
        let command = IncreaseCounter {
            counter_id: "c".into(),
            value: 1,
        };
        let kind = PayloadType::of(&command);
        assert_eq!(kind, PayloadType::Named("IncreaseCounter"));
        let json = Bytes::from(serde_json::to_vec(&command).unwrap());
        assert_eq!(message_body(&json, kind), json);
        assert_eq!(PayloadType::of(&vec![1i64]).name(), "Vec");
    }

    #[test]
    fn bytes_travel_as_they_are() {
        for reply in [vec![0u8, 1, 255], Vec::from(&b"raw"[..])] {
            let kind = PayloadType::of(&reply);
            assert_eq!(kind, PayloadType::Bytes);
            assert_eq!(kind.content_type(), OCTET_STREAM);
            let json = Bytes::from(serde_json::to_vec(&reply).unwrap());
            assert_eq!(&message_body(&json, kind)[..], &reply[..]);
            let read = decode::<Vec<u8>>("", &bytes_as_json(&reply), false).unwrap();
            assert_eq!(serde_json::from_value::<Vec<u8>>(read).unwrap(), reply);
        }
    }

    #[test]
    fn a_body_decodes_as_its_type_or_as_the_variant_its_type_names() {
        let body = br#"{"counterId":"c","value":2}"#;
        assert!(decode::<IncreaseCounter>("IncreaseCounter", body, false).is_some());
        assert!(decode::<IncreaseCounter>("IncreaseCounter", b"{}", false).is_none());
        let wrapped = decode::<Event>("ValueIncreased", br#"{"value":3}"#, true).unwrap();
        assert_eq!(
            serde_json::from_value::<Event>(wrapped).unwrap(),
            Event::ValueIncreased { value: 3 }
        );
        assert!(decode::<Event>("Unknown", br#"{"value":3}"#, true).is_none());
    }
}
