use kalix_core::ComponentClient;
use kalix_testkit::TestKit;
use valueentity_counter::{CounterEntity, Number};

async fn exercise(client: ComponentClient, id: &str) {
    let counter = client.value_entity::<CounterEntity>(id);
    assert_eq!(
        counter.increase(Number { value: 2 }).await.unwrap(),
        Number { value: 2 }
    );
    assert_eq!(counter.plus_one().await.unwrap(), Number { value: 3 });
    assert_eq!(counter.get().await.unwrap(), Number { value: 3 });
    assert_eq!(counter.delete().await.unwrap(), format!("deleted: {id}"));
    assert_eq!(counter.get().await.unwrap(), Number { value: 0 });
}

#[tokio::test]
async fn the_component_client_calls_the_entity_in_process() {
    let testkit = TestKit::start().await;
    exercise(testkit.component_client(), "in-process").await;
}

#[tokio::test]
async fn the_same_client_calls_the_entity_over_http() {
    let testkit = TestKit::start().await;
    exercise(testkit.http_component_client(), "over http/with a slash").await;
    let error = testkit
        .http_component_client()
        .value_entity::<CounterEntity>("x")
        .set(Number { value: 1 })
        .with_metadata(kalix_core::Metadata::new().add("Content-Type", "text/plain"))
        .await
        .unwrap_err();
    assert_eq!(error.status(), 415);
}
