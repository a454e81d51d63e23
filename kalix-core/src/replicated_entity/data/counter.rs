//! `ReplicatedCounter`: a counter every replica increments and decrements.

use serde::{Deserialize, Serialize};

use super::{HasState, Local, replicated_data};
use crate::replicated_entity::causal::{Causal, Entries};

/// A counter: each replica keeps its own increments and decrements, and the value is their
/// sum. Concurrent changes all count.
///
/// ```
/// use kalix_core::replicated_entity::{ReplicatedCounter, ReplicatedData};
///
/// let counter = ReplicatedCounter::default().increment(5).decrement(2);
/// assert_eq!(counter.value(), 3);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplicatedCounter {
    state: Causal<Entries<(), Totals>>,
    #[serde(skip)]
    local: Local<Causal<Entries<(), Totals>>>,
}

/// One replica's increments and decrements.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    #[serde(rename = "i")]
    pub up: u64,
    #[serde(rename = "d")]
    pub down: u64,
}

impl Totals {
    /// These totals increased by `by` (decreased if negative), saturating: one replica cannot
    /// count past `u64`.
    pub fn plus(self, by: i64) -> Self {
        let amount = by.unsigned_abs();
        match by >= 0 {
            true => Totals {
                up: self.up.saturating_add(amount),
                ..self
            },
            false => Totals {
                down: self.down.saturating_add(amount),
                ..self
            },
        }
    }

    /// These totals decreased by `by` (increased if negative).
    pub fn minus(self, by: i64) -> Self {
        let amount = by.unsigned_abs();
        match by >= 0 {
            true => Totals {
                down: self.down.saturating_add(amount),
                ..self
            },
            false => Totals {
                up: self.up.saturating_add(amount),
                ..self
            },
        }
    }

    /// The sum of several replicas' totals, clamped to `i64`.
    pub fn value<'a>(totals: impl IntoIterator<Item = &'a Totals>) -> i64 {
        let sum: i128 = totals
            .into_iter()
            .map(|t| t.up as i128 - t.down as i128)
            .sum();
        sum.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }
}

impl HasState for ReplicatedCounter {
    type Store = Entries<(), Totals>;
}

replicated_data!(ReplicatedCounter where);

impl ReplicatedCounter {
    /// The counter's value.
    pub fn value(&self) -> i64 {
        Totals::value(self.state.store.iter().map(|(_, _, totals)| totals))
    }

    /// The counter increased by `by` (decreased if it is negative).
    pub fn increment(&self, by: i64) -> Self {
        self.change(|mine| mine.plus(by))
    }

    /// The counter decreased by `by` (increased if it is negative).
    pub fn decrement(&self, by: i64) -> Self {
        self.change(|mine| mine.minus(by))
    }

    fn change(&self, to: impl FnOnce(Totals) -> Totals) -> Self {
        let me = self.me();
        let mine = self.state.store.get(&(), me).copied().unwrap_or_default();
        self.changed(self.state.put_delta(me, (), to(mine), |_, _| false))
    }
}
