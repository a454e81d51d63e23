//! Two processes of the registry on one PostgreSQL database (run when `KALIX_TEST_POSTGRES_URL`
//! is set; `.ci/run` checks the marker): customers created through either are in the views of
//! both, and when the process updating the views is killed the other takes them over.

use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;
use serde_json::Value;

use crate::{customer, until};

fn holds_the_views(process: &ServiceProcess) -> bool {
    process
        .log()
        .iter()
        .any(|line| line.contains("view:customers_by_name") && line.contains("holds the lease"))
}

async fn create_all(http: &kalix_testkit::reqwest::Client, bases: &[&str], from: usize, to: usize) {
    for n in from..to {
        let id = format!("pg{n}");
        let body = customer(&id, &format!("{id}@x.org"), "Pat", Some("Oslo"));
        let base = bases[n % bases.len()];
        let response = http
            .post(format!("{base}/customer/{id}/create"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
}

async fn count(base: &str, expected: usize) -> usize {
    let url = format!("{base}/wrapped/by_name/Pat");
    let (_, found) = until(&url, |_, body| {
        body["customers"]
            .as_array()
            .is_some_and(|c| c.len() >= expected)
    })
    .await;
    found["customers"].as_array().map_or(0, Vec::len)
}

#[tokio::test]
async fn on_postgres_both_processes_serve_the_views_and_one_takes_them_over() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL registry test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("registry_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
    ];
    let binary = env!("CARGO_BIN_EXE_customer-registry");
    let a = ServiceProcess::spawn(binary, &env);
    let b = ServiceProcess::spawn(binary, &env);
    let http = kalix_testkit::reqwest::Client::new();
    create_all(&http, &[a.base_url(), b.base_url()], 0, 40).await;
    assert_eq!(count(a.base_url(), 40).await, 40);
    assert_eq!(count(b.base_url(), 40).await, 40);

    let deadline = Instant::now() + Duration::from_secs(10);
    while !holds_the_views(&a) && !holds_the_views(&b) {
        assert!(
            Instant::now() < deadline,
            "no process took the views' leases"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (holder, survivor) = if holds_the_views(&a) { (a, b) } else { (b, a) };
    holder.signal("KILL");
    drop(holder);
    create_all(&http, &[survivor.base_url()], 40, 60).await;
    assert_eq!(
        count(survivor.base_url(), 60).await,
        60,
        "the survivor took the views over"
    );
    // Each view table has its own updater: the one by email may still be catching up.
    let by_email = format!("{}/customer/by_email/pg59@x.org", survivor.base_url());
    let one: Value = kalix_testkit::eventually(|| {
        let (http, by_email) = (http.clone(), by_email.clone());
        async move {
            let response = http
                .get(&by_email)
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let one: Value = response.json().await.map_err(|e| e.to_string())?;
            match one["customerId"] == "pg59" {
                true => Ok(one),
                false => Err(one.to_string()),
            }
        }
    })
    .await;
    // Read from jsonb, the row's keys still come in the order of its fields.
    let keys: Vec<&String> = one.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["customerId", "email", "name", "address"]);
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-customer-registry"),
            "ran",
        )
        .unwrap();
    }
}
