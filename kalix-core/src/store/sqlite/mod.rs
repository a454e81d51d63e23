//! The embedded SQLite backend: one file (WAL, `synchronous=FULL`), or memory for tests.
//!
//! A file is one process's: it is locked while open, since a second process would serve reads
//! from its own memory without seeing the first one's writes (several processes share
//! PostgreSQL instead). Each commit checks that the file is still the one opened, so a database
//! deleted or replaced under a running service stops taking writes instead of acknowledging
//! writes a restart would not find.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use futures_util::future::BoxFuture;
use rusqlite::Connection;

mod entity;
mod feed;
mod inspect;
mod journal;
mod kept;
mod lease;
mod outside;
mod replica;
mod timer;
mod view;

use super::schema::Migration;
use super::{Store, StoreError};

/// A store in one SQLite database.
///
/// Writes go through one connection, one transaction per batch; reads use other connections so
/// they do not wait behind a commit (in WAL mode they see the last committed state), one per
/// core (at least two), so view queries run in parallel.
#[derive(Clone)]
pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    readers: Arc<Readers>,
    /// The database file, for a file database.
    file: Option<Arc<OpenFile>>,
    /// The writes that are not entity changes, combined into shared transactions.
    outside: Arc<outside::OutsideWrites>,
}

/// The connections reads use; a read takes a free one, or waits for one in turn.
struct Readers {
    connections: Vec<Arc<Mutex<Connection>>>,
    next: AtomicUsize,
}

impl Readers {
    fn pick(&self) -> Arc<Mutex<Connection>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let count = self.connections.len();
        let free = (0..count)
            .map(|i| &self.connections[(start + i) % count])
            .find(|connection| !connection.is_poisoned() && connection.try_lock().is_ok());
        Arc::clone(free.unwrap_or(&self.connections[start % count]))
    }
}

/// A database file held open by this store: its lock, and what it was when opened.
struct OpenFile {
    path: PathBuf,
    identity: FileIdentity,
    /// Held for the store's life: the lock is released when the last store of this process
    /// using the file is dropped, or the process dies.
    _lock: Arc<File>,
    /// Set once the file was found gone or replaced; no write is acknowledged after.
    vanished: AtomicBool,
}

/// The lock files this process holds, by canonical path: a service restarted in the same
/// process (as tests do) shares the lock of the store it replaces, which may still be closing.
static LOCKS_HELD: Mutex<Vec<(PathBuf, Weak<File>)>> = Mutex::new(Vec::new());

/// The state table; the journal's are in [`journal::SCHEMA`], the feed's in [`feed::SCHEMA`].
/// `position` places a row's latest change in its type's change feed.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entity_state (
    type_id   TEXT    NOT NULL,
    entity_id TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    payload   BLOB,
    position  INTEGER,
    PRIMARY KEY (type_id, entity_id)
) WITHOUT ROWID;
";

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, and its parent directories.
    ///
    /// Fails if another process has the file open (`<path>.lock` is locked), or if the
    /// database cannot be written.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| StoreError::new(format!("cannot create {}: {e}", parent.display())))?;
        }
        let lock = lock_file(path)?;
        let mut writer = open_connection(path)?;
        // The WAL is checkpointed every 16384 pages (64 MiB) rather than SQLite's 1000: a page
        // written again before the checkpoint (a busy entity's, a table's last page) is copied to
        // the database once, and a batch that dirties many pages (kept replies, one per keyed
        // write) does not stall the writer with a checkpoint every few batches. Temporary
        // storage in memory: each write queued outside the entity batches runs in a savepoint,
        // whose copies of the pages it changes SQLite would otherwise spill to a temporary file
        // (a file opened and written per savepoint, in a busy subscriber's every batch).
        writer
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000; \
                 PRAGMA wal_autocheckpoint=16384; PRAGMA temp_store=MEMORY;",
            )
            .map_err(sqlite_error)?;
        create_tables(&mut writer)?;
        check_writable(&writer, path)?;
        let count = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let readers = (0..count)
            .map(|_| {
                let reader = open_connection(path)?;
                reader
                    .execute_batch("PRAGMA busy_timeout=5000;")
                    .map_err(sqlite_error)?;
                Ok(Arc::new(Mutex::new(reader)))
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let identity = FileIdentity::of(path).map_err(|e| {
            StoreError::new(format!(
                "cannot read the metadata of {}: {e}",
                path.display()
            ))
        })?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(Readers {
                connections: readers,
                next: AtomicUsize::new(0),
            }),
            file: Some(Arc::new(OpenFile {
                path: path.to_owned(),
                identity,
                _lock: lock,
                vanished: AtomicBool::new(false),
            })),
            outside: Arc::default(),
        })
    }

    /// A private in-memory database, gone when the store is dropped.
    pub fn memory() -> Result<Self, StoreError> {
        // One connection for reads and writes: a second connection to a shared-cache memory
        // database meets SQLITE_LOCKED while a commit runs.
        let mut connection = Connection::open_in_memory().map_err(sqlite_error)?;
        plan_once(&connection)?;
        create_tables(&mut connection)?;
        let connection = Arc::new(Mutex::new(connection));
        Ok(Self {
            writer: Arc::clone(&connection),
            readers: Arc::new(Readers {
                connections: vec![connection],
                next: AtomicUsize::new(0),
            }),
            file: None,
            outside: Arc::default(),
        })
    }
}

