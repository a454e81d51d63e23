//! The change feed: every committed state change and event of an entity type, in an order no
//! later commit can slip under, and the durable progress of the consumers that read it.
//!
//! A state change or an event enters the feed in the transaction that writes it. A reader asks
//! for the entries after an offset; the store only hands out entries that no transaction still
//! in flight can precede, so a consumer that moves its offset past an entry never skips one that
//! commits later. On SQLite (one writer) positions are commit order. On PostgreSQL a transaction
//! can commit after one that began later, so an entry's offset is (the writing transaction's
//! id, a position) and entries are handed out only below the oldest transaction still running
//! (`pg_snapshot_xmin(pg_current_snapshot())`): every transaction below it has ended.
//!
//! Per entity the feed carries sequence numbers (an event's, or a state's version), so a
//! consumer can drop what it already processed (delivery is at least once) and see the order
//! of one entity's entries.

use bytes::Bytes;

use crate::cloud_events::TopicMessage;

/// Which of an entity type's changes a feed carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedKind {
    /// A value entity's state changes (deletes included). Each entity appears at its latest
    /// change: a reader that falls behind sees the newest state, not every state in between.
    StateChanges,
    /// An event-sourced entity's events, every one.
    Events,
}

/// A place in the feed; entries after it are read next. The default is the feed's start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FeedOffset {
    /// The id of the transaction that wrote the entry (0 on a store with one writer).
    pub transaction: u64,
    /// The entry's position, unique in the feed.
    pub position: u64,
}

/// One entry of the feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedEntry {
    /// Where it is; a consumer that processed it saves this as its offset.
    pub offset: FeedOffset,
    /// The entity it belongs to.
    pub entity_id: String,
    /// The event's sequence number, or the state's version.
    pub seq: u64,
    /// The event's type name; `None` for a state change.
    pub type_name: Option<String>,
    /// The event or the new state as JSON; `None` when the entity was deleted.
    pub payload: Option<Bytes>,
    /// The W3C `traceparent` of the command that wrote it, if it was traced.
    pub trace_parent: Option<String>,
}

/// How far a consumer got: its offset, and the last sequence number it processed of each
/// entity it was asked about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerProgress {
    /// The offset of the last entry processed.
    pub offset: FeedOffset,
    /// (entity id, sequence number) for each entity the progress was saved with.
    pub seqs: Vec<(String, u64)>,
}

/// Messages to append to one topic of the service's store (a topic of the embedded broker, or a
/// stream's), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicAppend {
    /// The topic.
    pub topic: String,
    /// Its new messages, in order.
    pub messages: Vec<crate::store::TopicMessage>,
}

/// A message as a topic's reader gets it, with its place in the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMessage {
    /// Where it is; a reader that processed it saves this as its offset.
    pub offset: FeedOffset,
    /// The message.
    pub message: TopicMessage,
}
