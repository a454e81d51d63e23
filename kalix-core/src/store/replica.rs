//! Replicated entities in the store: one row per entity and replica, which only that replica
//! (process) writes, and on a shared store the news of other processes' writes.

use bytes::Bytes;
use futures_util::future::BoxFuture;

use super::{KeptReply, StoreError};

/// One replica's row of a replicated entity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaRow {
    /// The replica (process) that wrote it.
    pub replica: u64,
    /// How many writes of that replica produced it (1 after the first).
    pub version: u64,
    /// The data as that replica has it, as JSON.
    pub payload: Bytes,
}

/// A replica's row to write: it replaces the replica's row of the entity, with the next
/// version. No one else writes it, so it expects no version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplicaWrite {
    /// The entity type's storage namespace.
    pub type_id: String,
    /// The entity id.
    pub entity_id: String,
    /// The replica writing.
    pub replica: u64,
    /// The data as the replica has it, as JSON.
    pub payload: Bytes,
    /// On a shared store, the token other processes confirm taking the write in with
    /// ([`ReplicaNews::Confirmed`]); `None` when no one waits for that.
    pub token: Option<u64>,
    /// The command's reply, kept under its idempotency key in the same transaction.
    pub kept_reply: Option<KeptReply>,
}

/// What a process hears of the others' replica writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicaNews {
    /// A replica wrote an entity (this process's own writes are heard too).
    Changed {
        /// The entity type's storage namespace.
        type_id: String,
        /// The entity id.
        entity_id: String,
        /// The replica that wrote.
        replica: u64,
        /// The write's token, if its writer waits for confirmations.
        token: Option<u64>,
        /// The row written (the replica's data as JSON), when it was small enough to travel
        /// with the notice; else it is read from the store.
        data: Option<Bytes>,
    },
    /// A replica took in the write of `token`.
    Confirmed {
        /// The write's token.
        token: u64,
        /// The replica confirming.
        replica: u64,
    },
    /// News may have been missed (a lost connection, a reader too slow): any entity may have
    /// changed.
    Missed,
}

/// Replicated entities' rows. Part of [`Store`](super::Store).
pub trait ReplicaStore: Send + Sync + 'static {
    /// Every replica's row of an entity.
    fn load_replicas(
        &self,
        type_id: &str,
        entity_id: &str,
    ) -> BoxFuture<'static, Result<Vec<ReplicaRow>, StoreError>>;

    /// On a store other processes share, what this process hears of replica writes as they
    /// commit; `None` where no other process writes. Like `Store::is_shared` it has no default.
    fn replica_news(&self) -> Option<tokio::sync::broadcast::Receiver<ReplicaNews>>;

    /// Tells the other processes that `replica` took in the write of `token`.
    fn confirm_replica_write(
        &self,
        token: u64,
        replica: u64,
    ) -> BoxFuture<'static, Result<(), StoreError>>;
}

/// The news a payload of the replicas' channel carries (see [`news_payload`]), if it is one.
pub(crate) fn parse_news(payload: &str) -> Option<ReplicaNews> {
    let mut parts = payload.split('\u{1f}');
    match parts.next()? {
        "c" => {
            let replica = parts.next()?.parse().ok()?;
            let token = match parts.next()? {
                "" => None,
                token => Some(token.parse().ok()?),
            };
            let type_id = parts.next()?.to_owned();
            // The id rule allows no control characters, and JSON escapes them in strings.
            let entity_id = parts.next()?.to_owned();
            let data = parts
                .next()
                .map(|json| Bytes::copy_from_slice(json.as_bytes()));
            Some(ReplicaNews::Changed {
                type_id,
                entity_id,
                replica,
                token,
                data,
            })
        }
        "a" => Some(ReplicaNews::Confirmed {
            token: parts.next()?.parse().ok()?,
            replica: parts.next()?.parse().ok()?,
        }),
        _ => None,
    }
}

/// The largest notice payload: PostgreSQL refuses one of 8000 bytes or more.
const MAX_NOTICE: usize = 7900;

/// The payload telling of `write`, with the row written when it fits.
pub(crate) fn news_payload(write: &ReplicaWrite) -> String {
    let token = write.token.map(|t| t.to_string()).unwrap_or_default();
    let mut payload = format!(
        "c\u{1f}{}\u{1f}{token}\u{1f}{}\u{1f}{}",
        write.replica, write.type_id, write.entity_id
    );
    if let Ok(json) = std::str::from_utf8(&write.payload)
        && payload.len() + 1 + json.len() <= MAX_NOTICE
    {
        payload.push('\u{1f}');
        payload.push_str(json);
    }
    payload
}

/// The payload confirming `token` by `replica`.
pub(crate) fn confirmation_payload(token: u64, replica: u64) -> String {
    format!("a\u{1f}{token}\u{1f}{replica}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn news_read_back_as_written() {
        let write = ReplicaWrite {
            type_id: "counter".to_owned(),
            entity_id: "c-1".to_owned(),
            replica: u64::MAX,
            payload: Bytes::from_static(br#"{"data":{"a":"\u001f"}}"#),
            token: Some(7),
            kept_reply: None,
        };
        assert_eq!(
            parse_news(&news_payload(&write)),
            Some(ReplicaNews::Changed {
                type_id: "counter".to_owned(),
                entity_id: "c-1".to_owned(),
                replica: u64::MAX,
                token: Some(7),
                data: Some(write.payload.clone()),
            })
        );
        // A row too large to travel is read from the store.
        let large = ReplicaWrite {
            payload: Bytes::from(vec![b'1'; 8000]),
            token: None,
            ..write
        };
        assert!(matches!(
            parse_news(&news_payload(&large)),
            Some(ReplicaNews::Changed {
                data: None,
                token: None,
                ..
            })
        ));
        assert_eq!(
            parse_news(&confirmation_payload(7, 3)),
            Some(ReplicaNews::Confirmed {
                token: 7,
                replica: 3
            })
        );
        assert_eq!(parse_news("x"), None);
    }
}
