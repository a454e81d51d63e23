//! What is wrong with a query, and where.

use std::fmt;
use std::ops::Range;

/// A query that does not parse: what is wrong, and where in the text.
///
/// ```
/// let error = kalix_query::parse("SELECT * FROM t WHERE name = ").unwrap_err();
/// assert!(error.message.contains("found the end of the query"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    /// What is wrong.
    pub message: String,
    /// The byte range of the query text at fault.
    pub at: Range<usize>,
}

impl QueryError {
    pub(crate) fn new(message: impl Into<String>, at: Range<usize>) -> Self {
        Self {
            message: message.into(),
            at,
        }
    }

    /// The message with the query below it and a caret under the place at fault (a proc macro
    /// on stable Rust cannot span part of a string, so the message points inside it).
    pub fn render(&self, query: &str) -> String {
        render(&self.message, query, &self.at)
    }
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for QueryError {}

/// `message`, then `query` with carets under the bytes `at`.
///
/// ```
/// let shown = kalix_query::render("no such column", "SELECT * FROM t WHERE x = 1", &(22..23));
/// assert!(shown.ends_with("\n                        ^"));
/// ```
pub fn render(message: &str, query: &str, at: &Range<usize>) -> String {
    let start = query[..at.start.min(query.len())].chars().count();
    let width = query[at.start.min(query.len())..at.end.min(query.len())]
        .chars()
        .count()
        .max(1);
    format!(
        "{message}\n  {query}\n  {}{}",
        " ".repeat(start),
        "^".repeat(width)
    )
}
