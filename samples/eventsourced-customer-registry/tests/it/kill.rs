//! The views after a SIGKILL mid-update: every acknowledged customer is in them after a restart.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::json;

use crate::rows_until;

#[tokio::test]
async fn views_hold_every_acknowledged_customer_after_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("registry.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let binary = env!("CARGO_BIN_EXE_eventsourced-customer-registry");
    let service = ServiceProcess::spawn(binary, &env);
    let base = service.base_url().to_owned();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let http = kalix_testkit::reqwest::Client::new();
    let workers: Vec<_> = (0..8)
        .map(|worker| {
            let (http, base, acknowledged) =
                (http.clone(), base.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                for n in 0.. {
                    let id = format!("k{worker}-{n}");
                    let body =
                        json!({"email": format!("{id}@x.org"), "name": "Kim", "address": null});
                    match http
                        .post(format!("{base}/customer/{id}/create"))
                        .json(&body)
                        .send()
                        .await
                    {
                        Ok(response) if response.status().is_success() => {
                            acknowledged.lock().unwrap().push(id)
                        }
                        _ => return,
                    }
                }
            })
        })
        .collect();
    while acknowledged.lock().unwrap().len() < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);
    let restarted = ServiceProcess::spawn(binary, &env);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let url = format!("{}/customer/by_name/Kim", restarted.base_url());
    let rows = rows_until(&url, |rows| rows.len() >= acknowledged.len()).await;
    let mut emails: Vec<&str> = rows.iter().map(|r| r["email"].as_str().unwrap()).collect();
    for id in &acknowledged {
        let email = format!("{id}@x.org");
        assert!(
            emails.contains(&email.as_str()),
            "{id} was acknowledged but is not in the view"
        );
    }
    let total = emails.len();
    emails.sort();
    emails.dedup();
    assert_eq!(emails.len(), total, "a customer has one row");
}
