//! A [`Query`] in each store's SQL, with the indexes its queries need.
//!
//! A view table is `(view_key, row)`: the row's key (its source entity's id) and its JSON. A
//! column is an expression over the JSON (`json_extract(row, '$.a.b')` on SQLite,
//! `(row #> '{a,b}')` on PostgreSQL, compared as `jsonb`); the indexes are built on the very same
//! expressions, so the database can serve a query from them. Column names are identifiers
//! (checked by the macro), so they are written into the SQL as they are; every value is bound.
//!
//! A query that joins tables names each table by its alias (`"c".row`), and answers one row
//! per match: its key the tables' keys joined by U+001F, its JSON an object of each alias's row
//! (`{"c": {..}, "o": null}`, `null` where an outer join found no partner), concatenated by the
//! database from the stored text, so no row is parsed to build it.

use serde_json::Value;

use super::query::{Column, CompareOp, Expr, JoinKind, Offset, Operand, Query};
use crate::fingerprint::fingerprint;

/// The largest `LIMIT` or `OFFSET` (the stores count rows in signed 64-bit numbers).
const MAX_COUNT: u64 = i64::MAX as u64 - 1;

/// The page size of token paging when the query names no `LIMIT`, as Kalix's.
pub(crate) const DEFAULT_PAGE_SIZE: u64 = 100;

/// What differs between the stores' SQL: how a column of the row's JSON is read, ordered and
/// compared, and how values are bound. A store with another database implements it once; the
/// rest of a query's SQL (conditions, order, paging, counts) is written here for every store.
pub(crate) trait Dialect: Sync {
    /// A column's expression over the row's JSON (over its table's, `"alias".row`, in a join);
    /// a JSON `null` must read as SQL NULL.
    fn column(&self, column: &Column) -> String;

    /// A column's text (for `LIKE`).
    fn column_text(&self, column: &Column) -> String {
        self.column(column)
    }

    /// An expression in an index or an `ORDER BY`: NULLs first when ascending, last when not.
    fn ordered(&self, expression: String, descending: bool) -> String {
        let direction = if descending { "DESC" } else { "ASC" };
        format!("{expression} {direction}")
    }

    /// The placeholder of the `number`th bound value (from 1), which is `bind`.
    fn placeholder(&self, number: usize, bind: &Bind) -> String;

    /// The items of a bound JSON array, as a subquery's rows.
    fn array_items(&self, list: &str) -> String;

    /// Whether the array at `column` holds the bound `value`.
    fn array_contains(&self, column: &Column, value: &str) -> String;

    /// Whether `target` starts with `text` (bound by `bind`), served by an index on the column
    /// where the database can.
    fn starts_with(&self, target: &str, text: &str, bind: &mut dyn FnMut(Bind) -> String)
    -> String;

    /// Whether `target` ends with `text`.
    fn ends_with(&self, target: &str, text: &str, bind: &mut dyn FnMut(Bind) -> String) -> String;

    /// The row as the store hands JSON back (of the table `alias`, in a join).
    fn row(&self, alias: Option<&str>) -> String {
        row_of(alias)
    }

    /// The character that separates the keys of a join's row: U+001F.
    fn key_separator(&self) -> &'static str {
        "char(31)"
    }

    /// The end of a query with no `LIMIT`, starting at the bound `offset`.
    fn offset_only(&self, offset: &str) -> String {
        format!(" OFFSET {offset}")
    }
}

/// SQLite's SQL: columns through `json_extract`, `?N` placeholders.
pub(crate) struct Sqlite;

/// The JSON of a column's table: `row`, or `"alias".row` in a join.
fn row_of(alias: Option<&str>) -> String {
    match alias {
        Some(alias) => format!("\"{alias}\".row"),
        None => "row".to_owned(),
    }
}

fn column_row(column: &Column) -> String {
    row_of(column.table.as_deref())
}

impl Dialect for Sqlite {
    fn column(&self, column: &Column) -> String {
        format!(
            "json_extract({}, '$.{}')",
            column_row(column),
            column.joined(".")
        )
    }

