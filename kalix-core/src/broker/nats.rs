//! Topics on NATS JetStream (`KALIX_BROKER=nats://host:port`).
//!
//! Topic `T` is the subject `<prefix>T` (no prefix unless `KALIX_NATS_SUBJECT_PREFIX` sets one).
//! Before its first publish or read of a topic the service makes sure a stream covers the
//! subject, creating `KALIX_<subject>` when none does; every process creates the same one, so
//! several starting at once agree. A message's attributes travel as headers (`ce-type`,
//! `ce-subject`, `Content-Type`, ...), and its id as `Nats-Msg-Id`, so the stream drops a
//! message published again within its duplicate window.
//!
//! A consumer group reads the stream in order from the stream sequence after the one it saved
//! last in the service's store, through an ephemeral consumer, and saves the sequence of what it
//! processed there, with the stream's identity (its creation time): the save after the
//! handler's effect is its acknowledgement.
//!
//! A stream can be made again under the service (a server restarted without its data, a stream
//! deleted by hand). A publish or read that finds it gone makes it again, with a warning, and a
//! consumer group whose saved position belongs to another stream (its identity differs, or the
//! new stream has fewer messages than the group read) reads the new one from its start, with an
//! error in the log: at least once, never past messages it has not seen. Kept in the
//! store beside the lease, a group's position moves only with the process that holds the lease,
//! so order per topic holds when another process takes over, with no wait for acknowledgement
//! timeouts on the server.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer, stream};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;

use super::{Broker, SavedPosition, TopicReader};
use crate::error::StartError;
use crate::store::{FeedOffset, Store, StoreError, StoredMessage, TopicMessage};

/// The header carrying a message's id, by which JetStream drops duplicates.
const MSG_ID: &str = "Nats-Msg-Id";

/// How long a read waits for messages when there are none.
const READ_WAIT: Duration = Duration::from_millis(100);

/// Topics on a NATS JetStream server (a cheap handle: clones share the connection).
#[derive(Clone)]
pub(crate) struct NatsBroker {
    inner: Arc<Inner>,
}

struct Inner {
    jetstream: jetstream::Context,
    subject_prefix: String,
    /// Where consumer groups keep their positions.
    store: Arc<dyn Store>,
    /// Subjects a stream is known to cover, so a publish does not ask again.
    covered: Mutex<HashSet<String>>,
    /// The max age and bytes of the streams the service makes.
    retention: (Duration, u64),
}

fn nats_error(what: &str, error: impl std::fmt::Display) -> StoreError {
    StoreError::new(format!("nats: {what}: {error}"))
}

impl NatsBroker {
    /// Connects to the server at `url`, waiting at most `timeout`.
    pub(crate) async fn connect(
        url: &str,
        subject_prefix: &str,
        store: Arc<dyn Store>,
        timeout: Duration,
        retention: (Duration, u64),
    ) -> Result<Self, StartError> {
        let connect = async_nats::ConnectOptions::new()
            .connection_timeout(timeout)
            .connect(url);
        let client = tokio::time::timeout(timeout, connect)
            .await
            .map_err(|_| StartError::Config {
                variable: "KALIX_BROKER",
                problem: format!("NATS at {url} did not answer within {timeout:?}"),
            })?
            .map_err(|error| StartError::Config {
                variable: "KALIX_BROKER",
                problem: format!("cannot connect to NATS at {url}: {error}"),
            })?;
        Ok(Self {
            inner: Arc::new(Inner {
                jetstream: jetstream::new(client),
                subject_prefix: subject_prefix.to_owned(),
                store,
                covered: Mutex::new(HashSet::new()),
                retention,
            }),
        })
    }

    fn subject(&self, topic: &str) -> String {
        format!("{}{topic}", self.inner.subject_prefix)
    }

    /// Forgets that a stream covers `subject`, so the next publish or read looks again.
    fn forget(&self, subject: &str) {
        self.inner
            .covered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(subject);
    }

    fn is_covered(&self, subject: &str) -> bool {
        self.inner
            .covered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(subject)
    }

