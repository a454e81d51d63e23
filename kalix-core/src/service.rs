//! The service: collects the registered components, serves them over HTTP, runs start-up hooks
//! and shuts down gracefully.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::background::{BackgroundDriver, RunningDrivers};
use crate::broker::{Broker, EmbeddedBroker, NatsBroker, ServiceUrls, Topics};
use crate::client::{ComponentClient, Transport};
use crate::config::BrokerLocation;
use crate::config::Config;
use crate::config::StoreLocation;
use crate::dependencies::Dependencies;
use crate::dispatch::Dispatcher;
use crate::error::StartError;
use crate::eventing::Subscriptions;
use crate::ingress::{BearerKeys, JwksRefresher};
use crate::registry::registered_components;
use crate::runtime::{ComponentEnv, EntitySettings};
use crate::startup::StartupHooks;
use crate::store::{GroupCommitter, PostgresStore, SqliteStore, Store};

/// A service serving every component registered in the binary.
///
/// The usual `main` is one line:
///
/// ```no_run
/// fn main() -> Result<(), kalix_core::StartError> {
///     kalix_core::Service::new().run()
/// }
/// ```
///
/// [`Service::run`] reads the settings of [`Config`] from the environment and the command line
/// (`--help` lists them, `--version` prints [`Service::version`]), logs through `tracing`
/// (filtered by `RUST_LOG`, `info` by default), serves until Ctrl-C or SIGTERM, then lets
/// requests in flight finish.
#[derive(Default)]
pub struct Service {
    config: Option<Config>,
    version: Option<&'static str>,
    dependencies: Dependencies,
    store: Option<Arc<dyn Store>>,
    clock: Option<Arc<dyn crate::timers::Clock>>,
    workflow_observer: Option<crate::workflow::WorkflowObserver>,
    /// Runs every workflow step twice (a testkit's mode, see [`Service::run_steps_twice`]).
    steps_twice: bool,
    call_router: Option<crate::client::CallRouter>,
    access: AccessSettings,
}

/// What the code sets about access control: the default ACL, and the testkit's switches.
#[derive(Clone, Debug, Default)]
struct AccessSettings {
    default_acl: Option<crate::access::Acl>,
    acls_off: bool,
    /// A key the testkit signs service tokens with, as any service.
    any_service_signer: Option<crate::access::ServiceKey>,
    /// A JWKS document verifying the bearer tokens the testkit mints.
    extra_jwt_keys: Option<String>,
}

impl Service {
    /// A service with the configuration from the environment and no dependencies.
    pub fn new() -> Self {
        Self::default()
    }

    /// The ACL of every component and handler that declares none: with it, a handler is
    /// reachable only as the ACLs allow. Without any ACL in the service, everything is allowed
    /// (and the start logs a warning).
    ///
    /// ```no_run
    /// use kalix_core::access::{Acl, Matcher};
    /// // Only other services, unless a component or handler opens itself further.
    /// kalix_core::Service::new().default_acl(Acl::new().allow(Matcher::service("*")));
    /// ```
    #[must_use]
    pub fn default_acl(mut self, acl: crate::access::Acl) -> Self {
        self.access.default_acl = Some(acl);
        self
    }

    /// Does not enforce ACLs (a testkit's switch: tokens are still verified).
    #[doc(hidden)]
    #[must_use]
    pub fn without_acls(mut self) -> Self {
        self.access.acls_off = true;
        self
    }

    /// Accepts service tokens signed with `key` as whatever service they name (the testkit's).
    #[doc(hidden)]
    #[must_use]
    pub fn trust_any_service_signed_by(mut self, key: crate::access::ServiceKey) -> Self {
        self.access.any_service_signer = Some(key);
        self
    }

    /// Verifies bearer tokens with the keys of this JWKS document too (the testkit's).
    #[doc(hidden)]
    #[must_use]
    pub fn jwt_keys(mut self, jwks: impl Into<String>) -> Self {
        self.access.extra_jwt_keys = Some(jwks.into());
        self
    }

    /// Uses `config` instead of reading the environment.
    #[must_use]
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The version `--version` prints beside kalix-core's, usually your crate's:
    ///
    /// ```no_run
    /// fn main() -> Result<(), kalix_core::StartError> {
    ///     kalix_core::Service::new().version(env!("CARGO_PKG_VERSION")).run()
    /// }
    /// ```
    #[must_use]
    pub fn version(mut self, version: &'static str) -> Self {
        self.version = Some(version);
        self
    }

