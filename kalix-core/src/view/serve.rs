//! Running a query method: the query against the store, its rows projected and paged, and the
//! result in the shape the method's return type asks for.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::query::{Column, Query, ResultShape, SelectItem, ViewQuery};
use crate::cloud_events::PayloadType;
use crate::error::CallError;
use crate::log_limit::LogLimit;
use crate::metadata::Metadata;
use crate::outcome::{HandlerOutcome, Outcome};
use crate::status::ErrorCode;
use crate::store::{Store, StoreError, ViewRows};

/// What a view's query methods run with: the store, and the news of this process's view
/// updates (for `stream_updates`).
pub struct ViewQueries {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) updated: Arc<super::ViewUpdates>,
}

/// How often a stream of updates looks for rows changed by another process, on a store other
/// processes share (on one they do not, it looks only when this process writes its table).
const UPDATES_POLL: Duration = Duration::from_millis(500);

static QUERY_FAILED: LogLimit = LogLimit::per(Duration::from_secs(10));

/// The rows `query` finds, with their keys in the row type's order.
async fn read(
    queries: &ViewQueries,
    query: &'static Query,
    params: &Map<String, Value>,
) -> Result<ViewRows, StoreError> {
    read_from(&queries.store, query, params).await
}

/// As [`read`], from `store`: on PostgreSQL (a shared store, whose `jsonb` reorders keys) the
/// rows' keys are put back in the row type's field order.
async fn read_from(
    store: &Arc<dyn Store>,
    query: &'static Query,
    params: &Map<String, Value>,
) -> Result<ViewRows, StoreError> {
    let mut found = store.query_view(query, params.clone()).await?;
    if store.is_shared() {
        found.rows = if query.is_join() {
            super::key_order::joined_in_field_order(&query.tables(), found.rows)
        } else {
            super::key_order::in_field_order(&query.table, found.rows)
        };
    }
    Ok(found)
}

/// Runs `query` with `params` and answers in `shape`.
pub(crate) async fn run_query(
    queries: &ViewQueries,
    method: &'static ViewQuery,
    params: Map<String, Value>,
    shape: ResultShape,
) -> HandlerOutcome {
    let params = super::params_without_nul(params);
    if shape == ResultShape::Stream {
        return stream(queries, method, params).await;
    }
    let query: &'static Query = method;
    let found = match read(queries, query, &params).await {
        Ok(found) => found,
        Err(error) => return HandlerOutcome::error(query_error(query, &error)),
    };
    if let ([SelectItem::Star], false) = (&query.select[..], query.is_join()) {
        // The rows as stored are the answer: no need to parse them.
        return match as_stored(query, &params, found, shape) {
            Some(body) => reply_bytes(body),
            None => HandlerOutcome::error(not_found(query)),
        };
    }
    let page = Page::of(query, &params, found);
    let value = if let Some((field, _)) = query.wrapper() {
        page.wrapper(query, field)
    } else {
        match shape {
            ResultShape::One => match page.rows.into_iter().next() {
                Some((_, row)) => row,
                None => return HandlerOutcome::error(not_found(query)),
            },
            _ => Value::Array(page.rows.into_iter().map(|(_, row)| row).collect()),
        }
    };
    reply(&value)
}

fn not_found(query: &Query) -> CallError {
    CallError::new(
        ErrorCode::NOT_FOUND,
        format!("no row of view table `{}` matches", query.table),
    )
}

/// The answer of a `SELECT *` query from the rows as stored: the first (`None` if there is
/// none), or a JSON array of the page.
fn as_stored(
    query: &Query,
    params: &Map<String, Value>,
    found: ViewRows,
    shape: ResultShape,
) -> Option<Bytes> {
    let (_, limit) = super::sql::paging(query, params).unwrap_or((0, None));
    let mut rows = found.rows.into_iter().map(|(_, row)| row);
    if shape == ResultShape::One {
        return rows.next();
    }
    let rows: Vec<Bytes> = match limit {
        Some(limit) => rows.take(limit as usize).collect(),
        None => rows.collect(),
    };
    let mut body = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(row);
    }
    body.push(b']');
    Some(Bytes::from(body))
}

fn reply_bytes(body: Bytes) -> HandlerOutcome {
    HandlerOutcome::new(
        Outcome::Reply {
            body,
            metadata: Metadata::new(),
            payload_type: PayloadType::Named("view row"),
        },
        Vec::new(),
    )
}

