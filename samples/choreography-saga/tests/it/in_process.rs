//! The contract in-process, on the `TestKit`.

use std::time::{Duration, Instant};

use kalix_testkit::TestKit;
use serde_json::json;

use crate::{create_user, email_within, send};

// Links the service's components into this test binary.
use choreography_saga as _;

const WITHIN: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_user_created_through_the_controller_ends_with_a_confirmed_email_and_in_the_view() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    assert_eq!(
        create_user(&http, &base, "u1", "Ann", "NL", "ann@example.com").await,
        (200, json!({}))
    );
    let email = email_within(&base, "ann@example.com", "CONFIRMED", WITHIN).await;
    assert_eq!(
        email,
        json!({"address": "ann@example.com", "status": "CONFIRMED", "ownerId": "u1"})
    );
    let (status, user) = send(&http, "GET", format!("{base}/api/users/u1"), None).await;
    assert_eq!(
        (status, user),
        (
            200,
            json!({"id": "u1", "name": "Ann", "country": "NL", "email": "ann@example.com"})
        )
    );

    create_user(&http, &base, "u2", "Bob", "NL", "bob@example.com").await;
    create_user(&http, &base, "u3", "Cas", "BE", "cas@example.com").await;
    let started = Instant::now();
    let users = loop {
        let (_, body) = send(&http, "GET", format!("{base}/users/by-country/NL"), None).await;
        if body["users"]
            .as_array()
            .is_some_and(|users| users.len() == 2)
            || started.elapsed() > WITHIN
        {
            break body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut ids: Vec<&str> = users["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["u1", "u2"]);
    let (_, none) = send(&http, "GET", format!("{base}/users/by-country/FR"), None).await;
    assert_eq!(none, json!({"users": []}));
}

#[tokio::test]
async fn a_reserved_email_is_refused_to_another_user() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_user(&http, &base, "u1", "Ann", "NL", "ann@example.com").await;
    let (status, body) = create_user(&http, &base, "u2", "Eve", "NL", "ann@example.com").await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Email is already reserved 'ann@example.com'"))
    );
    let (status, body) = send(&http, "GET", format!("{base}/api/users/u2"), None).await;
    assert_eq!((status, &body["detail"]), (404, &json!("User not found")));
    // The owner asking again is fine (the reservation is theirs).
    assert_eq!(
        create_user(&http, &base, "u1", "Ann", "NL", "ann@example.com")
            .await
            .0,
        200
    );
}

#[tokio::test]
async fn a_failed_creation_leaves_the_email_reserved_until_its_timer_releases_it() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    let (status, body) = create_user(&http, &base, "u1", "", "NL", "ann@example.com").await;
    assert_eq!((status, &body["detail"]), (400, &json!("Name is empty")));
    let email = email_within(&base, "ann@example.com", "RESERVED", WITHIN).await;
    assert_eq!(email["status"], "RESERVED");
    // The subscriber starts the release timer, due in 7200 s.
    let started = Instant::now();
    let timer = loop {
        let timers = testkit.timers().await;
        if let Some(timer) = timers
            .into_iter()
            .find(|t| t.name == "timer-ann@example.com")
        {
            break timer;
        }
        assert!(
            started.elapsed() < WITHIN,
            "the subscriber started the timer"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(timer.due_ms - testkit.clock().now_ms(), 7_200_000);
    testkit.clock().advance(Duration::from_secs(7199)).await;
    assert_eq!(
        email_within(&base, "ann@example.com", "RESERVED", WITHIN).await["status"],
        "RESERVED"
    );
    testkit.clock().advance(Duration::from_secs(1)).await;
    let email = email_within(&base, "ann@example.com", "NOT_USED", WITHIN).await;
    assert_eq!(
        email,
        json!({"address": "ann@example.com", "status": "NOT_USED", "ownerId": null})
    );
    // Released: another user may take it now.
    assert_eq!(
        create_user(&http, &base, "u2", "Bob", "NL", "ann@example.com")
            .await
            .0,
        200
    );
    assert_eq!(
        email_within(&base, "ann@example.com", "CONFIRMED", WITHIN).await["ownerId"],
        "u2"
    );
}

#[tokio::test]
async fn changing_the_email_confirms_the_new_one_and_releases_the_old() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    create_user(&http, &base, "u1", "Ann", "NL", "old@example.com").await;
    email_within(&base, "old@example.com", "CONFIRMED", WITHIN).await;
    let change = json!({"newEmail": "new@example.com"});
    let (status, body) = send(
        &http,
        "PUT",
        format!("{base}/api/users/u1/change-email"),
        Some(change),
    )
    .await;
    assert_eq!((status, body), (200, json!({})));
    assert_eq!(
        email_within(&base, "new@example.com", "CONFIRMED", WITHIN).await["ownerId"],
        "u1"
    );
    assert_eq!(
        email_within(&base, "old@example.com", "NOT_USED", WITHIN).await["status"],
        "NOT_USED"
    );
    let (_, user) = send(&http, "GET", format!("{base}/api/users/u1"), None).await;
    assert_eq!(user["email"], "new@example.com");
    // A change to an address another user holds is refused.
    create_user(&http, &base, "u2", "Bob", "NL", "bob@example.com").await;
    let taken = json!({"newEmail": "bob@example.com"});
    let (status, body) = send(
        &http,
        "PUT",
        format!("{base}/api/users/u1/change-email"),
        Some(taken),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Email is already reserved 'bob@example.com'"))
    );
}

