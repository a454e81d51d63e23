//! The integration `TestKit`: the whole service, in-process, on a free port.

use std::time::Duration;

use kalix_core::cloud_events::PayloadType;
use kalix_core::event_sourced_entity::EventSourcedComponent;
use kalix_core::store::{EventAppend, NewEvent, StateWrite, Write};
use kalix_core::timers::{ManualClock, PendingTimer};
use kalix_core::value_entity::ValueEntityComponent;
use kalix_core::{ComponentClient, Config, RunningService, Service, StartError, StoreLocation};
use reqwest::RequestBuilder;

use crate::topics::{IncomingMessages, OutgoingMessages};

/// Runs every component of the test binary as a service on `127.0.0.1` and a free port.
///
/// It stops when dropped. Configuration is the defaults (not the environment), except the
/// port, an in-memory store, and a short pause between start-up hook retries. Time is a
/// [`ManualClock`] starting at the system's time: timers fall due when the test advances it
/// ([`TestKit::clock`]), not while it waits.
///
/// ```no_run
/// # async fn example() {
/// let testkit = kalix_testkit::TestKit::start().await;
/// let response = testkit.get("/fibonacci/5/next").send().await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
pub struct TestKit {
    running: RunningService,
    base_url: String,
    http: reqwest::Client,
    clock: ManualClock,
}

impl TestKit {
    /// Starts the service with the default test configuration. Panics if it cannot start.
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A builder, to supply dependencies or change the configuration.
    pub fn builder() -> TestKitBuilder {
        TestKitBuilder {
            service: Service::new(),
            clock: ManualClock::new(),
            config: test_service_name(Config::default())
                .with_port(0)
                .with_admin_port(0)
                .with_store(StoreLocation::SqliteMemory)
                .with_startup_retry_delay(Duration::from_millis(20)),
        }
    }

    /// The service's clock. `testkit.clock().advance(Duration::from_secs(10)).await` moves it on
    /// and returns once the timers that fell due have fired (their calls finished, or failed
    /// and were rescheduled).
    pub fn clock(&self) -> &ManualClock {
        &self.clock
    }

    /// The pending timers of the service's components, earliest first: each with its name, due
    /// time and target. The runtime's own (workflows' watchdogs) are in
    /// [`TestKit::runtime_timers`].
    pub async fn timers(&self) -> Vec<PendingTimer> {
        self.component_client()
            .timers()
            .list()
            .await
            .unwrap_or_else(|error| panic!("listing the timers failed: {error}"))
    }

    /// The runtime's own pending timers (names starting with `kalix.`: workflows' watchdogs
    /// and timeouts), earliest first.
    pub async fn runtime_timers(&self) -> Vec<PendingTimer> {
        self.component_client()
            .timers()
            .list_runtime()
            .await
            .unwrap_or_else(|error| panic!("listing the timers failed: {error}"))
    }

    /// The service's base URL, e.g. `http://127.0.0.1:40123`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The port the service listens on (to start it again on the same address).
    pub fn port(&self) -> u16 {
        self.running.local_addr().port()
    }

