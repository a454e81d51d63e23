//! The syntax tree of a query, and what can be read off it: its parameters, its columns.

use std::ops::Range;

/// A parsed query: `SELECT .. FROM table [AS t] [JOIN .. ON ..]* [WHERE ..] [GROUP BY ..]
/// [ORDER BY ..] [OFFSET ..] [LIMIT ..]`.
///
/// ```
/// let query = kalix_query::parse("SELECT * FROM customers WHERE email = :email").unwrap();
/// assert_eq!(query.table, "customers");
/// assert_eq!(query.columns()[0].path, ["email"]);
///
/// let joined = kalix_query::parse(
///     "SELECT c.name, o.quantity FROM customers AS c JOIN orders AS o ON o.customerId = c.id",
/// )
/// .unwrap();
/// assert_eq!(joined.tables(), [("c", "customers"), ("o", "orders")]);
/// assert_eq!(joined.table_of(joined.columns()[0]), "customers");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The query as written, for messages.
    pub text: String,
    /// What it selects.
    pub select: Vec<SelectItem>,
    /// The table it reads (the first, in a query that joins several).
    pub table: String,
    /// Where the table's name is in the text.
    pub table_at: Range<usize>,
    /// `FROM table AS alias`.
    pub alias: Option<String>,
    /// The tables joined to it, in order.
    pub joins: Vec<Join>,
    /// The `WHERE` condition.
    pub filter: Option<Expr>,
    /// The `GROUP BY` columns: the rows with equal values are one result, whose `collect(..)`
    /// items gather the group's rows.
    pub group_by: Vec<Column>,
    /// The `ORDER BY` columns.
    pub order: Vec<Order>,
    /// The `OFFSET`.
    pub offset: Option<Offset>,
    /// The `LIMIT`.
    pub limit: Option<Operand>,
}

/// `[INNER|LEFT|RIGHT|FULL] [OUTER] JOIN table [AS alias] ON condition`.
#[derive(Debug, Clone, PartialEq)]
pub struct Join {
    /// Which rows without a partner are kept.
    pub kind: JoinKind,
    /// The table joined.
    pub table: String,
    /// Where its name is in the text.
    pub table_at: Range<usize>,
    /// Its alias.
    pub alias: Option<String>,
    /// The `ON` condition.
    pub on: Expr,
}

/// Which rows of a join are kept when they have no partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// `[INNER] JOIN`: only rows with a partner.
    Inner,
    /// `LEFT [OUTER] JOIN`: every row of the tables before it.
    Left,
    /// `RIGHT [OUTER] JOIN`: every row of the table joined.
    Right,
    /// `FULL [OUTER] JOIN`: every row of both sides.
    Full,
}

/// A column: the path of field names into a row's JSON (`address.city` is
/// `["address", "city"]`) and, in a query over several tables, the table it is of.
///
/// Two columns are equal when they name the same table and path, wherever they are written.
#[derive(Debug, Clone)]
pub struct Column {
    /// In a query that joins tables, the table's alias (or its name, when it has none); `None`
    /// in a query of one table (a qualified column there is the table's own).
    pub table: Option<String>,
    /// The field names, outermost first.
    pub path: Vec<String>,
    /// Where it is written.
    pub at: Range<usize>,
}

impl PartialEq for Column {
    fn eq(&self, other: &Self) -> bool {
        self.table == other.table && self.path == other.path
    }
}

impl Eq for Column {}

impl std::hash::Hash for Column {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.table.hash(state);
        self.path.hash(state);
    }
}

impl Column {
    /// The path's names joined by `separator` (`address.city` with `"."`).
    pub fn joined(&self, separator: &str) -> String {
        self.path.join(separator)
    }
}

/// A value in a query: a parameter or a literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `:name`, filled from the method's arguments; and where it is written.
    Param(String, Range<usize>),
    /// `'text'`.
    Text(String),
    /// An integer.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
    /// `true` or `false`.
    Bool(bool),
    /// Another column (`ON a.x = b.y`).
    Column(Column),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
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

