//! Timers as a user sees them, with the TestKit's clock: a failing call is made again with
//! backoff (3 s doubling) until it succeeds, a limited timer is dropped after its retries, a
//! panic is a failure, a name is replaced by a new start, and limits are clear errors.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use kalix_core::prelude::*;
use kalix_testkit::TestKit;
use serde::{Deserialize, Serialize};

/// Calls made per key, and how many of the first calls of each key fail.
static CALLS: Mutex<Option<HashMap<String, u32>>> = Mutex::new(None);

fn called(key: &str) -> u32 {
    let mut calls = CALLS.lock().unwrap();
    let count = calls
        .get_or_insert_with(HashMap::new)
        .entry(key.to_owned())
        .or_default();
    *count += 1;
    *count
}

fn calls(key: &str) -> u32 {
    CALLS
        .lock()
        .unwrap()
        .as_ref()
        .and_then(|calls| calls.get(key).copied())
        .unwrap_or(0)
}

/// What a test asks the scheduler for.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Schedule {
    pub name: String,
    pub key: String,
    pub failures: u32,
    pub delay_ms: u64,
    pub max_retries: Option<u32>,
    pub panic: bool,
    pub padding: String,
}

#[derive(Default)]
pub struct TimerTests;

#[action]
impl TimerTests {
    #[post("/timer-tests/schedule")]
    async fn schedule(&self, request: Schedule, ctx: &ActionContext) -> action::Effect<String> {
        let call = ctx.component_client().action::<TimerTests>().target(
            request.key.clone(),
            request.failures,
            request.panic,
            request.padding.clone(),
        );
        let delay = Duration::from_millis(request.delay_ms);
        let started = match request.max_retries {
            Some(max) => {
                ctx.timers()
                    .start_single_timer_with_retries(request.name, delay, call, max)
                    .await
            }
            None => {
                ctx.timers()
                    .start_single_timer(request.name, delay, call)
                    .await
            }
        };
        match started {
            Ok(()) => action::Effect::reply("started".to_owned()),
            Err(error) => action::Effect::error_with_status(
                error.description().to_owned(),
                error.error_code(),
            ),
        }
    }

    #[post("/timer-tests/cancel/<name>")]
    async fn cancel(&self, name: String, ctx: &ActionContext) -> action::Effect<String> {
        match ctx.timers().cancel(name).await {
            Ok(()) => action::Effect::reply("cancelled".to_owned()),
            Err(error) => action::Effect::error(error.description().to_owned()),
        }
    }

    #[post("/timer-tests/target/<key>/<failures>/<panic>")]
    async fn target(
        &self,
        key: String,
        failures: u32,
        panic: bool,
        padding: String,
    ) -> action::Effect<String> {
        let _ = padding;
        let count = called(&key);
        if count <= failures {
            if panic {
                panic!("target {key} panics on call {count}");
            }
            return action::Effect::error(format!("target {key} fails on call {count}"));
        }
        action::Effect::reply("done".to_owned())
    }
}

pub(crate) fn schedule(name: &str, key: &str, failures: u32, max_retries: Option<u32>) -> Schedule {
    Schedule {
        name: name.to_owned(),
        key: key.to_owned(),
        failures,
        delay_ms: 1_000,
        max_retries,
        panic: false,
        padding: String::new(),
    }
}

