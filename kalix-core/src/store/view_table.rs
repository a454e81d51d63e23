//! What a store keeps for views: each view table's rows (JSON, keyed by the source entity's
//! id), its definition (so a changed view is rebuilt) and indexes derived from its queries.

use bytes::Bytes;

use crate::view::query::Column;

/// A view table as the store sets it up at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewTableSpec {
    /// The table's name (an identifier, unique in the service).
    pub name: &'static str,
    /// A fingerprint of the view's definition (its source, row type and queries); when it
    /// differs from the one stored, the table is emptied and its consumer starts over.
    pub definition: String,
    /// The consumer whose progress is reset with the table.
    pub consumer: String,
    /// The indexes, each a list of columns.
    pub indexes: Vec<Vec<Column>>,
}

/// A change of one row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewRowWrite {
    /// The row's key.
    pub key: String,
    /// The new row as JSON; `None` deletes it.
    pub row: Option<Bytes>,
}

/// What a query found: rows as (key, JSON), in the query's order, and the number of all
/// matching rows when the query asked for it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ViewRows {
    /// The rows.
    pub rows: Vec<(String, Bytes)>,
    /// `COUNT(*)` of the matching rows, if the query needs it.
    pub total: Option<u64>,
}