/// Opens a connection to the database file at `path`, its plans fixed ([`plan_once`]).
fn open_connection(path: &Path) -> Result<Connection, StoreError> {
    let connection = Connection::open(path).map_err(sqlite_error)?;
    plan_once(&connection)?;
    Ok(connection)
}

/// Turns on SQLite's query planner stability guarantee: a statement's plan no longer depends on
/// the values bound to it. Without it, binding a new value to `LIMIT ?` (as every feed, topic
/// and timer read does) expires the cached statement, and each run parses and plans it again
/// (a twentieth of a busy subscriber's CPU). Nothing is lost: the store never runs `ANALYZE`,
/// the only other source of value-dependent plans.
fn plan_once(connection: &Connection) -> Result<(), StoreError> {
    connection
        .set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )
        .map_err(sqlite_error)?;
    Ok(())
}

/// One step of the schema: what it runs on the writer connection.
type Step = fn(&mut Connection) -> Result<(), StoreError>;

/// The schema, one step per version, recorded in the file's `user_version`. The first steps
/// bring a file made before versions were kept, in any of its earlier layouts, to the layout of
/// version 5; a later change is one more step, which runs once.
const MIGRATIONS: &[Migration<Step>] = &[
    Migration {
        version: 1,
        what: "entity state rows",
        apply: |c| c.execute_batch(SCHEMA).map_err(sqlite_error),
    },
    Migration {
        version: 2,
        what: "replies kept under idempotency keys",
        apply: |c| c.execute_batch(kept::SCHEMA).map_err(sqlite_error),
    },
    Migration {
        version: 3,
        what: "journals as one log (the keyed journals of earlier files moved into it)",
        apply: |c| {
            c.execute_batch(journal::SCHEMA).map_err(sqlite_error)?;
            journal::migrate_keyed_journal(c)
        },
    },
    Migration {
        version: 4,
        what: "timers",
        apply: |c| c.execute_batch(timer::SCHEMA).map_err(sqlite_error),
    },
    Migration {
        version: 5,
        what: "the change feed, consumers' progress and topics",
        apply: feed::migrate,
    },
    Migration {
        version: 6,
        what: "the count of pending timers, kept by triggers",
        apply: |c| c.execute_batch(timer::PENDING_SCHEMA).map_err(sqlite_error),
    },
    Migration {
        version: 7,
        what: "the trace context of each change and event, for its subscribers",
        apply: |c| {
            c.execute_batch(
                "ALTER TABLE entity_state ADD COLUMN trace_parent TEXT;
                 ALTER TABLE event_log ADD COLUMN trace_parent TEXT;",
            )
            .map_err(sqlite_error)
        },
    },
    Migration {
        version: 8,
        what: "the transaction of a consumer's position (a topic reader's stream, a stream reader's producer)",
        apply: |c| {
            c.execute_batch("ALTER TABLE consumer_offset ADD COLUMN tx INTEGER NOT NULL DEFAULT 0;")
                .map_err(sqlite_error)
        },
    },
    Migration {
        version: 9,
        what: "the request digest, status and content type of a kept reply",
        apply: |c| c.execute_batch(kept::REPLY_COLUMNS).map_err(sqlite_error),
    },
    Migration {
        version: 10,
        what: "replicated entities' rows, one per replica",
        apply: |c| c.execute_batch(replica::SCHEMA).map_err(sqlite_error),
    },
    Migration {
        version: 11,
        what: "topic messages a consumer appends with its progress kept out of the id index; no sequence numbers per entity kept for consumers of a feed in commit order",
        apply: feed::publish_by_id,
    },
];

