//! The background driver that keeps view tables up to date: it prepares each table (its
//! columns, its indexes, its definition) at start, then runs one updater per table, fed by an
//! entity's feed (`updater.rs`) or by a topic or stream (`topic_updater.rs`).
//!
//! ## Views (how it works, and why)
//!
//! **Tables.** A view table is a table of the store, `view_<table>` (`view_key`, the row as JSON:
//! `TEXT` on SQLite, `JSONB` on PostgreSQL). A column of a query is an expression over the JSON
//! (`json_extract(row, '$.address.city')`; `nullif(row #> '{address,city}', 'null'::jsonb)` compared
//! as `jsonb`, a JSON null being SQL NULL as on SQLite, NULLs ordered first as SQLite orders them),
//! every value (`LIMIT` and `OFFSET` too) bound. The indexes (named `vix_<fingerprint>`) are built at
//! start on the very same expressions, derived from the view's queries
//! (`kalix_query::indexes`: the columns a query tests for equality, then one it tests by range, then
//! its `ORDER BY` columns; one index per column of an `OR`). Indexes no longer derived are dropped.
//! The store keeps a fingerprint of each table's definition (`view_definition`: source, row type
//! name and shape, update methods, query texts); when it differs at start, the table is emptied and its
//! consumer's progress removed in one transaction, and the updater builds it again from the feed,
//! queries answering from what is there meanwhile. Kalix asks for a new view id and two deployments
//! instead; emptying in place keeps one deployment, at the price of partial answers while it builds.
//!
//! **Several tables.** A bare `#[view]` registers one `ViewDescriptor` per table (`#[table("..")]`
//! on its update methods), each kept as above by an updater of its own (`view:<table>`), all
//! carrying every query of the view: a table takes the indexes and the column checks of the
//! queries that read it (`kalix_query::indexes(table, ..)`, `Query::table_of`). A join is one
//! SQL statement: each table under its alias (`"c".row`), the match answered as one object of
//! the rows by alias concatenated from the stored text, the keys joined by U+001F; projection,
//! `GROUP BY` and `collect` happen on the answer (`view/serve.rs`), a grouped query reading every
//! matching row and paging its groups.
//!
//! **The query language.** One crate, `kalix-query` (a tokenizer, a recursive-descent parser,
//! the tree and the index derivation), serves both sides. `#[query]` parses the text and checks
//! it; the macro emits the checked text as a `static` [`ViewQuery`](super::query::ViewQuery),
//! which the runtime parses once, on first use, with the same parser, and writes as each store's
//! SQL with every value bound (`view/sql.rs`). Emitting text rather than a tree of `static`s
//! keeps the generated code small and leaves one definition of the tree. The macro checks what it can see (the table,
//! parameters against arguments, `LIKE` patterns an index cannot serve) and reports with the query
//! repeated and a caret under the fault (stable Rust cannot span part of a string literal). What it
//! cannot see (the row type's fields and types) it hands to the compiler: a function that is never
//! called type-checks closures naming each column (`(&row.address).kalix_nested().city`, where
//! `kalix_nested` reaches through an `Option` by method resolution), and traits with
//! `#[diagnostic::on_unimplemented]` messages check that a parameter can compare with its column
//! (`Comparable<P>`), a list parameter's items with it (`ListOf`), and that the result type fits the
//! projection (`SelectsAs<Row>`, the wrapper's field is `Vec<Row>`). Columns are the row's JSON
//! names; camelCase maps to the Rust field's snake_case. At start the row type's shape is read from
//! its `Deserialize` (`view/shape.rs`: a tracing deserializer recording the JSON names of its
//! fields), and a query column it does not store stops the start: the one check that sees serde's
//! renames.
//!
//! **Query methods** are signature-only methods (`fn by_email(&self, email: String) -> Customer;`),
//! taken out of the `impl` block; the dispatch fn extracts the arguments as any handler does (so a
//! bad path parameter is the same 400), puts them into a parameter map by name (a body's fields too),
//! and runs the query through `ViewQueries` (the store). The return type picks the answer: one row
//! (none: 404), a `Vec`, a wrapper (`SELECT * AS field`), or `QueryStream<Row>`, served as action
//! streams are (NDJSON, SSE on `Accept: text/event-stream`). A `SELECT *` answer passes the stored
//! JSON through unparsed (on PostgreSQL, whose `jsonb` orders keys its own way, rows are first put
//! back in the row type's field order, `view/key_order.rs`). `stream_updates` streams the rows now, then runs the query again when this
//! process writes the query's table (`ViewUpdates`: a `watch` generation per table, followed from
//! before the first query so no write is missed; 50 ms to coalesce a burst), on a shared store also
//! every 500 ms (for other processes' updates), and sends rows that are new or changed: not a
//! reliable transport, as Kalix says. Open update streams hold one of 256 permits per process. The view's component is registered
//! like an action's (`ComponentKind::View`), so routing, the typed client
//! (`client.view::<V>()`) and errors are the same; the table is a `ViewDescriptor` beside it.
//!
//! **Updates.** The `Views` background driver runs one updater per table, under a lease
//! (`view:<table>`), so one process at a time updates it and another takes over about 7 s after it
//! dies. An entity-fed updater reads its source's feed in batches, drops what its per-entity
//! sequence numbers say is applied, fills an early event's missing predecessors from the journal,
//! runs the update methods (synchronous, on the view's `Default` instance, a panic caught) on the row
//! as the table or the batch left it, and writes the batch's rows with its progress through
//! `Store::commit_view`: one transaction, so each update is applied exactly once. On a shared store
//! that transaction first locks the updater's lease row and checks it is still this process's, so a
//! paused updater cannot write after another took the view over. Two views of one table stop the
//! start. A failing update
//! writes what came before it, then is retried with the subscriptions' backoff. A topic- or
//! stream-fed updater reads through the same `TopicReader`s as a subscription, keys each row by the
//! message's `ce-subject`, writes the rows and then saves the reader's position: at least once.
//! Events written before a migration are brought to the current shape on the way in
//! (`ViewSourceDescriptor::migrate`).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::watch;