pub(crate) async fn start_timer(testkit: &TestKit, request: &Schedule) -> reqwest::Response {
    testkit
        .post("/timer-tests/schedule")
        .json(request)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_failing_call_is_made_again_after_3_then_6_seconds_until_it_succeeds() {
    let (testkit, _) = crate::start().await;
    assert_eq!(
        start_timer(&testkit, &schedule("retry", "retry", 2, None))
            .await
            .status(),
        200
    );
    let clock = testkit.clock();
    clock.advance(Duration::from_millis(999)).await;
    assert_eq!(calls("retry"), 0, "not due yet");
    clock.advance(Duration::from_millis(1)).await;
    assert_eq!(calls("retry"), 1, "due: called, and failed");
    clock.advance(Duration::from_millis(2_999)).await;
    assert_eq!(calls("retry"), 1, "the first retry waits 3 s");
    clock.advance(Duration::from_millis(1)).await;
    assert_eq!(calls("retry"), 2);
    clock.advance(Duration::from_millis(5_999)).await;
    assert_eq!(calls("retry"), 2, "the second waits 6 s");
    clock.advance(Duration::from_millis(1)).await;
    assert_eq!(calls("retry"), 3, "and succeeds");
    assert!(
        testkit.timers().await.is_empty(),
        "a success removes the timer"
    );
    clock.advance(Duration::from_secs(60)).await;
    assert_eq!(calls("retry"), 3);
    testkit.stop().await;
}

#[tokio::test]
async fn a_timer_with_retries_is_dropped_when_they_are_spent_and_a_panic_is_a_failure() {
    let (testkit, _) = crate::start().await;
    let mut request = schedule("limited", "limited", 100, Some(2));
    request.panic = true;
    start_timer(&testkit, &request).await;
    for _ in 0..5 {
        testkit.clock().advance(Duration::from_secs(3)).await;
    }
    assert_eq!(calls("limited"), 3, "the call and its 2 retries, 3 s apart");
    assert!(
        testkit.timers().await.is_empty(),
        "then the timer is dropped"
    );
    // The service keeps serving after the panics.
    assert_eq!(
        start_timer(&testkit, &schedule("after", "after", 0, None))
            .await
            .status(),
        200
    );
    testkit.stop().await;
}

#[tokio::test]
async fn a_name_is_replaced_by_a_new_start_and_cancelling_a_missing_name_succeeds() {
    let (testkit, _) = crate::start().await;
    start_timer(&testkit, &schedule("same", "first", 0, None)).await;
    let mut second = schedule("same", "second", 0, None);
    second.delay_ms = 5_000;
    start_timer(&testkit, &second).await;
    let timers = testkit.timers().await;
    assert_eq!(timers.len(), 1);
    assert!(
        timers[0].target.ends_with("TimerTests::target"),
        "{:?}",
        timers[0]
    );
    testkit.clock().advance(Duration::from_secs(5)).await;
    assert_eq!(
        (calls("first"), calls("second")),
        (0, 1),
        "only the new start fired"
    );
    let cancelled = testkit
        .post("/timer-tests/cancel/never-started")
        .send()
        .await
        .unwrap();
    assert_eq!(cancelled.status(), 200);
    testkit.stop().await;
}

#[tokio::test]
async fn names_payloads_and_pending_timers_over_their_limits_are_refused_clearly() {
    let testkit = TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .config(|config| {
            let mut config = config;
            config.max_pending_timers = 2;
            config.max_timer_payload_bytes = 1_000;
            config.max_timer_name_bytes = 16;
            config
        })
        .start()
        .await;
    let long_name = start_timer(
        &testkit,
        &schedule("a-name-that-is-far-too-long", "x", 0, None),
    )
    .await;
    assert_eq!(long_name.status(), 400);
    let detail = long_name.json::<serde_json::Value>().await.unwrap()["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains("at most 16 bytes"),
        "{detail}"
    );

    let mut big = schedule("big", "x", 0, None);
    big.padding = "x".repeat(2_000);
    let too_big = start_timer(&testkit, &big).await;
    assert_eq!(too_big.status(), 400);
    let detail = too_big.json::<serde_json::Value>().await.unwrap()["detail"].clone();
    assert!(
        detail.as_str().unwrap().contains("above the limit of 1000"),
        "{detail}"
    );

    for name in ["one", "two"] {
        assert_eq!(
            start_timer(&testkit, &schedule(name, "x", 0, None))
                .await
                .status(),
            200
        );
    }
    let third = start_timer(&testkit, &schedule("three", "x", 0, None)).await;
    assert_eq!(
        third.status(),
        503,
        "the service is at capacity: not the caller's fault"
    );
    let detail = third.json::<serde_json::Value>().await.unwrap()["detail"].clone();
    assert!(
        detail
            .as_str()
            .unwrap()
            .contains("at capacity, with 2 timers pending"),
        "{detail}"
    );
    assert_eq!(
        start_timer(&testkit, &schedule("one", "x", 0, None))
            .await
            .status(),
        200,
        "replacing a pending timer is not one more"
    );
    testkit.stop().await;
}

/// Schedules a call whose body cannot be written as JSON (a map with tuple keys).
#[derive(Default)]
pub struct Unsendable;

#[action]
impl Unsendable {
    #[post("/unsendable/take")]
    async fn take(&self, cells: HashMap<(i32, i32), i32>) -> action::Effect<String> {
        action::Effect::reply(cells.len().to_string())
    }

    #[post("/unsendable/schedule")]
    async fn schedule(&self, ctx: &ActionContext) -> action::Effect<String> {
        let cells = HashMap::from([((1, 2), 3)]);
        let call = ctx.component_client().action::<Unsendable>().take(cells);
        let started = ctx
            .timers()
            .start_single_timer("unsendable", Duration::from_secs(60), call)
            .await;
        match started {
            Ok(()) => action::Effect::reply("scheduled".to_owned()),
            Err(error) => action::Effect::failed(error),
        }
    }
}

#[tokio::test]
async fn a_timer_whose_call_cannot_be_described_is_refused_not_stored_without_its_body() {
    let testkit = TestKit::builder()
        .dependency(crate::components::Recorder::default())
        .start()
        .await;
    let reply = testkit.post("/unsendable/schedule").send().await.unwrap();
    assert!(reply.status().is_client_error() || reply.status().is_server_error());
    let problem: serde_json::Value = reply.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("key must be a string"),
        "{problem}"
    );
    assert!(
        testkit.timers().await.is_empty(),
        "nothing stored that would fail each time it fires"
    );
}
