//! Options of the component attributes: `#[action(new = path, forward_headers = [..])]` and
//! `#[on_startup(max_retries = N)]`, `#[subscribe(value_entity = Entity)]`.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{LitInt, LitStr, Token};

use crate::diagnostics::Diagnostics;

/// Options of a component attribute (`#[action(...)]`, `#[value_entity(...)]`).
#[derive(Default)]
pub(crate) struct ComponentOptions {
    /// A constructor taking `&Dependencies`, used instead of `Default`.
    pub new: Option<syn::Path>,
    /// Request headers copied into call metadata.
    pub forward_headers: Vec<LitStr>,
    /// An entity's storage namespace.
    pub type_id: Option<LitStr>,
    /// The path parameter carrying an entity's id.
    pub id: Option<LitStr>,
    /// A function of the entity id giving the empty state, used instead of `Default`.
    pub empty_state: Option<syn::Path>,
    /// How many events between snapshots.
    pub snapshot_every: Option<syn::LitInt>,
    /// A value entity's state type, named once so handlers may return an alias of the effect.
    pub state: Option<syn::Type>,
    /// How an event-sourced entity's older events are read (a `JsonMigration`).
    pub migration: Option<syn::Path>,
}

pub(crate) const NEW: &str = "new";
pub(crate) const FORWARD_HEADERS: &str = "forward_headers";
pub(crate) const TYPE_ID: &str = "type_id";
pub(crate) const ID: &str = "id";
pub(crate) const EMPTY_STATE: &str = "empty_state";
pub(crate) const SNAPSHOT_EVERY: &str = "snapshot_every";
pub(crate) const STATE: &str = "state";
pub(crate) const MIGRATION: &str = "migration";

fn describe(option: &str) -> &'static str {
    match option {
        NEW => "`new = path::to::constructor`",
        FORWARD_HEADERS => "`forward_headers = [\"Header\", ..]`",
        TYPE_ID => "`type_id = \"name\"`",
        ID => "`id = \"path_parameter\"`",
        SNAPSHOT_EVERY => "`snapshot_every = 100`",
        EMPTY_STATE => "`empty_state = path::to::function`",
        STATE => "`state = StateType`",
        MIGRATION => "`migration = path::to::Migration`",
        other => unreachable!("option `{other}` has no description"),
    }
}

impl ComponentOptions {
    /// Parses the options `allowed` for `#[attribute(...)]`; others are errors listing these.
    pub fn parse(
        args: TokenStream,
        attribute: &str,
        allowed: &[&str],
        diagnostics: &mut Diagnostics,
    ) -> Self {
        let mut options = Self::default();
        let parser = syn::meta::parser(|meta| {
            let name = meta
                .path
                .get_ident()
                .map(|i| i.to_string())
                .unwrap_or_default();
            if !allowed.contains(&name.as_str()) {
                let expected: Vec<&str> = allowed.iter().map(|o| describe(o)).collect();
                return Err(meta.error(format!(
                    "unknown option of `#[{attribute}]`; expected {}",
                    expected.join(", ")
                )));
            }
            match name.as_str() {
                NEW => options.new = Some(meta.value()?.parse()?),
                FORWARD_HEADERS => options.forward_headers = parse_string_list(&meta)?,
                TYPE_ID => options.type_id = Some(meta.value()?.parse()?),
                ID => options.id = Some(meta.value()?.parse()?),
                SNAPSHOT_EVERY => {
                    let every: syn::LitInt = meta.value()?.parse()?;
                    if every.base10_parse::<u64>()? == 0 {
                        return Err(syn::Error::new(
                            every.span(),
                            "snapshot_every is at least 1",
                        ));
                    }
                    options.snapshot_every = Some(every);
                }
                EMPTY_STATE => options.empty_state = Some(meta.value()?.parse()?),
                STATE => options.state = Some(meta.value()?.parse()?),
                MIGRATION => options.migration = Some(meta.value()?.parse()?),
                other => unreachable!("option `{other}` is allowed but has no parser"),
            }
            Ok(())
        });
        if let Err(error) = syn::parse::Parser::parse2(parser, args) {
            diagnostics.push(error);
        }
        for header in &options.forward_headers {
            if header.value().is_empty() || !header.value().bytes().all(is_token_byte) {
                diagnostics.error(header, "not a valid HTTP header name");
            }
        }
        options
    }
}

fn is_token_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn parse_string_list(meta: &ParseNestedMeta) -> syn::Result<Vec<LitStr>> {
    let value = meta.value()?;
    let content;
    syn::bracketed!(content in value);
    let list = Punctuated::<LitStr, Token![,]>::parse_terminated(&content)?;
    Ok(list.into_iter().collect())
}