    fn placeholder(&self, number: usize, _: &Bind) -> String {
        format!("?{number}")
    }

    fn array_items(&self, list: &str) -> String {
        format!("SELECT value FROM json_each({list})")
    }

    fn array_contains(&self, column: &Column, value: &str) -> String {
        format!(
            "EXISTS (SELECT 1 FROM json_each({}, '$.{}') WHERE value = {value})",
            column_row(column),
            column.joined(".")
        )
    }

    fn starts_with(
        &self,
        target: &str,
        text: &str,
        bind: &mut dyn FnMut(Bind) -> String,
    ) -> String {
        // A range, which an index on the column serves.
        let low = bind(Bind::Text(text.to_owned()));
        let high = bind(Bind::Text(format!("{text}\u{10FFFF}")));
        format!("({target} >= {low} AND {target} < {high})")
    }

    fn ends_with(&self, target: &str, text: &str, bind: &mut dyn FnMut(Bind) -> String) -> String {
        let length = text.chars().count();
        let text = bind(Bind::Text(text.to_owned()));
        format!("substr({target}, -{length}) = {text}")
    }

    fn offset_only(&self, offset: &str) -> String {
        format!(" LIMIT -1 OFFSET {offset}")
    }
}

/// PostgreSQL's SQL: columns as `jsonb` paths, `$N` placeholders cast from text.
pub(crate) struct Postgres;

impl Dialect for Postgres {
    fn column(&self, column: &Column) -> String {
        // A JSON `null` is SQL NULL, as `json_extract` makes it on SQLite, so comparisons,
        // `IS NULL` and ordering agree between the stores.
        format!(
            "nullif({} #> '{{{}}}', 'null'::jsonb)",
            column_row(column),
            column.joined(",")
        )
    }

    fn column_text(&self, column: &Column) -> String {
        format!("({} #>> '{{{}}}')", column_row(column), column.joined(","))
    }

    fn ordered(&self, expression: String, descending: bool) -> String {
        // NULLs first when ascending, as SQLite orders them.
        match descending {
            false => format!("{expression} ASC NULLS FIRST"),
            true => format!("{expression} DESC NULLS LAST"),
        }
    }

    fn placeholder(&self, number: usize, bind: &Bind) -> String {
        let cast = match bind {
            Bind::Json(_) | Bind::List(_) => "::text::jsonb",
            Bind::Count(_) => "::text::bigint",
            Bind::Text(_) => "",
        };
        format!("${number}{cast}")
    }

    fn array_items(&self, list: &str) -> String {
        format!("SELECT jsonb_array_elements({list})")
    }

    fn array_contains(&self, column: &Column, value: &str) -> String {
        format!("{} @> jsonb_build_array({value})", self.column(column))
    }

    fn starts_with(
        &self,
        target: &str,
        text: &str,
        bind: &mut dyn FnMut(Bind) -> String,
    ) -> String {
        let length = text.chars().count();
        let text = bind(Bind::Text(text.to_owned()));
        format!("left({target}, {length}) = {text}")
    }

    fn ends_with(&self, target: &str, text: &str, bind: &mut dyn FnMut(Bind) -> String) -> String {
        let length = text.chars().count();
        let text = bind(Bind::Text(text.to_owned()));
        format!("right({target}, {length}) = {text}")
    }

    fn row(&self, alias: Option<&str>) -> String {
        format!("{}::text", row_of(alias))
    }

    fn key_separator(&self) -> &'static str {
        "chr(31)"
    }
}

/// A value to bind.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Bind {
    /// A JSON value compared with a column: native on SQLite, `jsonb` on PostgreSQL.
    Json(Value),
    /// Text compared with a column's text (`LIKE`).
    Text(String),
    /// A list as a JSON array, whose items a column is compared with.
    List(Value),
    /// A number of rows (`LIMIT`, `OFFSET`).
    Count(i64),
}

