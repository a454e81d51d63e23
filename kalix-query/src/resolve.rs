//! After parsing: each column's table, and the rules that need the whole query (every column
//! of a join qualified, `collect` with `GROUP BY`, an `ON` naming tables joined before it).

use std::ops::Range;

use crate::QueryError;
use crate::ast::{Column, Query, SelectItem, expr_columns};

/// Resolves the table of each column of `query`, or says what is wrong.
pub(crate) fn resolve(query: &mut Query) -> Result<(), QueryError> {
    let tables: Vec<(String, String, Range<usize>)> = {
        let mut tables = vec![(
            query.alias.clone().unwrap_or_else(|| query.table.clone()),
            query.table.clone(),
            query.table_at.clone(),
        )];
        for join in &query.joins {
            tables.push((
                join.alias.clone().unwrap_or_else(|| join.table.clone()),
                join.table.clone(),
                join.table_at.clone(),
            ));
        }
        tables
    };
    for (i, (alias, _, at)) in tables.iter().enumerate() {
        if tables[..i].iter().any(|(other, _, _)| other == alias) {
            return Err(QueryError::new(
                format!(
                    "`{alias}` is in this query twice: give one of them another name with `AS`"
                ),
                at.clone(),
            ));
        }
    }
    let joined = tables.len() > 1;
    for column in query.columns_mut() {
        qualify(column, &tables, joined)?;
    }
    check_stars(&query.select, &tables)?;
    // An `ON` can only name the tables joined so far.
    for (i, join) in query.joins.iter().enumerate() {
        let mut columns = Vec::new();
        expr_columns(&join.on, &mut columns);
        for column in columns {
            let known = tables[..i + 2]
                .iter()
                .any(|(alias, _, _)| Some(alias) == column.table.as_ref());
            if !known {
                return Err(QueryError::new(
                    format!(
                        "the `ON` of `JOIN {}` names a table joined after it: a condition names the tables joined so far",
                        join.table
                    ),
                    column.at.clone(),
                ));
            }
        }
    }
    let collect = find_collect(&query.select);
    match (collect, query.group_by.first()) {
        (Some(at), None) => Err(QueryError::new(
            "`collect(..)` gathers the rows of a group: add `GROUP BY` with the columns that make one result",
            at,
        )),
        (None, Some(column)) => Err(QueryError::new(
            "`GROUP BY` makes one result of each group's rows, which a `collect(..) AS field` item gathers: add one, or remove `GROUP BY`",
            column.at.clone(),
        )),
        _ => Ok(()),
    }
}

/// Finds `column`'s table from its first name, which is a table's alias or name if the query
/// has one by that name; in a join each column must name its table.
fn qualify(
    column: &mut Column,
    tables: &[(String, String, Range<usize>)],
    joined: bool,
) -> Result<(), QueryError> {
    if column.path.len() > 1 {
        let first = &column.path[0];
        if let Some((alias, _, _)) = tables.iter().find(|(alias, _, _)| alias == first) {
            column.table = joined.then(|| alias.clone());
            column.path.remove(0);
            return Ok(());
        }
        if let Some((alias, name, _)) = tables
            .iter()
            .find(|(alias, name, _)| name == first && alias != name)
        {
            return Err(QueryError::new(
                format!(
                    "table `{name}` is called `{alias}` in this query: `{alias}.{}`",
                    column.path[1..].join(".")
                ),
                column.at.clone(),
            ));
        }
    }
    if joined {
        let aliases: Vec<&str> = tables.iter().map(|(alias, _, _)| alias.as_str()).collect();
        return Err(QueryError::new(
            format!(
                "`{}` names no table: in a query that joins tables, each column is qualified by its table ({}), so none is ambiguous",
                column.joined("."),
                aliases
                    .iter()
                    .map(|a| format!("`{a}.{}`", column.joined(".")))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
            column.at.clone(),
        ));
    }
    Ok(())
}

fn check_stars(
    items: &[SelectItem],
    tables: &[(String, String, Range<usize>)],
) -> Result<(), QueryError> {
    for item in items {
        match item {
            SelectItem::TableStar(alias, at)
                if !tables.iter().any(|(known, _, _)| known == alias) =>
            {
                let aliases: Vec<String> =
                    tables.iter().map(|(a, _, _)| format!("`{a}`")).collect();
                return Err(QueryError::new(
                    format!(
                        "`{alias}` is no table of this query; its tables are {}",
                        aliases.join(", ")
                    ),
                    at.clone(),
                ));
            }
            SelectItem::Nested { items, .. } => check_stars(items, tables)?,
            SelectItem::Collect { items, at, .. } => {
                if find_collect(items).is_some() {
                    return Err(QueryError::new(
                        "a `collect(..)` inside another is not supported: collect once, per `GROUP BY`",
                        at.clone(),
                    ));
                }
                check_stars(items, tables)?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn find_collect(items: &[SelectItem]) -> Option<Range<usize>> {
    items.iter().find_map(|item| match item {
        SelectItem::Collect { at, .. } => Some(at.clone()),
        SelectItem::Nested { items, .. } => find_collect(items),
        _ => None,
    })
}
