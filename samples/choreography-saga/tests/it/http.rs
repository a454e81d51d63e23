//! Over HTTP against the binary with a 3 s confirmation timeout: a reservation left by a failed
//! creation is released in real time, also when the service was killed with SIGKILL before.

use std::time::Duration;

use kalix_testkit::ServiceProcess;
use serde_json::json;

use crate::{create_user, email_within};

#[tokio::test]
async fn a_reservation_outlives_sigkill_and_is_released_after_the_confirmation_timeout() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("saga.db").display());
    let env = [
        ("KALIX_STORE", store.as_str()),
        ("EMAIL_CONFIRMATION_TIMEOUT_SECS", "3"),
    ];
    let binary = env!("CARGO_BIN_EXE_choreography-saga");
    let http = kalix_testkit::reqwest::Client::new();

    let service = ServiceProcess::spawn(binary, &env);
    let base = service.base_url().to_owned();
    assert_eq!(
        create_user(&http, &base, "u1", "Ann", "NL", "ann@x")
            .await
            .0,
        200
    );
    assert_eq!(
        create_user(&http, &base, "u2", "", "NL", "eve@x").await.0,
        400
    );
    assert_eq!(
        email_within(&base, "ann@x", "CONFIRMED", Duration::from_secs(5)).await["status"],
        "CONFIRMED"
    );
    assert_eq!(
        email_within(&base, "eve@x", "RESERVED", Duration::from_secs(5)).await["status"],
        "RESERVED"
    );
    // Let the subscriber start the timer before the kill.
    tokio::time::sleep(Duration::from_millis(500)).await;
    service.signal("KILL");
    drop(service);

    let restarted = ServiceProcess::spawn(binary, &env);
    let base = restarted.base_url().to_owned();
    let released = email_within(&base, "eve@x", "NOT_USED", Duration::from_secs(15)).await;
    assert_eq!(
        released,
        json!({"address": "eve@x", "status": "NOT_USED", "ownerId": null})
    );
    assert_eq!(
        email_within(&base, "ann@x", "CONFIRMED", Duration::from_secs(1)).await["status"],
        "CONFIRMED"
    );
}
