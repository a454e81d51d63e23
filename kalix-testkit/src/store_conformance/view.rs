//! View tables: rows and a consumer's progress written together, queries of every kind of
//! condition, a changed definition emptying the table, and indexes serving equality queries.

use bytes::Bytes;
use kalix_core::store::{ConsumerProgress, FeedOffset, Store, ViewRowWrite, ViewTableSpec};
use kalix_core::view::query::{Query, ViewQuery, indexes};
use serde_json::{Map, Value, json};

const TABLE: &str = "conformance_people";

static BY_EMAIL: ViewQuery = ViewQuery::new(
    "SELECT * FROM conformance_people WHERE email = :email",
    false,
);

/// `WHERE <filter> ORDER BY age DESC` with a count, over the same table.
macro_rules! by {
    ($filter:literal) => {
        ViewQuery::new(
            concat!(
                "SELECT * AS people, COUNT(*) AS total FROM conformance_people WHERE ",
                $filter,
                " ORDER BY age DESC"
            ),
            false,
        )
    };
}

static OLDER: ViewQuery = by!("age > :age");
static IN_CITIES: ViewQuery = by!("address.city = ANY(:cities)");
static TAGGED: ViewQuery = by!(":tag = ANY(tags)");
static NAME_PREFIX: ViewQuery = by!("name LIKE 'An%'");
static NAME_SUFFIX: ViewQuery = by!("name LIKE '%son'");
static NO_ADDRESS: ViewQuery = by!("address IS NULL");
static YOUNG_OR_OSLO: ViewQuery = by!("age < 20 OR NOT address.city IN ('Bergen', :other)");
static PAGED: ViewQuery = ViewQuery::new(
    "SELECT * AS people FROM conformance_people ORDER BY name OFFSET 1 LIMIT :limit",
    false,
);

static ALL: [&ViewQuery; 9] = [
    &BY_EMAIL,
    &OLDER,
    &IN_CITIES,
    &TAGGED,
    &NAME_PREFIX,
    &NAME_SUFFIX,
    &NO_ADDRESS,
    &YOUNG_OR_OSLO,
    &PAGED,
];

fn spec(definition: &str) -> ViewTableSpec {
    ViewTableSpec {
        name: TABLE,
        definition: definition.to_owned(),
        consumer: format!("view:{TABLE}"),
        indexes: indexes(TABLE, ALL.iter().map(|query| query.query())),
    }
}

fn person(name: &str, email: &str, age: i64, city: Option<&str>, tags: &[&str]) -> Value {
    json!({
        "name": name,
        "email": email,
        "age": age,
        "address": city.map(|city| json!({"city": city})),
        "tags": tags,
    })
}

fn row(key: &str, value: &Value) -> ViewRowWrite {
    ViewRowWrite {
        key: key.to_owned(),
        row: Some(Bytes::from(value.to_string())),
    }
}

fn progress(position: u64) -> ConsumerProgress {
    ConsumerProgress {
        offset: FeedOffset {
            transaction: 0,
            position,
        },
        seqs: vec![("p1".to_owned(), position)],
    }
}

