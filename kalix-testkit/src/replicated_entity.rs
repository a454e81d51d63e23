//! Unit tests of replicated entities: one replica, or several in a simulator that a test
//! partitions and heals.

use kalix_core::ComponentClient;
use kalix_core::Metadata;
use kalix_core::replicated_entity::{
    DataChange, Effect, Replica, ReplicatedEntityComponent, ReplicatedEntityContext,
};

use crate::EffectResult;

/// The effect of one replicated entity command: its answer, side effects and change.
pub type ReplicatedEntityResult<D, R> = EffectResult<R, DataChange<D>>;

impl<D, R> EffectResult<R, DataChange<D>> {
    /// The data the command updated to, if it updated it.
    pub fn updated_data(&self) -> Option<&D> {
        match &self.kind {
            DataChange::Update(data) => Some(data),
            _ => None,
        }
    }

    /// Whether the command deleted the entity.
    pub fn was_deleted(&self) -> bool {
        matches!(self.kind, DataChange::Delete)
    }
}

/// Runs the command handlers of one replicated entity directly, on one replica, keeping its
/// data between calls as the runtime does: an update's changes are merged in, a delete is for
/// good. Forwards and side effects are recorded, not run.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_core::replicated_entity::ReplicatedCounter;
/// use kalix_testkit::ReplicatedEntityTestKit;
///
/// #[derive(Default)]
/// pub struct LikesEntity;
///
/// #[replicated_entity(type_id = "likes", id = "post_id")]
/// impl LikesEntity {
///     #[post("/likes/<post_id>/<by>")]
///     fn like(&self, likes: &ReplicatedCounter, by: i64) -> replicated_entity::Effect<ReplicatedCounter, i64> {
///         let likes = likes.increment(by);
///         let value = likes.value();
///         replicated_entity::Effect::update(likes).then_reply(value)
///     }
/// }
///
/// let mut testkit = ReplicatedEntityTestKit::new(LikesEntity);
/// let result = testkit.call(|entity, likes, _| entity.like(likes, 2));
/// assert_eq!(*result.reply(), 2);
/// assert_eq!(testkit.data().value(), 2);
/// ```
pub struct ReplicatedEntityTestKit<E: ReplicatedEntityComponent> {
    simulator: ReplicaSimulator<E>,
}

impl<E: ReplicatedEntityComponent> ReplicatedEntityTestKit<E> {
    /// A testkit for the entity with id `testkit-entity-id` (Kalix's default).
    pub fn new(entity: E) -> Self {
        Self {
            simulator: ReplicaSimulator::new(entity, 1),
        }
    }

    /// The data.
    pub fn data(&self) -> &E::State {
        self.simulator.data(0)
    }

    /// Whether the entity was deleted.
    pub fn is_deleted(&self) -> bool {
        self.simulator.is_deleted(0)
    }

    /// Runs one command and carries out its change, as the runtime does.
    pub fn call<R>(
        &mut self,
        handler: impl FnOnce(&E, &E::State, &ReplicatedEntityContext) -> Effect<E::State, R>,
    ) -> ReplicatedEntityResult<E::State, R> {
        self.simulator.call(0, handler)
    }
}

/// Several replicas of one replicated entity in one process, as the service's processes are:
/// a command runs on one replica, and its change reaches the replicas it is connected to at
/// once. A test partitions the replicas into groups that do not hear each other, runs commands
/// on both sides, heals the partition and checks that they converge.
///
/// ```
/// use kalix_core::prelude::*;
/// use kalix_core::replicated_entity::ReplicatedSet;
/// use kalix_testkit::ReplicaSimulator;
///
/// #[derive(Default)]
/// pub struct TagsEntity;
///
/// #[replicated_entity(type_id = "tags", id = "post_id")]
/// impl TagsEntity {
///     #[post("/tags/<post_id>/add/<tag>")]
///     fn add(&self, tags: &ReplicatedSet<String>, tag: String) -> replicated_entity::Effect<ReplicatedSet<String>, ()> {
///         replicated_entity::Effect::update(tags.add(tag)).then_reply(())
///     }
///
///     #[post("/tags/<post_id>/remove/<tag>")]
///     fn remove(&self, tags: &ReplicatedSet<String>, tag: String) -> replicated_entity::Effect<ReplicatedSet<String>, ()> {
///         replicated_entity::Effect::update(tags.remove(&tag)).then_reply(())
///     }
/// }
///
/// let mut replicas = ReplicaSimulator::new(TagsEntity, 2);
/// replicas.call(0, |e, tags, _| e.add(tags, "rust".to_owned()));
/// replicas.partition(&[&[0], &[1]]);
/// // Concurrently: one replica removes the tag, the other adds it again. The add wins.
/// replicas.call(0, |e, tags, _| e.remove(tags, "rust".to_owned()));
/// replicas.call(1, |e, tags, _| e.add(tags, "rust".to_owned()));
/// replicas.heal();
/// replicas.assert_converged();
/// assert!(replicas.data(0).contains(&"rust".to_owned()));
/// ```
pub struct ReplicaSimulator<E: ReplicatedEntityComponent> {
    entity: E,
    entity_id: String,
    replicas: Vec<Replica<E::State>>,
    /// Per replica, the group it is in: replicas hear each other within a group.
    groups: Vec<usize>,
}