    /// Uses `store` instead of the one `KALIX_STORE` names (for another backend, or a wrapper
    /// around one).
    #[must_use]
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// Shows `observer` each record a workflow commits (the workflow testkit's log).
    #[doc(hidden)]
    #[must_use]
    pub fn observe_workflows(mut self, observer: crate::workflow::WorkflowObserver) -> Self {
        self.workflow_observer = Some(observer);
        self
    }

    /// Runs every workflow step twice, dropping the first result as if the process had died
    /// after the step's calls and before its transition committed: a step that is not
    /// idempotent shows in a test instead of after a `kill -9`. A testing mode.
    #[doc(hidden)]
    #[must_use]
    pub fn run_steps_twice(mut self) -> Self {
        self.steps_twice = true;
        self
    }

    /// Lets `router` answer the component calls handlers make (through a component client)
    /// before the service's components do: the workflow testkit's scripted replies.
    #[doc(hidden)]
    #[must_use]
    pub fn route_calls(mut self, router: crate::client::CallRouter) -> Self {
        self.call_router = Some(router);
        self
    }

    /// Reads time through `clock` instead of the system's (tests pass a
    /// [`ManualClock`](crate::timers::ManualClock) and advance it).
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn crate::timers::Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Supplies a dependency to component constructors (see [`Dependencies`]).
    #[must_use]
    pub fn dependency<T: Clone + Send + Sync + 'static>(mut self, value: T) -> Self {
        self.dependencies.insert(value);
        self
    }

    /// Builds a multi-threaded runtime, installs logging (and the export of spans over OTLP when
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` is set), and serves until Ctrl-C or SIGTERM.
    pub fn run(mut self) -> Result<(), StartError> {
        // Only the binary's own entry point reads the command line: inside a test harness the
        // arguments belong to the harness. `--help`, `--version` and a mistaken flag end here
        // (their message is printed by `main`, before any logging).
        if self.config.is_none() {
            let (config, print_openapi) = Config::from_command_line(self.version)?;
            if print_openapi {
                let document =
                    api_description(&config, self.version, &self.access, &checked_components()?);
                println!("{document:#}");
                std::process::exit(0);
            }
            self.config = Some(config);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(StartError::Serve)?;
        let installed = {
            let config = self.config.as_ref().expect("read above");
            let _inside = runtime.enter();
            crate::logging::install(config.log_format, &config.service_name)
        };
        // The error is returned, not logged too: `main` returning it prints it once.
        let served = runtime.block_on(self.serve());
        installed.shutdown();
        served
    }

    /// Serves until Ctrl-C or SIGTERM, on the current tokio runtime (configured from the
    /// environment unless [`Service::config`] was given).
    pub async fn serve(self) -> Result<(), StartError> {
        // Registered before the listener opens: a SIGTERM sent as soon as the service answers
        // stops it cleanly instead of killing it.
        let signals = ShutdownSignals::register();
        let running = self.start().await?;
        signals.received().await;
        tracing::info!("shutting down; finishing requests in flight");
        running.stop().await
    }

    /// Binds the listener and starts serving in the background; start-up hooks run once the
    /// listener is ready. Stop it with [`RunningService::stop`] (or by dropping it).
    pub async fn start(self) -> Result<RunningService, StartError> {
        let config = match self.config {
            Some(config) => config,
            None => Config::from_env()?,
        };
        if config.max_buffered_body_bytes < config.max_body_bytes {
            return Err(StartError::Config {
                variable: "KALIX_HTTP_MAX_BUFFERED_BYTES",
                problem: format!(
                    "{} is less than KALIX_HTTP_MAX_BODY_BYTES ({}): a body between the two could \
                     never be received",
                    config.max_buffered_body_bytes, config.max_body_bytes
                ),
            });
        }
        let components = checked_components()?;
        let api_description = api_description(&config, self.version, &self.access, &components);
        // Before anything registers a metric, so every handle records into it.
        crate::telemetry::install();
        let mut durable = true;
        let store = match self.store.clone() {
            Some(store) => store,
            None if components.iter().any(|c| keeps_state(c)) => open_store(&config.store).await?,
            // Nothing keeps state: no file is made and no database is dialled.
            None => {
                tracing::info!(
                    "no component keeps state or uses topics: the store (KALIX_STORE) is not opened"
                );
                durable = false;
                open_store(&StoreLocation::SqliteMemory).await?
            }
        };
        let committer = GroupCommitter::start(Arc::clone(&store));
        let news = committer.news();
        let broker = open_broker(&config, &store, &news).await?;
        let service_store = Arc::clone(&store);
        let (access, jwks_refresher) = access_policy(&self.access, &config, &components).await?;
        let services = ServiceUrls {
            configured: config.service_urls.clone(),
            own: config.service_name.clone(),
            signer: config.service_key()?.map(Arc::new),
        };
        let subscriptions = Subscriptions {
            store: Arc::clone(&store),
            news,
            broker: Arc::clone(&broker),
            services: services.clone(),
        };
        let topics = Topics::new(Arc::clone(&broker));
        let retention = crate::eventing::Retention {
            store: Arc::clone(&store),
            retention: config.topic_retention,
            embedded: matches!(config.broker, BrokerLocation::Embedded),
            own: config.service_name.clone(),
            kept_replies: config.idempotency_retention,
        };
        let views =
            crate::view::driver::Views::prepare(&store, &broker, &services, committer.news())
                .await?;
        let view_updates = Arc::clone(&views.updated);
        let open_streams = Arc::clone(&views.updated);
        let clock: Arc<dyn crate::timers::Clock> = self
            .clock
            .clone()
            .unwrap_or_else(|| Arc::new(crate::timers::SystemClock));
        crate::host::workflow::resume_watchdogs(&store, clock.as_ref(), &components).await;
        let (timers, timer_driver) =
            crate::timers::driver::TimerDriver::start(&store, &clock, &config, durable);
        let replication =
            crate::replication::Replication::new(Arc::clone(&store), config.request_timeout);
        let env = ComponentEnv {
            dependencies: &self.dependencies,
            committer,
            request_timeout: config.request_timeout,
            replication: Arc::clone(&replication),
            store,
            entities: EntitySettings {
                passivation_timeout: config.passivation_timeout,
                max_active: config.max_active_entities,
            },
            broker,
            service_name: Arc::from(config.service_name.as_str()),
            view_updates,
            timers,
            clock,
            workflow_observer: self.workflow_observer.clone(),
            steps_twice: self.steps_twice,
            stream_news: Arc::default(),
            call_router: self.call_router.clone(),
            step_slots: Arc::new(tokio::sync::Semaphore::new(config.max_running_steps)),
            services: services.clone(),
        };
        let dispatcher = Arc::new(Dispatcher::new(&components, &env)?);
        // Every stream subscribed to has an address (or is this service's own): a missing one
        // stops the start, naming the variable to set.
        for service in crate::eventing::subscribed_services(&dispatcher) {
            services
                .locate(service)
                .map_err(StartError::UnlocatedService)?;
        }
        let (routers, grpc_health) = crate::ingress::routers(
            Arc::clone(&dispatcher),
            &config,
            Arc::clone(&env.store),
            Arc::clone(&env.stream_news),
            &access,
        )?;
        let admin_api = Arc::new(crate::ingress::AdminApi {
            components: components.clone(),
            store: Arc::clone(&env.store),
            dispatcher: Arc::clone(&dispatcher),
            service: routers.http.clone(),
            view_rebuilds: Arc::clone(&views.rebuilds),
            view_news: Arc::clone(&views.news),
        });
        let admin =
            Admin::start(&config, Arc::clone(&env.store), api_description, admin_api).await?;
        let address = format!("{}:{}", config.http_host, config.http_port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| StartError::Bind {
                address: address.clone(),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(StartError::Serve)?;
        tracing::info!(%local_addr, handlers = dispatcher.handlers().len(), "serving");

        let (stop, stopped) = oneshot::channel::<()>();
        let limits = crate::ingress::ConnectionLimits {
            max_connections: config.max_connections,
            header_timeout: config.header_timeout,
        };
        let server = tokio::spawn(crate::ingress::serve(
            listener,
            routers,
            limits,
            async move {
                let _ = stopped.await;
            },
        ));
        // Started once the listener is ready.
        let mut drivers: Vec<Box<dyn BackgroundDriver>> = vec![
            Box::new(StartupHooks {
                retry_delay: config.startup_retry_delay,
            }),
            Box::new(subscriptions),
            Box::new(views),
            Box::new(timer_driver),
            Box::new(retention),
        ];
        drivers.push(Box::new(crate::ingress::MetricsUpkeep));
        drivers.extend(crate::replication::driver::driver(
            replication,
            Arc::clone(&env.store),
        ));
        drivers.extend(jwks_refresher.map(|r| Box::new(r) as Box<dyn BackgroundDriver>));
        let drivers = RunningDrivers::start(drivers, &dispatcher);
        admin.health.running();
        Ok(RunningService {
            local_addr,
            client: ComponentClient::new(dispatcher as Arc<dyn Transport>),
            topics,
            store: service_store,
            stop: Some(stop),
            open_streams,
            server: Some(server),
            drivers: Some(drivers),
            admin,
            grpc_health,
        })
    }
}

/// The access checks' shared part: the default ACL, the trusted services and JWT keys (the
/// configured ones, the testkit's, and those published at `KALIX_JWT_JWKS_URL`, fetched here
/// once and then by the returned refresher), and a warning when no ACL guards anything.
async fn access_policy(
    settings: &AccessSettings,
    config: &Config,
    components: &[&'static crate::registry::ComponentDescriptor],
) -> Result<(Arc<crate::ingress::AccessPolicy>, Option<JwksRefresher>), StartError> {
    let mut trusted = config.trusted_services()?;
    if let Some(key) = &settings.any_service_signer {
        trusted.trust_any_name_signed_by(key);
    }
    let mut jwt_keys = config.jwt_keys()?;
    if let Some(jwks) = &settings.extra_jwt_keys {
        jwt_keys.extend(crate::access::JwtKeys::from_jwks(jwks).map_err(|problem| {
            StartError::Config {
                variable: "KALIX_JWT_KEYS",
                problem,
            }
        })?);
    }
    let (bearer_keys, refresher) = match &config.jwt_jwks_url {
        None => (Arc::new(BearerKeys::fixed(jwt_keys)), None),
        Some(url) => {
            let keys = BearerKeys::published(jwt_keys, url.clone()).map_err(|problem| {
                StartError::Config {
                    variable: "KALIX_JWT_JWKS_URL",
                    problem,
                }
            })?;
            let keys = Arc::new(keys);
            // A provider that is down does not stop the start: tokens are refused (401) until
            // a fetch succeeds.
            let fetched = keys.fetch().await;
            if let Err(why) = &fetched {
                tracing::warn!(
                    %url,
                    "fetching the JWKS failed: {why}; bearer tokens its keys signed are refused \
                     until a fetch succeeds (tried again each minute)"
                );
            }
            let refresher = JwksRefresher {
                keys: Arc::clone(&keys),
                every: config.jwt_jwks_refresh,
                first_wait: JwksRefresher::wait_after(&fetched, config.jwt_jwks_refresh),
            };
            (keys, Some(refresher))
        }
    };
    let policy = crate::ingress::AccessPolicy {
        default_acl: settings.default_acl.clone(),
        trusted,
        bearer_keys,
        enforce_acls: !settings.acls_off,
    };
    if !policy.declares_acls(components) {
        tracing::warn!(
            "no access control list is declared: every route is open to the internet; set \
                 Service::default_acl (e.g. allow(service = \"*\")) and open routes with #[acl]"
        );
    }
    let needs_keys = components
        .iter()
        .any(|c| c.access.jwt.is_some() || c.handlers.iter().any(|h| h.access.jwt.is_some()));
    if needs_keys && policy.bearer_keys.is_empty() {
        tracing::warn!(
            "handlers require bearer tokens (#[jwt]) but no key verifies them: set \
             KALIX_JWT_KEYS or KALIX_JWT_JWKS_URL"
        );
    }
    Ok((Arc::new(policy), refresher))
}

/// The registered components, once their type ids, view tables and view columns check out.
/// The service's API description: the OpenAPI 3.1 document of its components' routes.
fn api_description(
    config: &Config,
    version: Option<&str>,
    access: &AccessSettings,
    components: &[&'static crate::registry::ComponentDescriptor],
) -> serde_json::Value {
    crate::openapi::document(
        crate::openapi::ApiInfo {
            title: &config.service_name,
            version,
            default_acl: access.default_acl.as_ref(),
        },
        components,
    )
}

fn checked_components() -> Result<Vec<&'static crate::registry::ComponentDescriptor>, StartError> {
    let components = registered_components();
    if components.is_empty() {
        return Err(StartError::NoComponents);
    }
    crate::registry::check_type_ids(&components)?;
    crate::registry::check_view_tables(&crate::registry::registered_views())?;
    crate::view::driver::check_columns().map_err(StartError::InvalidView)?;
    Ok(components)
}

/// The broker the configuration names: the embedded one, over the store, or NATS JetStream.
async fn open_broker(
    config: &Config,
    store: &Arc<dyn Store>,
    news: &Arc<tokio::sync::Notify>,
) -> Result<Arc<dyn Broker>, StartError> {
    Ok(match &config.broker {
        BrokerLocation::Embedded => Arc::new(EmbeddedBroker {
            store: Arc::clone(store),
            news: Arc::clone(news),
        }),
        BrokerLocation::Nats {
            url,
            subject_prefix,
        } => Arc::new(
            NatsBroker::connect(
                url,
                subject_prefix,
                Arc::clone(store),
                BROKER_TIMEOUT,
                (config.topic_retention, config.topic_max_bytes),
            )
            .await?,
        ),
    })
}

/// Whether a component needs the store: an entity, or an action using topics (the embedded
/// broker keeps them in the store).
fn keeps_state(component: &crate::registry::ComponentDescriptor) -> bool {
    component.type_id.is_some()
        || component.kind == crate::registry::ComponentKind::View
        || component
            .handlers
            .iter()
            .any(|h| h.publish.is_some() || h.topic_subscription().is_some())
}

/// How long the service waits for a broker to answer at start.
const BROKER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// How long a stopping service waits for requests in flight.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .field("dependencies", &self.dependencies)
            .field("custom_store", &self.store.is_some())
            .finish()
    }
}

/// A service serving in the background.
pub struct RunningService {
    local_addr: SocketAddr,
    client: ComponentClient,
    topics: Topics,
    store: Arc<dyn Store>,
    stop: Option<oneshot::Sender<()>>,
    /// Ended at stop: a view's update stream never ends by itself.
    open_streams: Arc<crate::view::ViewUpdates>,
    server: Option<JoinHandle<()>>,
    drivers: Option<RunningDrivers>,
    admin: Admin,
    /// The gRPC health service's statuses: `NOT_SERVING` once the stop begins.
    grpc_health: tonic_health::server::HealthReporter,
}

/// The admin listener: metrics and health, on its own address.
struct Admin {
    local_addr: SocketAddr,
    health: Arc<crate::ingress::Health>,
    stop: Option<oneshot::Sender<()>>,
}

impl Admin {
    /// Binds `KALIX_ADMIN_HOST:KALIX_ADMIN_PORT` and serves there; readiness asks `store`.
    async fn start(
        config: &Config,
        store: Arc<dyn Store>,
        api_description: serde_json::Value,
        api: Arc<crate::ingress::AdminApi>,
    ) -> Result<Self, StartError> {
        let address = format!("{}:{}", config.admin_host, config.admin_port);
        let listener = TcpListener::bind(&address)
            .await
            .map_err(|source| StartError::Bind {
                address: format!("{address} (the admin listener, KALIX_ADMIN_PORT)"),
                source,
            })?;
        let local_addr = listener.local_addr().map_err(StartError::Serve)?;
        tracing::info!(admin_addr = %local_addr, "admin listener: /metrics, /health/live, /health/ready, /openapi.json, /admin/");
        let health = crate::ingress::Health::new(store);
        let (stop, stopped) = oneshot::channel::<()>();
        // Few clients (a scraper, an orchestrator): a small connection cap.
        let limits = crate::ingress::ConnectionLimits {
            max_connections: 64,
            header_timeout: config.header_timeout,
        };
        tokio::spawn(crate::ingress::serve(
            listener,
            crate::ingress::Routers {
                http: crate::ingress::admin_router(
                    Arc::clone(&health),
                    api_description,
                    api,
                    local_addr.ip().is_loopback(),
                ),
                grpc: None,
            },
            limits,
            async move {
                let _ = stopped.await;
            },
        ));
        Ok(Self {
            local_addr,
            health,
            stop: Some(stop),
        })
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

impl std::fmt::Debug for RunningService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningService")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

impl RunningService {
    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of its admin listener (`/metrics`, `/health/live`, `/health/ready`).
    pub fn admin_addr(&self) -> SocketAddr {
        self.admin.local_addr
    }

    /// Its store, as it is open (for tests and tools: writing to it bypasses the entities,
    /// which do not see the change while they are in memory).
    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.store)
    }

    /// Its topics: publish to its subscribers, read what it publishes.
    pub fn topics(&self) -> Topics {
        self.topics.clone()
    }

    /// A component client calling the service in-process.
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }

    /// Waits until every `#[on_startup]` hook has succeeded or given up.
    pub async fn startup_hooks_finished(&mut self) {
        if let Some(drivers) = &mut self.drivers {
            drivers.finished(StartupHooks::NAME).await;
        }
    }

    /// Stops accepting connections, lets requests in flight finish, and returns.
    pub async fn stop(mut self) -> Result<(), StartError> {
        // Readiness turns 503 (and gRPC health NOT_SERVING) while requests in flight finish.
        self.admin.health.stopping();
        self.grpc_health
            .set_service_status("", tonic_health::ServingStatus::NotServing)
            .await;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Background work stops first, last started first, so it starts no new calls while
        // requests in flight finish.
        if let Some(drivers) = self.drivers.take() {
            drivers.stop().await;
        }
        self.open_streams.close();
        let Some(mut server) = self.server.take() else {
            return Ok(());
        };
        // Requests in flight get a grace period; long-lived streams do not hold the exit.
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, &mut server).await;
        self.admin.stop();
        match drained {
            Ok(Ok(())) => Ok(()),
            Ok(Err(join)) => Err(StartError::Serve(std::io::Error::other(join))),
            Err(_) => {
                tracing::warn!("connections still open after {SHUTDOWN_GRACE:?}; closing them");
                server.abort();
                Ok(())
            }
        }
    }
}

