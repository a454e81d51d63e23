//! A row's keys in the order of its type's fields. PostgreSQL keeps rows as `jsonb`, which
//! orders an object's keys its own way (by length, then bytes); rows read from it are put back
//! in the order the row type declares, as SQLite (which keeps the JSON as written) gives them.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::registry::registered_views;

/// The field paths of table `table`'s row type, in declaration order (computed once).
fn field_order(table: &str) -> Option<Vec<String>> {
    static ORDERS: OnceLock<Mutex<HashMap<String, Option<Vec<String>>>>> = OnceLock::new();
    let orders = ORDERS.get_or_init(Mutex::default);
    let mut orders = orders.lock().unwrap_or_else(|p| p.into_inner());
    orders
        .entry(table.to_owned())
        .or_insert_with(|| {
            let view = registered_views()
                .into_iter()
                .find(|view| view.table == table)?;
            let shape = (view.row_shape)();
            Some(shape.fields.into_iter().map(|(path, _)| path).collect())
        })
        .clone()
}

/// `rows` of table `table` with their keys in the row type's field order.
pub(crate) fn in_field_order(table: &str, rows: Vec<(String, Bytes)>) -> Vec<(String, Bytes)> {
    let Some(order) = field_order(table) else {
        return rows;
    };
    rows.into_iter()
        .map(|(key, row)| {
            let ordered = serde_json::from_slice::<Value>(&row)
                .ok()
                .and_then(|value| serde_json::to_vec(&reorder(value, &order, "")).ok());
            (key, ordered.map(Bytes::from).unwrap_or(row))
        })
        .collect()
}

/// A join's `rows` (objects of each table's row by alias, `tables` as (alias, table)) with each
/// table's row in its type's field order.
pub(crate) fn joined_in_field_order(
    tables: &[(&str, &str)],
    rows: Vec<(String, Bytes)>,
) -> Vec<(String, Bytes)> {
    let orders: Vec<(&str, Option<Vec<String>>)> = tables
        .iter()
        .map(|(alias, table)| (*alias, field_order(table)))
        .collect();
    rows.into_iter()
        .map(|(key, row)| {
            let Ok(Value::Object(mut joined)) = serde_json::from_slice::<Value>(&row) else {
                return (key, row);
            };
            for (alias, order) in &orders {
                if let (Some(order), Some(table_row)) = (order, joined.get_mut(*alias)) {
                    *table_row = reorder(table_row.take(), order, "");
                }
            }
            match serde_json::to_vec(&Value::Object(joined)) {
                Ok(ordered) => (key, Bytes::from(ordered)),
                Err(_) => (key, row),
            }
        })
        .collect()
}

/// `value`'s object keys (at `prefix`) in the order of the field paths `order`; keys that are
/// not fields keep their order, after the fields.
fn reorder(value: Value, order: &[String], prefix: &str) -> Value {
    let Value::Object(mut fields) = value else {
        return value;
    };
    let mut ordered = Map::new();
    for path in order {
        let Some(rest) = path.strip_prefix(prefix) else {
            continue;
        };
        let name = rest.split('.').next().unwrap_or(rest);
        if let Some(field) = fields.remove(name) {
            let nested = format!("{prefix}{name}.");
            ordered.insert(name.to_owned(), reorder(field, order, &nested));
        }
    }
    ordered.extend(fields);
    Value::Object(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_field_order_nested_too_and_others_keep_theirs() {
        let order: Vec<String> = ["name", "address", "address.street", "address.city", "age"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let jsonb = serde_json::json!({
            "age": 3, "name": "Ann", "extra": true,
            "address": {"city": "Oslo", "street": "Elm"}
        });
        let ordered = reorder(jsonb, &order, "");
        assert_eq!(
            serde_json::to_string(&ordered).unwrap(),
            r#"{"name":"Ann","address":{"street":"Elm","city":"Oslo"},"age":3,"extra":true}"#
        );
    }
}