fn reply(value: &Value) -> HandlerOutcome {
    match serde_json::to_vec(value) {
        Ok(body) => reply_bytes(Bytes::from(body)),
        Err(error) => HandlerOutcome::error(CallError::new(
            ErrorCode::INTERNAL_SERVER_ERROR,
            format!("a view row could not be serialized: {error}"),
        )),
    }
}

fn query_error(query: &Query, error: &StoreError) -> CallError {
    if error.is_bad_query() {
        return CallError::new(ErrorCode::BAD_REQUEST, error.message().to_owned());
    }
    if let Some(left_out) = QUERY_FAILED.admit() {
        tracing::error!(%error, table = query.table, left_out, "a view query failed");
    }
    CallError::new(
        ErrorCode::SERVICE_UNAVAILABLE,
        format!(
            "the query of view table `{}` could not be run; retry",
            query.table
        ),
    )
}

/// A page of results: the rows projected (a group's rows gathered into one), and what paging
/// needs.
struct Page {
    rows: Vec<(String, Value)>,
    has_more: bool,
    next_offset: u64,
    total: Option<u64>,
}

impl Page {
    fn of(query: &Query, params: &Map<String, Value>, found: ViewRows) -> Self {
        // The store ran the query with these, so they are valid.
        let (offset, limit) = super::sql::paging(query, params).unwrap_or((0, None));
        let parsed = found.rows.into_iter().map(|(key, json)| {
            let row = serde_json::from_slice(&json).unwrap_or(Value::Null);
            (key, row)
        });
        let (mut rows, total): (Vec<(String, Value)>, Option<u64>) = if query.group_by.is_empty() {
            let rows = parsed
                .map(|(key, row)| {
                    let projected = project(query, std::slice::from_ref(&row));
                    (key, projected)
                })
                .collect();
            (rows, found.total)
        } else {
            // The store read every matching row: the groups are paged here.
            let groups = groups(query, parsed);
            let total = groups.len() as u64;
            let rows = groups
                .into_iter()
                .skip(offset as usize)
                .take(limit.map_or(usize::MAX, |limit| limit as usize + 1))
                .map(|(key, rows)| (key, project(query, &rows)))
                .collect();
            (rows, query.counts().then_some(total))
        };
        let has_more = limit.is_some_and(|limit| rows.len() as u64 > limit);
        if let Some(limit) = limit {
            rows.truncate(limit as usize);
        }
        Self {
            next_offset: offset + rows.len() as u64,
            rows,
            has_more,
            total,
        }
    }

    fn wrapper(self, query: &Query, field: &str) -> Value {
        let mut wrapper = Map::new();
        let mut rows = Some(self.rows);
        // In the order of the projection.
        for item in &query.select {
            match item {
                SelectItem::StarAs(..) | SelectItem::Star => {
                    let rows = rows.take().unwrap_or_default();
                    let rows = rows.into_iter().map(|(_, row)| row).collect();
                    wrapper.insert(field.to_owned(), Value::Array(rows));
                }
                SelectItem::NextPageToken(alias) => {
                    let token = if self.has_more {
                        super::sql::page_token(self.next_offset)
                    } else {
                        String::new()
                    };
                    wrapper.insert(alias.clone(), Value::from(token));
                }
                SelectItem::HasMore(alias) => {
                    wrapper.insert(alias.clone(), Value::from(self.has_more));
                }
                SelectItem::TotalCount(alias) => {
                    wrapper.insert(alias.clone(), Value::from(self.total.unwrap_or(0)));
                }
                _ => {}
            }
        }
        if let Some(rows) = rows {
            let rows = rows.into_iter().map(|(_, row)| row).collect();
            wrapper.insert(field.to_owned(), Value::Array(rows));
        }
        Value::Object(wrapper)
    }
}

/// The rows in groups of equal `GROUP BY` values, in the order their first rows came.
fn groups(query: &Query, rows: impl Iterator<Item = (String, Value)>) -> Vec<(String, Vec<Value>)> {
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for (_, row) in rows {
        let values: Vec<&Value> = query
            .group_by
            .iter()
            .map(|column| value_at(&row, column).unwrap_or(&Value::Null))
            .collect();
        let key = serde_json::to_string(&values).unwrap_or_default();
        match index.get(&key) {
            Some(&at) => groups[at].1.push(row),
            None => {
                index.insert(key.clone(), groups.len());
                groups.push((key, vec![row]));
            }
        }
    }
    groups
}

