//! `ReplicatedVote`: each replica's vote.

use serde::{Deserialize, Serialize};

use super::{HasState, Local, replicated_data};
use crate::replicated_entity::causal::{Causal, Entries};

/// A vote: each replica (process) that voted holds one vote, `true` or `false`, and may change
/// it. The voters are the replicas that voted.
///
/// ```
/// use kalix_core::replicated_entity::ReplicatedVote;
///
/// let vote = ReplicatedVote::default().vote(true);
/// assert!(vote.self_vote() && vote.is_unanimous() && vote.is_majority());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReplicatedVote {
    state: Causal<Entries<(), bool>>,
    #[serde(skip)]
    local: Local<Causal<Entries<(), bool>>>,
}

impl HasState for ReplicatedVote {
    type Store = Entries<(), bool>;
}

replicated_data!(ReplicatedVote where);

impl ReplicatedVote {
    /// This replica's vote (`false` until it votes).
    pub fn self_vote(&self) -> bool {
        self.state
            .store
            .get(&(), self.me())
            .copied()
            .unwrap_or(false)
    }

    /// How many replicas voted.
    pub fn voters(&self) -> usize {
        self.state.store.iter().count()
    }

    /// How many replicas voted `true`.
    pub fn votes_for(&self) -> usize {
        self.state
            .store
            .iter()
            .filter(|(_, _, vote)| **vote)
            .count()
    }

    /// Whether at least one replica voted `true`.
    pub fn is_at_least_one(&self) -> bool {
        self.votes_for() > 0
    }

    /// Whether more than half of the voters voted `true`.
    pub fn is_majority(&self) -> bool {
        self.votes_for() * 2 > self.voters()
    }

    /// Whether every voter voted `true` (and there is one).
    pub fn is_unanimous(&self) -> bool {
        self.voters() > 0 && self.votes_for() == self.voters()
    }

    /// The vote with this replica's vote set to `vote`.
    pub fn vote(&self, vote: bool) -> Self {
        self.changed(self.state.put_delta(self.me(), (), vote, |_, _| false))
    }
}