impl Drop for RunningService {
    fn drop(&mut self) {
        self.admin.health.stopping();
        self.admin.stop();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.open_streams.close();
        // Dropping the drivers aborts them.
        self.drivers.take();
    }
}

async fn open_store(location: &StoreLocation) -> Result<Arc<dyn Store>, StartError> {
    let store: Result<Arc<dyn Store>, _> = match location {
        StoreLocation::Sqlite(path) => SqliteStore::open(path).map(|s| Arc::new(s) as _),
        StoreLocation::SqliteMemory => SqliteStore::memory().map(|s| Arc::new(s) as _),
        StoreLocation::Postgres {
            url,
            schema,
            timeouts,
        } => PostgresStore::connect_with(url, schema, *timeouts)
            .await
            .map(|s| Arc::new(s) as _),
    };
    let store = store.map_err(|error| StartError::Config {
        variable: "KALIX_STORE",
        problem: error.to_string(),
    })?;
    tracing::info!(store = %describe(location), "store open");
    Ok(store)
}

/// The store's location for the log, without a password a URL may hold.
fn describe(location: &StoreLocation) -> String {
    match location {
        StoreLocation::Sqlite(path) => format!("sqlite://{}", path.display()),
        StoreLocation::SqliteMemory => "sqlite::memory:".to_owned(),
        StoreLocation::Postgres { url, schema, .. } => {
            let host = url.rsplit('@').next().unwrap_or(url);
            format!("postgres://…@{host} (schema {schema})")
        }
    }
}

/// Ctrl-C and SIGTERM, listened for from the moment they are registered.
struct ShutdownSignals {
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignals {
    fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Self {
                terminate: signal(SignalKind::terminate()).ok(),
                interrupt: signal(SignalKind::interrupt()).ok(),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves when either arrives.
    async fn received(self) {
        #[cfg(unix)]
        {
            async fn next(signal: Option<tokio::signal::unix::Signal>) {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = next(self.terminate) => {},
                () = next(self.interrupt) => {},
            }
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Service, StartError, StoreLocation};

    /// This crate's unit tests define no component, like a test binary that names nothing from
    /// the service's crate (the linker then drops its registrations).
    #[tokio::test]
    async fn a_binary_without_components_does_not_start_and_says_how_to_link_them() {
        let config = Config::default()
            .with_port(0)
            .with_admin_port(0)
            .with_store(StoreLocation::SqliteMemory);
        let error = Service::new().config(config).start().await.err();
        assert!(matches!(error, Some(StartError::NoComponents)), "{error:?}");
        let message = error.unwrap().to_string();
        assert!(message.contains("use my_service as _;"), "{message}");
    }
}
