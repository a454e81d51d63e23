//! Commits of other processes, heard through PostgreSQL's `LISTEN`/`NOTIFY`: a transaction that
//! writes the feed or a topic notifies the schema's channel as it commits, and each process keeps
//! one connection listening to it. Consumers then wake on another process's commits instead of
//! polling the database. If the listening connection is lost it is opened again (consumers fall
//! back to their slow poll meanwhile), and every reconnection wakes them once, for what was
//! missed.
//!
//! The same connection listens to the replicas' channel, whose payloads tell which replicated
//! entity another process wrote (see `replica`): they go to the process's replication driver,
//! and a reconnection tells it that news may have been missed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, broadcast};
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::log_limit::LogLimit;
use crate::store::ReplicaNews;
use crate::store::replica::parse_news;

/// The channel of a schema's commits (the schema is a checked identifier).
pub(super) fn channel(schema: &str) -> String {
    format!("kalix_{schema}")
}

/// The statement a committing transaction runs to notify the schema's channel; notifications
/// of one transaction are delivered once, at its commit.
pub(super) fn notify_statement(schema: &str) -> String {
    format!("NOTIFY {}", channel(schema))
}

/// How long a lost listening connection waits before it is opened again.
const RECONNECT: Duration = Duration::from_secs(1);

static LISTEN_FAILED: LogLimit = LogLimit::per(Duration::from_secs(60));

/// The task listening for a schema's commits, stopped when dropped (with the last handle of the
/// store).
pub(super) struct Listener(JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Listens on `schema`'s channels over a connection of its own, notifying `heard` at each
/// commit notification (and at each (re)connection), and sending replica news to `replicas`.
pub(super) fn listen(
    config: tokio_postgres::Config,
    schema: &str,
    heard: Arc<Notify>,
    replicas: broadcast::Sender<ReplicaNews>,
) -> Listener {
    let listen = format!(
        "LISTEN {}; LISTEN {}",
        channel(schema),
        super::replica::channel(schema)
    );
    let replica_channel = super::replica::channel(schema);
    Listener(tokio::spawn(async move {
        let heard = Heard {
            commits: heard,
            replicas,
            replica_channel,
        };
        loop {
            if let Err(error) = listen_once(&config, &listen, &heard).await
                && let Some(left_out) = LISTEN_FAILED.admit()
            {
                tracing::warn!(%error, left_out, "listening for other processes' commits failed; consumers poll every second until it is back");
            }
            tokio::time::sleep(RECONNECT).await;
        }
    }))
}

/// Where what the listener hears goes.
struct Heard {
    commits: Arc<Notify>,
    replicas: broadcast::Sender<ReplicaNews>,
    replica_channel: String,
}

/// One listening connection, until it fails.
async fn listen_once(
    config: &tokio_postgres::Config,
    listen: &str,
    heard: &Heard,
) -> Result<(), tokio_postgres::Error> {
    let (client, mut connection) = config.connect(NoTls).await?;
    let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx)).boxed();
    let listening = client.batch_execute(listen);
    tokio::pin!(listening);
    // The connection is driven while the LISTEN runs.
    loop {
        tokio::select! {
            done = &mut listening => {
                done?;
                break;
            }
            message = messages.next() => match message {
                Some(Ok(_)) => {}
                Some(Err(error)) => return Err(error),
                None => return Ok(()),
            },
        }
    }
    // Whatever was committed while no connection listened.
    heard.commits.notify_waiters();
    let _ = heard.replicas.send(ReplicaNews::Missed);
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(notification) = message? {
            if notification.channel() == heard.replica_channel {
                if let Some(news) = parse_news(notification.payload()) {
                    // No receiver: no replicated entity listens in this process.
                    let _ = heard.replicas.send(news);
                }
            } else {
                heard.commits.notify_waiters();
            }
        }
    }
    Ok(())
}