/// The value of `column` in `row`; a join's row is an object of its tables' rows by alias.
fn value_at<'a>(row: &'a Value, column: &Column) -> Option<&'a Value> {
    let table = match &column.table {
        Some(alias) => row.get(alias)?,
        None => row,
    };
    column
        .path
        .iter()
        .try_fold(table, |value, field| value.get(field))
}

/// A result as the query selects it from `rows` (a group's, or one row): the row as it is, the
/// tables' rows merged (`*` over a join), or the items it names.
fn project(query: &Query, rows: &[Value]) -> Value {
    let Some(first) = rows.first() else {
        return Value::Null;
    };
    let whole = query
        .select
        .iter()
        .any(|item| matches!(item, SelectItem::Star | SelectItem::StarAs(..)));
    if whole {
        if !query.is_join() {
            return first.clone();
        }
        let mut merged = Map::new();
        for (alias, _) in query.tables() {
            merge_table(first.get(alias), &mut merged);
        }
        return Value::Object(merged);
    }
    let mut projected = Map::new();
    fill(query, &query.select, rows, &mut projected);
    Value::Object(projected)
}

/// The fields of a table's row beside those already there (which win).
fn merge_table(row: Option<&Value>, into: &mut Map<String, Value>) {
    if let Some(Value::Object(fields)) = row {
        for (name, value) in fields {
            if !into.contains_key(name) {
                into.insert(name.clone(), value.clone());
            }
        }
    }
}

/// Writes `items` over `rows` (a group's; items other than `collect` read the first) into `out`.
fn fill(query: &Query, items: &[SelectItem], rows: &[Value], out: &mut Map<String, Value>) {
    let Some(first) = rows.first() else { return };
    for item in items {
        match item {
            SelectItem::TableStar(alias, _) => {
                let row = if query.is_join() {
                    first.get(alias)
                } else {
                    Some(first)
                };
                merge_table(row, out);
            }
            SelectItem::Column { column, alias } => {
                let value = value_at(first, column).cloned().unwrap_or(Value::Null);
                out.insert(alias.clone(), value);
            }
            SelectItem::Nested { items, alias } => {
                let mut nested = Map::new();
                fill(query, items, std::slice::from_ref(first), &mut nested);
                out.insert(alias.clone(), Value::Object(nested));
            }
            SelectItem::Collect { items, alias, .. } => {
                // The tables the items read, once for the group (a join's only).
                let mut tables = Vec::new();
                if query.is_join() {
                    item_tables(items, &mut tables);
                }
                let collected = rows
                    .iter()
                    .filter_map(|row| element(query, items, &tables, row))
                    .collect();
                out.insert(alias.clone(), Value::Array(collected));
            }
            _ => {}
        }
    }
}

/// One element of `collect(items)` from `row`: a table's row (`t.*`), a column's value (one
/// column, whatever its alias), or an object of the items; `None` where an outer join found no
/// partner in any table the items read (a null value of a row that is there is kept).
fn element(query: &Query, items: &[SelectItem], tables: &[&str], row: &Value) -> Option<Value> {
    // `tables` (those the items read) is empty outside a join, where no row lacks a partner.
    if !tables.is_empty()
        && tables
            .iter()
            .all(|alias| row.get(*alias).is_none_or(Value::is_null))
    {
        return None;
    }
    Some(match items {
        [SelectItem::TableStar(alias, _)] if query.is_join() => {
            row.get(alias).cloned().unwrap_or(Value::Null)
        }
        [SelectItem::Column { column, .. }] => {
            value_at(row, column).cloned().unwrap_or(Value::Null)
        }
        _ => {
            let mut object = Map::new();
            fill(query, items, std::slice::from_ref(row), &mut object);
            Value::Object(object)
        }
    })
}

/// The aliases of the tables `items` read.
fn item_tables<'a>(items: &'a [SelectItem], found: &mut Vec<&'a str>) {
    for item in items {
        match item {
            SelectItem::TableStar(alias, _) => found.push(alias),
            SelectItem::Column { column, .. } => found.extend(column.table.as_deref()),
            SelectItem::Nested { items, .. } | SelectItem::Collect { items, .. } => {
                item_tables(items, found)
            }
            _ => {}
        }
    }
}