/// Options of `#[on_startup(...)]`.
pub(crate) struct StartupOptions {
    pub max_retries: u32,
}

const MAX_RETRIES: &str = "max_retries";

impl StartupOptions {
    pub fn parse(attribute: &syn::Attribute, diagnostics: &mut Diagnostics) -> Self {
        let mut options = Self { max_retries: 0 };
        if matches!(attribute.meta, syn::Meta::Path(_)) {
            return options;
        }
        let result = attribute.parse_nested_meta(|meta| {
            if meta.path.is_ident(MAX_RETRIES) {
                options.max_retries = meta.value()?.parse::<LitInt>()?.base10_parse()?;
                Ok(())
            } else {
                Err(meta.error(format!(
                    "unknown option of `#[on_startup]`; expected `{MAX_RETRIES} = N`"
                )))
            }
        });
        if let Err(error) = result {
            diagnostics.push(error);
        }
        options
    }
}

/// What `#[subscribe(...)]` subscribes to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum SubscriptionSource {
    /// A value entity's state changes.
    ValueEntity,
    /// An event-sourced entity's events.
    EventSourcedEntity,
    /// A topic's messages.
    Topic,
}

/// Options of `#[subscribe(value_entity = Entity[, handle_deletes])]` and
/// `#[subscribe(event_sourced_entity = Entity)]`.
pub(crate) struct SubscribeOptions {
    pub source: SubscriptionSource,
    /// The entity's type, as written (for an entity source).
    pub entity: syn::Path,
    /// The topic's name (for a topic source), or the stream's id (for a stream source).
    pub topic: Option<LitStr>,
    /// The service publishing the stream (for a stream source).
    pub service: Option<LitStr>,
    /// The consumer group of a topic subscription.
    pub consumer_group: Option<LitStr>,
    /// Whether a message of a type no handler takes is skipped.
    pub ignore_unknown: bool,
    /// The handler is the one for deletes (`handle_deletes`): it takes no state.
    pub handle_deletes: bool,
    /// The whole attribute, for errors about it.
    pub attribute: TokenStream,
}

const VALUE_ENTITY: &str = "value_entity";
const EVENT_SOURCED_ENTITY: &str = "event_sourced_entity";
const HANDLE_DELETES: &str = "handle_deletes";
const TOPIC: &str = "topic";
const CONSUMER_GROUP: &str = "consumer_group";
const IGNORE_UNKNOWN: &str = "ignore_unknown";
const STREAM: &str = "stream";
const SERVICE: &str = "service";