    /// The stream covering `subject`, made if none does.
    async fn stream_for(&self, subject: &str) -> Result<stream::Stream, StoreError> {
        let known = self.is_covered(subject);
        let name = match self.inner.jetstream.stream_by_subject(subject).await {
            Ok(name) => name,
            Err(_) => {
                if known {
                    tracing::warn!(
                        subject,
                        "the NATS stream covering this subject is gone (a server restarted without its data, or the stream was deleted); making it again"
                    );
                }
                let (max_age, max_bytes) = self.inner.retention;
                let config = stream::Config {
                    name: stream_name(subject),
                    subjects: vec![subject.to_owned()],
                    max_age,
                    max_bytes: max_bytes.min(i64::MAX as u64) as i64,
                    ..Default::default()
                };
                self.inner
                    .jetstream
                    .get_or_create_stream(config)
                    .await
                    .map_err(|e| nats_error("creating a stream", e))?
                    .cached_info()
                    .config
                    .name
                    .clone()
            }
        };
        self.inner
            .covered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(subject.to_owned());
        self.inner
            .jetstream
            .get_stream(&name)
            .await
            .map_err(|e| nats_error("opening the stream", e))
    }
}

/// A stream name for a subject: `KALIX_` and the subject with what a name may not hold replaced.
fn stream_name(subject: &str) -> String {
    let cleaned: String = subject
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("KALIX_{cleaned}")
}

impl Broker for NatsBroker {
    fn publish(
        &self,
        topic: &str,
        message: TopicMessage,
    ) -> BoxFuture<'static, Result<(), StoreError>> {
        let (broker, subject) = (self.clone(), self.subject(topic));
        Box::pin(async move {
            // Made before the first publish, so a topic nobody reads yet keeps its messages.
            if !broker.is_covered(&subject) {
                broker.stream_for(&subject).await?;
            }
            let mut headers = HeaderMap::new();
            for (name, value) in &message.attributes {
                headers.insert(name.as_str(), value.as_str());
            }
            headers.insert(MSG_ID, message.id.as_str());
            let publish = || async {
                broker
                    .inner
                    .jetstream
                    .publish_with_headers(subject.clone(), headers.clone(), message.payload.clone())
                    .await
                    .map_err(|e| nats_error("publishing", e))?
                    .await
                    .map_err(|e| nats_error("publish not acknowledged", e))
            };
            if let Err(error) = publish().await {
                // The stream may be gone: made again (when missing), then published once more.
                broker.forget(&subject);
                broker.stream_for(&subject).await.map_err(|_| error)?;
                publish().await?;
            }
            Ok(())
        })
    }

    fn reader(&self, topic: &str, group: &str) -> Box<dyn TopicReader> {
        Box::new(NatsReader {
            broker: self.clone(),
            subject: self.subject(topic),
            position: SavedPosition::new(
                Arc::clone(&self.inner.store),
                format!("topic:{topic}:{group}"),
            ),
            reading: None,
            identity: 0,
            checked_at: std::time::Instant::now(),
        })
    }
}

/// Reads one subject for one consumer group, from the position saved in the store.
struct NatsReader {
    broker: NatsBroker,
    subject: String,
    /// The stream sequence processed last.
    position: SavedPosition,
    /// The ephemeral consumer reading from just after `position`.
    reading: Option<consumer::Consumer<consumer::pull::Config>>,
    /// The identity of the stream read (its creation time, ms since the epoch), saved with the
    /// position.
    identity: u64,
    /// When the consumer was last found to exist, while reads came back empty.
    checked_at: std::time::Instant,
}

/// A stream's identity: its creation time, in ms since the epoch. A stream made again has
/// another.
fn identity(info: &stream::Info) -> u64 {
    (info.created.unix_timestamp_nanos() / 1_000_000).max(1) as u64
}

