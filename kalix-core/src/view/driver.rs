//! The background driver that keeps view tables up to date: it prepares each table (its
//! columns, its indexes, its definition) at start, then runs one updater per table, fed by an
//! entity's feed (`updater.rs`) or by a topic or stream (`topic_updater.rs`).

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
        for column in query.columns() {
            if !shape.has_column(column) {
                let fields: Vec<&str> = shape.fields.iter().map(|(p, _)| p.as_str()).collect();
                return Err(format!(
                    "view {}: the query \"{}\" reads the column `{}`, but its row type {} stores no such field (its fields, as serde names them: {})",
                    view.component,
                    query.text,
                    column.join("."),
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
            None => view.queries.iter().map(|q| q.text).collect(),
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
            indexes: super::query::indexes(view.queries),
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
    use crate::view::query::{CompareOp, Expr, Operand, Query, SelectItem};

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Row {
        customer_id: String,
    }

    static BY_SNAKE_NAME: Query = Query {
        text: "SELECT * FROM t WHERE customer_id = :id",
        table: "t",
        select: &[SelectItem::Star],
        filter: Some(&Expr::Compare {
            column: &["customer_id"],
            op: CompareOp::Eq,
            value: Operand::Param("id"),
        }),
        order: &[],
        offset: None,
        limit: None,
        stream_updates: false,
    };

    fn view(queries: &'static [&'static Query]) -> ViewDescriptor {
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
        static QUERIES: [&Query; 1] = [&BY_SNAKE_NAME];
        let error = check_view_columns(&view(&QUERIES)).unwrap_err();
        assert!(error.contains("reads the column `customer_id`"), "{error}");
        assert!(error.contains("customerId"), "{error}");
        assert!(check_view_columns(&view(&[])).is_ok());
    }
}
