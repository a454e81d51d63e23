//! The counter binary under what a hostile or unlucky deployment does to it: stalled uploads,
//! a descriptor limit, a second process on its SQLite file, its file deleted while it runs.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kalix_testkit::ServiceProcess;
use kalix_testkit::reqwest::{self, StatusCode};
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const BINARY: &str = env!("CARGO_BIN_EXE_valueentity-counter");

fn address(service: &ServiceProcess) -> String {
    service.base_url().trim_start_matches("http://").to_owned()
}

/// The resident memory of process `pid`, in MiB.
fn resident_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kib| kib.parse().ok())
        .expect("VmRSS in /proc/<pid>/status");
    kib / 1024
}

#[tokio::test]
async fn three_hundred_stalled_uploads_keep_the_service_small_and_serving() {
    let service = ServiceProcess::spawn(BINARY, &[("KALIX_STORE", "sqlite::memory:")]);
    let address = address(&service);
    // Each sends the headers of a body as large as the default limit (1 MiB), then all of it
    // but its last byte, and stalls.
    let limit = 1024 * 1024;
    let body: Arc<[u8]> = vec![b' '; limit - 1].into();
    let uploads: Vec<_> = (0..300)
        .map(|n| {
            let (address, body) = (address.clone(), Arc::clone(&body));
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(&address).await.ok()?;
                let head = format!(
                    "PUT /counter/stall{n}/set HTTP/1.1\r\nHost: x\r\n\
                     Content-Type: application/json\r\nContent-Length: {limit}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await.ok()?;
                // Refused uploads (503 once the budget is spent) see the connection closed.
                let _ = stream.write_all(&body).await;
                Some(stream)
            })
        })
        .collect();
    let mut stalled = Vec::new();
    for upload in uploads {
        stalled.push(upload.await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let resident = resident_mib(service.id());
    eprintln!("resident with 300 stalled uploads: {resident} MiB");
    assert!(
        resident < 200,
        "{resident} MiB resident with 300 stalled uploads"
    );
    let response = reqwest::Client::new()
        .post(format!("{}/counter/ok/plusone", service.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    drop(stalled);
}

#[tokio::test]
async fn out_of_descriptors_the_service_pauses_accepting_logs_once_and_recovers() {
    let mut command = Command::new("bash");
    command
        .args(["-c", "ulimit -n 64 && exec \"$0\"", BINARY])
        .env("KALIX_STORE", "sqlite::memory:")
        .env("KALIX_HTTP_HEADER_TIMEOUT_MS", "1000");
    let service = ServiceProcess::spawn_command(command);
    let address = address(&service);
    // More idle connections than the process has descriptors.
    let mut idle = Vec::new();
    for _ in 0..100 {
        idle.push(TcpStream::connect(&address).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Idle connections are closed after the header timeout, so the service gets its
    // descriptors back and serves again.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let response = client
        .post(format!("{}/counter/fd/plusone", service.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let failures = service
        .log()
        .iter()
        .filter(|line| line.contains("accepting connections failed"))
        .count();
    assert!(
        (1..=2).contains(&failures),
        "the failure is logged, once per 10 s: {failures} lines"
    );
    drop(idle);
}

#[tokio::test]
async fn a_second_process_on_the_same_sqlite_file_refuses_to_start() {
    let directory = tempfile::tempdir().unwrap();
    let store = format!("sqlite://{}", directory.path().join("counter.db").display());
    let _first = ServiceProcess::spawn(BINARY, &[("KALIX_STORE", &store)]);
    let mut second = Command::new(BINARY)
        .env("KALIX_STORE", &store)
        .env("KALIX_HTTP_PORT", "0")
        .env("KALIX_ADMIN_PORT", "0")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while second.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            second.kill().unwrap();
            panic!("the second process is serving on a file the first one holds");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = second.wait_with_output().unwrap();
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        said.contains("is in use by another process") && said.contains("use PostgreSQL"),
        "{said}"
    );
}

#[tokio::test]
async fn after_its_file_is_deleted_no_write_is_acknowledged() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("counter.db");
    let store = format!("sqlite://{}", path.display());
    let service = ServiceProcess::spawn(BINARY, &[("KALIX_STORE", &store)]);
    let client = reqwest::Client::new();
    let increase = || {
        client
            .post(format!("{}/counter/gone/increase", service.base_url()))
            .json(&json!({"value": 1}))
            .send()
    };
    assert_eq!(increase().await.unwrap().status(), StatusCode::OK);
    std::fs::remove_file(&path).unwrap();
    for _ in 0..3 {
        assert_eq!(
            increase().await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    assert!(
        service
            .log()
            .iter()
            .any(|line| line.contains("the database file was deleted or replaced")),
        "said loudly: {:?}",
        service.log()
    );
    // Every write fails from now on, as on a full disk; the log does not grow with them.
    for _ in 0..50 {
        assert_eq!(
            increase().await.unwrap().status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }
    let failures = service
        .log()
        .iter()
        .filter(|line| line.contains("commit failed"))
        .count();
    assert!(
        (1..=4).contains(&failures),
        "53 failed commits, {failures} log lines"
    );
}