/// The rows now, as a stream; with `stream_updates`, then every new or changed row as it comes
/// (looked for when this process writes the query's table, a burst of writes once, and on a
/// shared store every [`UPDATES_POLL`] for the writes of other processes). Not a reliable
/// transport, as in Kalix: a row changed twice between two looks is sent once, at its latest.
/// At most `MAX_UPDATE_STREAMS` such streams are open at once; past it, a 503.
async fn stream(
    queries: &ViewQueries,
    method: &'static ViewQuery,
    params: Map<String, Value>,
) -> HandlerOutcome {
    let query: &'static Query = method;
    // An update stream is counted while it is open (the permit goes with it when the client
    // goes) and follows its table's writes from before its first query, so none is missed.
    let mut following = if method.stream_updates() {
        let tables: Vec<&str> = query.tables().into_iter().map(|(_, name)| name).collect();
        let Some(following) = queries.updated.follow(&tables) else {
            return HandlerOutcome::error(CallError::new(
                ErrorCode::SERVICE_UNAVAILABLE,
                format!(
                    "the service has {} view update streams open, its limit; retry later",
                    super::updates::MAX_UPDATE_STREAMS
                ),
            ));
        };
        Some(following)
    } else {
        None
    };
    // A write committed before this read is in it: only later ones call for another.
    if let Some(following) = following.as_mut() {
        following.seen();
    }
    let found = match read(queries, query, &params).await {
        Ok(found) => found,
        Err(error) => return HandlerOutcome::error(query_error(query, &error)),
    };
    let page = Page::of(query, &params, found);
    let mut seen: HashMap<String, Value> = HashMap::new();
    let mut first = Vec::new();
    for (key, row) in page.rows {
        first.push(to_bytes(&row));
        seen.insert(key, row);
    }
    let now = futures_util::stream::iter(first);
    let Some(following) = following else {
        return HandlerOutcome::new(Outcome::Stream(now.boxed()), Vec::new());
    };
    let store = Arc::clone(&queries.store);
    let later = futures_util::stream::unfold(
        (
            store,
            following,
            params,
            seen,
            std::collections::VecDeque::<Result<Bytes, CallError>>::new(),
        ),
        move |(store, mut updated, params, mut seen, mut pending)| async move {
            loop {
                if let Some(next) = pending.pop_front() {
                    return Some((next, (store, updated, params, seen, pending)));
                }
                // On a shared store other processes write too: look every UPDATES_POLL.
                let poll = if store.is_shared() {
                    UPDATES_POLL
                } else {
                    Duration::MAX
                };
                if !updated.look_again(poll).await {
                    return None;
                }
                let found = match read_from(&store, query, &params).await {
                    Ok(found) => found,
                    Err(error) => {
                        return Some((
                            Err(query_error(query, &error)),
                            (store, updated, params, seen, pending),
                        ));
                    }
                };
                let page = Page::of(query, &params, found);
                // Only the rows that match now are remembered: one that left and comes back
                // is sent again, and memory follows the result, not the stream's age.
                let mut now = HashMap::with_capacity(page.rows.len());
                for (key, row) in page.rows {
                    if seen.get(&key) != Some(&row) {
                        pending.push_back(to_bytes(&row));
                    }
                    now.insert(key, row);
                }
                seen = now;
            }
        },
    );
    HandlerOutcome::new(Outcome::Stream(now.chain(later).boxed()), Vec::new())
}

