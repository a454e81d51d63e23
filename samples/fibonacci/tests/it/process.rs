//! The sample as a process, as `cargo run -p fibonacci` starts it: configured by environment,
//! serving the contract, and stopping cleanly on SIGTERM.

use std::process::{Command, Stdio};
use std::time::Duration;

use kalix_testkit::ServiceProcess;

fn spawn(port: &str) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .env("KALIX_HTTP_PORT", port)
        .env("KALIX_ADMIN_PORT", "0")
        .env("KALIX_STORE", "sqlite::memory:")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sample binary starts")
}

#[tokio::test]
async fn the_binary_serves_the_contract_and_stops_cleanly_on_sigterm() {
    let mut service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_fibonacci"),
        &[("KALIX_STORE", "sqlite::memory:")],
    );
    let body: serde_json::Value = reqwest::get(format!("{}/fibonacci/5/next", service.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({"value": 8}));

    service.signal("TERM");
    assert!(service.wait(Duration::from_secs(10)).success());
}

#[tokio::test]
async fn a_service_without_entities_makes_no_database_file() {
    let directory = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_fibonacci"));
    // The default store, `sqlite://kalix-data/kalix.db`, relative to the working directory.
    command
        .current_dir(directory.path())
        .env_remove("KALIX_STORE");
    let mut service = ServiceProcess::spawn_command(command);
    let response = reqwest::get(format!("{}/fibonacci/5/next", service.base_url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    service.signal("TERM");
    assert!(service.wait(Duration::from_secs(10)).success());
    let made: Vec<_> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert!(made.is_empty(), "{made:?}");
}

#[test]
fn a_bad_port_setting_is_refused_with_a_message_naming_it() {
    let service = spawn("nine-thousand");
    let output = service.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "KALIX_HTTP_PORT: expected a port number from 0 to 65535, got 'nine-thousand'"
        ),
        "{stderr}"
    );
}

#[test]
fn an_unknown_flag_is_refused_and_points_to_help() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .args(["--port", "9000"])
        .env("KALIX_STORE", "sqlite::memory:")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unexpected argument '--port' found") && stderr.contains("--help"),
        "{stderr}"
    );
}

#[test]
fn a_bad_flag_value_is_named_by_its_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .args(["--http-body-timeout-ms", "soon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(
            "--http-body-timeout-ms: expected a positive number of milliseconds, got 'soon'"
        ),
        "{stderr}"
    );
}

#[test]
fn help_lists_each_flag_with_its_variable_and_default() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .arg("--help")
        .env_remove("KALIX_HTTP_PORT")
        .output()
        .unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(help.starts_with("A Kalix service."), "{help}");
    for expected in [
        "Usage: fibonacci [OPTIONS]",
        "--http-port <PORT>",
        "[env: KALIX_HTTP_PORT=] [default: 9000]",
        "--store <URL>",
        "[env: KALIX_STORE=] [default: sqlite://kalix-data/kalix.db]",
        "--max-active-entities <COUNT>",
        "--version",
    ] {
        assert!(help.contains(expected), "{expected} in {help}");
    }
}

#[test]
fn version_names_the_service_and_kalix_core() {
    let output = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!(
            "fibonacci {} (kalix-core {})",
            env!("CARGO_PKG_VERSION"),
            env!("CARGO_PKG_VERSION")
        )
    );
}

#[tokio::test]
async fn the_binary_answers_operators_on_its_admin_port_and_logs_json_when_asked() {
    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_fibonacci"),
        &[
            ("KALIX_STORE", "sqlite::memory:"),
            ("KALIX_LOG_FORMAT", "json"),
        ],
    );
    let next = reqwest::get(format!("{}/fibonacci/5/next", service.base_url()))
        .await
        .unwrap();
    assert_eq!(next.status(), 200);
    // Ready once its background work runs, a moment after it begins serving: probes poll.
    let mut ready = 0;
    for _ in 0..100 {
        ready = reqwest::get(format!("{}/health/ready", service.admin_url()))
            .await
            .unwrap()
            .status()
            .as_u16();
        if ready == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ready, 200);
    let page = reqwest::get(format!("{}/metrics", service.admin_url()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.lines().any(|line| line.starts_with(
            "http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/fibonacci/<number>/next\",http_response_status_code=\"200\"} 1"
        )),
        "{page}"
    );
    let log = service.log();
    assert!(!log.is_empty());
    for line in &log {
        let entry: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert!(
            entry["level"].is_string() && entry["fields"]["message"].is_string(),
            "{line}"
        );
    }
    assert!(log.iter().any(|line| line.contains("\"admin_addr\"")));
}

#[tokio::test]
async fn openapi_flag_prints_the_document_the_admin_listener_serves_and_exits() {
    let printed = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .arg("--openapi")
        .output()
        .expect("the sample binary runs");
    assert!(printed.status.success(), "{printed:?}");
    let printed: serde_json::Value =
        serde_json::from_slice(&printed.stdout).expect("stdout is the JSON document");
    assert_eq!(printed["info"]["title"], "fibonacci");
    assert_eq!(printed["info"]["version"], env!("CARGO_PKG_VERSION"));

    let service = ServiceProcess::spawn(
        env!("CARGO_BIN_EXE_fibonacci"),
        &[("KALIX_STORE", "sqlite::memory:")],
    );
    let served = service.check_api_description().await;
    assert_eq!(printed, served);
}