impl SubscribeOptions {
    /// Parses the attribute; `None` (with the error reported) when it names no source.
    pub fn parse(attribute: &syn::Attribute, diagnostics: &mut Diagnostics) -> Option<Self> {
        let expected = "expected `#[subscribe(value_entity = Entity)]`, \
                        `#[subscribe(value_entity = Entity, handle_deletes)]`, \
                        `#[subscribe(event_sourced_entity = Entity)]` or \
                        `#[subscribe(topic = \"name\", consumer_group = \"group\", ignore_unknown)]` or \
                        `#[subscribe(stream = \"id\", service = \"name\", consumer_group = \"group\")]`";
        let mut source: Option<(SubscriptionSource, syn::Path)> = None;
        let mut handle_deletes: Option<syn::Path> = None;
        let mut topic: Option<LitStr> = None;
        let mut consumer_group: Option<LitStr> = None;
        let mut ignore_unknown: Option<syn::Path> = None;
        let mut stream: Option<LitStr> = None;
        let mut service: Option<LitStr> = None;
        if matches!(attribute.meta, syn::Meta::Path(_)) {
            diagnostics.error(attribute, expected);
            return None;
        }
        let result = attribute.parse_nested_meta(|meta| {
            let kind = if meta.path.is_ident(VALUE_ENTITY) {
                Some(SubscriptionSource::ValueEntity)
            } else if meta.path.is_ident(EVENT_SOURCED_ENTITY) {
                Some(SubscriptionSource::EventSourcedEntity)
            } else {
                None
            };
            if let Some(kind) = kind {
                if source.is_some() {
                    return Err(meta.error("a handler subscribes to one source"));
                }
                source = Some((kind, meta.value()?.parse::<syn::Path>()?));
                Ok(())
            } else if meta.path.is_ident(HANDLE_DELETES) {
                handle_deletes = Some(meta.path.clone());
                Ok(())
            } else if meta.path.is_ident(TOPIC) {
                if source.is_some() || topic.is_some() || stream.is_some() {
                    return Err(meta.error("a handler subscribes to one source"));
                }
                let name: LitStr = meta.value()?.parse()?;
                if name.value().is_empty() {
                    return Err(syn::Error::new(name.span(), "a topic has a name"));
                }
                topic = Some(name);
                Ok(())
            } else if meta.path.is_ident(STREAM) {
                if source.is_some() || topic.is_some() || stream.is_some() {
                    return Err(meta.error("a handler subscribes to one source"));
                }
                stream = Some(non_empty(meta.value()?.parse()?, "a stream has an id")?);
                Ok(())
            } else if meta.path.is_ident(SERVICE) {
                service = Some(non_empty(meta.value()?.parse()?, "a service has a name")?);
                Ok(())
            } else if meta.path.is_ident(CONSUMER_GROUP) {
                consumer_group = Some(meta.value()?.parse()?);
                Ok(())
            } else if meta.path.is_ident(IGNORE_UNKNOWN) {
                ignore_unknown = Some(meta.path.clone());
                Ok(())
            } else {
                Err(meta.error(format!("unknown option of `#[subscribe]`; {expected}")))
            }
        });
        if let Err(error) = result {
            diagnostics.push(error);
            return None;
        }
        match (&stream, &service) {
            (Some(stream), None) => {
                diagnostics.push(syn::Error::new(
                    stream.span(),
                    "a stream comes from another service: name it, `service = \"name\"` (its URL is `KALIX_SERVICE_<NAME>`)",
                ));
                return None;
            }
            (None, Some(service)) => {
                diagnostics.push(syn::Error::new(
                    service.span(),
                    "`service` goes with `stream = \"id\"`",
                ));
                return None;
            }
            _ => {}
        }
        let topic = topic.or(stream);
        let (source, entity) = match (source, &topic) {
            (Some(source), _) => source,
            (None, Some(topic)) => (
                SubscriptionSource::Topic,
                syn::Path::from(syn::Ident::new("topic", topic.span())),
            ),
            (None, None) => {
                diagnostics.error(attribute, expected);
                return None;
            }
        };
        if source != SubscriptionSource::Topic
            && let Some(group) = &consumer_group
        {
            diagnostics.push(syn::Error::new(
                group.span(),
                format!("`{CONSUMER_GROUP}` is for topics and streams"),
            ));
        }
        if source == SubscriptionSource::ValueEntity
            && let Some(path) = &ignore_unknown
        {
            diagnostics.push(syn::Error::new(
                path.span(),
                format!("`{IGNORE_UNKNOWN}` is for events and messages: a value entity's changes are all its state"),
            ));
        }
        if let Some(path) = &handle_deletes
            && source != SubscriptionSource::ValueEntity
        {
            diagnostics.error(
                path,
                "`handle_deletes` is for value entities: an event-sourced entity's delete is its last event, and a topic has none",
            );
        }
        Some(Self {
            source,
            entity,
            handle_deletes: handle_deletes.is_some(),
            topic,
            service,
            consumer_group,
            ignore_unknown: ignore_unknown.is_some(),
            attribute: quote::ToTokens::to_token_stream(attribute),
        })
    }
}

/// Where `#[publish(..)]` sends a handler's replies.
pub(crate) enum PublishTo {
    Topic(LitStr),
    Stream(LitStr),
}

fn non_empty(name: LitStr, message: &str) -> syn::Result<LitStr> {
    if name.value().is_empty() {
        Err(syn::Error::new(name.span(), message))
    } else {
        Ok(name)
    }
}

/// Options of `#[publish(topic = "name")]` and `#[publish(stream = "id")]`.
pub(crate) fn parse_publish(
    attribute: &syn::Attribute,
    diagnostics: &mut Diagnostics,
) -> Option<PublishTo> {
    let mut target: Option<PublishTo> = None;
    let expected = "expected `#[publish(topic = \"name\")]` or `#[publish(stream = \"id\")]`";
    if matches!(attribute.meta, syn::Meta::Path(_)) {
        diagnostics.error(attribute, expected);
        return None;
    }
    let result = attribute.parse_nested_meta(|meta| {
        let stream = meta.path.is_ident(STREAM);
        if !stream && !meta.path.is_ident(TOPIC) {
            return Err(meta.error(format!("unknown option of `#[publish]`; {expected}")));
        }
        if target.is_some() {
            return Err(meta.error("a handler publishes to one topic or stream"));
        }
        let name = non_empty(meta.value()?.parse()?, "a topic or stream has a name")?;
        target = Some(if stream {
            PublishTo::Stream(name)
        } else {
            PublishTo::Topic(name)
        });
        Ok(())
    });
    if let Err(error) = result {
        diagnostics.push(error);
        return None;
    }
    if target.is_none() {
        diagnostics.error(attribute, expected);
    }
    target
}