/// A query ready to run: its SQL, the values bound to it, and how to page.
#[derive(Debug)]
pub(crate) struct Select {
    /// `SELECT view_key, row FROM .. WHERE .. ORDER BY .. LIMIT .. OFFSET ..` (a join's key and
    /// JSON object of rows, in a join).
    pub sql: String,
    /// `SELECT COUNT(*) FROM .. WHERE ..`, when the query needs the total.
    pub count_sql: Option<String>,
    pub binds: Vec<Bind>,
    /// How many of the binds (the first) the count takes: the filter's.
    pub count_binds: usize,
}

/// Why a query cannot run with the parameters given.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct BadParameter(pub String);

/// The prefix of the names of view tables' indexes.
pub(crate) const INDEX_PREFIX: &str = "vix_";

/// Each index of view table `table` as (name, column expressions): the name is a fingerprint of
/// the table and the expressions, short enough for any database's identifiers.
pub(crate) fn index_definitions(
    dialect: &dyn Dialect,
    table: &str,
    indexes: &[Vec<Column>],
) -> Vec<(String, String)> {
    indexes
        .iter()
        .map(|columns| {
            // An index is on the table's own `row`, whatever a join calls the table.
            let expressions: Vec<String> = columns
                .iter()
                .map(|c| {
                    let own = Column {
                        table: None,
                        ..c.clone()
                    };
                    ordered(dialect, &own, false)
                })
                .collect();
            let expressions = expressions.join(", ");
            let name = format!(
                "{INDEX_PREFIX}{:016x}",
                fingerprint(format!("{table}|{expressions}").as_bytes())
            );
            (name, expressions)
        })
        .collect()
}

/// A comparison in SQL.
fn operator(op: CompareOp) -> &'static str {
    match op {
        CompareOp::Eq => "=",
        CompareOp::Ne => "<>",
        CompareOp::Gt => ">",
        CompareOp::Ge => ">=",
        CompareOp::Lt => "<",
        CompareOp::Le => "<=",
    }
}

/// The SQL name of a view table.
pub(crate) fn table_name(table: &str) -> String {
    format!("view_{table}")
}

/// A column in an index or an `ORDER BY`.
pub(crate) fn ordered(dialect: &dyn Dialect, column: &Column, descending: bool) -> String {
    dialect.ordered(dialect.column(column), descending)
}

struct Writer<'a> {
    dialect: &'a dyn Dialect,
    params: &'a serde_json::Map<String, Value>,
    binds: Vec<Bind>,
}

