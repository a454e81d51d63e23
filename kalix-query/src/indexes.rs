//! The indexes a view table needs to serve its queries.

use crate::ast::{Column, CompareOp, Expr, Query};

/// The indexes a table with these queries gets, each a list of columns: for each query, the
/// columns its `AND`ed conditions test for equality, then one it tests by range, then its
/// `ORDER BY` columns (and one index per column of a condition of `OR`s). No index repeats.
///
/// ```
/// let query = kalix_query::parse(
///     "SELECT * FROM customers WHERE address.city = :city AND name LIKE 'Bo%' ORDER BY age",
/// )
/// .unwrap();
/// let indexes = kalix_query::indexes([&query]);
/// let columns: Vec<String> = indexes[0].iter().map(|c| c.joined(".")).collect();
/// assert_eq!(columns, ["address.city", "name", "age"]);
/// ```
pub fn indexes<'a>(queries: impl IntoIterator<Item = &'a Query>) -> Vec<Vec<Column>> {
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
        if let Some(filter) = &query.filter {
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
                | Expr::AnyOfParam { column, .. } => equal.push(column.clone()),
                Expr::Compare { column, op, .. } if *op != CompareOp::Ne => {
                    range.get_or_insert_with(|| column.clone());
                }
                Expr::Like {
                    column,
                    prefix: true,
                    ..
                } => {
                    range.get_or_insert_with(|| column.clone());
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
        for order in &query.order {
            if !index.contains(&order.column) {
                index.push(order.column.clone());
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
            columns.push(column.clone());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(index: &[Column]) -> Vec<String> {
        index.iter().map(|c| c.joined(".")).collect()
    }

    #[test]
    fn indexes_put_equality_columns_first_then_the_range_then_the_order() {
        let query = crate::parse(
            "SELECT * FROM customers WHERE address.city = :city AND name LIKE 'Bo%' \
             ORDER BY name DESC OFFSET page_token_offset(:token)",
        )
        .unwrap();
        let indexes = indexes([&query]);
        assert_eq!(indexes.len(), 1);
        assert_eq!(paths(&indexes[0]), ["address.city", "name"]);
    }

    #[test]
    fn a_condition_of_ors_gets_an_index_per_column_and_none_repeats() {
        let young_or_oslo =
            crate::parse("SELECT * FROM t WHERE age < :age OR address.city = 'Oslo'").unwrap();
        let by_age = crate::parse("SELECT * FROM t WHERE age > 3").unwrap();
        let indexes = indexes([&young_or_oslo, &by_age]);
        let all: Vec<Vec<String>> = indexes.iter().map(|i| paths(i)).collect();
        assert_eq!(all, [vec!["age"], vec!["address.city"]]);
    }
}
