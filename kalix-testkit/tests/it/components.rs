//! Components exercising every feature of actions. Every test's service serves all of them.

use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// What components saw, shared with the test that started the service.
#[derive(Clone, Default)]
pub struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    pub fn push(&self, entry: impl Into<String>) {
        self.0.lock().unwrap().push(entry.into());
    }

    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }

    pub fn count(&self, entry: &str) -> usize {
        self.entries().iter().filter(|e| *e == entry).count()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    pub q: String,
    pub limit: Option<u32>,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Payload {
    pub text: String,
}

pub struct Effects {
    recorder: Recorder,
}

impl Effects {
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }
}

#[action(new = Effects::new, forward_headers = ["X-Tenant", "Role"])]
impl Effects {
    #[post("/record/<entry>")]
    pub async fn record(&self, entry: String) -> action::Effect<String> {
        self.recorder.push(entry);
        action::Effect::reply("recorded".to_owned())
    }

    #[get("/effects/echo/<n>")]
    pub fn echo(&self, n: i64) -> action::Effect<i64> {
        action::Effect::reply(n)
    }

    #[get("/effects/reply-with")]
    pub async fn reply_with(&self) -> action::Effect<String> {
        let metadata = Metadata::new()
            .add("X-Custom", "yes")
            .with_status_code(SuccessCode::ACCEPTED);
        action::Effect::reply_with("accepted".to_owned(), metadata)
    }

    #[get("/effects/created")]
    pub async fn created(&self) -> action::Effect<String> {
        action::Effect::reply_with(
            String::new(),
            Metadata::new().with_status_code(SuccessCode::NO_CONTENT),
        )
    }

    #[get("/effects/error/<status>")]
    pub async fn error(&self, status: u16) -> action::Effect<String> {
        match ErrorCode::from_u16(status) {
            Some(code) => action::Effect::error_with_status(format!("failed with {status}"), code),
            None => action::Effect::error("failed with the default status"),
        }
    }

    #[get("/effects/ignore")]
    pub async fn ignore(&self) -> action::Effect<String> {
        action::Effect::ignore()
    }

    #[get("/effects/async-reply/<n>")]
    pub async fn async_reply(&self, n: i64, ctx: &ActionContext) -> action::Effect<i64> {
        let echo = ctx.component_client().action::<Effects>().echo(n);
        action::Effect::async_reply(async move { Ok(echo.await? * 2) })
    }

    /// The client taken from the context goes into the reply's future as it is.
    #[get("/effects/tally-doubled/<id>")]
    pub async fn tally_doubled(&self, id: String, ctx: &ActionContext) -> action::Effect<i64> {
        let client = ctx.component_client();
        action::Effect::async_reply(async move {
            let total = client.value_entity::<Tally>(id).get().await?;
            Ok(total * 2)
        })
    }

    #[get("/effects/async-effect/<n>")]
    pub async fn async_effect(&self, n: i64, ctx: &ActionContext) -> action::Effect<i64> {
        let client = ctx.component_client().action::<Effects>();
        action::Effect::async_effect(async move {
            match client.echo(n).await {
                Ok(value) if value < 0 => {
                    action::Effect::error_with_status("negative", ErrorCode::CONFLICT)
                }
                Ok(value) => action::Effect::forward(client.echo(value + 1)),
                Err(error) => action::Effect::error(error.description().to_owned()),
            }
        })
    }

    #[post("/effects/side-effects/<id>")]
    pub async fn side_effects(&self, id: String, ctx: &ActionContext) -> action::Effect<String> {
        let client = ctx.component_client().action::<Effects>();
        action::Effect::reply("ok".to_owned())
            .add_side_effect(SideEffect::synchronous(client.record(format!("{id}-sync"))))
            .add_side_effect(SideEffect::of(client.record(format!("{id}-async"))))
            .add_side_effect(SideEffect::of(client.error(503)))
    }

    #[get("/effects/forward-with-metadata")]
    pub async fn forward_with_metadata(&self, ctx: &ActionContext) -> action::Effect<String> {
        let call = ctx.component_client().action::<Effects>().whoami();
        action::Effect::forward(call.with_metadata(Metadata::new().add("Role", "Admin")))
    }