impl<E: ReplicatedEntityComponent> ReplicaSimulator<E> {
    /// `count` connected replicas of the entity with id `testkit-entity-id`.
    pub fn new(entity: E, count: usize) -> Self {
        assert!(count > 0, "a simulator needs a replica");
        Self {
            entity,
            entity_id: "testkit-entity-id".to_owned(),
            replicas: (1..=count as u64)
                .map(|replica| Replica::merged(replica, []))
                .collect(),
            groups: vec![0; count],
        }
    }

    /// Replica `replica`'s data.
    pub fn data(&self, replica: usize) -> &E::State {
        self.replicas[replica].data()
    }

    /// Whether replica `replica` has the entity deleted.
    pub fn is_deleted(&self, replica: usize) -> bool {
        self.replicas[replica].is_deleted()
    }

    /// Runs one command on replica `replica`; its change reaches the replicas in its group.
    pub fn call<R>(
        &mut self,
        replica: usize,
        handler: impl FnOnce(&E, &E::State, &ReplicatedEntityContext) -> Effect<E::State, R>,
    ) -> ReplicatedEntityResult<E::State, R> {
        let context = ReplicatedEntityContext::new(
            self.entity_id.clone(),
            Metadata::new(),
            ComponentClient::disconnected(),
        );
        let entity = &self.entity;
        let ran = self.replicas[replica].run(E::TYPE_ID, &self.entity_id, |data| {
            handler(entity, data, &context)
        });
        match ran {
            Ok(ran) => {
                if ran.changed {
                    self.spread(replica);
                }
                EffectResult::new(ran.answer, ran.side_effects, ran.change)
            }
            Err(error) => EffectResult::new(
                kalix_core::Answer::Error(error),
                Vec::new(),
                DataChange::None,
            ),
        }
    }

    /// Splits the replicas into `groups` (each replica in one): replicas hear only the
    /// replicas of their group, until [`ReplicaSimulator::heal`].
    #[track_caller]
    pub fn partition(&mut self, groups: &[&[usize]]) {
        let mut placed = vec![false; self.replicas.len()];
        for (group, replicas) in groups.iter().enumerate() {
            for &replica in *replicas {
                assert!(!placed[replica], "replica {replica} is in two groups");
                placed[replica] = true;
                self.groups[replica] = group;
            }
        }
        assert!(
            placed.iter().all(|p| *p),
            "every replica must be in a group"
        );
    }

    /// Joins every replica again: each merges what the others changed meanwhile.
    pub fn heal(&mut self) {
        self.groups.iter_mut().for_each(|group| *group = 0);
        for replica in 0..self.replicas.len() {
            self.spread(replica);
        }
    }

    /// Panics unless every replica has the same data.
    #[track_caller]
    pub fn assert_converged(&self) {
        for (index, replica) in self.replicas.iter().enumerate().skip(1) {
            assert!(
                replica == &self.replicas[0],
                "replica {index} has {:?} where replica 0 has {:?}",
                replica.data(),
                self.replicas[0].data()
            );
        }
    }

    /// Merges replica `from` into every replica of its group.
    fn spread(&mut self, from: usize) {
        let source = self.replicas[from].clone();
        for (index, replica) in self.replicas.iter_mut().enumerate() {
            if index != from && self.groups[index] == self.groups[from] {
                replica.merge(&source);
            }
        }
    }
}
