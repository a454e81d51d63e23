//! Two processes of the store on one PostgreSQL database (run when `KALIX_TEST_POSTGRES_URL` is
//! set; `.ci/run` checks the marker): what is created through either is joined in the views of
//! both, with each table's rows in their type's field order, and when the process keeping a
//! table is killed the other keeps it.

use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;

use crate::{create, customer, order, order_ids, product, until};

fn keeps(process: &ServiceProcess, table: &str) -> bool {
    process.log().iter().any(|line| {
        line.contains(&format!("consumer=view:{table}")) && line.contains("holds the lease")
    })
}

#[tokio::test]
async fn on_postgres_both_processes_join_and_one_takes_the_tables_over() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL view-store test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("store_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
    ];
    let binary = env!("CARGO_BIN_EXE_view-store");
    let a = ServiceProcess::spawn(binary, &env);
    let b = ServiceProcess::spawn(binary, &env);
    let http = kalix_testkit::reqwest::Client::new();
    let (base_a, base_b) = (a.base_url().to_owned(), b.base_url().to_owned());
    create(&http, &base_a, "/customer/PC/create", &customer("Pat")).await;
    create(&http, &base_b, "/product/PP/create", &product("Pan", 9)).await;
    for n in 0..20 {
        let base = if n % 2 == 0 { &base_a } else { &base_b };
        create(
            &http,
            base,
            &format!("/order/po{n:02}/create"),
            &order("PP", "PC", n),
        )
        .await;
    }
    for base in [&base_a, &base_b] {
        let (_, found) = until(&format!("{base}/nested-customer-orders/PC"), |_, body| {
            order_ids(&body["orders"]).len() == 20
        })
        .await;
        assert_eq!(order_ids(&found["orders"]).len(), 20, "{base}");
        // Read from jsonb, each table's row still comes in its type's field order.
        let keys: Vec<&String> = found.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["customerId", "email", "name", "address", "orders"]);
        let price: Vec<&String> = found["orders"][0]["price"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(price, ["currency", "units", "cents"]);
    }

    let deadline = Instant::now() + Duration::from_secs(10);
    while !keeps(&a, "orders") && !keeps(&b, "orders") {
        assert!(
            Instant::now() < deadline,
            "no process took the orders table"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (holder, survivor) = if keeps(&a, "orders") { (a, b) } else { (b, a) };
    holder.signal("KILL");
    drop(holder);
    let base = survivor.base_url().to_owned();
    create(&http, &base, "/order/po99/create", &order("PP", "PC", 99)).await;
    create(
        &http,
        &base,
        "/product/PP/create",
        &product("Pan Supreme", 9),
    )
    .await;
    let (_, joined) = until(&format!("{base}/joined-customer-orders/PC"), |_, body| {
        order_ids(&body["orders"]).len() == 21 && body["orders"][20]["productName"] == "Pan Supreme"
    })
    .await;
    assert_eq!(
        order_ids(&joined["orders"]).len(),
        21,
        "the survivor took the tables over"
    );
    assert_eq!(joined["orders"][20]["orderId"], "po99");
    assert_eq!(joined["orders"][20]["productName"], "Pan Supreme");
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-view-store"),
            "ran",
        )
        .unwrap();
    }
}