    /// The absolute URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The absolute URL of `path` on the admin listener: `/metrics`, `/health/live`,
    /// `/health/ready` (a free port in tests).
    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.admin_addr(), path)
    }

    /// An HTTP client (reuse it: it keeps connections open).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Publishes messages to `topic`, as another service would: the service's subscribers to
    /// it receive them.
    ///
    /// ```no_run
    /// # async fn example(testkit: kalix_testkit::TestKit) {
    /// #[derive(serde::Serialize)]
    /// #[serde(rename_all = "camelCase")]
    /// struct IncreaseCounter { counter_id: String, value: i64 }
    ///
    /// let commands = testkit.incoming("counter-commands");
    /// commands.publish(&IncreaseCounter { counter_id: "c1".into(), value: 3 }, "c1").await;
    /// # }
    /// ```
    pub fn incoming(&self, topic: &str) -> IncomingMessages {
        IncomingMessages::new(self.running.topics(), topic)
    }

    /// The messages the service publishes to `topic` from its start, to expect in order.
    ///
    /// Each call gives a reader of its own, starting at the topic's first message: keep the
    /// reader for the messages that follow (two readers both see every message).
    ///
    /// ```no_run
    /// # async fn example(testkit: kalix_testkit::TestKit) {
    /// #[derive(serde::Deserialize)]
    /// enum CounterEvent { ValueIncreased { value: i64 } }
    ///
    /// let mut events = testkit.outgoing("counter-events");
    /// let event = events.expect_one::<CounterEvent>().await;
    /// assert_eq!(event.subject(), Some("c1"));
    /// # }
    /// ```
    pub fn outgoing(&self, topic: &str) -> OutgoingMessages {
        OutgoingMessages::new(&self.running.topics(), topic)
    }

    /// Appends `events` to the journal of the event-sourced entity `E` with id `entity_id`, as
    /// if a command had emitted them, without running the entity: the service's subscriptions
    /// receive them (to test a consumer, or a view, alone). Inject into entities no command has
    /// touched: one the service holds in memory does not see them until it is passivated.
    pub async fn inject_events<E: EventSourcedComponent>(
        &self,
        entity_id: &str,
        events: &[E::Event],
    ) {
        let store = self.running.store();
        let last = store
            .last_seq(E::TYPE_ID, entity_id)
            .await
            .unwrap_or_else(|error| panic!("reading the journal of {entity_id} failed: {error}"));
        let events = events
            .iter()
            .map(|event| NewEvent {
                // Written at the entity's current event version, as the entity writes them.
                type_name: match E::EVENT_VERSION {
                    0 => PayloadType::of(event).name().to_owned(),
                    version => format!("{}#{version}", PayloadType::of(event).name()),
                },
                payload: bytes::Bytes::from(
                    serde_json::to_vec(event).expect("an event serializes"),
                ),
            })
            .collect();
        let append = EventAppend {
            type_id: E::TYPE_ID.to_owned(),
            entity_id: entity_id.to_owned(),
            expected_seq: last,
            follows_own_write: false,
            events,
            snapshot: None,
            delete: false,
            kept_reply: None,
            trace_parent: None,
        };
        let results = store
            .commit(vec![Write::Events(append)])
            .await
            .unwrap_or_else(|error| panic!("injecting events into {entity_id} failed: {error}"));
        if let Some(Err(error)) = results.into_iter().next() {
            panic!("injecting events into {entity_id} was refused: {error:?}");
        }
    }

    /// Writes `state` as the new state of the value entity `E` with id `entity_id` (`None`
    /// deletes it), without running the entity: the service's subscriptions receive the change.
    /// The same caveat as [`TestKit::inject_events`] holds.
    pub async fn inject_state<E: ValueEntityComponent>(
        &self,
        entity_id: &str,
        state: Option<&E::State>,
    ) {
        let store = self.running.store();
        let version = store
            .state_version(E::TYPE_ID, entity_id)
            .await
            .unwrap_or_else(|error| panic!("reading the state of {entity_id} failed: {error}"));
        let write = StateWrite {
            type_id: E::TYPE_ID.to_owned(),
            entity_id: entity_id.to_owned(),
            expected_version: version,
            follows_own_write: false,
            payload: state.map(|state| {
                let json = serde_json::to_vec(state).expect("a state serializes");
                kalix_core::__private::stored_state::<E>(bytes::Bytes::from(json))
            }),
            timers: Vec::new(),
            kept_reply: None,
            trace_parent: None,
        };
        let results = store
            .commit(vec![Write::State(write)])
            .await
            .unwrap_or_else(|error| panic!("injecting a state into {entity_id} failed: {error}"));
        if let Some(Err(error)) = results.into_iter().next() {
            panic!("injecting a state into {entity_id} was refused: {error:?}");
        }
    }

    /// A GET request to `path`.
    pub fn get(&self, path: &str) -> RequestBuilder {
        self.http.get(self.url(path))
    }

    /// A POST request to `path`.
    pub fn post(&self, path: &str) -> RequestBuilder {
        self.http.post(self.url(path))
    }

    /// A PUT request to `path`.
    pub fn put(&self, path: &str) -> RequestBuilder {
        self.http.put(self.url(path))
    }

    /// A PATCH request to `path`.
    pub fn patch(&self, path: &str) -> RequestBuilder {
        self.http.patch(self.url(path))
    }

    /// A DELETE request to `path`.
    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.http.delete(self.url(path))
    }

    /// Requests signed as the service `name`: the service under test trusts the testkit's key
    /// under any name, so its ACLs see these calls as `service = "<name>"`. The plain
    /// [`TestKit::get`] and its siblings are from the `internet`.
    pub fn client_as_service(&self, name: &str) -> crate::ServiceClient {
        crate::ServiceClient {
            http: self.http.clone(),
            base_url: self.base_url.clone(),
            signer: crate::access::service_signer(name),
        }
    }

    /// A bearer token of `claims` (a JSON object) that the service under test verifies, signed
    /// with a key only the testkit trusts; `iat` and `exp` (ten minutes on) are added unless
    /// given. Send it as `.bearer_auth(token)`.
    ///
    /// ```no_run
    /// # async fn example(testkit: kalix_testkit::TestKit) {
    /// let token = testkit.bearer(serde_json::json!({"sub": "ann", "iss": "https://auth.example.com"}));
    /// let response = testkit.get("/jwt/me").bearer_auth(token).send().await.unwrap();
    /// # }
    /// ```
    pub fn bearer(&self, claims: serde_json::Value) -> String {
        crate::access::bearer(claims)
    }

    /// A component client that calls the service in-process.
    pub fn component_client(&self) -> ComponentClient {
        self.running.component_client()
    }

    /// A component client that calls the service over HTTP, as a client outside it would.
    pub fn http_component_client(&self) -> ComponentClient {
        crate::HttpTransport::client(self.base_url.clone())
    }

    /// Waits until every `#[on_startup]` hook has succeeded or given up.
    pub async fn startup_hooks_finished(&mut self) {
        self.running.startup_hooks_finished().await;
    }

    /// Stops the service, letting requests in flight finish.
    pub async fn stop(self) {
        self.running
            .stop()
            .await
            .expect("the service stops cleanly");
    }
}