/// Where a consumer group whose saved position is `saved` reads a stream whose state is `info`
/// from (the sequence after which it reads), and what to log about it.
fn resume_from(saved: FeedOffset, info: &stream::Info) -> (u64, Option<String>) {
    let made_again = if saved.transaction != 0 {
        saved.transaction != identity(info)
    } else {
        saved.position > info.state.last_sequence
    };
    if made_again && saved.position > 0 {
        return (
            0,
            Some(format!(
                "the stream was made again since this consumer group read it up to {} (a server restarted without its data, or the stream was deleted): reading the new one from its start, so messages may be processed twice",
                saved.position
            )),
        );
    }
    let first = info.state.first_sequence;
    if saved.position + 1 < first && info.state.messages > 0 {
        return (
            saved.position,
            Some(format!(
                "messages {} to {} left the stream (its retention) before this consumer group read them",
                saved.position + 1,
                first - 1
            )),
        );
    }
    (saved.position, None)
}

impl NatsReader {
    async fn read_batch(&mut self, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        if self.reading.is_none() {
            let mut stream = self.broker.stream_for(&self.subject).await?;
            let info = stream
                .info()
                .await
                .map_err(|e| nats_error("reading the stream's state", e))?
                .clone();
            let saved = self.position.current().await?;
            let (from, said) = resume_from(saved, &info);
            if let Some(said) = said {
                tracing::error!(subject = %self.subject, "{said}");
            }
            self.identity = identity(&info);
            if from != saved.position {
                self.position.advance(FeedOffset {
                    transaction: self.identity,
                    position: from,
                });
            }
            let config = consumer::pull::Config {
                filter_subject: self.subject.clone(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: from + 1,
                },
                ack_policy: consumer::AckPolicy::None,
                inactive_threshold: Duration::from_secs(60),
                ..Default::default()
            };
            let created = stream
                .create_consumer(config)
                .await
                .map_err(|e| nats_error("creating a consumer", e))?;
            self.reading = Some(created);
        }
        let reading = self.reading.as_ref().expect("made above");
        let mut batch = reading
            .fetch()
            .max_messages(limit)
            .expires(READ_WAIT)
            .messages()
            .await
            .map_err(|e| nats_error("fetching", e))?;
        let mut messages = Vec::new();
        while let Some(next) = batch.next().await {
            let message = next.map_err(|e| nats_error("receiving", e))?;
            let sequence = message
                .info()
                .map_err(|e| nats_error("reading a message's sequence", e))?
                .stream_sequence;
            let mut attributes = Vec::new();
            let mut id = None;
            if let Some(headers) = &message.headers {
                for (name, values) in headers.iter() {
                    for value in values {
                        if name.to_string().eq_ignore_ascii_case(MSG_ID) {
                            id = Some(value.as_str().to_owned());
                        } else {
                            attributes.push((name.to_string(), value.as_str().to_owned()));
                        }
                    }
                }
            }
            // Headers come unordered; a stable order reads better in tests and logs.
            attributes.sort();
            messages.push(StoredMessage {
                offset: FeedOffset {
                    transaction: self.identity,
                    position: sequence,
                },
                message: TopicMessage {
                    id: id.unwrap_or_else(|| format!("{}:{sequence}", self.subject)),
                    attributes,
                    payload: Bytes::clone(&message.payload),
                },
            });
        }
        // A pull to a consumer deleted with its stream may just come back empty: an idle
        // reader looks, once a second, whether its consumer is still there, so a stream deleted
        // under it is made again by the next read.
        if messages.is_empty() && self.checked_at.elapsed() >= CONSUMER_CHECK {
            self.checked_at = std::time::Instant::now();
            reading
                .get_info()
                .await
                .map_err(|e| nats_error("finding the consumer (its stream may be gone)", e))?;
        }
        Ok(messages)
    }
}

/// How often an idle reader checks that its consumer still exists.
const CONSUMER_CHECK: Duration = Duration::from_secs(1);

impl TopicReader for NatsReader {
    fn long_polls(&self) -> bool {
        true
    }

    fn read(&mut self, limit: usize) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        Box::pin(async move {
            let read = self.read_batch(limit).await;
            if read.is_err() {
                // Start over from the saved position: the consumer may be gone.
                self.reading = None;
            }
            read
        })
    }

    fn processed(&mut self, offset: FeedOffset) -> BoxFuture<'_, Result<(), StoreError>> {
        self.position.advance(offset);
        self.position.save(offset)
    }

    fn rewind(&mut self) {
        self.position.forget();
        self.reading = None;
    }
}