/// Brings the file's schema to the latest version, or refuses a file a newer runtime wrote.
fn create_tables(connection: &mut Connection) -> Result<(), StoreError> {
    migrate(connection, MIGRATIONS)
}

/// Runs the steps of `migrations` the file has not had, each in one transaction with the
/// version it records: a step that fails, or a process killed during one, leaves the file at
/// the version before it, nothing of the step applied, so the next start runs it again whole.
fn migrate(connection: &mut Connection, migrations: &[Migration<Step>]) -> Result<(), StoreError> {
    let found: u32 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_error)?;
    for migration in super::schema::pending(migrations, found)? {
        connection
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite_error)?;
        let applied = (migration.apply)(connection).and_then(|()| {
            connection
                .pragma_update(None, "user_version", migration.version)
                .map_err(sqlite_error)
        });
        let committed =
            applied.and_then(|()| connection.execute_batch("COMMIT").map_err(sqlite_error));
        if let Err(error) = committed {
            if !connection.is_autocommit() {
                let _ = connection.execute_batch("ROLLBACK");
            }
            return Err(StoreError::new(format!(
                "bringing the store to schema version {} ({}): {error}",
                migration.version, migration.what
            )));
        }
    }
    Ok(())
}

/// Locks `<path>.lock` for this process, or fails naming the file if another process holds it.
fn lock_file(path: &Path) -> Result<Arc<File>, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| StoreError::new(format!("cannot open {}: {e}", lock_path.display())))?;
    let key = lock_path
        .canonicalize()
        .unwrap_or_else(|_| lock_path.clone());
    let mut held = LOCKS_HELD.lock().unwrap_or_else(|p| p.into_inner());
    // A store of this process that is being dropped may not have closed its descriptor yet.
    let closing = held.iter().any(|(path, _)| *path == key);
    held.retain(|(_, lock)| lock.strong_count() > 0);
    if let Some(lock) = held
        .iter()
        .find(|(path, _)| *path == key)
        .and_then(|(_, lock)| lock.upgrade())
    {
        return Ok(lock);
    }
    let mut attempt = file.try_lock();
    for _ in 0..50 {
        if !(closing && matches!(attempt, Err(std::fs::TryLockError::WouldBlock))) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        attempt = file.try_lock();
    }
    match attempt {
        Ok(()) => {
            let lock = Arc::new(file);
            held.push((key, Arc::downgrade(&lock)));
            Ok(lock)
        }
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::new(format!(
            "{} is in use by another process (it holds {}); an SQLite database serves one \
             process: to run several copies of a service, use PostgreSQL \
             (KALIX_STORE=postgres://...)",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::new(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}

/// Writes one row, so a database that cannot take writes (a read-only file or mount, no space)
/// stops the start instead of failing every command later.
fn check_writable(connection: &Connection, path: &Path) -> Result<(), StoreError> {
    connection
        .execute_batch(
            "CREATE TABLE IF NOT EXISTS kalix_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
             INSERT INTO kalix_meta (key, value) VALUES ('writable', 'yes')
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value;",
        )
        .map_err(|e| {
            StoreError::new(format!(
                "the database {} cannot be written ({e}); check its permissions and free space",
                path.display()
            ))
        })
}

/// What tells one file from another at the same path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FileIdentity {
    #[cfg(unix)]
    device: u64,
    #[cfg(unix)]
    inode: u64,
}

impl FileIdentity {
    fn of(path: &Path) -> std::io::Result<Self> {
        let metadata = std::fs::metadata(path)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Ok(Self {
                device: metadata.dev(),
                inode: metadata.ino(),
            })
        }
        #[cfg(not(unix))]
        {
            let _ = metadata;
            Ok(Self {})
        }
    }
}

impl OpenFile {
    /// `Err` if the file was already found gone: a batch is then refused without being written.
    fn refuse_if_vanished(&self) -> Result<(), StoreError> {
        if self.vanished.load(Ordering::Acquire) {
            return Err(self.vanished_error());
        }
        Ok(())
    }

    /// `Err` if the file was deleted or replaced since it was opened: what was just committed
    /// went to a file a restart will not open, so it must not be acknowledged. Once found, every
    /// later commit fails too.
    fn check_still_there(&self) -> Result<(), StoreError> {
        if !self.vanished.load(Ordering::Acquire) {
            match FileIdentity::of(&self.path) {
                Ok(identity) if identity == self.identity => return Ok(()),
                // Not a verdict (EIO, EACCES): this commit fails, later ones check again.
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    return Err(StoreError::new(format!(
                        "the database file {} cannot be checked: {error}",
                        self.path.display()
                    )));
                }
                _ => {
                    self.vanished.store(true, Ordering::Release);
                    tracing::error!(
                        path = %self.path.display(),
                        "the database file was deleted or replaced while the service ran; \
                         no write is acknowledged from now on: restart the service"
                    );
                }
            }
        }
        Err(self.vanished_error())
    }

    fn vanished_error(&self) -> StoreError {
        StoreError::new(format!(
            "the database file {} was deleted or replaced while the service ran; writes are \
             refused until the service restarts",
            self.path.display()
        ))
    }
}