/// A condition of `WHERE`.
#[derive(Debug, Clone, PartialEq)]
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
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`.
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`.
    Not(Box<Expr>),
    /// `column IN (v, ...)`.
    In {
        /// The column.
        column: Column,
        /// The values.
        values: Vec<Operand>,
    },
    /// `column = ANY(:list)`: the column equals one of a list parameter's items.
    AnyOfParam {
        /// The column.
        column: Column,
        /// The list parameter.
        param: String,
        /// Where the parameter is written.
        param_at: Range<usize>,
    },
    /// `:param = ANY(column)`: an array column holds the parameter.
    ParamInColumn {
        /// The parameter.
        param: String,
        /// Where the parameter is written.
        param_at: Range<usize>,
        /// The array column.
        column: Column,
    },
    /// `column LIKE 'prefix%'` or `'%suffix'`.
    Like {
        /// The column.
        column: Column,
        /// The literal text before or after the wildcard.
        text: String,
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

/// One item of the `SELECT` list.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*`: each result is the row as it is.
    Star,
    /// `* AS field`: the results are a list in this field of one wrapper object; and where the
    /// field is written.
    StarAs(String, Range<usize>),
    /// `column [AS alias]`: each result is an object of the selected columns.
    Column {
        /// The column read.
        column: Column,
        /// The field it is written to (the column's last name without `AS`).
        alias: String,
    },
    /// `next_page_token() AS field`: the token of the page after this one ("" at the end).
    NextPageToken(String),
    /// `has_more() AS field`: whether rows follow this page.
    HasMore(String),
    /// `COUNT(*) AS field` or `total_count() AS field`: how many rows match, on every page.
    TotalCount(String),
    /// `t.*`: the fields of table (or alias) `t`, beside the other items; and where it is
    /// written.
    TableStar(String, Range<usize>),
    /// `(item, ..) AS field`: an object of the items.
    Nested {
        /// What the object holds.
        items: Vec<SelectItem>,
        /// The field it is written to.
        alias: String,
    },
    /// `collect(item, ..) AS field`: the list of the group's rows, each as the items select it
    /// (one `t.*` is the table's row, one column its value, several an object), rows without
    /// a partner in an outer join left out. Needs `GROUP BY`.
    Collect {
        /// What each element holds.
        items: Vec<SelectItem>,
        /// The field it is written to.
        alias: String,
        /// Where `collect` is written.
        at: Range<usize>,
    },
}

/// Where a page starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Offset {
    /// `OFFSET n` or `OFFSET :p`.
    Count(Operand),
    /// `OFFSET page_token_offset(:token)`: where the token from `next_page_token()` says; and
    /// where the parameter is written.
    PageToken(String, Range<usize>),
}

/// One `ORDER BY` column.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The column.
    pub column: Column,
    /// `DESC`.
    pub descending: bool,
}

/// How a parameter is used, to check its argument's type.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamUse {
    /// Compared with a column.
    Compare(Column),
    /// `column = ANY(:param)`: a list of items compared with the column.
    AnyOf(Column),
    /// `:param = ANY(column)`: an item of an array column.
    InColumn(Column),
    /// A count (`OFFSET`, `LIMIT`).
    Count,
    /// A page token.
    PageToken,
}

impl Query {
    /// Every parameter, with where and how it is used, in the order written.
    ///
    /// ```
    /// use kalix_query::ParamUse;
    /// let query = kalix_query::parse("SELECT * FROM t WHERE a = :a LIMIT :n").unwrap();
    /// let uses: Vec<_> = query.params().into_iter().map(|(name, _, used)| (name, used)).collect();
    /// assert!(matches!(&uses[..], [(a, ParamUse::Compare(_)), (n, ParamUse::Count)] if a == "a" && n == "n"));
    /// ```
    pub fn params(&self) -> Vec<(String, Range<usize>, ParamUse)> {
        let mut found = Vec::new();
        for join in &self.joins {
            expr_params(&join.on, &mut found);
        }
        if let Some(filter) = &self.filter {
            expr_params(filter, &mut found);
        }
        match &self.offset {
            Some(Offset::Count(Operand::Param(name, at))) => {
                found.push((name.clone(), at.clone(), ParamUse::Count));
            }
            Some(Offset::PageToken(name, at)) => {
                found.push((name.clone(), at.clone(), ParamUse::PageToken));
            }
            _ => {}
        }
        if let Some(Operand::Param(name, at)) = &self.limit {
            found.push((name.clone(), at.clone(), ParamUse::Count));
        }
        found
    }

    /// Every column the query reads: its projection, its joins, its conditions, its groups,
    /// its order.
    pub fn columns(&self) -> Vec<&Column> {
        let mut found = Vec::new();
        select_columns(&self.select, &mut found);
        for join in &self.joins {
            expr_columns(&join.on, &mut found);
        }
        if let Some(filter) = &self.filter {
            expr_columns(filter, &mut found);
        }
        found.extend(&self.group_by);
        for order in &self.order {
            found.push(&order.column);
        }
        found
    }

    /// Every column, to change in place (how the parser resolves their tables).
    pub(crate) fn columns_mut(&mut self) -> Vec<&mut Column> {
        let mut found = Vec::new();
        select_columns_mut(&mut self.select, &mut found);
        for join in &mut self.joins {
            expr_columns_mut(&mut join.on, &mut found);
        }
        if let Some(filter) = &mut self.filter {
            expr_columns_mut(filter, &mut found);
        }
        found.extend(&mut self.group_by);
        for order in &mut self.order {
            found.push(&mut order.column);
        }
        found
    }

    /// The tables it reads as (alias, table name), the alias being the name where none is
    /// given: the `FROM` table, then each joined one.
    pub fn tables(&self) -> Vec<(&str, &str)> {
        let mut tables = vec![(
            self.alias.as_deref().unwrap_or(&self.table),
            self.table.as_str(),
        )];
        for join in &self.joins {
            tables.push((
                join.alias.as_deref().unwrap_or(&join.table),
                join.table.as_str(),
            ));
        }
        tables
    }

