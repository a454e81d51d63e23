//! The joined views after a SIGKILL: a service killed while orders are being placed answers,
//! once restarted, every order it acknowledged, each once, joined with its product.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kalix_testkit::ServiceProcess;

use crate::{create, customer, order, order_ids, product, until};

#[tokio::test]
async fn every_acknowledged_order_is_joined_after_sigkill_and_restart() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("store.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let service = ServiceProcess::spawn(env!("CARGO_BIN_EXE_view-store"), &env);
    let base = service.base_url().to_owned();
    let http = kalix_testkit::reqwest::Client::new();
    create(&http, &base, "/customer/K1/create", &customer("Kim")).await;
    create(&http, &base, "/product/KP/create", &product("Kettle", 20)).await;
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let workers: Vec<_> = (0..6)
        .map(|worker| {
            let (http, base, acknowledged) =
                (http.clone(), base.clone(), Arc::clone(&acknowledged));
            tokio::spawn(async move {
                for n in 0.. {
                    let id = format!("k{worker}-{n}");
                    match http
                        .post(format!("{base}/order/{id}/create"))
                        .json(&order("KP", "K1", 1))
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
    while acknowledged.lock().unwrap().len() < 200 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    service.signal("KILL");
    for worker in workers {
        worker.await.unwrap();
    }
    drop(service);

    let restarted = ServiceProcess::spawn(env!("CARGO_BIN_EXE_view-store"), &env);
    let acknowledged = acknowledged.lock().unwrap().clone();
    let url = format!("{}/nested-customer-orders/K1", restarted.base_url());
    let (status, found) = until(&url, |_, body| {
        order_ids(&body["orders"]).len() >= acknowledged.len()
    })
    .await;
    assert_eq!(status, 200);
    let ids = order_ids(&found["orders"]);
    for id in &acknowledged {
        assert!(
            ids.contains(&id.as_str()),
            "{id} was acknowledged but is not joined"
        );
    }
    let mut unique = ids.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), ids.len(), "an order appears once");
    assert!(
        found["orders"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["productName"] == "Kettle")
    );
    let stamps: Vec<u64> = found["orders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["createdTimestamp"].as_u64().unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "oldest first");
}
