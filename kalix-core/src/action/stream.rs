//! Streaming replies: a handler that answers with many messages.

use futures_util::stream::{BoxStream, Stream, StreamExt};

use crate::action::Effect;

/// A stream of effects: the return type of a handler that replies with many messages.
///
/// Over HTTP each reply becomes one line of newline-delimited JSON (`application/x-ndjson`), or
/// one server-sent event when the request asks for `text/event-stream`. An error effect ends the
/// stream with a problem object (nothing after it is polled); an ignored effect is skipped; a
/// panic while producing an element ends the stream with a 500 element. Side effects of streamed
/// effects are not run.
///
/// ```
/// use kalix_core::prelude::*;
///
/// fn count_to(n: u32) -> action::EffectStream<u32> {
///     action::EffectStream::replies(futures_util::stream::iter(1..=n))
/// }
/// ```
#[must_use = "a stream does nothing unless the handler returns it"]
pub struct EffectStream<T> {
    effects: BoxStream<'static, Effect<T>>,
}

impl<T: Send + 'static> EffectStream<T> {
    /// A stream of effects.
    pub fn new(effects: impl Stream<Item = Effect<T>> + Send + 'static) -> Self {
        Self {
            effects: effects.boxed(),
        }
    }

    /// A stream that replies with each value.
    pub fn replies(values: impl Stream<Item = T> + Send + 'static) -> Self {
        Self::new(values.map(Effect::reply))
    }

    /// The effects, in order.
    pub fn into_effects(self) -> BoxStream<'static, Effect<T>> {
        self.effects
    }
}

/// A stream of the effects an iterator yields (computed up front), without a stream crate:
/// `effects.into_iter().collect::<EffectStream<_>>()`.
///
/// ```
/// use kalix_core::prelude::*;
///
/// fn count_to(n: u32) -> action::EffectStream<u32> {
///     (1..=n).map(action::Effect::reply).collect()
/// }
/// ```
impl<T: Send + 'static> FromIterator<Effect<T>> for EffectStream<T> {
    fn from_iter<I: IntoIterator<Item = Effect<T>>>(effects: I) -> Self {
        let effects: Vec<Effect<T>> = effects.into_iter().collect();
        Self::new(futures_util::stream::iter(effects))
    }
}