#[tokio::test]
async fn the_entities_answer_their_contract() {
    let testkit = TestKit::start().await;
    let (http, base) = (testkit.http().clone(), testkit.base_url().to_owned());
    let user = json!({"name": "Ann", "country": "NL", "email": "a@x"});
    assert_eq!(
        send(
            &http,
            "POST",
            format!("{base}/users/u1"),
            Some(user.clone())
        )
        .await,
        (200, json!({}))
    );
    assert_eq!(
        send(&http, "POST", format!("{base}/users/u1"), Some(user)).await,
        (200, json!({})),
        "exists: {{}}"
    );
    let nameless = json!({"name": "", "country": "NL", "email": "b@x"});
    let (status, body) = send(&http, "POST", format!("{base}/users/u2"), Some(nameless)).await;
    assert_eq!((status, &body["detail"]), (400, &json!("Name is empty")));
    let (status, body) = send(
        &http,
        "PUT",
        format!("{base}/users/nobody/change-email"),
        Some(json!({"newEmail": "c@x"})),
    )
    .await;
    assert_eq!((status, &body["detail"]), (404, &json!("User not found")));
    let (status, body) = send(&http, "GET", format!("{base}/users/u1"), None).await;
    assert_eq!(
        (status, body),
        (200, json!({"name": "Ann", "country": "NL", "email": "a@x"}))
    );

    let emails = format!("{base}/unique-emails/z@x");
    assert_eq!(
        send(&http, "GET", emails.clone(), None).await.1,
        json!({"address": "z@x", "status": "NOT_USED", "ownerId": null})
    );
    assert_eq!(
        send(
            &http,
            "POST",
            format!("{emails}/reserve"),
            Some(json!({"ownerId": "u9"}))
        )
        .await
        .0,
        200
    );
    let (status, body) = send(
        &http,
        "POST",
        format!("{emails}/reserve"),
        Some(json!({"ownerId": "u8"})),
    )
    .await;
    assert_eq!(
        (status, &body["detail"]),
        (400, &json!("Email is already reserved"))
    );
    assert_eq!(
        send(&http, "POST", format!("{emails}/confirm"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        send(&http, "POST", format!("{emails}/cancel-reservation"), None)
            .await
            .0,
        200
    );
    assert_eq!(
        send(&http, "GET", emails.clone(), None).await.1["status"],
        "CONFIRMED",
        "a confirmed address is not cancelled"
    );
    assert_eq!(send(&http, "DELETE", emails.clone(), None).await.0, 200);
    assert_eq!(
        send(&http, "GET", emails, None).await.1["status"],
        "NOT_USED"
    );
}
