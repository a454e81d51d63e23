//! A joined view query: a customer's orders, each with its product and the customer (three
//! tables, `JOIN .. ON`, `ORDER BY` a column of the joined table), through the framework,
//! beside a bare axum handler running the equivalent hand-written SQL on the same store (the
//! framework's own SQLite file, tables and indexes) and building the same JSON. Same run, same
//! machine.
//!
//! `cargo bench -p kalix-core --bench view_join`. Environment: `BENCH_ORDERS` (default 100,000)
//! orders, over `BENCH_CUSTOMERS` (default 10,000) customers and 1,000 products;
//! `BENCH_CONNECTIONS` (default 64); `BENCH_SECONDS` (default 5) per round.

#[path = "load.rs"]
mod load;

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use bytes::Bytes;
use kalix_core::prelude::*;
use kalix_core::store::{ConsumerProgress, ViewRowWrite};
use load::{compare, env_or, header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Customer {
    customer_id: String,
    email: String,
    name: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Product {
    product_id: String,
    product_name: String,
    price: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order {
    order_id: String,
    customer_id: String,
    product_id: String,
    quantity: u32,
    created_timestamp: u64,
}

#[derive(Default)]
struct CustomerEntity;

#[value_entity(type_id = "customer", id = "id")]
impl CustomerEntity {
    #[put("/customer/<id>")]
    fn put(
        &self,
        _state: &Customer,
        #[body] c: Customer,
    ) -> value_entity::Effect<Customer, String> {
        value_entity::Effect::update_state(c).then_reply("OK".to_owned())
    }
}

#[derive(Default)]
struct ProductEntity;

#[value_entity(type_id = "product", id = "id")]
impl ProductEntity {
    #[put("/product/<id>")]
    fn put(&self, _state: &Product, #[body] p: Product) -> value_entity::Effect<Product, String> {
        value_entity::Effect::update_state(p).then_reply("OK".to_owned())
    }
}

#[derive(Default)]
struct OrderEntity;

#[value_entity(type_id = "order", id = "id")]
impl OrderEntity {
    #[put("/order/<id>")]
    fn put(&self, _state: &Order, #[body] o: Order) -> value_entity::Effect<Order, String> {
        value_entity::Effect::update_state(o).then_reply("OK".to_owned())
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct CustomerOrders {
    orders: Vec<Value>,
}

#[derive(Default)]
struct Store;

#[view]
impl Store {
    #[table("customers")]
    #[subscribe(value_entity = CustomerEntity)]
    fn on_customer(&self, c: &Customer) -> view::Effect<Customer> {
        view::Effect::update_state(c.clone())
    }

    #[table("products")]
    #[subscribe(value_entity = ProductEntity)]
    fn on_product(&self, p: &Product) -> view::Effect<Product> {
        view::Effect::update_state(p.clone())
    }

    #[table("orders")]
    #[subscribe(value_entity = OrderEntity)]
    fn on_order(&self, o: &Order) -> view::Effect<Order> {
        view::Effect::update_state(o.clone())
    }

    #[get("/customer-orders/<customer_id>")]
    #[query(
        "SELECT * AS orders FROM customers \
         JOIN orders ON customers.customerId = orders.customerId \
         JOIN products ON products.productId = orders.productId \
         WHERE customers.customerId = :customer_id \
         ORDER BY orders.createdTimestamp"
    )]
    fn customer_orders(&self, customer_id: String) -> CustomerOrders;
}

fn rows<T: Serialize>(items: impl Iterator<Item = (String, T)>) -> Vec<ViewRowWrite> {
    items
        .map(|(key, item)| ViewRowWrite {
            key,
            row: Some(Bytes::from(serde_json::to_vec(&item).unwrap())),
        })
        .collect()
}

/// The baseline: readers of the framework's own file (as many as it has), running the join by
/// hand and merging each match's three rows into one object.
struct Baseline {
    readers: Vec<Mutex<rusqlite::Connection>>,
    next: std::sync::atomic::AtomicUsize,
    /// One permit per reader: no more blocking threads than connections to run them.
    permits: tokio::sync::Semaphore,
}

const HAND_WRITTEN: &str = "SELECT c.row, o.row, p.row FROM view_customers c \
     JOIN view_orders o ON json_extract(o.row, '$.customerId') = json_extract(c.row, '$.customerId') \
     JOIN view_products p ON json_extract(p.row, '$.productId') = json_extract(o.row, '$.productId') \
     WHERE json_extract(c.row, '$.customerId') = ?1 \
     ORDER BY json_extract(o.row, '$.createdTimestamp')";

async fn baseline_customer_orders(
    State(db): State<Arc<Baseline>>,
    Path(customer_id): Path<String>,
) -> Result<([(&'static str, &'static str); 1], String), StatusCode> {
    let _permit = db.permits.acquire().await.unwrap();
    let db = Arc::clone(&db);
    tokio::task::spawn_blocking(move || {
        // A free reader if there is one, as the framework's store picks them.
        let start = db.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let count = db.readers.len();
        let connection = (0..count)
            .find_map(|i| db.readers[(start + i) % count].try_lock().ok())
            .unwrap_or_else(|| db.readers[start % count].lock().unwrap());
        // The rows read under the reader, parsed once it is free.
        let matches: Vec<[String; 3]> = {
            let mut statement = connection.prepare_cached(HAND_WRITTEN).unwrap();
            statement
                .query_map([customer_id], |row| {
                    Ok([row.get(0)?, row.get(1)?, row.get(2)?])
                })
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        drop(connection);
        let mut orders = Vec::with_capacity(matches.len());
        for tables in matches {
            // The tables' fields in one object, the first table's winning.
            let mut merged = Map::new();
            for json in tables {
                if let Ok(Value::Object(fields)) = serde_json::from_str(&json) {
                    for (name, value) in fields {
                        merged.entry(name).or_insert(value);
                    }
                }
            }
            orders.push(Value::Object(merged));
        }
        let body = serde_json::to_string(&serde_json::json!({ "orders": orders })).unwrap();
        Ok(([("content-type", "application/json")], body))
    })
    .await
    .unwrap()
}

/// The view's query, for its plan.
static JOINED: kalix_core::view::query::ViewQuery = kalix_core::view::query::ViewQuery::new(
    "SELECT * AS orders FROM customers \
     JOIN orders ON customers.customerId = orders.customerId \
     JOIN products ON products.productId = orders.productId \
     WHERE customers.customerId = :customer_id \
     ORDER BY orders.createdTimestamp",
    false,
);

static CUSTOMERS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();

fn by_customer(worker: usize, sequence: u64) -> (&'static str, String, &'static str) {
    let customers = *CUSTOMERS.get().unwrap();
    let n = (sequence
        .wrapping_mul(2_654_435_761)
        .wrapping_add(worker as u64 * 7919))
        % customers;
    ("GET", format!("/customer-orders/c{n}"), "")
}

fn main() {
    let orders: u64 = env_or("BENCH_ORDERS", 100_000);
    let customers: u64 = env_or("BENCH_CUSTOMERS", 10_000);
    let products: u64 = 1000;
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let connections: usize = env_or("BENCH_CONNECTIONS", 64);
    CUSTOMERS.set(customers).unwrap();
    let directory = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let path = directory.path().join("framework.db");
        let config = kalix_core::Config::default()
            .with_port(0)
            .with_admin_port(0)
            .with_store(kalix_core::StoreLocation::Sqlite(path.clone()));
        let framework = kalix_core::Service::new()
            .config(config)
            .start()
            .await
            .expect("framework starts");
        let address = framework.local_addr();
        // The tables filled directly (their indexes exist from the start).
        let store = framework.store();
        let fill = |table: &'static str, writes: Vec<ViewRowWrite>| {
            let store = Arc::clone(&store);
            async move {
                for chunk in writes.chunks(10_000) {
                    store
                        .commit_view(table, chunk.to_vec(), "bench:fill", ConsumerProgress::default(), None)
                        .await
                        .unwrap();
                }
            }
        };
        fill(
            "customers",
            rows((0..customers).map(|n| {
                let customer = Customer {
                    customer_id: format!("c{n}"),
                    email: format!("c{n}@example.com"),
                    name: format!("Customer {n}"),
                };
                (format!("c{n}"), customer)
            })),
        )
        .await;
        fill(
            "products",
            rows((0..products).map(|n| {
                let product = Product {
                    product_id: format!("p{n}"),
                    product_name: format!("Product {n}"),
                    price: n * 100,
                };
                (format!("p{n}"), product)
            })),
        )
        .await;
        fill(
            "orders",
            rows((0..orders).map(|n| {
                let order = Order {
                    order_id: format!("o{n}"),
                    customer_id: format!("c{}", n % customers),
                    product_id: format!("p{}", (n * 7) % products),
                    quantity: (n % 5) as u32 + 1,
                    created_timestamp: 1_700_000_000_000 + n,
                };
                (format!("o{n}"), order)
            })),
        )
        .await;

        let count = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
        let readers = (0..count)
            .map(|_| Mutex::new(rusqlite::Connection::open(&path).unwrap()))
            .collect();
        let baseline = Arc::new(Baseline {
            readers,
            next: std::sync::atomic::AtomicUsize::new(0),
            permits: tokio::sync::Semaphore::new(count),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let baseline_address = listener.local_addr().unwrap();
        let router = axum::Router::new()
            .route("/customer-orders/{customer_id}", get(baseline_customer_orders))
            .with_state(baseline);
        tokio::spawn(async move { axum::serve(listener, router).await });

        // Both are served by the same indexes.
        let mut params = serde_json::Map::new();
        params.insert("customer_id".to_owned(), Value::from("c7"));
        let ours_plan = store
            .explain_view_query(&JOINED, params)
            .await
            .unwrap();
        let bare_plan: Vec<String> = {
            let connection = rusqlite::Connection::open(&path).unwrap();
            let mut statement = connection
                .prepare(&format!("EXPLAIN QUERY PLAN {HAND_WRITTEN}"))
                .unwrap();
            statement
                .query_map(["c7"], |row| row.get::<_, String>(3))
                .unwrap()
                .map(Result::unwrap)
                .collect()
        };
        println!("plan (framework):\n{ours_plan}\nplan (hand-written):\n{}", bare_plan.join("\n"));
        // Both answer the same orders.
        let http = reqwest::Client::new();
        let answer = |base: std::net::SocketAddr| {
            let http = http.clone();
            async move {
                let found: Value = http
                    .get(format!("http://{base}/customer-orders/c7"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                found
            }
        };
        let (ours, bare) = (answer(address).await, answer(baseline_address).await);
        assert_eq!(ours, bare, "the framework and the hand-written SQL agree");
        assert_eq!(ours["orders"].as_array().unwrap().len() as u64, orders / customers);

        println!(
            "joined query (3 tables), {orders} orders of {customers} customers, {connections} connections, 2 rounds x {seconds}s"
        );
        println!("{}", header());
        let names = ["bare axum + hand-written SQL", "kalix joined view query"];
        compare(baseline_address, address, connections, seconds, by_customer, names).await;
        framework.stop().await.expect("the service stops");
    });
}
