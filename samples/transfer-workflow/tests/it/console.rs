//! The developer console in a real browser: headless Chromium driven through ChromeDriver
//! (WebDriver, with `fantoccini`), loading the console of the running sample, browsing to a
//! wallet to read its state, and pressing a stuck transfer's Suspend button.
//!
//! Needs `chromedriver` and `chromium` (Debian's `chromium-driver` and `chromium`, which
//! `.ci/run` installs): `KALIX_TEST_CHROMEDRIVER` names the driver, and with it set the test
//! fails rather than skip when the browser cannot run. `KALIX_TEST_SCREENSHOT_DIR` keeps a
//! screenshot of each tab the test visits there.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use kalix_testkit::ServiceProcess;
use serde_json::{Value, json};

use crate::{create_wallet, start, status_within};

const BINARY: &str = env!("CARGO_BIN_EXE_transfer-workflow");
const DRIVER_VARIABLE: &str = "KALIX_TEST_CHROMEDRIVER";

/// The ChromeDriver to use: the one named, else Debian's if installed; `None` to skip.
fn chromedriver() -> Option<PathBuf> {
    match std::env::var(DRIVER_VARIABLE) {
        Ok(path) => {
            let path = PathBuf::from(path);
            assert!(
                path.exists(),
                "{DRIVER_VARIABLE}={} does not exist",
                path.display()
            );
            Some(path)
        }
        Err(_) => Some(PathBuf::from("/usr/bin/chromedriver")).filter(|path| path.exists()),
    }
}

/// A ChromeDriver process, stopped when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_driver(path: &PathBuf) -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // Held by `Driver` at once: dropped (killed and waited for) whatever happens next.
    let driver = Driver {
        child: Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = kalix_testkit::reqwest::get(format!("{}/status", driver.url))
            .await
            .ok()
            .filter(|response| response.status().is_success());
        if ready.is_some() {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let mut options = json!({
        "args": [
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", "--window-size=1280,860",
            format!("--user-data-dir={}", profile.display()),
        ],
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = "/usr/bin/chromium".into();
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".to_owned(), options);
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("chromium starts under chromedriver")
}

/// Waits until the text of the element `css` selects holds `expected`; returns the text.
async fn text_with(client: &Client, css: &str, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = match client.find(Locator::Css(css)).await {
            Ok(element) => element.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if text.contains(expected) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{css} never showed '{expected}'; it shows '{text}'"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn click(client: &Client, css: &str) {
    client
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("{css} is shown: {error}"))
        .click()
        .await
        .unwrap_or_else(|error| panic!("{css} clicks: {error}"));
}

async fn keep_screenshot(client: &Client, name: &str) {
    if let Ok(directory) = std::env::var("KALIX_TEST_SCREENSHOT_DIR") {
        let png = client.screenshot().await.expect("a screenshot");
        std::fs::write(PathBuf::from(directory).join(name), png).expect("the screenshot is kept");
    }
}

#[tokio::test]
async fn in_a_real_browser_the_console_shows_a_wallet_and_suspends_a_stuck_transfer() {
    let Some(driver_path) = chromedriver() else {
        eprintln!(
            "note: the console's browser test did not run: no chromedriver (apt-get install \
             chromium chromium-driver, or set {DRIVER_VARIABLE})"
        );
        return;
    };
    let directory = tempfile::tempdir().unwrap();
    let store = format!(
        "sqlite://{}",
        directory.path().join("transfers.db").display()
    );
    let service = ServiceProcess::spawn(BINARY, &[("KALIX_STORE", store.as_str())]);
    let http = kalix_testkit::reqwest::Client::new();
    let base = service.base_url().to_owned();
    create_wallet(&http, &base, "alice", 1000).await;
    // Its deposit retries: wallet "nobody" does not exist.
    assert_eq!(
        start(&http, &base, "stuck", "alice", "nobody", 100).await.0,
        200
    );
    assert_eq!(
        status_within(&base, "stuck", "WITHDRAW_SUCCEED", Duration::from_secs(5)).await,
        "WITHDRAW_SUCCEED"
    );

    let driver = start_driver(&driver_path).await;
    let client = browser(&driver, &directory.path().join("profile")).await;
    client
        .goto(&format!("{}/", service.admin_url()))
        .await
        .expect("the console loads");
    text_with(&client, "#service-title", "transfer-workflow").await;
    text_with(
        &client,
        "#component-list",
        "POST /wallet/<id>/create/<init_balance>",
    )
    .await;
    // A route's form calls the service: alice's balance.
    let route = "details[data-route='GET /wallet/<id>']";
    click(&client, &format!("{route} summary")).await;
    client
        .find(Locator::Css(&format!("{route} input[name='id']")))
        .await
        .unwrap()
        .send_keys("alice")
        .await
        .unwrap();
    click(&client, &format!("{route} button[type='submit']")).await;
    let reply = text_with(&client, &format!("{route} pre"), "900").await;
    assert_eq!(reply, "200\n900", "the status, then her balance");
    keep_screenshot(&client, "console-components.png").await;

    // The entity browser: the wallet types, alice's id, her state after the withdrawal.
    click(&client, "#tabs button[data-tab='entities']").await;
    client
        .find(Locator::Css("#entity-type"))
        .await
        .unwrap()
        .select_by_value("wallet")
        .await
        .unwrap();
    click(&client, "#entity-ids button[data-id='alice']").await;
    let state = text_with(&client, "#entity-detail", "\"balance\": 900").await;
    assert!(state.contains("\"id\": \"alice\""), "{state}");
    keep_screenshot(&client, "console-entities.png").await;

    // The workflow: at its deposit step, then suspended by the button.
    click(&client, "#tabs button[data-tab='workflows']").await;
    click(&client, "#workflow-ids button[data-id='stuck']").await;
    text_with(&client, "#workflow-summary", "at step deposit").await;
    click(&client, "#workflow-suspend").await;
    text_with(&client, "#workflow-message", "suspend: done").await;
    text_with(&client, "#workflow-summary", "suspended").await;
    keep_screenshot(&client, "console-workflows.png").await;

    // The consumers tab loads (this sample has no subscription: its tables are empty).
    click(&client, "#tabs button[data-tab='consumers']").await;
    text_with(&client, "#view-table", "table").await;
    let consumers = client
        .find(Locator::Css("#consumer-table"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!consumers.contains("Error"), "{consumers}");
    client.close().await.expect("the browser closes");

    // What the button did, read from outside.
    let record: Value = http
        .get(format!(
            "{}/admin/workflows/transfer/stuck",
            service.admin_url()
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(record["suspended"], true, "{record:#}");
    if let Ok(markers) = std::env::var("KALIX_TEST_MARKERS") {
        let _ = std::fs::write(PathBuf::from(markers).join("console-browser"), "");
    }
}
