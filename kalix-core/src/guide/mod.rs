//! The guide: how each part of a service works, chapter by chapter, for readers who finished
//! the README's tour. Every example here is compiled and run as a doc test, so it stays true.
//!
//! | chapter | what it covers |
//! |---|---|
//! | [`components`] | handlers and their arguments, effects, the component client, idempotency keys, value and event-sourced entities, start-up hooks, dependencies, bad input |
//! | [`eventing`] | subscriptions to entities and topics, publishing, brokers, streams between services, retention |
//! | [`replicated_entities`] | state every process changes at once: the replicated data types, write consistency, what a read may miss, the replica simulator |
//! | [`views`] | tables fed by entities, events, topics and streams; the query language; paging and streams |
//! | [`timers`] | durable, named, cancelable calls for later; the clock tests control |
//! | [`workflows`] | durable multi-step processes: steps, timeouts, recovery, compensation |
//! | [`grpc`] | `.proto` services: the build helper, handlers of methods, errors as codes, streaming, transcoding, reflection and health, testing with generated clients |
//! | [`security`] | who may call what: access control lists, services signing their calls, JWT bearer tokens, the production checklist |
//! | [`operating`] | the admin listener: health probes for orchestrators, the API description (OpenAPI 3.1), the admin API and the developer console, Prometheus metrics (the runtime's and your own), example queries; traces over OTLP; JSON logs |
//! | [`postgres`] | running on PostgreSQL, several copies of a service on one database |
//! | [`configuration`] | every setting (variable and flag), limits and timeouts |
//!
//! Testing is the chapter of `kalix-testkit`'s documentation (its `guide` module), beside the
//! testkits it describes.

#[doc = include_str!("components.md")]
pub mod components {}

#[doc = include_str!("eventing.md")]
pub mod eventing {}

#[doc = include_str!("replicated_entities.md")]
pub mod replicated_entities {}

#[doc = include_str!("views.md")]
pub mod views {}

#[doc = include_str!("timers.md")]
pub mod timers {}

#[doc = include_str!("workflows.md")]
pub mod workflows {}

#[doc = include_str!("grpc.md")]
pub mod grpc {}

#[doc = include_str!("security.md")]
pub mod security {}

#[doc = include_str!("operating.md")]
pub mod operating {}

#[doc = include_str!("postgres.md")]
pub mod postgres {}

#[doc = include_str!("configuration.md")]
pub mod configuration {}
