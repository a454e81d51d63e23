//! The sample as a process, as `cargo run -p fibonacci` starts it: configured by environment,
//! serving the contract, and stopping cleanly on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the child if the test fails before it stops it.
struct Service(Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn spawn(port: &str) -> Service {
    let child = Command::new(env!("CARGO_BIN_EXE_fibonacci"))
        .env("KALIX_HTTP_PORT", port)
        .env("KALIX_STORE", "sqlite::memory:")
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sample binary starts");
    Service(child)
}

/// Reads the log until the service says where it listens.
fn listening_address(service: &mut Service) -> String {
    let stdout = service.0.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(rest) = line.split("local_addr=").nth(1) {
            return rest.split_whitespace().next().unwrap().to_owned();
        }
    }
    panic!("the service exited without saying where it listens");
}

fn wait_for_exit(service: &mut Service) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = service.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the service did not stop within 10 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn the_binary_serves_the_contract_and_stops_cleanly_on_sigterm() {
    let mut service = spawn("0");
    let address = listening_address(&mut service);
    let body: serde_json::Value = reqwest::get(format!("http://{address}/fibonacci/5/next"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body, serde_json::json!({"value": 8}));

    let killed = Command::new("kill")
        .args(["-TERM", &service.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(wait_for_exit(&mut service).success());
}

#[test]
fn a_bad_port_setting_is_refused_with_a_message_naming_it() {
    let mut service = spawn("nine-thousand");
    let status = wait_for_exit(&mut service);
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(service.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains(
            "KALIX_HTTP_PORT: expected a port number from 0 to 65535, got 'nine-thousand'"
        ),
        "{stderr}"
    );
}
