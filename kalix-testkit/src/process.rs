//! A service binary run as a child process, for tests of what only a real process shows:
//! configuration by environment, signals, SIGKILL and restarts, several processes at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A service binary running as a child process on a free port. Killed when dropped.
///
/// In a sample's integration test, `env!("CARGO_BIN_EXE_<name>")` is the path of its binary:
///
/// ```no_run
/// # fn example() {
/// let binary = "target/debug/valueentity-counter"; // env!("CARGO_BIN_EXE_valueentity-counter")
/// let service = kalix_testkit::ServiceProcess::spawn(binary, &[("KALIX_STORE", "sqlite::memory:")]);
/// let url = format!("{}/counter/c1", service.base_url());
/// service.signal("KILL");
/// # }
/// ```
pub struct ServiceProcess {
    child: Child,
    base_url: String,
    admin_url: Option<String>,
    log: Arc<Mutex<Vec<String>>>,
}

impl ServiceProcess {
    /// Starts `binary` with `KALIX_HTTP_PORT=0`, `KALIX_ADMIN_PORT=0` and `env`, and waits until it logs the address it
    /// listens on. Panics if it exits first.
    pub fn spawn(binary: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        for (key, value) in env {
            command.env(key, value);
        }
        Self::spawn_command(command)
    }

    /// Starts `command` (a service binary, or a shell that `exec`s one, say under `ulimit`)
    /// with `KALIX_HTTP_PORT=0` and `KALIX_ADMIN_PORT=0` unless the command sets them, and waits until it logs the
    /// address it listens on. Panics if it exits first.
    pub fn spawn_command(mut command: Command) -> Self {
        let program = command.get_program().to_string_lossy().into_owned();
        for port in ["KALIX_HTTP_PORT", "KALIX_ADMIN_PORT"] {
            if !command.get_envs().any(|(key, _)| key == port) {
                command.env(port, "0");
            }
        }
        // `info` unless the test asks for more (say `RUST_LOG=info,kalix_core::timers=debug`).
        if !command.get_envs().any(|(key, _)| key == "RUST_LOG") {
            command.env("RUST_LOG", "info");
        }
        command
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .unwrap_or_else(|error| panic!("{program} does not start: {error}"));
        let mut lines = BufReader::new(child.stdout.take().expect("stdout is piped")).lines();
        let log = Arc::new(Mutex::new(Vec::new()));
        let mut admin_address = None;
        let address = loop {
            let Some(Ok(line)) = lines.next() else {
                let status = child.wait().ok();
                panic!("{program} exited ({status:?}) without saying where it listens");
            };
            let address = logged_field(&line, "local_addr");
            if let Some(admin) = logged_field(&line, "admin_addr") {
                admin_address = Some(admin);
            }
            log.lock().unwrap().push(line);
            if let Some(address) = address {
                break address;
            }
        };
        // Keep draining the log, so the child never blocks on a full pipe.
        let kept = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Self {
            child,
            base_url: format!("http://{address}"),
            admin_url: admin_address.map(|address| format!("http://{address}")),
            log,
        }
    }

    /// The lines the service has logged so far (its standard output).
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `http://127.0.0.1:<admin port>`: metrics and health. Panics if the service did not log
    /// its admin address before it began serving.
    pub fn admin_url(&self) -> &str {
        self.admin_url
            .as_deref()
            .expect("the service logs admin_addr= before it serves")
    }

    /// The operating system's process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Sends `signal` (`"TERM"`, `"KILL"`, ...) with `kill`.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([format!("-{signal}"), self.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} failed");
    }

    /// Waits up to `timeout` for the process to exit. Panics if it does not.
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("the child can be waited for") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the service did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The value of field `name` in a log line, as text (`name=value`) or JSON (`"name":"value"`)
/// writes it.
fn logged_field(line: &str, name: &str) -> Option<String> {
    if let Some(rest) = line.split(&format!("{name}=")).nth(1) {
        return rest.split_whitespace().next().map(str::to_owned);
    }
    let rest = line.split(&format!("\"{name}\":\"")).nth(1)?;
    rest.split('"').next().map(str::to_owned)
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
