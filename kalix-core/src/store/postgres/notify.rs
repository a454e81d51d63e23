//! Commits of other processes, heard through PostgreSQL's `LISTEN`/`NOTIFY`: a transaction that
//! writes the feed or a topic notifies the schema's channel as it commits, and each process keeps
//! one connection listening to it. Consumers then wake on another process's commits instead of
//! polling the database. If the listening connection is lost it is opened again (consumers fall
//! back to their slow poll meanwhile), and every reconnection wakes them once, for what was
//! missed.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::log_limit::LogLimit;

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

/// Listens on `schema`'s channel over a connection of its own, notifying `heard` at each
/// notification (and at each (re)connection).
pub(super) fn listen(config: tokio_postgres::Config, schema: &str, heard: Arc<Notify>) -> Listener {
    let listen = format!("LISTEN {}", channel(schema));
    Listener(tokio::spawn(async move {
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

/// One listening connection, until it fails.
async fn listen_once(
    config: &tokio_postgres::Config,
    listen: &str,
    heard: &Notify,
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
    heard.notify_waiters();
    while let Some(message) = messages.next().await {
        if let AsyncMessage::Notification(_) = message? {
            heard.notify_waiters();
        }
    }
    Ok(())
}
