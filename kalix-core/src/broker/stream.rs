//! Service-to-service streams: what a `#[publish(stream = "id")]` handler publishes is kept in
//! the producing service's store and served over HTTP, page by page after an offset; a
//! `#[subscribe(stream = "id", service = "name")]` handler in another service reads those pages
//! and keeps its position in its own store, so either side can restart and the consumer goes on
//! where it was.
//!
//! The consumer finds the producer at `KALIX_SERVICE_<NAME>` (the name upper-cased, `-` as `_`),
//! or where [`Config::with_service_url`](crate::Config::with_service_url) says.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http_body_util::{BodyExt, Empty, LengthLimitError, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};

use super::{SavedPosition, TopicReader};
use crate::store::{FeedOffset, Store, StoreError, StoredMessage, TopicMessage};

/// The path under which a service serves its streams.
pub(crate) const STREAMS_PATH: &str = "/_kalix/streams";

/// How long the producer holds a request for a page while there is nothing new.
pub(crate) const PAGE_WAIT: Duration = Duration::from_millis(1000);

/// The most messages one page holds.
pub(crate) const MAX_PAGE: usize = 1000;

/// The largest page a consumer accepts.
const MAX_PAGE_BYTES: usize = 64 * 1024 * 1024;

/// The bodies a producer puts in one page at most (a page holds one message at least, however
/// large): well under what a consumer accepts.
pub(crate) const PAGE_BODY_BYTES: usize = 16 * 1024 * 1024;

/// The producer's topic holding stream `id`.
pub(crate) fn stream_topic(id: &str) -> String {
    format!("stream:{id}")
}

/// One page of a stream, as the producer serves it.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StreamPage {
    pub messages: Vec<StreamItem>,
    /// The producer's store identity (`Store::store_id`): another one means its store was made
    /// again, and its offsets started over. Absent from older producers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
}

/// One message of a page.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StreamItem {
    /// Its place in the stream, to ask for the messages after it: `<transaction>.<position>`.
    pub offset: String,
    pub id: String,
    pub attributes: Vec<(String, String)>,
    /// The body as text (JSON).
    pub body: String,
}

/// `<transaction>.<position>`.
pub(crate) fn offset_text(offset: FeedOffset) -> String {
    format!("{}.{}", offset.transaction, offset.position)
}

/// Reads `<transaction>.<position>`.
pub(crate) fn parse_offset(text: &str) -> Option<FeedOffset> {
    let (transaction, position) = text.split_once('.')?;
    Some(FeedOffset {
        transaction: transaction.parse().ok()?,
        position: position.parse().ok()?,
    })
}

/// How often a reader waiting for a page looks at a shared store, where another process may
/// publish without this one being told. A store one process uses is read only when this
/// process publishes.
const SHARED_STORE_LOOK: Duration = Duration::from_millis(250);

/// The producer's page of stream `id` after `after`: at most `limit` messages, waiting up to
/// `wait` for the first. While it waits it holds no connection and does not poll: it reads
/// again when `published` says this process published to the stream (and, on a shared store,
/// every 250 ms).
pub(crate) async fn page(
    store: &Arc<dyn Store>,
    mut published: tokio::sync::watch::Receiver<u64>,
    id: &str,
    after: FeedOffset,
    limit: usize,
    wait: Duration,
) -> Result<StreamPage, StoreError> {
    let topic = stream_topic(id);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        // Marked seen before the read, so a publish between the read and the wait is not missed.
        published.borrow_and_update();
        let messages = store.read_topic(&topic, after, limit).await?;
        if !messages.is_empty() || tokio::time::Instant::now() >= deadline {
            let mut bytes = 0;
            let messages = messages
                .into_iter()
                .take_while(|stored| {
                    let first = bytes == 0;
                    bytes += stored.message.payload.len().max(1);
                    first || bytes <= PAGE_BODY_BYTES
                })
                .map(|stored| StreamItem {
                    offset: offset_text(stored.offset),
                    id: stored.message.id,
                    attributes: stored.message.attributes,
                    body: String::from_utf8_lossy(&stored.message.payload).into_owned(),
                })
                .collect();
            return Ok(StreamPage {
                messages,
                store: None,
            });
        }
        let look = if store.is_shared() {
            deadline.min(tokio::time::Instant::now() + SHARED_STORE_LOOK)
        } else {
            deadline
        };
        tokio::select! {
            _ = published.changed() => {}
            () = tokio::time::sleep_until(look) => {}
        }
    }
}

