//! Views fed by the registry's stream `customer_events`, each with its own consumer group.

use kalix_testkit::ServiceProcess;
use serde_json::{Value, json};

use crate::{registry_binary, rows_until, subscriber};

#[tokio::test]
async fn customers_created_through_the_subscriber_appear_in_both_views_and_follow_renames() {
    let directory = tempfile::tempdir().unwrap();
    let registry_store = format!(
        "sqlite://{}",
        directory.path().join("registry.db").display()
    );
    let registry = ServiceProcess::spawn(
        registry_binary().to_str().unwrap(),
        &[("KALIX_STORE", registry_store.as_str())],
    );
    let store = format!(
        "sqlite://{}",
        directory.path().join("subscriber.db").display()
    );
    let service = subscriber(registry.base_url(), &store);
    let http = kalix_testkit::reqwest::Client::new();

    let body = json!({"email": "sue@x.org", "name": "Sue", "address": {"street": "Elm 1", "city": "Oslo"}});
    let created: Value = http
        .post(format!("{}/customer/s1/create", service.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created, json!({"msg": "done"}), "the registry's reply");
    let again = http
        .post(format!("{}/customer/s1/create", service.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "the registry's refusal is passed on");

    let expected = json!({"id": "s1", "email": "sue@x.org", "name": "Sue"});
    let by_name = format!("{}/customers/by_name/Sue", service.base_url());
    assert_eq!(
        rows_until(&by_name, |rows| !rows.is_empty()).await,
        std::slice::from_ref(&expected)
    );
    let by_email = format!("{}/customers/by_email/sue@x.org", service.base_url());
    assert_eq!(
        rows_until(&by_email, |rows| !rows.is_empty()).await,
        [expected]
    );

    // A rename in the registry reaches both views; an address change is not published.
    http.post(format!("{}/customer/s1/changeAddress", registry.base_url()))
        .json(&json!({"street": "Oak 2", "city": "Bergen"}))
        .send()
        .await
        .unwrap();
    http.post(format!(
        "{}/customer/s1/changeName/Susan",
        registry.base_url()
    ))
    .send()
    .await
    .unwrap();
    let renamed = json!({"id": "s1", "email": "sue@x.org", "name": "Susan"});
    let by_new_name = format!("{}/customers/by_name/Susan", service.base_url());
    assert_eq!(
        rows_until(&by_new_name, |rows| !rows.is_empty()).await,
        std::slice::from_ref(&renamed)
    );
    assert_eq!(
        rows_until(&by_email, |rows| rows == [renamed.clone()]).await,
        [renamed]
    );

    // An id holding '/' and '?' is one path segment on the way to the registry too: it creates
    // a customer of that id, and renames nobody.
    let crafted = http
        .post(format!(
            "{}/customer/s1%2FchangeName%2FPwned%3F/create",
            service.base_url()
        ))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(crafted.status(), 200);
    let s1: Value = http
        .get(format!("{}/customer/s1", registry.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(s1["name"], "Susan", "not renamed: {s1}");
    let created = http
        .get(format!(
            "{}/customer/s1%2FchangeName%2FPwned%3F",
            registry.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 200, "created under the id it was given");
}

#[tokio::test]
async fn after_a_sigkill_the_subscriber_catches_up_with_every_customer() {
    let directory = tempfile::tempdir().unwrap();
    let registry_store = format!(
        "sqlite://{}",
        directory.path().join("registry.db").display()
    );
    let registry = ServiceProcess::spawn(
        registry_binary().to_str().unwrap(),
        &[("KALIX_STORE", registry_store.as_str())],
    );
    let store = format!(
        "sqlite://{}",
        directory.path().join("subscriber.db").display()
    );
    let service = subscriber(registry.base_url(), &store);
    let http = kalix_testkit::reqwest::Client::new();
    for n in 0..200 {
        let body = json!({"email": format!("k{n}@x.org"), "name": "Kai", "address": null});
        let response = http
            .post(format!("{}/customer/k{n}/create", registry.base_url()))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        if n == 100 {
            service.signal("KILL");
        }
    }
    drop(service);
    let restarted = subscriber(registry.base_url(), &store);
    let url = format!("{}/customers/by_name/Kai", restarted.base_url());
    let rows = rows_until(&url, |rows| rows.len() >= 200).await;
    let mut ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 200, "every customer once: {} rows", rows.len());
}

#[test]
fn without_the_registrys_address_the_subscriber_does_not_start_and_names_the_variable() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_customer-registry-subscriber"))
        .env_remove("KALIX_SERVICE_CUSTOMER_REGISTRY")
        .env("KALIX_STORE", "sqlite::memory:")
        .env("KALIX_HTTP_PORT", "0")
        .env("KALIX_ADMIN_PORT", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            child.kill().unwrap();
            panic!("the subscriber started without the registry's address");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(!status.success());
    assert!(
        stderr.contains(
            "service 'customer-registry' has no address: set KALIX_SERVICE_CUSTOMER_REGISTRY=http://host:port"
        ),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("has no address").count(),
        1,
        "said once: {stderr}"
    );
}