    /// Whether it joins several tables.
    pub fn is_join(&self) -> bool {
        !self.joins.is_empty()
    }

    /// The name of the table `column` is of.
    pub fn table_of(&self, column: &Column) -> &str {
        match &column.table {
            None => &self.table,
            Some(alias) => self
                .tables()
                .into_iter()
                .find(|(a, _)| a == alias)
                .map_or(self.table.as_str(), |(_, name)| name),
        }
    }

    /// The field `SELECT * AS field` fills, and where it is written, if the query has one.
    pub fn wrapper(&self) -> Option<(&str, &Range<usize>)> {
        self.select.iter().find_map(|item| match item {
            SelectItem::StarAs(field, at) => Some((field.as_str(), at)),
            _ => None,
        })
    }

    /// Whether the query asks for a page token, so a default page size applies.
    pub fn pages_by_token(&self) -> bool {
        matches!(self.offset, Some(Offset::PageToken(..)))
            || self
                .select
                .iter()
                .any(|item| matches!(item, SelectItem::NextPageToken(_)))
    }

    /// Whether the query needs the number of all matching rows.
    pub fn counts(&self) -> bool {
        self.select
            .iter()
            .any(|item| matches!(item, SelectItem::TotalCount(_)))
    }
}

fn select_columns<'a>(items: &'a [SelectItem], found: &mut Vec<&'a Column>) {
    for item in items {
        match item {
            SelectItem::Column { column, .. } => found.push(column),
            SelectItem::Nested { items, .. } | SelectItem::Collect { items, .. } => {
                select_columns(items, found)
            }
            _ => {}
        }
    }
}

fn select_columns_mut<'a>(items: &'a mut [SelectItem], found: &mut Vec<&'a mut Column>) {
    for item in items {
        match item {
            SelectItem::Column { column, .. } => found.push(column),
            SelectItem::Nested { items, .. } | SelectItem::Collect { items, .. } => {
                select_columns_mut(items, found)
            }
            _ => {}
        }
    }
}

fn expr_params(expr: &Expr, found: &mut Vec<(String, Range<usize>, ParamUse)>) {
    match expr {
        Expr::Compare {
            column,
            value: Operand::Param(name, at),
            ..
        } => found.push((name.clone(), at.clone(), ParamUse::Compare(column.clone()))),
        Expr::Compare { .. } | Expr::Like { .. } | Expr::IsNull { .. } => {}
        Expr::And(a, b) | Expr::Or(a, b) => {
            expr_params(a, found);
            expr_params(b, found);
        }
        Expr::Not(a) => expr_params(a, found),
        Expr::In { column, values } => {
            for value in values {
                if let Operand::Param(name, at) = value {
                    found.push((name.clone(), at.clone(), ParamUse::Compare(column.clone())));
                }
            }
        }
        Expr::AnyOfParam {
            column,
            param,
            param_at,
        } => found.push((
            param.clone(),
            param_at.clone(),
            ParamUse::AnyOf(column.clone()),
        )),
        Expr::ParamInColumn {
            param,
            param_at,
            column,
        } => found.push((
            param.clone(),
            param_at.clone(),
            ParamUse::InColumn(column.clone()),
        )),
    }
}

pub(crate) fn expr_columns<'a>(expr: &'a Expr, found: &mut Vec<&'a Column>) {
    match expr {
        Expr::Compare {
            column,
            value: Operand::Column(other),
            ..
        } => {
            found.push(column);
            found.push(other);
        }
        Expr::Compare { column, .. }
        | Expr::In { column, .. }
        | Expr::AnyOfParam { column, .. }
        | Expr::ParamInColumn { column, .. }
        | Expr::Like { column, .. }
        | Expr::IsNull { column, .. } => found.push(column),
        Expr::And(a, b) | Expr::Or(a, b) => {
            expr_columns(a, found);
            expr_columns(b, found);
        }
        Expr::Not(a) => expr_columns(a, found),
    }
}

fn expr_columns_mut<'a>(expr: &'a mut Expr, found: &mut Vec<&'a mut Column>) {
    match expr {
        Expr::Compare {
            column,
            value: Operand::Column(other),
            ..
        } => {
            found.push(column);
            found.push(other);
        }
        Expr::Compare { column, .. }
        | Expr::In { column, .. }
        | Expr::AnyOfParam { column, .. }
        | Expr::ParamInColumn { column, .. }
        | Expr::Like { column, .. }
        | Expr::IsNull { column, .. } => found.push(column),
        Expr::And(a, b) | Expr::Or(a, b) => {
            expr_columns_mut(a, found);
            expr_columns_mut(b, found);
        }
        Expr::Not(a) => expr_columns_mut(a, found),
    }
}
