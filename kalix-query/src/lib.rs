//! The query language of kalix-core's views, Kalix's: `SELECT` with `WHERE`, `ORDER BY`,
//! `OFFSET` (a count or a page token) and `LIMIT`, over the JSON rows of a view table.
//!
//! One implementation serves both sides: the `#[query]` attribute parses the text at compile
//! time, checks it against the row and the method's parameters and reports errors with a caret
//! under the place at fault; the runtime parses the same (already checked) text once, renders
//! the tree as each store's SQL and derives the indexes the table needs.
//!
//! ```
//! let query = kalix_query::parse(
//!     "SELECT * AS customers, next_page_token() AS nextPageToken FROM customers_by_city \
//!      WHERE address.city = :city ORDER BY name OFFSET page_token_offset(:token) LIMIT 10",
//! )
//! .unwrap();
//! assert_eq!(query.table, "customers_by_city");
//! assert_eq!(query.wrapper().map(|(field, _)| field), Some("customers"));
//! assert!(query.pages_by_token());
//! ```

#![warn(missing_docs)]

mod ast;
mod error;
mod indexes;
mod lexer;
mod parser;
mod resolve;

pub use ast::{
    Column, CompareOp, Expr, Join, JoinKind, Offset, Operand, Order, ParamUse, Query, SelectItem,
};
pub use error::{QueryError, render};
pub use indexes::indexes;
pub use parser::parse;
