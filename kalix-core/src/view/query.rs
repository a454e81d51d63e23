//! A view's queries: the language is the `kalix-query` crate (re-exported here); a
//! [`ViewQuery`] is one query method's text, which `#[query]` parsed and checked at compile
//! time, parsed once more by the same parser on first use. The stores translate the tree into
//! their SQL (`view/sql.rs`).

use std::ops::Deref;
use std::sync::OnceLock;

pub use kalix_query::{
    Column, CompareOp, Expr, Join, JoinKind, Offset, Operand, Order, ParamUse, Query, QueryError,
    SelectItem, indexes, parse,
};

/// One query method's query: its text and whether a stream of its results stays open. It
/// dereferences to the parsed [`Query`], parsing on first use.
///
/// `#[query]` writes one as a `static` for each query method; a store test can write its own:
///
/// ```
/// use kalix_core::view::query::ViewQuery;
///
/// static BY_EMAIL: ViewQuery = ViewQuery::new("SELECT * FROM customers WHERE email = :email", false);
/// assert_eq!(BY_EMAIL.table, "customers");
/// ```
pub struct ViewQuery {
    text: &'static str,
    stream_updates: bool,
    parsed: OnceLock<Query>,
}

impl ViewQuery {
    /// A query of `text`; with `stream_updates`, a stream of its results stays open with new
    /// and changed rows.
    pub const fn new(text: &'static str, stream_updates: bool) -> Self {
        Self {
            text,
            stream_updates,
            parsed: OnceLock::new(),
        }
    }

    /// The query as written.
    pub fn text(&self) -> &'static str {
        self.text
    }

    /// Whether a stream of its results stays open with new and changed rows.
    pub fn stream_updates(&self) -> bool {
        self.stream_updates
    }

    /// The parsed query. `#[query]` refused any text that does not parse, so a failure here is
    /// a `ViewQuery` written by hand; it panics with the parser's message.
    pub fn query(&self) -> &Query {
        self.parsed.get_or_init(|| {
            parse(self.text).unwrap_or_else(|error| panic!("{}", error.render(self.text)))
        })
    }
}

impl Deref for ViewQuery {
    type Target = Query;

    /// The parsed query ([`ViewQuery::query`]).
    fn deref(&self) -> &Query {
        self.query()
    }
}

impl std::fmt::Debug for ViewQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ViewQuery")
            .field("text", &self.text)
            .field("stream_updates", &self.stream_updates)
            .finish()
    }
}

/// What a query method's caller gets, from its return type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultShape {
    /// One row (or a wrapper object); none is a 404.
    One,
    /// A JSON array of every row (or a wrapper object).
    List,
    /// A stream of rows.
    Stream,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query with an equality, a range, an order and a page token: tests of its SQL use it.
    pub(crate) static BY_CITY: ViewQuery = ViewQuery::new(
        "SELECT * FROM customers WHERE address.city = :city AND name LIKE 'Bo%' \
         ORDER BY name DESC OFFSET page_token_offset(:token)",
        false,
    );

    #[test]
    fn a_view_query_parses_its_text_once_on_first_use() {
        assert_eq!(BY_CITY.table, "customers");
        assert!(std::ptr::eq(&*BY_CITY, &*BY_CITY));
        assert!(BY_CITY.pages_by_token());
    }

    #[test]
    #[should_panic(expected = "expected `FROM`")]
    fn a_hand_written_query_that_does_not_parse_panics_with_the_parser_message() {
        static BROKEN: ViewQuery = ViewQuery::new("SELECT * customers", false);
        let _ = BROKEN.table.len();
    }
}
