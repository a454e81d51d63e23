//! The views after a SIGKILL: a service killed while customers are being created catches up at
//! its restart with every customer it acknowledged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_testkit::ServiceProcess;

use crate::{customer, until};

#[tokio::test]
async fn views_catch_up_with_every_acknowledged_customer_after_sigkill() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("registry.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_customer-registry"), &env);
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
                    let body = customer(&id, &format!("{id}@x.org"), "Kim", Some("Oslo"));
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

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_customer-registry"), &env);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let url = format!("{}/wrapped/by_name/Kim", restarted.base_url());
    let (_, found) = until(&url, |_, body| {
        body["customers"]
            .as_array()
            .is_some_and(|c| c.len() >= acknowledged.len())
    })
    .await;
    let ids: Vec<&str> = found["customers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerId"].as_str().unwrap())
        .collect();
    for id in &acknowledged {
        assert!(
            ids.contains(&id.as_str()),
            "{id} was acknowledged but is not in the view"
        );
    }
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "a row appears once");
}
