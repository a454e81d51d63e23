//! `ReplicatedRegister`: one value, the last write wins.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::{HasState, Local, replicated_data};
use crate::replicated_entity::causal::ReplicaId;

/// Which write a register keeps when replicas write it concurrently: the one with the greater
/// clock (ties broken by replica).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    /// The system's clock in milliseconds, past the clock of the value replaced: the last
    /// write wins.
    Default,
    /// The system's clock reversed, below the clock of the value replaced: the first write wins
    /// (a later write never replaces it).
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
    bound(serialize = "T: Serialize", deserialize = "T: DeserializeOwned")
)]
pub struct ReplicatedRegister<T> {
    state: Cell<T>,
    #[serde(skip)]
    local: Local<Cell<T>>,
}

/// The written value with its clock and replica, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cell<T>(Option<Written<T>>);

/// A write: its value and what orders it among concurrent writes (clock, then replica, then
/// `seq`, one past the write it replaced, so two writes of one replica never tie).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Written<T> {
    clock: u64,
    replica: ReplicaId,
    seq: u64,
    value: T,
}

impl<T> Written<T> {
    fn order(&self) -> (u64, ReplicaId, u64) {
        (self.clock, self.replica, self.seq)
    }
}

impl<T: Clone> Cell<T> {
    /// Keeps the write with the greater clock, then replica, then sequence.
    pub fn merge(&mut self, other: &Self) {
        if let Some(theirs) = &other.0 {
            let newer = self
                .0
                .as_ref()
                .is_none_or(|mine| theirs.order() > mine.order());
            if newer {
                self.0 = Some(theirs.clone());
            }
        }
    }
}

impl<T> Default for ReplicatedRegister<T> {
    fn default() -> Self {
        Self {
            state: Cell(None),
            local: Local::default(),
        }
    }
}

impl<T> HasState for ReplicatedRegister<T> {
    type State = Cell<T>;
}

replicated_data!(ReplicatedRegister<T> where T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static);

impl<T> ReplicatedRegister<T>
where
    T: Clone + PartialEq + std::fmt::Debug + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The value, `None` until written.
    pub fn get(&self) -> Option<&T> {
        self.state.0.as_ref().map(|written| &written.value)
    }

    /// The register with `value` written at the default clock (the last write wins).
    pub fn set(&self, value: T) -> Self {
        self.set_with_clock(value, Clock::Default)
    }

    /// The register with `value` written at `clock`.
    pub fn set_with_clock(&self, value: T, clock: Clock) -> Self {
        let now = crate::replicated_entity::now_ms();
        let seq = self.state.0.as_ref().map_or(0, |written| written.seq) + 1;
        let clock = match clock {
            Clock::Default => {
                let current = self.state.0.as_ref().map_or(0, |written| written.clock);
                now.max(current.saturating_add(1))
            }
            // Below the clock of the value seen, so a later write never replaces it.
            Clock::Reverse => {
                let current = self
                    .state
                    .0
                    .as_ref()
                    .map_or(u64::MAX, |written| written.clock);
                (u64::MAX - now).min(current.saturating_sub(1))
            }
            Clock::Custom(clock) => clock,
        };
        self.changed(Cell(Some(Written {
            clock,
            replica: self.me(),
            seq,
            value,
        })))
    }
}