fn params(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

async fn keys(store: &impl Store, query: &'static Query, pairs: &[(&str, Value)]) -> Vec<String> {
    store
        .query_view(query, params(pairs))
        .await
        .unwrap_or_else(|e| panic!("{query:?}: {e}"))
        .rows
        .into_iter()
        .map(|(key, _)| key)
        .collect()
}

/// Rows and the consumer's progress are written in one transaction and read back; a delete
/// removes a row.
pub(super) async fn view_rows_and_progress_are_written_together(store: impl Store) {
    let consumer = format!("view:{TABLE}");
    assert!(
        store.prepare_view_table(spec("v1")).await.unwrap(),
        "a new table is built"
    );
    assert!(
        !store.prepare_view_table(spec("v1")).await.unwrap(),
        "the same definition keeps it"
    );
    let ann = person("Ann", "ann@x.org", 30, Some("Oslo"), &["a"]);
    store
        .commit_view(
            TABLE,
            vec![row("p1", &ann), row("p2", &ann)],
            &consumer,
            progress(7),
            None,
        )
        .await
        .unwrap();
    let delete = ViewRowWrite {
        key: "p2".to_owned(),
        row: None,
    };
    store
        .commit_view(TABLE, vec![delete], &consumer, progress(8), None)
        .await
        .unwrap();
    let rows = store
        .view_rows(TABLE, vec!["p1".to_owned(), "p2".to_owned()])
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "p2 was deleted");
    let read: Value = serde_json::from_slice(&rows[0].1).unwrap();
    assert_eq!(read, ann);
    let saved = store
        .consumer_progress(&consumer, vec!["p1".to_owned()])
        .await
        .unwrap();
    assert_eq!(saved.offset.position, 8);
    assert_eq!(saved.seqs, vec![("p1".to_owned(), 8)]);

    // On a shared store, a write made under a lease is refused once another owner holds it.
    if store.is_shared() {
        let ttl = std::time::Duration::from_secs(30);
        assert_eq!(store.lease(&consumer, 5, ttl).await, Ok(true));
        store
            .commit_view(TABLE, vec![], &consumer, progress(9), Some(5))
            .await
            .unwrap();
        let fenced = store
            .commit_view(
                TABLE,
                vec![row("p3", &ann)],
                &consumer,
                progress(10),
                Some(6),
            )
            .await
            .unwrap_err();
        assert!(fenced.is_lease_lost(), "{fenced}");
        assert!(
            store
                .view_rows(TABLE, vec!["p3".to_owned()])
                .await
                .unwrap()
                .is_empty(),
            "nothing of a fenced write is applied"
        );
        let fenced = store
            .reset_view(TABLE, &consumer, Some(6))
            .await
            .unwrap_err();
        assert!(fenced.is_lease_lost(), "a rebuild is fenced too: {fenced}");
        assert_eq!(
            store
                .view_rows(TABLE, vec!["p1".to_owned()])
                .await
                .unwrap()
                .len(),
            1,
            "a fenced rebuild empties nothing"
        );
        store.release_lease(&consumer, 5).await.unwrap();
    }

    // A rebuild empties the table and resets the consumer, in one go.
    store.reset_view(TABLE, &consumer, None).await.unwrap();
    assert!(
        store
            .view_rows(TABLE, vec!["p1".to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .consumer_progress(&consumer, vec!["p1".to_owned()])
            .await
            .unwrap(),
        ConsumerProgress::default(),
        "the consumer starts over after a rebuild"
    );
    store
        .commit_view(TABLE, vec![row("p1", &ann)], &consumer, progress(8), None)
        .await
        .unwrap();

    // A changed definition empties the table and resets the consumer, in one go.
    assert!(store.prepare_view_table(spec("v2")).await.unwrap());
    assert!(
        store
            .view_rows(TABLE, vec!["p1".to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
    let reset = store
        .consumer_progress(&consumer, vec!["p1".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        reset,
        ConsumerProgress::default(),
        "the consumer starts over"
    );
}

/// Every kind of condition selects the rows it names, in the order asked, with counts and
/// pages; a missing parameter is the caller's error.
pub(super) async fn view_queries_select_order_count_and_page(store: impl Store) {
    store.prepare_view_table(spec("v1")).await.unwrap();
    let people = [
        (
            "p1",
            person("Ann", "ann@x.org", 30, Some("Oslo"), &["a", "b"]),
        ),
        (
            "p2",
            person("Anders", "anders@x.org", 45, Some("Bergen"), &["b"]),
        ),
        ("p3", person("Bob Olson", "bob@x.org", 18, None, &[])),
        (
            "p4",
            person("Carl Hanson", "carl@x.org", 60, Some("Tromsø"), &["a"]),
        ),
    ];
    let writes = people.iter().map(|(k, v)| row(k, v)).collect();
    store
        .commit_view(TABLE, writes, "view:x", progress(1), None)
        .await
        .unwrap();

    assert_eq!(
        keys(&store, &BY_EMAIL, &[("email", json!("bob@x.org"))]).await,
        ["p3"]
    );
    assert_eq!(
        keys(&store, &OLDER, &[("age", json!(29))]).await,
        ["p4", "p2", "p1"]
    );
    assert_eq!(
        keys(&store, &IN_CITIES, &[("cities", json!(["Oslo", "Tromsø"]))]).await,
        ["p4", "p1"]
    );
    assert!(
        keys(&store, &IN_CITIES, &[("cities", json!([]))])
            .await
            .is_empty()
    );
    assert_eq!(
        keys(&store, &TAGGED, &[("tag", json!("a"))]).await,
        ["p4", "p1"]
    );
    assert_eq!(keys(&store, &NAME_PREFIX, &[]).await, ["p2", "p1"]);
    assert_eq!(keys(&store, &NAME_SUFFIX, &[]).await, ["p4", "p3"]);
    assert_eq!(keys(&store, &NO_ADDRESS, &[]).await, ["p3"]);
    assert_eq!(
        keys(&store, &YOUNG_OR_OSLO, &[("other", json!("Tromsø"))]).await,
        ["p1", "p3"]
    );
    let counted = store
        .query_view(&OLDER, params(&[("age", json!(40))]))
        .await
        .unwrap();
    assert_eq!(counted.total, Some(2));
    assert_eq!(
        keys(&store, &PAGED, &[("limit", json!(2))]).await,
        ["p1", "p3", "p4"],
        "after the first by name, a page of two and one more to tell if more follow"
    );
    let missing = store.query_view(&BY_EMAIL, params(&[])).await.unwrap_err();
    assert!(missing.is_bad_query(), "{missing}");
    let negative = store
        .query_view(&PAGED, params(&[("limit", json!(-1))]))
        .await
        .unwrap_err();
    assert!(negative.is_bad_query(), "{negative}");
}

/// An equality query on an indexed column is served by the index the queries derived, not by
/// reading the table.
pub(super) async fn an_equality_query_is_served_by_an_index(store: impl Store) {
    store.prepare_view_table(spec("v1")).await.unwrap();
    let writes = (0..2000)
        .map(|n| {
            let value = person(
                &format!("N{n}"),
                &format!("{n}@x.org"),
                n % 90,
                Some("Oslo"),
                &[],
            );
            row(&format!("k{n}"), &value)
        })
        .collect();
    store
        .commit_view(TABLE, writes, "view:x", progress(1), None)
        .await
        .unwrap();
    let plan = store
        .explain_view_query(&BY_EMAIL, params(&[("email", json!("7@x.org"))]))
        .await
        .unwrap();
    let scans = plan.contains(&format!("SCAN view_{TABLE}")) || plan.contains("Seq Scan");
    assert!(
        plan.contains("vix_") && !scans,
        "an index serves the query; the plan was:\n{plan}"
    );
}

const PETS: &str = "conformance_pets";

/// People and their pets: an inner join, a left join keeping a person without pets, a full join
/// keeping a pet without its person, each row an object of the tables' rows by alias.
static PEOPLE_AND_PETS: ViewQuery = ViewQuery::new(
    "SELECT * FROM conformance_people AS p JOIN conformance_pets ON conformance_pets.owner = p.email \
     WHERE p.address.city = :city ORDER BY conformance_pets.name",
    false,
);
static PEOPLE_LEFT: ViewQuery = ViewQuery::new(
    "SELECT * FROM conformance_people AS p LEFT JOIN conformance_pets AS pet ON pet.owner = p.email \
     ORDER BY p.name DESC",
    false,
);
static PEOPLE_FULL: ViewQuery = ViewQuery::new(
    "SELECT * FROM conformance_people AS p FULL JOIN conformance_pets AS pet ON pet.owner = p.email \
     ORDER BY pet.name, p.name",
    false,
);

/// A join reads each table by its alias and answers one object of their rows per match, `null`
/// for a table an outer join found no partner in; the joined table is looked up by an index.
pub(super) async fn a_join_answers_the_tables_rows_by_alias(store: impl Store) {
    let joins = [&PEOPLE_AND_PETS, &PEOPLE_LEFT, &PEOPLE_FULL];
    let pets_spec = ViewTableSpec {
        name: PETS,
        definition: "v1".to_owned(),
        consumer: format!("view:{PETS}"),
        indexes: indexes(PETS, joins.iter().map(|query| query.query())),
    };
    let mut people_spec = spec("v1");
    people_spec.indexes = indexes(TABLE, joins.iter().map(|query| query.query()));
    store.prepare_view_table(people_spec).await.unwrap();
    store.prepare_view_table(pets_spec).await.unwrap();
    let people = vec![
        row("p1", &person("Ann", "ann@x.org", 30, Some("Oslo"), &[])),
        row("p2", &person("Bob", "bob@x.org", 40, Some("Oslo"), &[])),
        row("p3", &person("Cy", "cy@x.org", 50, Some("Rome"), &[])),
    ];
    store
        .commit_view(TABLE, people, "view:people", progress(1), None)
        .await
        .unwrap();
    let pets = vec![
        row("t1", &json!({"name": "Rex", "owner": "ann@x.org"})),
        row("t2", &json!({"name": "Ace", "owner": "ann@x.org"})),
        row("t3", &json!({"name": "Zed", "owner": "cy@x.org"})),
        row("t4", &json!({"name": "Stray", "owner": null})),
    ];
    store
        .commit_view(PETS, pets, "view:pets", progress(1), None)
        .await
        .unwrap();
    let rows = |found: kalix_core::store::ViewRows| -> Vec<Value> {
        found
            .rows
            .iter()
            .map(|(_, json)| serde_json::from_slice(json).unwrap())
            .collect()
    };
    let found = store
        .query_view(&PEOPLE_AND_PETS, params(&[("city", json!("Oslo"))]))
        .await
        .unwrap();
    assert_eq!(found.rows[0].0, "p1\u{1f}t2", "the tables' keys, joined");
    let found = rows(found);
    let pairs: Vec<(&str, &str)> = found
        .iter()
        .map(|r| {
            (
                r["p"]["name"].as_str().unwrap(),
                r["conformance_pets"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [("Ann", "Ace"), ("Ann", "Rex")],
        "Bob has no pet; Cy is in Rome"
    );

    let left = rows(store.query_view(&PEOPLE_LEFT, params(&[])).await.unwrap());
    let names: Vec<(&str, Option<&str>)> = left
        .iter()
        .map(|r| (r["p"]["name"].as_str().unwrap(), r["pet"]["name"].as_str()))
        .collect();
    assert_eq!(names[0], ("Cy", Some("Zed")));
    assert_eq!(names[1], ("Bob", None), "kept without a partner");
    assert!(left[1]["pet"].is_null());
    assert_eq!(names.len(), 4);

    let full = rows(store.query_view(&PEOPLE_FULL, params(&[])).await.unwrap());
    assert_eq!(full.len(), 5, "every person and every pet: {full:?}");
    assert!(
        full.iter()
            .any(|r| r["p"].is_null() && r["pet"]["name"] == "Stray")
    );
    assert!(
        full.iter()
            .any(|r| r["pet"].is_null() && r["p"]["name"] == "Bob")
    );

    let plan = store
        .explain_view_query(&PEOPLE_AND_PETS, params(&[("city", json!("Oslo"))]))
        .await
        .unwrap();
    assert!(
        plan.contains("vix_"),
        "an index serves the join; the plan was:\n{plan}"
    );
}