impl SqliteStore {
    /// Runs `work` on the writer connection, between the group committer's batches: for the
    /// small writes that are not entity changes (consumer progress, topic messages, timers).
    /// Writes queued together share one transaction (`outside.rs`), each in a savepoint, so
    /// `work` uses savepoints, not transactions, for its own atomicity.
    fn write_outside_batches<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        self.outside
            .run(Arc::clone(&self.writer), self.file.clone(), work)
    }

    /// Runs `work` on a reader connection, off the async threads.
    fn read<T: Send + 'static>(
        &self,
        type_id: &str,
        entity_id: &str,
        work: impl FnOnce(&Connection, &str, &str) -> Result<T, StoreError> + Send + 'static,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let reader = self.readers.pick();
        let (type_id, entity_id) = (type_id.to_owned(), entity_id.to_owned());
        blocking(move || {
            let connection = reader
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            work(&connection, &type_id, &entity_id)
        })
    }
}

fn sqlite_error(error: rusqlite::Error) -> StoreError {
    StoreError::new(format!("sqlite: {error}"))
}

fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> BoxFuture<'static, Result<T, StoreError>> {
    Box::pin(async move {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|e| StoreError::new(format!("store task failed: {e}")))?
    })
}

impl Store for SqliteStore {
    /// One process per file (see the module's documentation).
    fn is_shared(&self) -> bool {
        false
    }

