//! Over HTTP against the binary: SIGKILL mid-transfer (the transfer completes after the restart
//! and money is neither lost nor created), and PostgreSQL with two processes, one killed.

use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;

use crate::{balance, create_wallet, start, status_within};

const BINARY: &str = env!("CARGO_BIN_EXE_transfer-workflow");

#[tokio::test]
async fn transfers_killed_mid_way_complete_after_a_restart_and_no_money_is_lost_or_made() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("transfers.db").display()
    );
    let env = [("KALIX_STORE", store.as_str())];
    let http = kalix_testkit::reqwest::Client::new();

    let service = ServiceProcess::spawn(BINARY, &env);
    let base = service.base_url().to_owned();
    create_wallet(&http, &base, "a", 1000).await;
    create_wallet(&http, &base, "b", 1000).await;
    // One transfer stuck on its deposit (wallet "c" is created only after the restart), and a
    // burst killed while its steps run.
    start(&http, &base, "stuck", "a", "c", 100).await;
    assert_eq!(
        status_within(&base, "stuck", "WITHDRAW_SUCCEED", Duration::from_secs(5)).await,
        "WITHDRAW_SUCCEED"
    );
    let burst: Vec<_> = (0..30)
        .map(|n| {
            let (http, base) = (http.clone(), base.clone());
            tokio::spawn(async move {
                start(&http, &base, &format!("burst-{n}"), "a", "b", 1 + n).await
            })
        })
        .collect();
    for started in burst {
        assert_eq!(started.await.unwrap().0, 200);
    }
    service.signal("KILL");
    drop(service);

    let restarted = ServiceProcess::spawn(BINARY, &env);
    let base = restarted.base_url().to_owned();
    create_wallet(&http, &base, "c", 0).await;
    let started = Instant::now();
    for n in 0..30 {
        assert_eq!(
            status_within(
                &base,
                &format!("burst-{n}"),
                "COMPLETED",
                Duration::from_secs(20)
            )
            .await,
            "COMPLETED",
            "burst-{n}"
        );
    }
    assert_eq!(
        status_within(&base, "stuck", "COMPLETED", Duration::from_secs(40)).await,
        "COMPLETED"
    );
    eprintln!(
        "every transfer completed {:?} after the restart",
        started.elapsed()
    );
    let moved: i64 = (0..30).map(|n| 1 + n).sum();
    assert_eq!(balance(&http, &base, "a").await, Some(1000 - moved - 100));
    assert_eq!(balance(&http, &base, "b").await, Some(1000 + moved));
    assert_eq!(balance(&http, &base, "c").await, Some(100));
}

#[tokio::test]
async fn on_postgres_a_killed_process_leaves_its_workflows_to_the_other_within_ten_seconds() {
    let Ok(url) = std::env::var("KALIX_TEST_POSTGRES_URL") else {
        eprintln!("KALIX_TEST_POSTGRES_URL is not set: the PostgreSQL workflow test did not run");
        return;
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let schema = format!("workflows_{}_{nanos}", std::process::id());
    let env = [
        ("KALIX_STORE", url.as_str()),
        ("KALIX_POSTGRES_SCHEMA", schema.as_str()),
        ("RUST_LOG", "info"),
    ];
    let a = ServiceProcess::spawn(BINARY, &env);
    let b = ServiceProcess::spawn(BINARY, &env);
    let http = kalix_testkit::reqwest::Client::new();
    create_wallet(&http, a.base_url(), "from", 1000).await;
    create_wallet(&http, b.base_url(), "to", 0).await;

    // Transfers run where they were started: some on each process.
    for n in 0..10 {
        let base = if n % 2 == 0 {
            a.base_url()
        } else {
            b.base_url()
        };
        start(&http, base, &format!("done-{n}"), "from", "to", 1).await;
    }
    for n in 0..10 {
        assert_eq!(
            status_within(
                b.base_url(),
                &format!("done-{n}"),
                "COMPLETED",
                Duration::from_secs(10)
            )
            .await,
            "COMPLETED"
        );
    }
    // Transfers stuck on their deposits in process A, which is then killed.
    for n in 0..5 {
        start(
            &http,
            a.base_url(),
            &format!("moved-{n}"),
            "from",
            &format!("late-{n}"),
            10,
        )
        .await;
    }
    for n in 0..5 {
        assert_eq!(
            status_within(
                a.base_url(),
                &format!("moved-{n}"),
                "WITHDRAW_SUCCEED",
                Duration::from_secs(5)
            )
            .await,
            "WITHDRAW_SUCCEED"
        );
    }
    a.signal("KILL");
    let killed = Instant::now();
    for n in 0..5 {
        create_wallet(&http, b.base_url(), &format!("late-{n}"), 0).await;
    }
    let resumed = |process: &ServiceProcess| {
        process
            .log()
            .iter()
            .filter(|line| line.contains("resuming a workflow step"))
            .count()
    };
    while resumed(&b) < 5 && killed.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        resumed(&b) >= 5,
        "process B resumed A's workflows within 10 s: {:?}",
        b.log()
    );
    for n in 0..5 {
        assert_eq!(
            status_within(
                b.base_url(),
                &format!("moved-{n}"),
                "COMPLETED",
                Duration::from_secs(40)
            )
            .await,
            "COMPLETED"
        );
        assert_eq!(
            balance(&http, b.base_url(), &format!("late-{n}")).await,
            Some(10)
        );
    }
    assert_eq!(
        balance(&http, b.base_url(), "from").await,
        Some(1000 - 10 - 50)
    );
    assert_eq!(balance(&http, b.base_url(), "to").await, Some(10));
    if let Ok(markers) = std::env::var("KALIX_TEST_MARKERS") {
        std::fs::write(
            std::path::Path::new(&markers).join("postgres-workflows"),
            "ran",
        )
        .unwrap();
    }
}