/// Configures a [`TestKit`] before it starts.
pub struct TestKitBuilder {
    service: Service,
    config: Config,
    clock: ManualClock,
}

impl TestKitBuilder {
    /// Supplies a dependency to component constructors.
    #[must_use]
    pub fn dependency<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.service = self.service.dependency(value);
        self
    }

    /// Uses `store` instead of the configured one.
    #[must_use]
    pub fn store(mut self, store: std::sync::Arc<dyn kalix_core::store::Store>) -> Self {
        self.service = self.service.store(store);
        self
    }

    /// Reads time through `clock` (one the caller keeps a handle of).
    #[must_use]
    pub(crate) fn with_clock(mut self, clock: ManualClock) -> Self {
        self.clock = clock;
        self
    }

    /// Changes the service before it starts (the testkits' hooks).
    #[must_use]
    pub(crate) fn service(mut self, change: impl FnOnce(Service) -> Service) -> Self {
        self.service = change(self.service);
        self
    }

    /// Runs every workflow step twice, dropping the first result as if the process had died
    /// after the step's calls and before its transition committed (at-least-once made
    /// visible): a step that is not idempotent fails its test here rather than after a
    /// `kill -9`.
    #[must_use]
    pub fn run_steps_twice(self) -> Self {
        self.service(Service::run_steps_twice)
    }

    /// The service's default ACL, as its `main` sets it with `Service::default_acl`.
    #[must_use]
    pub fn default_acl(self, acl: kalix_core::access::Acl) -> Self {
        self.service(|service| service.default_acl(acl))
    }

    /// Does not enforce ACLs, for a test of what a handler does rather than who may call it
    /// (service and bearer tokens are still verified).
    #[must_use]
    pub fn without_acls(self) -> Self {
        self.service(Service::without_acls)
    }

    /// Changes the configuration (the port stays 0 unless changed here).
    #[must_use]
    pub fn config(mut self, change: impl FnOnce(Config) -> Config) -> Self {
        self.config = change(self.config);
        self
    }

    /// Starts the service. Panics with the reason if it cannot start: a dependency not supplied,
    /// a bad configuration, or no components at all. A test that only speaks HTTP names nothing
    /// from the service's crate, so the linker drops its components; add `use my_service as _;`.
    pub async fn start(self) -> TestKit {
        self.try_start()
            .await
            .unwrap_or_else(|error| panic!("the service did not start: {error}"))
    }

    /// Starts the service, or says why it cannot.
    pub async fn try_start(self) -> Result<TestKit, StartError> {
        // The service trusts the testkit's keys: `client_as_service` and `bearer`.
        let running = self
            .service
            .trust_any_service_signed_by(crate::access::service_signer("kalix-testkit"))
            .jwt_keys(crate::access::bearer_jwks())
            .config(self.config)
            .clock(std::sync::Arc::new(self.clock.clone()))
            .start()
            .await?;
        Ok(TestKit {
            base_url: format!("http://{}", running.local_addr()),
            running,
            http: reqwest::Client::new(),
            clock: self.clock,
        })
    }
}

/// Names the service after the package under test (`CARGO_PKG_NAME`, which cargo sets for the
/// tests it runs) rather than the test binary's hashed file name: what it publishes has that
/// `ce-source`, and a subscription to its own stream finds it by that name.
fn test_service_name(config: Config) -> Config {
    match std::env::var("CARGO_PKG_NAME") {
        Ok(name) if !name.is_empty() => config.with_service_name(name),
        _ => config,
    }
}