use super::updater::Updater;
use crate::background::BackgroundDriver;
use crate::dispatch::Dispatcher;
use crate::registry::{ViewDescriptor, registered_views};
use crate::store::{Store, StoreError, ViewTableSpec};

/// The background driver updating every view table of the service.
pub(crate) struct Views {
    pub store: Arc<dyn Store>,
    /// Where views fed by topics read them.
    pub broker: Arc<dyn crate::broker::Broker>,
    /// Where the services whose streams views are fed by are.
    pub services: crate::broker::ServiceUrls,
    /// Notified when this process commits: the updaters look at once.
    pub news: Arc<tokio::sync::Notify>,
    /// Notified after each update this process writes, for streams of updates.
    pub updated: Arc<super::ViewUpdates>,
    /// Rebuilds an operator asked for (the admin API), carried out by the updaters.
    pub rebuilds: Arc<super::rebuild::ViewRebuilds>,
}

impl Views {
    pub const NAME: &'static str = "views";

    /// The driver of the service's views, once their tables exist with their indexes (before
    /// the first query is served).
    pub(crate) async fn prepare(
        store: &Arc<dyn Store>,
        broker: &Arc<dyn crate::broker::Broker>,
        services: &crate::broker::ServiceUrls,
        news: Arc<tokio::sync::Notify>,
    ) -> Result<Self, crate::error::StartError> {
        prepare_tables(store)
            .await
            .map_err(|error| crate::error::StartError::Config {
                variable: "KALIX_STORE",
                problem: format!("the view tables could not be set up: {error}"),
            })?;
        Ok(Self {
            store: Arc::clone(store),
            broker: Arc::clone(broker),
            services: services.clone(),
            news,
            updated: Arc::default(),
            rebuilds: Arc::default(),
        })
    }
}

/// The name of a table's consumer (its lease and its progress).
fn consumer_name(view: &ViewDescriptor) -> String {
    format!("view:{}", view.table)
}

/// The topics and streams in the store that views read, each with the consumer name its reader
/// saves its position under: topics when they are in the store (`embedded`), and this service's
/// (`own`) streams.
pub(crate) fn topic_readers(own: &str, embedded: bool) -> Vec<(String, String)> {
    registered_views()
        .into_iter()
        .filter_map(|view| {
            let topic = view.source.topic?;
            let name = consumer_name(view);
            let group = topic.consumer_group.unwrap_or(&name);
            match topic.service {
                None if embedded => Some((
                    topic.topic.to_owned(),
                    format!("topic:{}:{group}", topic.topic),
                )),
                Some(service) if service == own => Some((
                    crate::broker::stream_topic(topic.topic),
                    format!("stream:{service}:{}:{group}", topic.topic),
                )),
                _ => None,
            }
        })
        .collect()
}

/// Checks every query's columns against the fields its row type stores (their JSON names, as
/// `serde` writes them): a column naming no field would match nothing, silently.
pub(crate) fn check_columns() -> Result<(), String> {
    registered_views()
        .into_iter()
        .try_for_each(check_view_columns)
}

fn check_view_columns(view: &ViewDescriptor) -> Result<(), String> {
    let shape = (view.row_shape)();
    if !shape.complete {
        return Ok(());
    }
    for query in view.queries {
        // A join's other tables are checked with their own rows.
        let columns = query
            .columns()
            .into_iter()
            .filter(|column| query.table_of(column) == view.table);
        for column in columns {
            if !shape.has_column(&column.path) {
                let fields: Vec<&str> = shape.fields.iter().map(|(p, _)| p.as_str()).collect();
                return Err(format!(
                    "view {}: the query \"{}\" reads the column `{}`, but its row type {} stores no such field (its fields, as serde names them: {})",
                    view.component,
                    query.text(),
                    column.joined("."),
                    (view.row_type)(),
                    fields.join(", ")
                ));
            }
        }
    }
    Ok(())
}