/// Where other services of the project are: configured URLs, then `KALIX_SERVICE_<NAME>`; a
/// stream of this service itself is read from its own store.
#[derive(Clone, Debug, Default)]
pub(crate) struct ServiceUrls {
    pub configured: Vec<(String, String)>,
    /// This service's name: a subscription to its own stream needs no address.
    pub own: String,
    /// What this service signs its reads of other services' streams with, if it has a key.
    pub signer: Option<Arc<crate::access::ServiceKey>>,
}

/// Where a subscribed stream is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StreamSource {
    /// From this service's own store.
    Own,
    /// From the service at this URL.
    Remote(String),
}

impl ServiceUrls {
    /// The variable naming `service`'s URL: `KALIX_SERVICE_CUSTOMER_REGISTRY`.
    pub(crate) fn variable(service: &str) -> String {
        let name: String = service
            .chars()
            .map(|c| {
                if c == '-' {
                    '_'
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        format!("KALIX_SERVICE_{name}")
    }

    /// Where `service`'s streams are: a configured URL or `KALIX_SERVICE_<NAME>` first (another
    /// copy of this service may be meant), then this service's own store; otherwise a message
    /// naming the variable to set.
    pub(crate) fn locate(&self, service: &str) -> Result<StreamSource, String> {
        if let Some((_, url)) = self.configured.iter().find(|(name, _)| name == service) {
            return Ok(StreamSource::Remote(url.clone()));
        }
        let variable = Self::variable(service);
        if let Ok(url) = std::env::var(&variable) {
            return Ok(StreamSource::Remote(url));
        }
        if service == self.own {
            return Ok(StreamSource::Own);
        }
        Err(format!(
            "service '{service}' has no address: set {variable}=http://host:port (this service is '{}')",
            self.own
        ))
    }

    /// A consumer group's reader of stream `stream` of `service`. A service that cannot be
    /// located was refused at start (see [`ServiceUrls::locate`]); its reader fails each read.
    pub(crate) fn reader(
        &self,
        service: &str,
        stream: &str,
        group: &str,
        store: &Arc<dyn Store>,
    ) -> Box<dyn TopicReader> {
        let consumer = format!("stream:{service}:{stream}:{group}");
        let base = match self.locate(service) {
            Ok(StreamSource::Own) => {
                return super::store_reader(store, &stream_topic(stream), consumer);
            }
            Ok(StreamSource::Remote(url)) => Ok(url),
            Err(unlocated) => Err(unlocated),
        };
        Box::new(RemoteStreamReader {
            service: service.to_owned(),
            stream: stream.to_owned(),
            base,
            position: SavedPosition::new(Arc::clone(store), consumer),
            page_limit: MAX_PAGE,
            max_page_bytes: MAX_PAGE_BYTES,
            store: Arc::clone(store),
            producer: None,
            client: Client::builder(TokioExecutor::new()).build_http(),
            signer: self.signer.clone(),
        })
    }
}

/// A consumer group's reader of another service's stream.
pub(crate) struct RemoteStreamReader {
    service: String,
    stream: String,
    /// The producer's URL, or why there is none.
    base: Result<String, String>,
    /// The page size asked for: halved after a page too large to accept, down to one message,
    /// and back to the full size after a page that fits.
    page_limit: usize,
    /// The largest page accepted, in bytes ([`MAX_PAGE_BYTES`]).
    max_page_bytes: usize,
    /// The consumer group's store, where the producer's store identity is kept beside the
    /// position (under the position's name with `#producer`).
    store: Arc<dyn Store>,
    /// The producer's store identity the group read from, as a hash, once known.
    producer: Option<u64>,
    position: SavedPosition,
    client: Client<HttpConnector, Empty<Bytes>>,
    /// Signs each request as this service, so the producer's ACL can let it in.
    signer: Option<Arc<crate::access::ServiceKey>>,
}

impl RemoteStreamReader {
    async fn fetch(&mut self, limit: usize) -> Result<Vec<StoredMessage>, StoreError> {
        let after = self.position.current().await?;
        let base = self.base.clone().map_err(StoreError::new)?;
        let (stream, service) = (self.stream.clone(), self.service.clone());
        let failed = |what: &str, error: &dyn std::fmt::Display| {
            StoreError::new(format!(
                "stream '{stream}' of service '{service}' at {base}: {what}: {error}"
            ))
        };
        // A page too large to accept is asked for again at once with half the messages, down
        // to one; a page that fits lets the size grow back.
        let (status, body) = loop {
            let asked = limit.min(self.page_limit);
            let uri: hyper::Uri = format!(
                "{}{STREAMS_PATH}/{}?after={}&limit={}&wait_ms={}",
                base.trim_end_matches('/'),
                self.stream,
                offset_text(after),
                asked,
                PAGE_WAIT.as_millis()
            )
            .parse()
            .map_err(|e| failed("not a URL", &e))?;
            let mut request = hyper::Request::get(&uri);
            if let Some(signer) = &self.signer {
                request = request.header(
                    crate::access::SERVICE_TOKEN_HEADER,
                    signer.token_for(uri.path()),
                );
            }
            let request = request
                .body(Empty::new())
                .map_err(|e| failed("not a request", &e))?;
            let request = self.client.request(request);
            let response = tokio::time::timeout(PAGE_WAIT + Duration::from_secs(10), request)
                .await
                .map_err(|_| failed("no answer", &"timed out"))?
                .map_err(|e| failed("request failed", &e))?;
            let status = response.status();
            match Limited::new(response.into_body(), self.max_page_bytes)
                .collect()
                .await
            {
                Ok(body) => {
                    self.page_limit = (self.page_limit * 2).min(MAX_PAGE);
                    break (status, body.to_bytes());
                }
                Err(error) if asked > 1 && error.is::<LengthLimitError>() => {
                    self.page_limit = asked / 2;
                    tracing::warn!(stream = %self.stream, service = %self.service, "a stream page was over {} bytes; asking for {} messages at a time", self.max_page_bytes, self.page_limit);
                }
                Err(error) => return Err(failed("reading the page", &error)),
            }
        };
        if !status.is_success() {
            return Err(failed(
                "refused",
                &format!("{status} {}", String::from_utf8_lossy(&body)),
            ));
        }
        let page: StreamPage =
            serde_json::from_slice(&body).map_err(|e| failed("not a stream page", &e))?;
        if let Some(store) = &page.store
            && !self.same_producer(store).await?
        {
            // Its offsets started over: the group reads the new stream from its start.
            return Ok(Vec::new());
        }
        let mut messages = Vec::with_capacity(page.messages.len());
        for item in page.messages {
            let offset = parse_offset(&item.offset)
                .ok_or_else(|| failed("a message without a valid offset", &item.offset))?;
            messages.push(StoredMessage {
                offset,
                message: TopicMessage {
                    id: item.id,
                    attributes: item.attributes,
                    payload: Bytes::from(item.body),
                },
            });
        }
        if let Some(last) = messages.last() {
            self.position.advance(last.offset);
        }
        Ok(messages)
    }
}

impl RemoteStreamReader {
    /// The name the producer's store identity is kept under.
    fn producer_key(&self) -> String {
        format!("{}#producer", self.position.consumer())
    }

    /// Whether the page comes from the producer store the group read from so far. The first
    /// time, that store is recorded; a different one (the producer's store was made again, so
    /// its offsets started over) is logged, the group's position goes back to the stream's
    /// start, and then the new store is recorded: at least once, never past unseen messages.
    async fn same_producer(&mut self, store: &str) -> Result<bool, StoreError> {
        let seen = crate::fingerprint::fingerprint(store.as_bytes()).max(1);
        let key = self.producer_key();
        let known = match self.producer {
            Some(known) => known,
            None => {
                self.store
                    .consumer_progress(&key, Vec::new())
                    .await?
                    .offset
                    .transaction
            }
        };
        if known == seen {
            self.producer = Some(seen);
            return Ok(true);
        }
        if known != 0 {
            tracing::error!(stream = %self.stream, service = %self.service, "the producing service's store was made again since this consumer group last read its stream (its offsets started over): reading the stream from its start, so messages may be processed twice");
            self.position.save(FeedOffset::default()).await?;
            self.position.advance(FeedOffset::default());
        }
        let progress = crate::store::ConsumerProgress {
            offset: FeedOffset {
                transaction: seen,
                position: 0,
            },
            seqs: Vec::new(),
        };
        self.store.save_consumer_progress(&key, progress).await?;
        self.producer = Some(seen);
        Ok(known == 0)
    }
}

impl TopicReader for RemoteStreamReader {
    fn long_polls(&self) -> bool {
        // Each page request waits up to `PAGE_WAIT` at the producer.
        true
    }

    fn read(&mut self, limit: usize) -> BoxFuture<'_, Result<Vec<StoredMessage>, StoreError>> {
        Box::pin(self.fetch(limit))
    }

    fn processed(&mut self, offset: FeedOffset) -> BoxFuture<'_, Result<(), StoreError>> {
        self.position.save(offset)
    }

    fn rewind(&mut self) {
        self.position.forget();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_service_name_gives_its_variable() {
        assert_eq!(
            ServiceUrls::variable("customer-registry"),
            "KALIX_SERVICE_CUSTOMER_REGISTRY"
        );
    }

    fn message(id: &str, bytes: usize) -> TopicMessage {
        TopicMessage {
            id: id.to_owned(),
            attributes: Vec::new(),
            payload: Bytes::from("x".repeat(bytes)),
        }
    }

    #[tokio::test]
    async fn a_producer_caps_the_bytes_of_a_page_but_serves_one_large_message() {
        let store: Arc<dyn Store> = Arc::new(crate::store::SqliteStore::memory().unwrap());
        let big = PAGE_BODY_BYTES / 2 + 1;
        let messages = vec![message("a", big), message("b", big), message("c", 10)];
        store.publish(&stream_topic("s"), messages).await.unwrap();
        let news = crate::news::KeyedNews::default();
        let first = page(
            &store,
            news.follow("s"),
            "s",
            FeedOffset::default(),
            10,
            Duration::ZERO,
        )
        .await
        .unwrap();
        let ids: Vec<&str> = first.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a"], "two halves and more are over the cap");
        let after = parse_offset(&first.messages[0].offset).unwrap();
        let second = page(&store, news.follow("s"), "s", after, 10, Duration::ZERO)
            .await
            .unwrap();
        let ids: Vec<&str> = second.messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["b", "c"]);
    }

    #[tokio::test]
    async fn a_consumer_asks_for_fewer_messages_after_a_page_too_large_down_to_one() {
        use axum::extract::Query;
        use std::collections::HashMap;
        // A producer whose messages are 600 bytes each, read by a consumer taking 1 KB pages.
        let asked = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = Arc::clone(&asked);
        let app = axum::Router::new().route(
            "/_kalix/streams/s",
            axum::routing::get(move |Query(query): Query<HashMap<String, String>>| {
                let limit: usize = query["limit"].parse().unwrap();
                seen.lock().unwrap().push(limit);
                let messages = (0..limit)
                    .map(|n| StreamItem {
                        offset: format!("1.{n}"),
                        id: format!("m{n}"),
                        attributes: Vec::new(),
                        body: "x".repeat(600),
                    })
                    .collect();
                async move {
                    axum::Json(StreamPage {
                        messages,
                        store: None,
                    })
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        let store: Arc<dyn Store> = Arc::new(crate::store::SqliteStore::memory().unwrap());
        let urls = ServiceUrls {
            configured: vec![("producer".to_owned(), url)],
            own: "consumer".to_owned(),
            signer: None,
        };
        let mut reader = RemoteStreamReader {
            service: "producer".to_owned(),
            stream: "s".to_owned(),
            base: Ok(match urls.locate("producer").unwrap() {
                StreamSource::Remote(url) => url,
                StreamSource::Own => unreachable!(),
            }),
            position: SavedPosition::new(Arc::clone(&store), "stream:producer:s:g".to_owned()),
            page_limit: MAX_PAGE,
            max_page_bytes: 1024,
            store: Arc::clone(&store),
            producer: None,
            client: Client::builder(TokioExecutor::new()).build_http(),
            signer: None,
        };
        let read = reader.fetch(256).await.unwrap();
        assert_eq!(read.len(), 1, "one message fits");
        assert_eq!(*asked.lock().unwrap(), [256, 128, 64, 32, 16, 8, 4, 2, 1]);
    }

    #[test]
    fn offsets_read_back() {
        let offset = FeedOffset {
            transaction: 7,
            position: 42,
        };
        assert_eq!(parse_offset(&offset_text(offset)), Some(offset));
        assert_eq!(parse_offset("7"), None);
        assert_eq!(parse_offset("a.1"), None);
    }
}
