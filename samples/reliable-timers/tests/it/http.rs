//! Over HTTP against the binary, in real time: the timer fires 10 s after placing, also when the
//! service was killed with SIGKILL and started again before or after it fell due. And on
//! PostgreSQL with two processes, each timer fires in one of them.

use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;

use crate::{order_status, place};

/// Waits until `GET /order/<id>` answers `status`, or `within` passes; returns the last status.
async fn status_within(base: &str, id: &str, status: u16, within: Duration) -> u16 {
    let http = kalix_testkit::reqwest::Client::new();
    let deadline = Instant::now() + within;
    loop {
        let now = order_status(&http, base, id).await;
        if now == status || Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn in_real_time_the_order_expires_after_ten_seconds_unless_confirmed() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("orders.db").display());
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_reliable-timers"),
        &[("KALIX_STORE", &store)],
    );
    let http = kalix_testkit::reqwest::Client::new();
    let base = service.base_url().to_owned();
    let placed_at = Instant::now();
    let expiring = place(&http, &base).await;
    let kept = place(&http, &base).await;
    http.post(format!("{base}/orders/confirm/{kept}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_within(&base, &expiring, 404, Duration::from_secs(8)).await,
        200,
        "not before 10 s"
    );
    assert_eq!(
        status_within(&base, &expiring, 404, Duration::from_secs(8)).await,
        404,
        "gone after 10 s"
    );
    assert!(placed_at.elapsed() >= Duration::from_secs(9));
    assert_eq!(order_status(&http, &base, &kept).await, 200);
}

#[tokio::test]
async fn a_timer_survives_sigkill_whether_the_restart_is_before_or_after_it_fell_due() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("orders.db").display());
    let env = [("KALIX_STORE", store.as_str())];
    let binary = env!("CARGO_BIN_EXE_reliable-timers");
    let http = kalix_testkit::reqwest::Client::new();

    // Restarted before it fell due: it fires on time in the new process.
    let service = ServiceProcess::spawn(binary, &env);
    let before = place(&http, service.base_url()).await;
    service.signal("KILL");
    drop(service);
    let restarted = ServiceProcess::spawn(binary, &env);
    assert_eq!(
        order_status(&http, restarted.base_url(), &before).await,
        200
    );
    assert_eq!(
        status_within(restarted.base_url(), &before, 404, Duration::from_secs(15)).await,
        404,
        "the timer set before the kill fired after the restart"
    );

    // Restarted after it fell due: it fires right after the start.
    let late = place(&http, restarted.base_url()).await;
    restarted.signal("KILL");
    drop(restarted);
    tokio::time::sleep(Duration::from_secs(11)).await;
    let started = Instant::now();
    let again = ServiceProcess::spawn(binary, &env);
    assert_eq!(
        status_within(again.base_url(), &late, 404, Duration::from_secs(5)).await,
        404,
        "a timer due while the service was down fires once it is back"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn on_postgres_two_processes_fire_each_timer_once() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL timer test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("timers_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
        ("RUST_LOG", "info,kalix_core::timers=debug"),
    ];
    let binary = env!("CARGO_BIN_EXE_reliable-timers");
    let a = ServiceProcess::spawn(binary, &env);
    let b = ServiceProcess::spawn(binary, &env);
    let http = kalix_testkit::reqwest::Client::new();
    let mut ids = Vec::new();
    for n in 0..20 {
        let base = if n % 2 == 0 {
            a.base_url()
        } else {
            b.base_url()
        };
        ids.push(place(&http, base).await);
    }
    for id in &ids {
        assert_eq!(
            status_within(a.base_url(), id, 404, Duration::from_secs(20)).await,
            404,
            "order {id} expired"
        );
    }
    let fired = |process: &ServiceProcess, id: &str| {
        process
            .log()
            .iter()
            .filter(|line| line.contains("timer fired") && line.contains(id))
            .count()
    };
    let mut by_a = 0;
    for id in &ids {
        let (in_a, in_b) = (fired(&a, id), fired(&b, id));
        assert_eq!(
            in_a + in_b,
            1,
            "order {id}'s timer fired {in_a} times in a, {in_b} in b"
        );
        by_a += in_a;
    }
    eprintln!("{by_a} of {} timers fired in the first process", ids.len());
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&directory).join("postgres-timers"),
            "ran",
        )
        .unwrap();
    }
}
