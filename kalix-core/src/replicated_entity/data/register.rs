//! `ReplicatedRegister`: one value, the last write wins.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{HasState, Local, replicated_data};
use crate::replicated_entity::causal::{Causal, Entries, ReplicaId};

/// Which write a register keeps when replicas write it concurrently: the one with the greater
/// clock (ties broken by replica).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system's clock in milliseconds, past the clock of the value replaced: the last
    /// write wins.
    Default,
    /// The system's clock reversed, below the clock of the value seen: the first write wins (a
    /// later write never replaces it).
    Reverse,
    /// A clock value the handler gives (a version it keeps, say): the greatest wins.
    Custom(u64),
}

/// A register: one value, `None` until written. When replicas write it concurrently, the write
/// with the greater clock wins ([`Clock`]).
///
/// ```
/// use kalix_core::replicated_entity::ReplicatedRegister;
///
/// let register = ReplicatedRegister::default().set("blue".to_owned());
/// assert_eq!(register.get(), Some(&"blue".to_owned()));
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    transparent,
    bound(
        serialize = "T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static",
        deserialize = "T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static"
    )
)]
pub struct ReplicatedRegister<T> {
    state: Causal<Entries<(), Written<T>>>,
    #[serde(skip)]
    local: Local<Causal<Entries<(), Written<T>>>>,
}

/// A replica's write: its value and what orders it among concurrent writes (clock, then
/// replica, then `seq`, one past the write it replaced, so two writes of one replica never
/// tie).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Written<T> {
    clock: u64,
    seq: u64,
    value: T,
}

impl<T> Default for ReplicatedRegister<T> {
    fn default() -> Self {
        Self {
            state: Causal::default(),
            local: Local::default(),
        }
    }
}

impl<T> HasState for ReplicatedRegister<T>
where
    T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Store = Entries<(), Written<T>>;
}

replicated_data!(ReplicatedRegister<T> where T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static);

impl<T> ReplicatedRegister<T>
where
    T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The winning write: the greatest by clock, replica and sequence.
    fn winner(&self) -> Option<(ReplicaId, &Written<T>)> {
        self.state
            .store
            .of_key(&())
            .max_by_key(|(replica, written)| (written.clock, *replica, written.seq))
    }

    /// The value, `None` until written.
    pub fn get(&self) -> Option<&T> {
        self.winner().map(|(_, written)| &written.value)
    }

    /// The register with `value` written at the default clock (the last write wins).
    pub fn set(&self, value: T) -> Self {
        self.set_with_clock(value, Clock::Default)
    }

    /// The register with `value` written at `clock`. A write that orders below the value it
    /// sees (a `Reverse` clock, a smaller `Custom` one) changes nothing.
    pub fn set_with_clock(&self, value: T, clock: Clock) -> Self {
        let now = crate::timers::Clock::now_ms(&crate::timers::SystemClock);
        let winner = self.winner();
        let (current_clock, current_seq) =
            winner.map_or((None, 0), |(_, w)| (Some(w.clock), w.seq));
        let clock = match clock {
            Clock::Default => now.max(current_clock.map_or(0, |c| c.saturating_add(1))),
            Clock::Reverse => {
                (u64::MAX - now).min(current_clock.map_or(u64::MAX, |c| c.saturating_sub(1)))
            }
            Clock::Custom(clock) => clock,
        };
        let me = self.me();
        let written = Written {
            clock,
            seq: current_seq + 1,
            value,
        };
        let order = (written.clock, me, written.seq);
        if winner.is_some_and(|(replica, w)| (w.clock, replica, w.seq) > order) {
            return self.clone();
        }
        // The write replaces every write it saw (all order below it).
        self.changed(self.state.put_delta(me, (), written, |_, _| true))
    }
}