    #[get("/effects/whoami")]
    pub async fn whoami(&self, ctx: &ActionContext) -> action::Effect<String> {
        action::Effect::reply(ctx.metadata().get("Role").unwrap_or("nobody").to_owned())
    }

    #[get("/effects/tenant")]
    pub async fn tenant(
        &self,
        #[header("X-Tenant")] tenant: Option<String>,
        ctx: &ActionContext,
    ) -> action::Effect<Vec<String>> {
        let from_metadata = ctx.metadata().get("x-tenant").unwrap_or("-").to_owned();
        action::Effect::reply(vec![
            tenant.unwrap_or_else(|| "-".to_owned()),
            from_metadata,
        ])
    }

    #[get("/effects/role")]
    pub async fn role(&self, #[header("Role")] role: String) -> action::Effect<String> {
        action::Effect::reply(role)
    }

    #[get("/effects/panic/<message>")]
    pub async fn panic(&self, message: String) -> action::Effect<String> {
        panic!("{message}");
    }

    #[get("/effects/search")]
    async fn search(
        &self,
        #[query] q: String,
        #[query] limit: Option<u32>,
        #[query] tags: Vec<String>,
    ) -> action::Effect<Search> {
        action::Effect::reply(Search { q, limit, tags })
    }

    // Borrowed text parameters: read as a `String` and lent to the handler.
    #[get("/effects/greet/<name>")]
    pub async fn greet(&self, name: &str, #[query] title: &str) -> action::Effect<String> {
        action::Effect::reply(format!("Hello, {title} {name}"))
    }

    #[get("/effects/sleep/<ms>")]
    pub async fn sleep(&self, ms: u64) -> action::Effect<u64> {
        tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
        action::Effect::reply(ms)
    }

    #[put("/effects/payload/<id>")]
    pub async fn payload(&self, id: u32, payload: Payload) -> action::Effect<String> {
        action::Effect::reply(format!("{id}:{}", payload.text))
    }

    #[patch("/effects/payload/<id>/<flag>")]
    pub async fn flag(&self, id: u32, flag: bool) -> action::Effect<String> {
        action::Effect::reply(format!("{id}:{flag}"))
    }

    #[delete("/effects/payload/<id>")]
    pub async fn remove(&self, id: u32, #[query] ratio: Option<f64>) -> action::Effect<String> {
        action::Effect::reply(format!("{id}:{ratio:?}"))
    }

    #[get("/effects/stream/<n>")]
    pub async fn stream(&self, n: u32) -> action::EffectStream<u32> {
        action::EffectStream::replies(futures_util::stream::iter(1..=n))
    }

    #[get("/effects/stream-error-then-silence")]
    pub fn stream_error_then_silence(&self) -> action::EffectStream<u32> {
        let first = futures_util::stream::iter(vec![
            action::Effect::reply(1),
            action::Effect::error("stop here"),
        ]);
        action::EffectStream::new(first.chain(futures_util::stream::pending()))
    }

    #[get("/effects/stream-panic")]
    pub fn stream_panic(&self) -> action::EffectStream<u32> {
        action::EffectStream::replies(futures_util::stream::iter(1..=3).map(|i| {
            assert!(i < 2, "element {i} cannot be produced");
            i
        }))
    }

    #[get("/effects/countdown/<n>")]
    pub async fn countdown(&self, n: u32, ctx: &ActionContext) -> action::Effect<u32> {
        if n == 0 {
            return action::Effect::reply(0);
        }
        action::Effect::forward(ctx.component_client().action::<Effects>().countdown(n - 1))
    }

    #[get("/effects/content-type")]
    pub async fn content_type(&self) -> action::Effect<String> {
        let metadata = Metadata::new()
            .add("Content-Type", "application/vnd.kalix+json")
            .add("Content-Length", "1");
        action::Effect::reply_with("typed".to_owned(), metadata)
    }

    #[get("/effects/stream-with-error/<n>")]
    pub fn stream_with_error(&self, n: u32) -> action::EffectStream<u32> {
        let effects = (1..=n)
            .map(|i| match i {
                2 => action::Effect::ignore(),
                i if i == n => action::Effect::error("stream failed"),
                i => action::Effect::reply(i),
            })
            .collect::<Vec<_>>();
        action::EffectStream::new(futures_util::stream::iter(effects))
    }
}

