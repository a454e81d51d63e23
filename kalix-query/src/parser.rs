//! A recursive-descent parser from the tokens to the [`Query`] tree. Every error names its place
//! in the text.

use std::ops::Range;

use crate::QueryError;
use crate::ast::{
    Column, CompareOp, Expr, Join, JoinKind, Offset, Operand, Order, Query, SelectItem,
};
use crate::lexer::{Kind, Token, tokenize};

/// Parses `text` as a query.
///
/// ```
/// let query = kalix_query::parse("SELECT * FROM customers WHERE name LIKE 'Bo%' ORDER BY name").unwrap();
/// assert_eq!(query.order[0].column.path, ["name"]);
///
/// let error = kalix_query::parse("SELECT * FROM customers WHERE name LIKE '%o%'").unwrap_err();
/// assert!(error.message.contains("one `%`"));
/// ```
pub fn parse(text: &str) -> Result<Query, QueryError> {
    let tokens = tokenize(text)?;
    let mut parser = Parser { tokens, next: 0 };
    let mut query = parser.query()?;
    query.text = text.to_owned();
    crate::resolve::resolve(&mut query)?;
    Ok(query)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        &self.tokens[self.next]
    }

    fn peek_at(&self, ahead: usize) -> &Kind {
        &self.tokens[(self.next + ahead).min(self.tokens.len() - 1)].kind
    }

    fn bump(&mut self) -> Token {
        let token = self.tokens[self.next].clone();
        if self.next < self.tokens.len() - 1 {
            self.next += 1;
        }
        token
    }

    fn is_keyword(&self, keyword: &str) -> bool {
        matches!(&self.peek().kind, Kind::Word(w) if w.eq_ignore_ascii_case(keyword))
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        let found = self.is_keyword(keyword);
        if found {
            self.bump();
        }
        found
    }

    fn expect_keyword(&mut self, keyword: &str, context: &str) -> Result<(), QueryError> {
        if self.eat_keyword(keyword) {
            return Ok(());
        }
        Err(self.unexpected(&format!("expected `{keyword}` {context}")))
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek().kind, Kind::Symbol(found) if found == symbol)
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = self.is_symbol(symbol);
        if found {
            self.bump();
        }
        found
    }

    fn expect_symbol(&mut self, symbol: &str, context: &str) -> Result<(), QueryError> {
        if self.eat_symbol(symbol) {
            return Ok(());
        }
        Err(self.unexpected(&format!("expected `{symbol}` {context}")))
    }

    fn unexpected(&self, expected: &str) -> QueryError {
        let token = self.peek();
        let found = match &token.kind {
            Kind::End => "the end of the query".to_owned(),
            Kind::Word(w) => format!("`{w}`"),
            Kind::Param(p) => format!("`:{p}`"),
            Kind::Text(t) => format!("'{t}'"),
            Kind::Integer(n) => format!("`{n}`"),
            Kind::Float(n) => format!("`{n}`"),
            Kind::Symbol(s) => format!("`{s}`"),
        };
        QueryError::new(format!("{expected}, found {found}"), token.at.clone())
    }

    fn identifier(&mut self, what: &str) -> Result<(String, Range<usize>), QueryError> {
        match &self.peek().kind {
            Kind::Word(word) if !is_reserved(word) => {
                let word = word.clone();
                let at = self.bump().at;
                Ok((word, at))
            }
            _ => Err(self.unexpected(&format!("expected {what}"))),
        }
    }

    fn query(&mut self) -> Result<Query, QueryError> {
        self.expect_keyword("SELECT", "at the start of a query")?;
        let select = self.select_list()?;
        self.expect_keyword("FROM", "after the selected columns")?;
        let (table, table_at) = self.identifier("a table name after `FROM`")?;
        let alias = self.table_alias()?;
        let mut joins = Vec::new();
        while let Some(kind) = self.join_kind()? {
            let (table, table_at) = self.identifier("a table name after `JOIN`")?;
            let alias = self.table_alias()?;
            self.expect_keyword("ON", "after the joined table: `JOIN t ON a.x = t.y`")?;
            let on = self.or()?;
            joins.push(Join {
                kind,
                table,
                table_at,
                alias,
                on,
            });
        }
        let filter = if self.eat_keyword("WHERE") {
            Some(self.or()?)
        } else {
            None
        };
        let mut group_by = Vec::new();
        if self.eat_keyword("GROUP") {
            self.expect_keyword("BY", "after `GROUP`")?;
            loop {
                group_by.push(self.column()?);
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        let mut order = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY", "after `ORDER`")?;
            loop {
                let column = self.column()?;
                let descending = if self.eat_keyword("DESC") {
                    true
                } else {
                    self.eat_keyword("ASC");
                    false
                };
                order.push(Order { column, descending });
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        let offset = if self.eat_keyword("OFFSET") {
            if self.is_keyword("page_token_offset") {
                self.bump();
                self.expect_symbol("(", "after `page_token_offset`")?;
                let (name, at) = self.param("a token parameter: `page_token_offset(:token)`")?;
                self.expect_symbol(")", "to close `page_token_offset(`")?;
                Some(Offset::PageToken(name, at))
            } else {
                Some(Offset::Count(self.count("OFFSET")?))
            }
        } else {
            None
        };
        let limit = if self.eat_keyword("LIMIT") {
            Some(self.count("LIMIT")?)
        } else {
            None
        };
        if !matches!(self.peek().kind, Kind::End) {
            return Err(self.unexpected(
                "expected `JOIN`, `WHERE`, `GROUP BY`, `ORDER BY`, `OFFSET`, `LIMIT` or the end of the query",
            ));
        }
        Ok(Query {
            text: String::new(),
            select,
            table,
            table_at,
            alias,
            joins,
            filter,
            group_by,
            order,
            offset,
            limit,
        })
    }

    /// `AS alias` or a bare alias after a table's name.
    fn table_alias(&mut self) -> Result<Option<String>, QueryError> {
        if self.eat_keyword("AS") {
            return Ok(Some(self.identifier("a table alias after `AS`")?.0));
        }
        let bare = matches!(&self.peek().kind, Kind::Word(word)
            if !is_reserved(word) && !CLAUSES.iter().any(|c| c.eq_ignore_ascii_case(word)));
        if bare {
            return Ok(Some(self.identifier("a table alias")?.0));
        }
        Ok(None)
    }

    /// `[INNER|LEFT|RIGHT|FULL] [OUTER] JOIN`, if one is next.
    fn join_kind(&mut self) -> Result<Option<JoinKind>, QueryError> {
        let kind = if self.eat_keyword("INNER") {
            JoinKind::Inner
        } else if self.eat_keyword("LEFT") {
            JoinKind::Left
        } else if self.eat_keyword("RIGHT") {
            JoinKind::Right
        } else if self.eat_keyword("FULL") {
            JoinKind::Full
        } else if self.is_keyword("JOIN") {
            JoinKind::Inner
        } else {
            return Ok(None);
        };
        if kind != JoinKind::Inner {
            self.eat_keyword("OUTER");
        }
        self.expect_keyword(
            "JOIN",
            "to join a table: `[INNER|LEFT|RIGHT|FULL] [OUTER] JOIN t ON ..`",
        )?;
        Ok(Some(kind))
    }

    fn count(&mut self, what: &str) -> Result<Operand, QueryError> {
        match self.peek().kind.clone() {
            Kind::Integer(n) if n >= 0 => {
                self.bump();
                Ok(Operand::Integer(n))
            }
            Kind::Param(name) => {
                let at = self.bump().at;
                Ok(Operand::Param(name, at))
            }
            _ => Err(self.unexpected(&format!(
                "expected a number of zero or more or a `:parameter` after `{what}`"
            ))),
        }
    }

    fn param(&mut self, what: &str) -> Result<(String, Range<usize>), QueryError> {
        match self.peek().kind.clone() {
            Kind::Param(name) => {
                let at = self.bump().at;
                Ok((name, at))
            }
            _ => Err(self.unexpected(&format!("expected {what}"))),
        }
    }

    fn select_list(&mut self) -> Result<Vec<SelectItem>, QueryError> {
        let mut items = Vec::new();
        loop {
            items.push(self.select_item()?);
            if !self.eat_symbol(",") {
                break;
            }
        }
        let stars = items
            .iter()
            .filter(|i| matches!(i, SelectItem::Star | SelectItem::StarAs(..)))
            .count();
        let columns = items.iter().any(|i| {
            matches!(
                i,
                SelectItem::Column { .. }
                    | SelectItem::TableStar(..)
                    | SelectItem::Nested { .. }
                    | SelectItem::Collect { .. }
            )
        });
        if stars > 1 || (stars == 1 && columns) {
            return Err(QueryError::new(
                "select `*`, `* AS field`, or columns, one of them",
                0..0,
            ));
        }
        let wrapped = items.iter().any(|i| matches!(i, SelectItem::StarAs(..)));
        let extras = items.iter().any(|i| {
            matches!(
                i,
                SelectItem::NextPageToken(_) | SelectItem::HasMore(_) | SelectItem::TotalCount(_)
            )
        });
        if extras && !wrapped {
            return Err(QueryError::new(
                "`next_page_token()`, `has_more()` and `COUNT(*)` go into a wrapper with the rows: `SELECT * AS items, ..`",
                0..0,
            ));
        }
        Ok(items)
    }

    fn alias(&mut self, what: &str) -> Result<(String, Range<usize>), QueryError> {
        self.expect_keyword(
            "AS",
            &format!("after {what}: it goes into a field, `{what} AS field`"),
        )?;
        self.identifier("a field name after `AS`")
    }

    fn select_item(&mut self) -> Result<SelectItem, QueryError> {
        if self.eat_symbol("*") {
            if self.is_keyword("AS") {
                let (field, at) = self.alias("`*`")?;
                return Ok(SelectItem::StarAs(field, at));
            }
            return Ok(SelectItem::Star);
        }
        for (name, make) in [
            (
                "next_page_token",
                SelectItem::NextPageToken as fn(String) -> SelectItem,
            ),
            ("has_more", SelectItem::HasMore),
            ("total_count", SelectItem::TotalCount),
        ] {
            if self.is_keyword(name) && self.peek_at(1) == &Kind::Symbol("(") {
                self.bump();
                self.bump();
                self.expect_symbol(")", &format!("after `{name}(`"))?;
                let (field, _) = self.alias(&format!("`{name}()`"))?;
                return Ok(make(field));
            }
        }
        if self.is_keyword("COUNT") && self.peek_at(1) == &Kind::Symbol("(") {
            self.bump();
            self.bump();
            self.expect_symbol("*", "in `COUNT(*)`")?;
            self.expect_symbol(")", "to close `COUNT(*`")?;
            let (field, _) = self.alias("`COUNT(*)`")?;
            return Ok(SelectItem::TotalCount(field));
        }
        if self.is_keyword("collect") && self.peek_at(1) == &Kind::Symbol("(") {
            let at = self.bump().at;
            self.bump();
            let items = self.projection_items("collect")?;
            let (alias, _) = self.alias("`collect(..)`")?;
            return Ok(SelectItem::Collect { items, alias, at });
        }
        if self.eat_symbol("(") {
            let items = self.projection_items("(")?;
            let (alias, _) = self.alias("a nested `(..)`")?;
            return Ok(SelectItem::Nested { items, alias });
        }
        self.projection_item()
    }

    /// The items of `collect(..)` or `(..)`, up to and with the closing `)`.
    fn projection_items(&mut self, opened: &str) -> Result<Vec<SelectItem>, QueryError> {
        let mut items = Vec::new();
        loop {
            if self.eat_symbol("(") {
                let inner = self.projection_items("(")?;
                let (alias, _) = self.alias("a nested `(..)`")?;
                items.push(SelectItem::Nested {
                    items: inner,
                    alias,
                });
            } else {
                items.push(self.projection_item()?);
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_symbol(")", &format!("to close `{opened}(`"))?;
        Ok(items)
    }

    /// `t.*`, or a column with its optional `AS field`.
    fn projection_item(&mut self) -> Result<SelectItem, QueryError> {
        if let Kind::Word(word) = self.peek().kind.clone()
            && self.peek_at(1) == &Kind::Symbol(".")
            && self.peek_at(2) == &Kind::Symbol("*")
        {
            let start = self.bump().at.start;
            self.bump();
            let end = self.bump().at.end;
            return Ok(SelectItem::TableStar(word, start..end));
        }
        let column = self.column()?;
        let alias = if self.is_keyword("AS") {
            self.bump();
            self.identifier("a field name after `AS`")?.0
        } else {
            column.path.last().cloned().unwrap_or_default()
        };
        Ok(SelectItem::Column { column, alias })
    }

    fn column(&mut self) -> Result<Column, QueryError> {
        let (first, at) = self.identifier("a column")?;
        let mut path = vec![first];
        let mut end = at.end;
        while self.is_symbol(".") {
            self.bump();
            let (name, at) = self.identifier("a field name after `.`")?;
            path.push(name);
            end = at.end;
        }
        Ok(Column {
            table: None,
            path,
            at: at.start..end,
        })
    }

    fn or(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.and()?;
        while self.eat_keyword("OR") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, QueryError> {
        let mut left = self.not()?;
        while self.eat_keyword("AND") {
            let right = self.not()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Expr, QueryError> {
        if self.eat_keyword("NOT") {
            return Ok(Expr::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, QueryError> {
        if self.eat_symbol("(") {
            let inner = self.or()?;
            self.expect_symbol(")", "to close `(`")?;
            return Ok(inner);
        }
        if let Kind::Param(name) = self.peek().kind.clone() {
            let param_at = self.bump().at;
            self.expect_symbol("=", "after a parameter on the left: `:param = ANY(column)`")?;
            self.expect_keyword("ANY", "after `:param =`: `:param = ANY(column)`")?;
            self.expect_symbol("(", "after `ANY`")?;
            let column = self.column()?;
            self.expect_symbol(")", "to close `ANY(`")?;
            return Ok(Expr::ParamInColumn {
                param: name,
                param_at,
                column,
            });
        }
        let column = self.column()?;
        if self.eat_keyword("IS") {
            let negated = self.eat_keyword("NOT");
            self.expect_keyword("NULL", "after `IS`")?;
            return Ok(Expr::IsNull { column, negated });
        }
        if self.eat_keyword("IN") {
            self.expect_symbol("(", "after `IN`")?;
            let mut values = vec![self.value()?];
            while self.eat_symbol(",") {
                values.push(self.value()?);
            }
            self.expect_symbol(")", "to close `IN (`")?;
            return Ok(Expr::In { column, values });
        }
        if self.is_keyword("LIKE") {
            self.bump();
            return self.like(column);
        }
        let op = match &self.peek().kind {
            Kind::Symbol("=") => CompareOp::Eq,
            Kind::Symbol("!=") => CompareOp::Ne,
            Kind::Symbol(">") => CompareOp::Gt,
            Kind::Symbol(">=") => CompareOp::Ge,
            Kind::Symbol("<") => CompareOp::Lt,
            Kind::Symbol("<=") => CompareOp::Le,
            _ => {
                return Err(self.unexpected(
                    "expected a comparison (`=`, `!=`, `>`, `>=`, `<`, `<=`), `IN`, `LIKE` or `IS NULL` after a column",
                ));
            }
        };
        self.bump();
        if op == CompareOp::Eq && self.is_keyword("ANY") {
            self.bump();
            self.expect_symbol("(", "after `ANY`")?;
            let (param, param_at) = self.param("a list parameter: `column = ANY(:list)`")?;
            self.expect_symbol(")", "to close `ANY(`")?;
            return Ok(Expr::AnyOfParam {
                column,
                param,
                param_at,
            });
        }
        let value = self.operand()?;
        Ok(Expr::Compare { column, op, value })
    }

    fn like(&mut self, column: Column) -> Result<Expr, QueryError> {
        let token = self.peek().clone();
        let Kind::Text(pattern) = token.kind else {
            return Err(self.unexpected("expected a text pattern after `LIKE`, such as 'Bob%'"));
        };
        self.bump();
        let wildcards = pattern.matches(['%', '_']).count();
        let (text, prefix) = if let Some(text) =
            pattern.strip_suffix('%').filter(|_| wildcards == 1)
        {
            (text, true)
        } else if let Some(text) = pattern.strip_prefix('%').filter(|_| wildcards == 1) {
            (text, false)
        } else {
            return Err(QueryError::new(
                "`LIKE` takes a pattern with one `%`, at its end ('Bob%') or at its start ('%son'): a pattern with a wildcard on both sides or inside cannot use an index",
                token.at,
            ));
        };
        if text.is_empty() {
            return Err(QueryError::new(
                "a `LIKE` pattern needs text beside its `%`",
                token.at,
            ));
        }
        Ok(Expr::Like {
            column,
            text: text.to_owned(),
            prefix,
        })
    }

    /// An operand that is no column: what `IN (..)` lists.
    fn value(&mut self) -> Result<Operand, QueryError> {
        let at = self.peek().at.clone();
        match self.operand()? {
            Operand::Column(_) => Err(QueryError::new(
                "`IN (..)` lists values and parameters, not columns",
                at,
            )),
            value => Ok(value),
        }
    }

    fn operand(&mut self) -> Result<Operand, QueryError> {
        let token = self.peek().clone();
        let operand = match token.kind {
            Kind::Param(name) => Operand::Param(name, token.at),
            Kind::Text(text) => Operand::Text(text),
            Kind::Integer(n) => Operand::Integer(n),
            Kind::Float(n) => Operand::Float(n),
            Kind::Word(word) if word.eq_ignore_ascii_case("true") => Operand::Bool(true),
            Kind::Word(word) if word.eq_ignore_ascii_case("false") => Operand::Bool(false),
            Kind::Word(word) if !is_reserved(&word) => return Ok(Operand::Column(self.column()?)),
            _ => {
                return Err(self.unexpected(
                    "expected a value: a `:parameter`, a 'text', a number, `true`, `false` or a column",
                ));
            }
        };
        self.bump();
        Ok(operand)
    }
}

/// The words that start a clause after a table's name, so are no alias.
const CLAUSES: [&str; 10] = [
    "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "ON", "WHERE", "GROUP", "ORDER", "OFFSET",
];

/// The query's keywords, which are not column or table names.
fn is_reserved(word: &str) -> bool {
    [
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "ORDER", "BY",
        "ASC", "DESC", "OFFSET", "LIMIT", "AS", "ANY",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_query_parses() {
        let query = parse(
            "SELECT * AS customers, next_page_token() AS nextPageToken, has_more() AS hasMore \
             FROM customers_by_city WHERE address.city = :city AND NOT (name LIKE 'Bo%' OR age >= 18) \
             ORDER BY name DESC OFFSET page_token_offset(:token) LIMIT 10",
        )
        .unwrap();
        assert_eq!(query.table, "customers_by_city");
        assert_eq!(query.wrapper().unwrap().0, "customers");
        let params: Vec<String> = query.params().into_iter().map(|p| p.0).collect();
        assert_eq!(params, ["city", "token"]);
        assert_eq!(query.columns().len(), 4);
    }

    #[test]
    fn errors_point_inside_the_query() {
        let text = "SELECT * FROM t WHERE name = ";
        let error = parse(text).unwrap_err();
        assert!(
            error.message.contains("found the end of the query"),
            "{error:?}"
        );
        let text = "SELECT * FROM t WHERE name LIKE '%x%'";
        let error = parse(text).unwrap_err();
        let rendered = error.render(text);
        assert!(
            rendered.ends_with("                                ^^^^^"),
            "{rendered}"
        );
        assert!(parse("SELECT * FROM t WHERE a = ANY(:list) AND :x = ANY(tags) AND b IN (1, :y) AND c IS NOT NULL").is_ok());
    }

    #[test]
    fn a_join_query_parses_with_aliases_nesting_and_collect() {
        let query = parse(
            "SELECT c.*, c.name AS customerName, (o.orderId, p.name AS product) AS last, \
             collect(o.*) AS orders \
             FROM customers AS c JOIN orders o ON o.customerId = c.customerId \
             LEFT OUTER JOIN products AS p ON p.productId = o.productId AND p.price > 0 \
             WHERE c.customerId = :id GROUP BY c.customerId ORDER BY o.created DESC",
        )
        .unwrap();
        assert_eq!(
            query.tables(),
            [("c", "customers"), ("o", "orders"), ("p", "products")]
        );
        assert_eq!(query.joins[1].kind, JoinKind::Left);
        let tables: Vec<&str> = query.columns().iter().map(|c| query.table_of(c)).collect();
        assert_eq!(
            tables,
            [
                "customers",
                "orders",
                "products",
                "orders",
                "customers",
                "products",
                "orders",
                "products",
                "customers",
                "customers",
                "orders"
            ]
        );
        assert!(
            matches!(&query.select[3], SelectItem::Collect { items, alias, .. }
            if alias == "orders" && matches!(&items[..], [SelectItem::TableStar(t, _)] if t == "o"))
        );
        assert_eq!(query.group_by[0].path, ["customerId"]);
    }

    #[test]
    fn a_single_table_may_qualify_its_columns_by_its_name_or_alias() {
        let query = parse("SELECT * FROM customers AS c WHERE c.name = :name").unwrap();
        let column = query.columns()[0];
        assert_eq!(
            (column.table.as_deref(), &column.path[..]),
            (None, &["name".to_owned()][..])
        );
        let query = parse("SELECT * FROM customers WHERE customers.address.city = 'Oslo'").unwrap();
        assert_eq!(query.columns()[0].path, ["address", "city"]);
    }

    #[test]
    fn join_mistakes_are_pointed_at() {
        let cases = [
            (
                "SELECT * FROM customers JOIN orders ON customerId = orders.customerId",
                "`customerId` names no table",
                "customerId",
            ),
            (
                "SELECT * FROM customers AS c JOIN orders AS o ON customers.id = o.customerId",
                "table `customers` is called `c`",
                "customers.id",
            ),
            (
                "SELECT * FROM a JOIN b ON a.x = c.y JOIN c ON c.y = b.y",
                "joined after it",
                "c.y",
            ),
            (
                "SELECT * FROM a JOIN a ON a.x = a.y",
                "`a` is in this query twice",
                "a",
            ),
            (
                "SELECT a.*, collect(b.*) AS bs FROM a JOIN b ON a.x = b.x",
                "add `GROUP BY`",
                "collect",
            ),
            (
                "SELECT a.* FROM a JOIN b ON a.x = b.x GROUP BY a.x",
                "which a `collect(..) AS field` item gathers",
                "a.x",
            ),
            (
                "SELECT z.* FROM a JOIN b ON a.x = b.x",
                "`z` is no table of this query",
                "z.*",
            ),
            ("SELECT * FROM a JOIN b a.x = b.x", "expected `ON`", "."),
            (
                "SELECT * FROM a JOIN b ON a.x = b.x WHERE a.y IN (1, b.y)",
                "not columns",
                "b",
            ),
        ];
        for (text, message, at) in cases {
            let error = parse(text).unwrap_err();
            assert!(error.message.contains(message), "{text}: {error:?}");
            let start = error.at.start;
            assert_eq!(&text[error.at.clone()], at, "{text}: at {start}");
        }
    }
}