/// Creates every view table with its indexes before the service serves, emptying those whose
/// definition changed (they are rebuilt by their updaters).
pub(crate) async fn prepare_tables(store: &Arc<dyn Store>) -> Result<(), StoreError> {
    for view in registered_views() {
        // A view fed by a topic cannot be rebuilt (it reads on from its position), so a change
        // of its queries alone, which only changes indexes, does not empty it.
        let mut queries: Vec<&str> = match view.source.topic {
            Some(_) => Vec::new(),
            // A query of another table of the view (one it does not join) is no part of it.
            None => view
                .queries
                .iter()
                .filter(|q| q.tables().iter().any(|(_, name)| *name == view.table))
                .map(|q| q.text())
                .collect(),
        };
        queries.sort_unstable();
        let updates: Vec<&str> = view.updates.iter().map(|u| u.name).collect();
        let source = &view.source;
        let definition = format!(
            "source={:?}:{}:{:?} as_is={} deletes={}; row={} {}; updates={}; queries={}",
            source.kind,
            source.type_id,
            source.topic.map(|t| (t.topic, t.service)),
            source.as_is,
            source.handles_deletes,
            (view.row_type)(),
            (view.row_shape)().describe(),
            updates.join(","),
            queries.join(" | "),
        );
        let spec = ViewTableSpec {
            name: view.table,
            definition: format!(
                "{:016x}",
                crate::fingerprint::fingerprint(definition.as_bytes())
            ),
            consumer: consumer_name(view),
            indexes: super::query::indexes(
                view.table,
                view.queries.iter().map(|query| query.query()),
            ),
        };
        if store.prepare_view_table(spec).await? {
            tracing::info!(
                table = view.table,
                "view table is new or its definition changed: building it from its source"
            );
        }
    }
    Ok(())
}

impl BackgroundDriver for Views {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn run(
        self: Box<Self>,
        _dispatcher: Arc<Dispatcher>,
        stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let owner = uuid::Uuid::new_v4().as_u64_pair().0;
            let runs = registered_views().into_iter().map(|view| {
                let updater = Updater {
                    view,
                    name: consumer_name(view),
                    instance: (view.construct)(),
                    store: Arc::clone(&self.store),
                    news: Arc::clone(&self.news),
                    updated: Arc::clone(&self.updated),
                    rebuilds: Arc::clone(&self.rebuilds),
                };
                match view.source.topic {
                    None => {
                        Box::pin(updater.run(owner, stopping.clone())) as BoxFuture<'static, ()>
                    }
                    Some(topic) => {
                        let group = topic.consumer_group.unwrap_or(&updater.name).to_owned();
                        let reader: Box<dyn crate::broker::TopicReader> = match topic.service {
                            Some(service) => {
                                self.services
                                    .reader(service, topic.topic, &group, &self.store)
                            }
                            None => self.broker.reader(topic.topic, &group),
                        };
                        Box::pin(super::topic_updater::run(
                            updater,
                            reader,
                            owner,
                            stopping.clone(),
                        ))
                    }
                }
            });
            futures_util::future::join_all(runs).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{SubscriptionSource, ViewSourceDescriptor};
    use crate::view::query::ViewQuery;

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Row {
        customer_id: String,
    }

    static BY_SNAKE_NAME: ViewQuery =
        ViewQuery::new("SELECT * FROM t WHERE customer_id = :id", false);

    fn view(queries: &'static [&'static ViewQuery]) -> ViewDescriptor {
        ViewDescriptor {
            component: "tests::View",
            table: "t",
            row_type: std::any::type_name::<Row>,
            row_shape: crate::view::shape::shape_of::<Row>,
            source: ViewSourceDescriptor {
                kind: SubscriptionSource::ValueEntity,
                component: "tests::Entity",
                type_id: "e",
                as_is: true,
                handles_deletes: false,
                migrate: crate::__private::as_stored,
                topic: None,
            },
            updates: &[],
            queries,
            construct: || Box::new(()),
        }
    }

    #[test]
    fn a_column_the_row_does_not_store_under_that_name_stops_the_start() {
        static QUERIES: [&ViewQuery; 1] = [&BY_SNAKE_NAME];
        let error = check_view_columns(&view(&QUERIES)).unwrap_err();
        assert!(error.contains("reads the column `customer_id`"), "{error}");
        assert!(error.contains("customerId"), "{error}");
        assert!(check_view_columns(&view(&[])).is_ok());
    }
}
