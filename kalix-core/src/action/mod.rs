//! Actions: stateless handlers, and the effects they return.
//!
//! Put `#[action]` on an `impl` block; its methods with a route attribute become handlers.
//! A handler is an `async fn` (or a plain `fn`) taking `&self`, then any of: path parameters
//! (bound by name to the `<name>` segments of the route), `#[query]` parameters, `#[header("Name")]`
//! parameters, at most one JSON body, and `&ActionContext`. It returns an [`Effect`] or an
//! [`EffectStream`].
//!
//! ```
//! use kalix_core::prelude::*;
//!
//! #[derive(Default)]
//! pub struct Greeter;
//!
//! #[action]
//! impl Greeter {
//!     #[get("/hello/<name>")]
//!     async fn hello(&self, name: String, #[query] greeting: Option<String>) -> action::Effect<String> {
//!         let greeting = greeting.unwrap_or_else(|| "Hello".to_string());
//!         action::Effect::reply(format!("{greeting}, {name}!"))
//!     }
//! }
//! ```

mod component;
mod context;
mod effect;
mod side_effect;
mod stream;

pub use component::ActionComponent;
pub use context::ActionContext;
pub use effect::Effect;
pub use side_effect::SideEffect;
pub use stream::EffectStream;