    fn store_id(&self) -> BoxFuture<'static, Result<String, StoreError>> {
        self.write_outside_batches(|connection| {
            // `kalix_meta` (key, value) is made when the file is opened.
            connection
                .execute_batch(
                    "CREATE TABLE IF NOT EXISTS kalix_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
                )
                .map_err(sqlite_error)?;
            connection
                .execute(
                    "INSERT INTO kalix_meta (key, value) VALUES ('store_id', ?1) ON CONFLICT DO NOTHING",
                    [uuid::Uuid::new_v4().to_string()],
                )
                .map_err(sqlite_error)?;
            connection
                .query_row(
                    "SELECT value FROM kalix_meta WHERE key = 'store_id'",
                    [],
                    |row| row.get(0),
                )
                .map_err(sqlite_error)
        })
    }

    fn commit_news(&self) -> Option<std::sync::Arc<tokio::sync::Notify>> {
        // One process at a time: its group committer's news covers every commit.
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    use crate::store::{EntityStore, StateWrite, Write};

    fn write(entity: &str) -> Write {
        Write::State(StateWrite {
            type_id: "t".into(),
            entity_id: entity.into(),
            expected_version: 0,
            follows_own_write: false,
            payload: Some(Bytes::from_static(b"1")),
            timers: Vec::new(),
            kept_reply: None,
            trace_parent: None,
        })
    }

    #[test]
    fn a_read_with_a_bound_limit_is_planned_once_not_on_every_run() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        drop(SqliteStore::open(&path).unwrap());
        // How often the topic read's cached statement was parsed again after three runs, each
        // with another limit.
        let reprepared = |connection: &Connection| {
            for limit in [10, 20, 30] {
                feed::read_topic(connection, "t", crate::store::FeedOffset::default(), limit)
                    .unwrap();
            }
            let sql = "SELECT position, message_id, attributes, payload FROM topic_message \
                       WHERE topic = ?1 AND position > ?2 ORDER BY position LIMIT ?3";
            let statement = connection.prepare_cached(sql).unwrap();
            statement.get_status(rusqlite::StatementStatus::RePrepare)
        };
        assert_eq!(reprepared(&open_connection(&path).unwrap()), 0);
        // What the store's connections are spared: SQLite's default parses it on each new limit.
        assert!(reprepared(&Connection::open(&path).unwrap()) > 0);
    }

    #[tokio::test]
    async fn a_file_from_version_10_keeps_the_ids_of_its_topics_unique() {
        use crate::store::{FeedStore, TopicMessage};
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        drop(SqliteStore::open(&path).unwrap());
        // The file as version 10 left it: every id in the index, a sequence number kept.
        Connection::open(&path)
            .unwrap()
            .execute_batch(
                "DROP INDEX topic_message_id;
                 ALTER TABLE topic_message DROP COLUMN by_id;
                 CREATE UNIQUE INDEX topic_message_id ON topic_message (topic, message_id);
                 INSERT INTO topic_message (topic, message_id, attributes, payload, published_ms)
                     VALUES ('t', 'm1', '[]', x'31', 0);
                 INSERT INTO consumer_seq (consumer, entity_id, seq) VALUES ('c', 'e', 3);
                 PRAGMA user_version = 10;",
            )
            .unwrap();
        let message = |id: &str, payload: &'static str| TopicMessage {
            id: id.to_owned(),
            attributes: Vec::new(),
            payload: Bytes::from_static(payload.as_bytes()),
        };
        {
            let store = SqliteStore::open(&path).unwrap();
            // An id published before the migration is still refused once more.
            store
                .publish("t", vec![message("m1", "again"), message("m2", "2")])
                .await
                .unwrap();
            let read = store
                .read_topic("t", crate::store::FeedOffset::default(), 10)
                .await
                .unwrap();
            let read: Vec<(&str, &[u8])> = read
                .iter()
                .map(|m| (m.message.id.as_str(), &m.message.payload[..]))
                .collect();
            assert_eq!(read, [("m1", &b"1"[..]), ("m2", &b"2"[..])]);
            let seqs: i64 = store
                .writer
                .lock()
                .unwrap()
                .query_row("SELECT COUNT(*) FROM consumer_seq", [], |row| row.get(0))
                .unwrap();
            assert_eq!(seqs, 0, "sequence numbers are no longer kept");
        }
    }

    #[test]
    fn a_schema_step_that_fails_leaves_nothing_of_it_and_the_version_before() {
        let mut connection = Connection::open_in_memory().unwrap();
        let tables = |connection: &Connection| -> Vec<String> {
            let mut statement = connection
                .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
                .unwrap();
            let names = statement.query_map([], |row| row.get(0)).unwrap();
            names.collect::<Result<_, _>>().unwrap()
        };
        let version = |connection: &Connection| -> u32 {
            connection
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap()
        };
        let first: Step = |c| c.execute_batch("CREATE TABLE a (n)").map_err(sqlite_error);
        // Changes the schema, then fails (as a step killed midway would have left it).
        let failing: Step = |c| {
            c.execute_batch("CREATE TABLE b (n); ALTER TABLE a ADD COLUMN m;")
                .map_err(sqlite_error)?;
            Err(StoreError::new("the step failed"))
        };
        let fixed: Step = |c| c.execute_batch("CREATE TABLE b (n)").map_err(sqlite_error);
        let steps = |second: Step| {
            [
                Migration {
                    version: 1,
                    what: "a",
                    apply: first,
                },
                Migration {
                    version: 2,
                    what: "b",
                    apply: second,
                },
            ]
        };
        let error = migrate(&mut connection, &steps(failing)).unwrap_err();
        assert!(error.message().contains("schema version 2"), "{error}");
        assert_eq!(
            version(&connection),
            1,
            "the version before the failed step"
        );
        assert_eq!(tables(&connection), ["a"], "nothing of the failed step");
        let columns: i64 = connection
            .query_row("SELECT COUNT(*) FROM pragma_table_info('a')", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(columns, 1, "its column was not added either");
        migrate(&mut connection, &steps(fixed)).expect("it runs again, whole");
        assert_eq!(
            (version(&connection), tables(&connection)),
            (2, vec!["a".to_owned(), "b".to_owned()])
        );
    }

    #[test]
    fn a_file_records_its_schema_version_and_one_a_newer_runtime_wrote_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        let version = |path: &Path| -> u32 {
            let connection = Connection::open(path).unwrap();
            connection
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap()
        };
        drop(SqliteStore::open(&path).unwrap());
        let latest = MIGRATIONS.last().unwrap().version;
        assert_eq!(version(&path), latest);
        // Opened again, nothing is migrated twice.
        drop(SqliteStore::open(&path).unwrap());
        assert_eq!(version(&path), latest);
        Connection::open(&path)
            .unwrap()
            .pragma_update(None, "user_version", latest + 1)
            .unwrap();
        let error = SqliteStore::open(&path)
            .err()
            .expect("a newer schema is refused");
        assert!(
            error.to_string().contains("newer than this runtime knows"),
            "{error}"
        );
    }

    #[test]
    fn a_file_another_process_holds_is_refused_and_the_error_names_postgres() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        // A lock taken through another open file description is what another process's is.
        let other = File::create(directory.path().join("kalix.db.lock")).unwrap();
        other.try_lock().unwrap();
        let error = SqliteStore::open(&path).err().expect("the file is in use");
        assert!(
            error.message().contains("is in use by another process")
                && error.message().contains("PostgreSQL"),
            "{error}"
        );
        drop(other);
        let first = SqliteStore::open(&path).expect("the lock was released");
        // In this process, a second store (a service restarted in a test) shares the lock.
        SqliteStore::open(&path).expect("this process holds the lock");
        drop(first);
    }

    #[tokio::test]
    async fn a_deleted_database_file_refuses_every_later_write() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.commit(vec![write("a")]).await, Ok(vec![Ok(1)]));
        std::fs::remove_file(&path).unwrap();
        let error = store.commit(vec![write("b")]).await.unwrap_err();
        assert!(
            error.message().contains("was deleted or replaced"),
            "{error}"
        );
        // A new file at the same path is not the one the service opened either.
        std::fs::write(&path, b"").unwrap();
        assert!(store.commit(vec![write("c")]).await.is_err());
    }

    #[test]
    fn a_database_that_cannot_be_written_stops_the_start() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("kalix.db");
        drop(SqliteStore::open(&path).unwrap());
        let read_only =
            Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
        let error = check_writable(&read_only, &path).unwrap_err();
        assert!(
            error.message().contains("cannot be written")
                && error.message().contains("check its permissions"),
            "{error}"
        );
    }
}
