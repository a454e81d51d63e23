//! A view query as the `#[query]` attribute parsed and checked it at compile time. The runtime
//! never parses query text: it translates this tree into each store's SQL.

/// A column: the path of field names into a row's JSON (`["address", "city"]`).
pub type Column = &'static [&'static str];

/// One query of a view table.
#[derive(Debug)]
pub struct Query {
    /// The query as written, for messages.
    pub text: &'static str,
    /// The table it reads.
    pub table: &'static str,
    /// What it selects.
    pub select: &'static [SelectItem],
    /// The `WHERE` condition.
    pub filter: Option<&'static Expr>,
    /// The `ORDER BY` columns.
    pub order: &'static [Order],
    /// The `OFFSET`.
    pub offset: Option<Offset>,
    /// The `LIMIT`.
    pub limit: Option<Operand>,
    /// Whether a stream of its results stays open with new and changed rows.
    pub stream_updates: bool,
}

/// One item of the `SELECT` list.
#[derive(Debug, Clone, Copy)]
pub enum SelectItem {
    /// `*`: each result is the row as it is.
    Star,
    /// `* AS field`: the results are a list in this field of one wrapper object.
    StarAs(&'static str),
    /// `column [AS alias]`: each result is an object of the selected columns.
    Column {
        /// The column read.
        column: Column,
        /// The field it is written to.
        alias: &'static str,
    },
    /// `next_page_token() AS field`: the token of the page after this one ("" at the end).
    NextPageToken(&'static str),
    /// `has_more() AS field`: whether rows follow this page.
    HasMore(&'static str),
    /// `COUNT(*) AS field` or `total_count() AS field`: how many rows match, on every page.
    TotalCount(&'static str),
}

/// A condition of `WHERE`.
#[derive(Debug)]
pub enum Expr {
    /// `column <op> value`.
    Compare {
        /// The column compared.
        column: Column,
        /// The comparison.
        op: CompareOp,
        /// What it is compared with.
        value: Operand,
    },
    /// `a AND b`.
    And(&'static Expr, &'static Expr),
    /// `a OR b`.
    Or(&'static Expr, &'static Expr),
    /// `NOT a`.
    Not(&'static Expr),
    /// `column IN (v, ...)`.
    In {
        /// The column.
        column: Column,
        /// The values.
        values: &'static [Operand],
    },
    /// `column = ANY(:list)`: the column equals one of a list parameter's items.
    AnyOfParam {
        /// The column.
        column: Column,
        /// The list parameter.
        param: &'static str,
    },
    /// `:param = ANY(column)`: an array column holds the parameter.
    ParamInColumn {
        /// The parameter.
        param: &'static str,
        /// The array column.
        column: Column,
    },
    /// `column LIKE 'prefix%'` or `'%suffix'`.
    Like {
        /// The column.
        column: Column,
        /// The literal text before or after the wildcard.
        text: &'static str,
        /// Whether the text is a prefix (`'text%'`); else a suffix (`'%text'`).
        prefix: bool,
    },
    /// `column IS [NOT] NULL`.
    IsNull {
        /// The column.
        column: Column,
        /// `IS NOT NULL`.
        negated: bool,
    },
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

impl CompareOp {
    /// The operator in SQL.
    pub fn sql(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
        }
    }
}

/// A value in a query: a parameter or a literal.
#[derive(Debug, Clone, Copy)]
pub enum Operand {
    /// `:name`, filled from the method's arguments.
    Param(&'static str),
    /// `'text'`.
    Text(&'static str),
    /// An integer.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
}

/// Where a page starts.
#[derive(Debug, Clone, Copy)]
pub enum Offset {
    /// `OFFSET n` or `OFFSET :p`.
    Count(Operand),
    /// `OFFSET page_token_offset(:token)`: where the token from `next_page_token()` says.
    PageToken(&'static str),
}

/// One `ORDER BY` column.
#[derive(Debug, Clone, Copy)]
pub struct Order {
    /// The column.
    pub column: Column,
    /// `DESC`.
    pub descending: bool,
}

impl Query {
    /// Whether the results go into a wrapper object (`SELECT * AS field`).
    pub fn wrapper_field(&self) -> Option<&'static str> {
        self.select.iter().find_map(|item| match item {
            SelectItem::StarAs(field) => Some(*field),
            _ => None,
        })
    }

    /// Whether the query asks for a page token, so a default page size applies.
    pub fn pages_by_token(&self) -> bool {
        matches!(self.offset, Some(Offset::PageToken(_)))
            || self
                .select
                .iter()
                .any(|item| matches!(item, SelectItem::NextPageToken(_)))
    }

    /// Every column the query reads (its projection, conditions and order).
    pub fn columns(&self) -> Vec<Column> {
        fn walk(expr: &Expr, found: &mut Vec<Column>) {
            match expr {
                Expr::Compare { column, .. }
                | Expr::In { column, .. }
                | Expr::AnyOfParam { column, .. }
                | Expr::ParamInColumn { column, .. }
                | Expr::Like { column, .. }
                | Expr::IsNull { column, .. } => found.push(column),
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, found);
                    walk(b, found);
                }
                Expr::Not(a) => walk(a, found),
            }
        }
        let mut found: Vec<Column> = self
            .select
            .iter()
            .filter_map(|item| match item {
                SelectItem::Column { column, .. } => Some(*column),
                _ => None,
            })
            .collect();
        if let Some(filter) = self.filter {
            walk(filter, &mut found);
        }
        found.extend(self.order.iter().map(|o| o.column));
        found
    }

    /// Whether the query needs the number of all matching rows.
    pub fn counts(&self) -> bool {
        self.select
            .iter()
            .any(|item| matches!(item, SelectItem::TotalCount(_)))
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

/// The indexes a table with these queries gets, each a list of columns: for each query, the
/// columns its `AND`ed conditions test for equality, then one it tests by range, then its
/// `ORDER BY` columns (and one index per column of a condition of `OR`s). The runtime creates
/// them at start; a store test can use them to set up a table as a view would.
pub fn indexes(queries: &[&Query]) -> Vec<Vec<Column>> {
    let mut indexes: Vec<Vec<Column>> = Vec::new();
    let mut add = |index: Vec<Column>| {
        if !index.is_empty() && !indexes.contains(&index) {
            indexes.push(index);
        }
    };
    for query in queries {
        let mut equal: Vec<Column> = Vec::new();
        let mut range: Option<Column> = None;
        let mut conjuncts = Vec::new();
        if let Some(filter) = query.filter {
            and_terms(filter, &mut conjuncts);
        }
        for term in conjuncts {
            match term {
                Expr::Compare {
                    column,
                    op: CompareOp::Eq,
                    ..
                }
                | Expr::In { column, .. }
                | Expr::AnyOfParam { column, .. } => equal.push(column),
                Expr::Compare { column, op, .. } if *op != CompareOp::Ne => {
                    range.get_or_insert(column);
                }
                Expr::Like {
                    column,
                    prefix: true,
                    ..
                } => {
                    range.get_or_insert(column);
                }
                Expr::Or(..) => {
                    let mut columns = Vec::new();
                    or_columns(term, &mut columns);
                    for column in columns {
                        add(vec![column]);
                    }
                }
                _ => {}
            }
        }
        let mut index = equal;
        index.extend(range);
        for order in query.order {
            if !index.contains(&order.column) {
                index.push(order.column);
            }
        }
        add(index);
    }
    indexes
}

fn and_terms<'a>(expr: &'a Expr, terms: &mut Vec<&'a Expr>) {
    match expr {
        Expr::And(a, b) => {
            and_terms(a, terms);
            and_terms(b, terms);
        }
        other => terms.push(other),
    }
}

fn or_columns(expr: &Expr, columns: &mut Vec<Column>) {
    match expr {
        Expr::Or(a, b) | Expr::And(a, b) => {
            or_columns(a, columns);
            or_columns(b, columns);
        }
        Expr::Compare { column, .. }
        | Expr::In { column, .. }
        | Expr::AnyOfParam { column, .. }
            if !columns.contains(column) =>
        {
            columns.push(column);
        }
        _ => {}
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A query with an equality, a range, an order and a page token: tests of its SQL use it.
    pub(crate) static BY_CITY: Query = Query {
        text: "",
        table: "customers",
        select: &[SelectItem::Star],
        filter: Some(&Expr::And(
            &Expr::Compare {
                column: &["address", "city"],
                op: CompareOp::Eq,
                value: Operand::Param("city"),
            },
            &Expr::Like {
                column: &["name"],
                text: "Bo",
                prefix: true,
            },
        )),
        order: &[Order {
            column: &["name"],
            descending: true,
        }],
        offset: Some(Offset::PageToken("token")),
        limit: None,
        stream_updates: false,
    };

    #[test]
    fn indexes_put_equality_columns_first_then_the_range_then_the_order() {
        let indexes = indexes(&[&BY_CITY]);
        assert_eq!(indexes, vec![vec![&["address", "city"][..], &["name"][..]]]);
    }
}