fn to_bytes(row: &Value) -> Result<Bytes, CallError> {
    serde_json::to_vec(row).map(Bytes::from).map_err(|error| {
        CallError::new(
            ErrorCode::INTERNAL_SERVER_ERROR,
            format!("a view row could not be serialized: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(text: &'static str, rows: &[(&str, Value)], params: &[(&str, Value)]) -> Page {
        let query: &'static ViewQuery = Box::leak(Box::new(ViewQuery::new(text, false)));
        let found = ViewRows {
            rows: rows
                .iter()
                .map(|(key, row)| ((*key).to_owned(), Bytes::from(row.to_string())))
                .collect(),
            total: None,
        };
        let params = params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        Page::of(query, &params, found)
    }

    fn values(page: &Page) -> Vec<&Value> {
        page.rows.iter().map(|(_, row)| row).collect()
    }

    /// Ann with two pets, Bob with none (a left join's row with `null` for the pet).
    fn people_and_pets() -> Vec<(&'static str, Value)> {
        vec![
            (
                "a\u{1f}x",
                json!({"p": {"id": "a", "name": "Ann"}, "t": {"name": "Rex", "age": 3}}),
            ),
            (
                "a\u{1f}y",
                json!({"p": {"id": "a", "name": "Ann"}, "t": {"name": "Ace", "age": 5}}),
            ),
            (
                "b\u{1f}",
                json!({"p": {"id": "b", "name": "Bob"}, "t": null}),
            ),
        ]
    }

    #[test]
    fn a_join_merges_its_tables_renames_and_nests() {
        let merged = page(
            "SELECT * FROM people AS p LEFT JOIN pets AS t ON t.owner = p.id",
            &people_and_pets(),
            &[],
        );
        assert_eq!(
            values(&merged)[0],
            &json!({"id": "a", "name": "Ann", "age": 3}),
            "the first table's `name` wins"
        );
        assert_eq!(values(&merged)[2], &json!({"id": "b", "name": "Bob"}));
        let projected = page(
            "SELECT p.name AS owner, (t.name, t.age AS years) AS pet FROM people AS p \
             LEFT JOIN pets AS t ON t.owner = p.id",
            &people_and_pets(),
            &[],
        );
        assert_eq!(
            values(&projected)[1],
            &json!({"owner": "Ann", "pet": {"name": "Ace", "years": 5}})
        );
        assert_eq!(
            values(&projected)[2],
            &json!({"owner": "Bob", "pet": {"name": null, "years": null}})
        );
    }

    #[test]
    fn collect_gathers_a_groups_rows_and_leaves_out_missing_partners() {
        let grouped = page(
            "SELECT p.*, collect(t.*) AS pets, collect(t.age) AS ages, collect(t.name AS n) AS names \
             FROM people AS p LEFT JOIN pets AS t ON t.owner = p.id GROUP BY p.id",
            &people_and_pets(),
            &[],
        );
        assert_eq!(
            values(&grouped),
            [
                &json!({"id": "a", "name": "Ann", "pets": [{"name": "Rex", "age": 3}, {"name": "Ace", "age": 5}],
                        "ages": [3, 5], "names": ["Rex", "Ace"]}),
                &json!({"id": "b", "name": "Bob", "pets": [], "ages": [], "names": []}),
            ]
        );
    }

    #[test]
    fn a_grouped_query_pages_its_groups() {
        let first = page(
            "SELECT p.id, collect(t.name) AS pets FROM people AS p LEFT JOIN pets AS t \
             ON t.owner = p.id GROUP BY p.id LIMIT 1",
            &people_and_pets(),
            &[],
        );
        assert_eq!(
            values(&first),
            [&json!({"id": "a", "pets": ["Rex", "Ace"]})]
        );
        assert!(first.has_more, "Bob's group follows");
        let second = page(
            "SELECT p.id, collect(t.name) AS pets FROM people AS p LEFT JOIN pets AS t \
             ON t.owner = p.id GROUP BY p.id OFFSET 1 LIMIT 1",
            &people_and_pets(),
            &[],
        );
        assert_eq!(values(&second), [&json!({"id": "b", "pets": []})]);
        assert!(!second.has_more);
    }

    #[test]
    fn collect_keeps_a_null_value_of_a_row_that_is_there() {
        let rows = vec![
            (
                "a\u{1f}x",
                json!({"p": {"id": "a"}, "t": {"name": "Rex", "age": null}}),
            ),
            ("b\u{1f}", json!({"p": {"id": "b"}, "t": null})),
        ];
        let grouped = page(
            "SELECT p.id, collect(t.age) AS ages, collect((t.name) AS pet) AS pets \
             FROM people AS p LEFT JOIN pets AS t ON t.owner = p.id GROUP BY p.id",
            &rows,
            &[],
        );
        assert_eq!(
            values(&grouped),
            [
                &json!({"id": "a", "ages": [null], "pets": [{"pet": {"name": "Rex"}}]}),
                &json!({"id": "b", "ages": [], "pets": []}),
            ]
        );
    }
}
