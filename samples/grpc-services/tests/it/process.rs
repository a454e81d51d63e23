//! The sample as a process: carts survive a kill -9, and every acknowledged change is there after
//! the restart.

use std::time::Duration;

use grpc_services::proto::com::example::shoppingcart::shopping_cart_service_client::ShoppingCartServiceClient;
use kalix_testkit::ServiceProcess;

use crate::shopping_cart::{add, items};

#[tokio::test]
async fn acknowledged_items_survive_a_kill_and_restart() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}/carts.db", directory.path().display());
    let binary = env!("CARGO_BIN_EXE_grpc-services");
    let service = ServiceProcess::spawn(binary, &[("KALIX_STORE", &store)]);
    let mut client = ShoppingCartServiceClient::new(service.grpc_channel().await);
    for round in 1..=20 {
        client
            .add_item(add("durable", &format!("p{}", round % 4), "Thing", round))
            .await
            .unwrap();
    }
    let before = items(&mut client, "durable").await;
    service.signal("KILL");
    drop(service);

    let mut service = ServiceProcess::spawn(binary, &[("KALIX_STORE", &store)]);
    let mut client = ShoppingCartServiceClient::new(service.grpc_channel().await);
    assert_eq!(items(&mut client, "durable").await, before);
    let total: i32 = before.iter().map(|line| line.quantity).sum();
    assert_eq!(total, (1..=20).sum::<i32>());
    service.signal("TERM");
    // Waited for off the runtime, so the client's connection can answer the server's goodbye.
    let exited = tokio::task::spawn_blocking(move || service.wait(Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(exited.success());
    drop(client);
}
