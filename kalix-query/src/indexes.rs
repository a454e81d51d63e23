//! The indexes a view table needs to serve its queries.

use crate::ast::{Column, CompareOp, Expr, Operand, Query};

/// The indexes table `table` gets for these queries (those that read it), each a list of
/// columns: for each query, the columns of the table its `AND`ed conditions test for equality,
/// then one it tests by range, then its `ORDER BY` columns (and one index per column of a
/// condition of `OR`s); in a join, also each column of the table an `ON` compares for equality,
/// then the order. No index repeats.
///
/// ```
/// let query = kalix_query::parse(
///     "SELECT * FROM customers WHERE address.city = :city AND name LIKE 'Bo%' ORDER BY age",
/// )
/// .unwrap();
/// let indexes = kalix_query::indexes("customers", [&query]);
/// let columns: Vec<String> = indexes[0].iter().map(|c| c.joined(".")).collect();
/// assert_eq!(columns, ["address.city", "name", "age"]);
///
/// let joined = kalix_query::parse(
///     "SELECT * FROM customers AS c JOIN orders AS o ON o.customerId = c.id \
///      WHERE c.id = :id ORDER BY o.created",
/// )
/// .unwrap();
/// let orders = kalix_query::indexes("orders", [&joined]);
/// let columns: Vec<String> = orders[0].iter().map(|c| c.joined(".")).collect();
/// assert_eq!(columns, ["customerId", "created"]);
/// ```
pub fn indexes<'a>(table: &str, queries: impl IntoIterator<Item = &'a Query>) -> Vec<Vec<Column>> {
    let mut indexes: Vec<Vec<Column>> = Vec::new();
    let mut add = |index: Vec<Column>| {
        if !index.is_empty() && !indexes.contains(&index) {
            indexes.push(index);
        }
    };
    for query in queries {
        for (alias, name) in query.tables() {
            if name != table {
                continue;
            }
            let alias = query.is_join().then(|| alias.to_owned());
            let ours = |column: &Column| column.table == alias;
            // The order, if this table alone orders the results.
            let order: Vec<Column> = if query.order.iter().all(|o| ours(&o.column)) {
                query.order.iter().map(|o| o.column.clone()).collect()
            } else {
                Vec::new()
            };
            let with_order = |mut index: Vec<Column>| {
                for column in &order {
                    if !index.contains(column) {
                        index.push(column.clone());
                    }
                }
                index
            };
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
                        value,
                    } if ours(column) && !matches!(value, Operand::Column(_)) => {
                        equal.push(column.clone())
                    }
                    Expr::In { column, .. } | Expr::AnyOfParam { column, .. } if ours(column) => {
                        equal.push(column.clone())
                    }
                    Expr::Compare { column, op, value }
                        if ours(column)
                            && *op != CompareOp::Ne
                            && !matches!(value, Operand::Column(_)) =>
                    {
                        range.get_or_insert_with(|| column.clone());
                    }
                    Expr::Like {
                        column,
                        prefix: true,
                        ..
                    } if ours(column) => {
                        range.get_or_insert_with(|| column.clone());
                    }
                    Expr::Or(..) => {
                        let mut columns = Vec::new();
                        or_columns(term, &mut columns);
                        if columns.iter().all(ours) {
                            for column in columns {
                                add(vec![column]);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let mut joined_on = Vec::new();
            for join in &query.joins {
                let mut terms = Vec::new();
                and_terms(&join.on, &mut terms);
                for term in terms {
                    if let Expr::Compare {
                        column,
                        op: CompareOp::Eq,
                        value: Operand::Column(other),
                    } = term
                    {
                        for side in [column, other] {
                            if ours(side) && !joined_on.contains(side) {
                                joined_on.push(side.clone());
                            }
                        }
                    }
                }
            }
            let mut index = equal;
            index.extend(range);
            if !index.is_empty() || joined_on.is_empty() {
                add(with_order(index));
            }
            for column in joined_on {
                add(with_order(vec![column]));
            }
        }
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
        let indexes = indexes("customers", [&query]);
        assert_eq!(indexes.len(), 1);
        assert_eq!(paths(&indexes[0]), ["address.city", "name"]);
    }

    #[test]
    fn a_condition_of_ors_gets_an_index_per_column_and_none_repeats() {
        let young_or_oslo =
            crate::parse("SELECT * FROM t WHERE age < :age OR address.city = 'Oslo'").unwrap();
        let by_age = crate::parse("SELECT * FROM t WHERE age > 3").unwrap();
        let indexes = indexes("t", [&young_or_oslo, &by_age]);
        let all: Vec<Vec<String>> = indexes.iter().map(|i| paths(i)).collect();
        assert_eq!(all, [vec!["age"], vec!["address.city"]]);
    }

    #[test]
    fn a_join_indexes_each_table_by_its_filter_and_by_the_columns_it_is_joined_on() {
        let query = crate::parse(
            "SELECT * FROM customers JOIN orders ON customers.customerId = orders.customerId \
             LEFT JOIN products AS p ON p.productId = orders.productId \
             WHERE customers.customerId = :id ORDER BY orders.createdTimestamp",
        )
        .unwrap();
        let of = |table| -> Vec<Vec<String>> {
            indexes(table, [&query]).iter().map(|i| paths(i)).collect()
        };
        assert_eq!(of("customers"), [vec!["customerId"]]);
        assert_eq!(
            of("orders"),
            [
                vec!["customerId", "createdTimestamp"],
                vec!["productId", "createdTimestamp"]
            ]
        );
        assert_eq!(of("products"), [vec!["productId"]]);
        assert!(of("other").is_empty());
    }
}