/// Start-up hooks: one that succeeds on its third attempt, one that never does.
pub struct Startup {
    recorder: Recorder,
}

#[action(new = Startup::new)]
impl Startup {
    fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }

    #[on_startup(max_retries = 5)]
    pub async fn init(&self) -> action::Effect<String> {
        self.recorder.push("init");
        if self.recorder.count("init") < 3 {
            return action::Effect::error("not ready yet");
        }
        action::Effect::reply("done".to_owned())
    }

    #[on_startup(max_retries = 2)]
    #[post("/startup/always-fails")]
    pub async fn always_fails(&self) -> action::Effect<String> {
        self.recorder.push("always_fails");
        action::Effect::error_with_status("broken", ErrorCode::SERVICE_UNAVAILABLE)
    }
}

/// A value entity for host behaviour: a running total per id; adding 13 panics.
#[derive(Default)]
pub struct Tally;

#[value_entity(type_id = "tally", id = "id")]
impl Tally {
    #[post("/tally/<id>/add/<n>")]
    pub fn add(&self, total: &i64, n: i64) -> value_entity::Effect<i64, i64> {
        assert!(n != 13, "unlucky number");
        value_entity::Effect::update_state(total + n).then_reply(total + n)
    }

    /// A body of the state's own type, marked as such.
    #[put("/tally/<id>")]
    pub fn set(&self, _total: &i64, #[body] total: i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::update_state(total).then_reply(total)
    }

    #[get("/tally/<id>")]
    pub fn get(&self, total: &i64) -> value_entity::Effect<i64, i64> {
        value_entity::Effect::reply(*total)
    }

    /// Adds `n`, then forwards to `get`: the reply is the forward's.
    #[post("/tally/<id>/add-then-read/<n>")]
    pub fn add_then_read(
        &self,
        total: &i64,
        n: i64,
        ctx: &ValueEntityContext,
    ) -> value_entity::Effect<i64, i64> {
        let read = ctx
            .component_client()
            .value_entity::<Tally>(ctx.entity_id())
            .get();
        value_entity::Effect::update_state(total + n).then_forward(read)
    }
}

/// The events of `Ledger`; one variant is stored under an older name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum LedgerEvent {
    Credited {
        amount: i64,
    },
    #[serde(rename = "Closed")]
    ClosedForGood,
}

/// An event-sourced entity for host behaviour: adding 13 panics; a closed ledger is deleted.
#[derive(Default)]
pub struct Ledger;

#[event_sourced_entity(type_id = "ledger", id = "id", snapshot_every = 3)]
impl Ledger {
    #[post("/ledger/<id>/credit/<amount>")]
    pub fn credit(
        &self,
        _balance: &i64,
        amount: i64,
    ) -> event_sourced_entity::Effect<i64, LedgerEvent, i64> {
        assert!(amount != 13, "unlucky number");
        event_sourced_entity::Effect::emit_events(vec![
            LedgerEvent::Credited { amount },
            LedgerEvent::Credited { amount },
        ])
        .then_reply(|balance| *balance)
    }

    #[post("/ledger/<id>/close")]
    pub fn close(&self, _balance: &i64) -> event_sourced_entity::Effect<i64, LedgerEvent, String> {
        event_sourced_entity::Effect::emit_event(LedgerEvent::ClosedForGood)
            .delete_entity()
            .then_reply(|balance| format!("closed at {balance}"))
    }

    #[get("/ledger/<id>")]
    pub fn balance(&self, balance: &i64) -> event_sourced_entity::Effect<i64, LedgerEvent, i64> {
        event_sourced_entity::Effect::reply(*balance)
    }

    #[event_handler]
    pub fn apply(&self, balance: i64, event: &LedgerEvent) -> i64 {
        match event {
            LedgerEvent::Credited { amount } => balance + amount,
            LedgerEvent::ClosedForGood => balance,
        }
    }
}

/// A source for the subscription tests: a note per id.
#[derive(Default)]
pub struct Signal;