impl Writer<'_> {
    fn placeholder(&mut self, bind: Bind) -> String {
        let placeholder = self.dialect.placeholder(self.binds.len() + 1, &bind);
        self.binds.push(bind);
        placeholder
    }

    fn param(&self, name: &str) -> Result<&Value, BadParameter> {
        self.params
            .get(name)
            .ok_or_else(|| BadParameter(format!("missing parameter `{name}`")))
    }

    fn operand(&mut self, operand: &Operand) -> Result<String, BadParameter> {
        let value = match operand {
            Operand::Param(name, _) => self.param(name)?.clone(),
            Operand::Text(text) => Value::from(text.as_str()),
            Operand::Integer(n) => Value::from(*n),
            Operand::Float(n) => Value::from(*n),
            Operand::Bool(b) => Value::from(*b),
            Operand::Column(column) => return Ok(self.dialect.column(column)),
        };
        Ok(self.placeholder(Bind::Json(value)))
    }

    fn expr(&mut self, expr: &Expr) -> Result<String, BadParameter> {
        let dialect = self.dialect;
        Ok(match expr {
            Expr::Compare { column, op, value } => {
                let value = self.operand(value)?;
                format!("{} {} {value}", dialect.column(column), operator(*op))
            }
            Expr::And(a, b) => format!("({} AND {})", self.expr(a)?, self.expr(b)?),
            Expr::Or(a, b) => format!("({} OR {})", self.expr(a)?, self.expr(b)?),
            Expr::Not(a) => format!("NOT ({})", self.expr(a)?),
            Expr::In { column, values } => {
                let values = values
                    .iter()
                    .map(|v| self.operand(v))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{} IN ({})", dialect.column(column), values.join(", "))
            }
            Expr::AnyOfParam { column, param, .. } => {
                let list = self.list(param)?;
                let list = self.placeholder(Bind::List(list));
                let items = dialect.array_items(&list);
                format!("{} IN ({items})", dialect.column(column))
            }
            Expr::ParamInColumn { param, column, .. } => {
                let value = self.param(param)?.clone();
                let value = self.placeholder(Bind::Json(value));
                dialect.array_contains(column, &value)
            }
            Expr::Like {
                column,
                text,
                prefix,
            } => {
                let target = dialect.column_text(column);
                let mut bind = |bind: Bind| self.placeholder(bind);
                if *prefix {
                    dialect.starts_with(&target, text, &mut bind)
                } else {
                    dialect.ends_with(&target, text, &mut bind)
                }
            }
            Expr::IsNull { column, negated } => {
                let not = if *negated { "NOT " } else { "" };
                format!("{} IS {not}NULL", dialect.column(column))
            }
        })
    }

    fn list(&self, name: &str) -> Result<Value, BadParameter> {
        match self.param(name)? {
            list @ Value::Array(_) => Ok(list.clone()),
            Value::Null => Ok(Value::Array(Vec::new())),
            single => Ok(Value::Array(vec![single.clone()])),
        }
    }

    fn count(&self, operand: &Operand, what: &str) -> Result<u64, BadParameter> {
        let value = match operand {
            Operand::Integer(n) => Value::from(*n),
            Operand::Param(name, _) => self.param(name)?.clone(),
            other => {
                return Err(BadParameter(format!(
                    "{what} must be a whole number, not {other:?}"
                )));
            }
        };
        value.as_u64().filter(|n| *n < MAX_COUNT).ok_or_else(|| {
            BadParameter(format!(
                "{what} must be a whole number from 0 to {MAX_COUNT}, not {value}"
            ))
        })
    }
}

/// The SQL of `query` with `params` (by name, as JSON); `table_name` gives a view table's name
/// in the store.
pub(crate) fn select(
    dialect: &dyn Dialect,
    table_name: &dyn Fn(&str) -> String,
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<Select, BadParameter> {
    let mut writer = Writer {
        dialect,
        params,
        binds: Vec::new(),
    };
    let tables = query.tables();
    // One table reads its row; a join writes its tables' rows into one object.
    let (selected, from, keys) = if query.is_join() {
        let quoted = |alias: &str| format!("\"{alias}\"");
        let mut from = format!("{} AS {}", table_name(tables[0].1), quoted(tables[0].0));
        for (join, (alias, name)) in query.joins.iter().zip(&tables[1..]) {
            let kind = match join.kind {
                JoinKind::Inner => "JOIN",
                JoinKind::Left => "LEFT JOIN",
                JoinKind::Right => "RIGHT JOIN",
                JoinKind::Full => "FULL JOIN",
            };
            let on = writer.expr(&join.on)?;
            from.push_str(&format!(
                " {kind} {} AS {} ON {on}",
                table_name(name),
                quoted(alias)
            ));
        }
        let key = tables
            .iter()
            .map(|(alias, _)| format!("coalesce({}.view_key, '')", quoted(alias)))
            .collect::<Vec<_>>()
            .join(&format!(" || {} || ", dialect.key_separator()));
        let row = tables
            .iter()
            .enumerate()
            .map(|(i, (alias, _))| {
                let open = if i == 0 { "{" } else { "," };
                format!(
                    "'{open}\"{alias}\":' || coalesce({}, 'null')",
                    dialect.row(Some(alias))
                )
            })
            .collect::<Vec<_>>()
            .join(" || ");
        // Ordered as columns are, so a key an outer join left NULL sorts alike on every store.
        let keys: Vec<String> = tables
            .iter()
            .map(|(alias, _)| dialect.ordered(format!("{}.view_key", quoted(alias)), false))
            .collect();
        (format!("{key}, {row} || '}}'"), from, keys)
    } else {
        (
            format!("view_key, {}", dialect.row(None)),
            table_name(&query.table),
            vec!["view_key ASC".to_owned()],
        )
    };
    let filter = match &query.filter {
        Some(expr) => format!(" WHERE {}", writer.expr(expr)?),
        None => String::new(),
    };
    let count_binds = writer.binds.len();
    let mut order: Vec<String> = query
        .order
        .iter()
        .map(|o| ordered(dialect, &o.column, o.descending))
        .collect();
    // The keys last, so pages of rows that tie on the order are stable.
    order.extend(keys);
    let mut sql = format!(
        "SELECT {selected} FROM {from}{filter} ORDER BY {}",
        order.join(", ")
    );
    // Checked for every query; groups are paged once gathered, so a grouped query reads every
    // row that matches.
    let (offset, limit) = paging(query, params)?;
    let grouped = !query.group_by.is_empty();
    if !grouped {
        let offset_bind = writer.placeholder(Bind::Count(offset as i64));
        // One row more than the page, to know whether more follow.
        let limit_bind = limit.map(|limit| writer.placeholder(Bind::Count(limit as i64 + 1)));
        // Bound, not written in: one statement serves every page (PostgreSQL caches statements
        // by their text).
        match limit_bind {
            Some(limit) => sql.push_str(&format!(" LIMIT {limit} OFFSET {offset_bind}")),
            None => sql.push_str(&dialect.offset_only(&offset_bind)),
        }
    }
    let count_sql =
        (query.counts() && !grouped).then(|| format!("SELECT COUNT(*) FROM {from}{filter}"));
    Ok(Select {
        sql,
        count_sql,
        binds: writer.binds,
        count_binds,
    })
}

/// Where the page of `query` with `params` starts, and how many rows it has at most.
pub(crate) fn paging(
    query: &Query,
    params: &serde_json::Map<String, Value>,
) -> Result<(u64, Option<u64>), BadParameter> {
    let writer = Writer {
        dialect: &Sqlite,
        params,
        binds: Vec::new(),
    };
    let offset = match &query.offset {
        None => 0,
        Some(Offset::Count(operand)) => writer.count(operand, "OFFSET")?,
        Some(Offset::PageToken(name, _)) => page_token_offset(writer.param(name)?)?,
    };
    let limit = match &query.limit {
        Some(operand) => Some(writer.count(operand, "LIMIT")?),
        None if query.pages_by_token() => Some(DEFAULT_PAGE_SIZE),
        None => None,
    };
    Ok((offset, limit))
}

/// The offset a page token stands for: empty or absent is the first page.
fn page_token_offset(token: &Value) -> Result<u64, BadParameter> {
    match token {
        Value::Null => Ok(0),
        Value::String(text) if text.is_empty() => Ok(0),
        Value::String(text) => decode_page_token(text)
            .ok_or_else(|| BadParameter(format!("`{text}` is not a page token of this view"))),
        other => Err(BadParameter(format!("`{other}` is not a page token"))),
    }
}

/// The token of the page that starts at `offset`.
pub(crate) fn page_token(offset: u64) -> String {
    format!("o{offset:x}")
}

fn decode_page_token(token: &str) -> Option<u64> {
    u64::from_str_radix(token.strip_prefix('o')?, 16)
        .ok()
        .filter(|n| *n < MAX_COUNT)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::query::tests::BY_CITY;

    fn params(pairs: &[(&str, Value)]) -> serde_json::Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn a_query_becomes_sql_over_the_row_json_with_every_value_bound() {
        let select = select(
            &Sqlite,
            &table_name,
            &BY_CITY,
            &params(&[("city", "Oslo".into()), ("token", page_token(20).into())]),
        )
        .unwrap();
        assert_eq!(
            select.sql,
            "SELECT view_key, row FROM view_customers WHERE (json_extract(row, '$.address.city') = ?1 AND \
             (json_extract(row, '$.name') >= ?2 AND json_extract(row, '$.name') < ?3)) \
             ORDER BY json_extract(row, '$.name') DESC, view_key ASC LIMIT ?5 OFFSET ?4"
        );
        assert_eq!(select.binds[0], Bind::Json("Oslo".into()));
        assert_eq!(select.binds[3..], [Bind::Count(20), Bind::Count(101)]);
        let pg = super::select(
            &Postgres,
            &|table| format!("kalix.{}", table_name(table)),
            &BY_CITY,
            &params(&[("city", "Oslo".into()), ("token", Value::Null)]),
        )
        .unwrap();
        assert!(
            pg.sql
                .contains("nullif(row #> '{address,city}', 'null'::jsonb) = $1::text::jsonb"),
            "{}",
            pg.sql
        );
        assert!(
            pg.sql
                .ends_with("LIMIT $4::text::bigint OFFSET $3::text::bigint"),
            "{}",
            pg.sql
        );
        assert_eq!(pg.binds[2..], [Bind::Count(0), Bind::Count(101)]);
    }

    #[test]
    fn a_bad_page_token_or_a_missing_parameter_is_named() {
        let error = select(
            &Sqlite,
            &table_name,
            &BY_CITY,
            &params(&[("city", "Oslo".into()), ("token", "zz".into())]),
        )
        .unwrap_err();
        assert!(error.0.contains("`zz` is not a page token"), "{error:?}");
        let error = select(&Sqlite, &table_name, &BY_CITY, &params(&[])).unwrap_err();
        assert_eq!(error.0, "missing parameter `city`");
    }

    #[test]
    fn a_join_reads_each_table_by_its_alias_into_one_object_per_match() {
        static JOINED: crate::view::query::ViewQuery = crate::view::query::ViewQuery::new(
            "SELECT * AS orders FROM customers AS c JOIN orders ON c.customerId = orders.customerId \
             LEFT JOIN products AS p ON p.productId = orders.productId \
             WHERE c.customerId = :id ORDER BY orders.created LIMIT 10",
            false,
        );
        let select = select(
            &Sqlite,
            &table_name,
            &JOINED,
            &params(&[("id", "C1".into())]),
        )
        .unwrap();
        assert_eq!(
            select.sql,
            "SELECT coalesce(\"c\".view_key, '') || char(31) || coalesce(\"orders\".view_key, '') || char(31) || coalesce(\"p\".view_key, ''), \
             '{\"c\":' || coalesce(\"c\".row, 'null') || ',\"orders\":' || coalesce(\"orders\".row, 'null') || ',\"p\":' || coalesce(\"p\".row, 'null') || '}' \
             FROM view_customers AS \"c\" \
             JOIN view_orders AS \"orders\" ON json_extract(\"c\".row, '$.customerId') = json_extract(\"orders\".row, '$.customerId') \
             LEFT JOIN view_products AS \"p\" ON json_extract(\"p\".row, '$.productId') = json_extract(\"orders\".row, '$.productId') \
             WHERE json_extract(\"c\".row, '$.customerId') = ?1 \
             ORDER BY json_extract(\"orders\".row, '$.created') ASC, \"c\".view_key ASC, \"orders\".view_key ASC, \"p\".view_key ASC \
             LIMIT ?3 OFFSET ?2"
        );
        let pg = super::select(
            &Postgres,
            &|table| format!("kalix.{}", table_name(table)),
            &JOINED,
            &params(&[("id", "C1".into())]),
        )
        .unwrap();
        assert!(
            pg.sql.contains("coalesce(\"p\".row::text, 'null')")
                && pg.sql.contains("LEFT JOIN kalix.view_products AS \"p\" ON nullif(\"p\".row #> '{productId}', 'null'::jsonb)"),
            "{}",
            pg.sql
        );
    }
}