#[value_entity(type_id = "signal", id = "id")]
impl Signal {
    #[put("/signal/<id>")]
    pub fn set(&self, _note: &Payload, #[body] note: Payload) -> value_entity::Effect<Payload, ()> {
        value_entity::Effect::update_state(note).then_reply(())
    }
}

/// Subscribes to `Signal`: a note `fail-N` fails its first N deliveries, `panic-N` panics in
/// them; every attempt and every success is recorded.
pub struct FlakySubscriber {
    recorder: Recorder,
}

impl FlakySubscriber {
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }
}

#[action(new = FlakySubscriber::new)]
impl FlakySubscriber {
    #[subscribe(value_entity = Signal)]
    pub async fn on_signal(&self, note: Payload, ctx: &ActionContext) -> action::Effect<()> {
        let seen = format!("{}:{}", ctx.event_subject().unwrap_or("?"), note.text);
        let attempt = format!("flaky attempt {seen}");
        self.recorder.push(attempt.clone());
        let attempts = self.recorder.count(&attempt);
        let failures = |prefix: &str| {
            note.text
                .strip_prefix(prefix)
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0)
        };
        if attempts <= failures("fail-") {
            return action::Effect::error(format!("failing {seen}, attempt {attempts}"));
        }
        assert!(attempts > failures("panic-"), "panicking on {seen}");
        self.recorder.push(format!("flaky done {seen}"));
        action::Effect::reply(())
    }
}

/// Subscribes to `Signal` too, and never fails: it goes on while `FlakySubscriber` retries.
pub struct SteadySubscriber {
    recorder: Recorder,
}

impl SteadySubscriber {
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }
}

#[action(new = SteadySubscriber::new)]
impl SteadySubscriber {
    #[subscribe(value_entity = Signal)]
    pub async fn on_signal(&self, note: Payload, ctx: &ActionContext) -> action::Effect<()> {
        let subject = ctx.event_subject().unwrap_or("?");
        self.recorder
            .push(format!("steady {subject}:{}", note.text));
        action::Effect::reply(())
    }
}

/// A route handler that publishes its reply too.
#[derive(Default)]
pub struct Announcer;

#[action]
impl Announcer {
    #[post("/announce")]
    #[publish(topic = "announcements")]
    pub async fn announce(&self, note: Payload) -> action::Effect<Payload> {
        action::Effect::reply_with(note, Metadata::new().add(Metadata::CE_SUBJECT, "board"))
    }
}

/// Records every event of `Ledger`.
pub struct LedgerWatcher {
    recorder: Recorder,
}

impl LedgerWatcher {
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }
}

#[action(new = LedgerWatcher::new)]
impl LedgerWatcher {
    #[subscribe(event_sourced_entity = Ledger)]
    pub async fn on_event(&self, event: LedgerEvent, ctx: &ActionContext) -> action::Effect<()> {
        let subject = ctx.event_subject().unwrap_or("?");
        let seq = ctx.event_sequence().unwrap_or(0);
        self.recorder
            .push(format!("ledger {subject}#{seq}: {event:?}"));
        action::Effect::reply(())
    }
}

/// Bytes in and out of topics.
#[derive(Default)]
pub struct RawBytes;

#[action]
impl RawBytes {
    /// `n` bytes counting up from 0, as the reply and on topic `raw-out`.
    #[post("/raw/<n>")]
    #[publish(topic = "raw-out")]
    pub async fn emit(&self, n: u8) -> action::Effect<Vec<u8>> {
        action::Effect::reply((0..n).collect())
    }
}

/// Records the bytes of each message of topic `raw-in`.
pub struct RawReader {
    recorder: Recorder,
}

impl RawReader {
    pub fn new(dependencies: &Dependencies) -> Result<Self, MissingDependency> {
        Ok(Self {
            recorder: dependencies.get()?,
        })
    }
}

#[action(new = RawReader::new)]
impl RawReader {
    #[subscribe(topic = "raw-in")]
    pub async fn on_bytes(&self, bytes: Vec<u8>) -> action::Effect<()> {
        self.recorder.push(format!("raw {bytes:?}"));
        action::Effect::reply(())
    }
}
