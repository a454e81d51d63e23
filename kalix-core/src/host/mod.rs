//! Component hosts: how each kind of component runs a call and carries out its effect.

pub(crate) mod action;
pub(crate) mod value_entity;

use std::sync::Arc;
use std::time::Duration;

use crate::dependencies::Dependencies;
use crate::store::{GroupCommitter, Store};

/// What building a component may use: the user's dependencies and the runtime's services.
pub struct ComponentEnv<'a> {
    /// Values supplied with `Service::dependency`.
    pub dependencies: &'a Dependencies,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) committer: GroupCommitter,
    pub(crate) entities: EntitySettings,
}

/// How entity hosts keep entities in memory.
#[derive(Clone, Copy, Debug)]
pub(crate) struct EntitySettings {
    /// An entity idle this long is dropped from memory.
    pub passivation_timeout: Duration,
    /// At most this many entities of one type are kept in memory.
    pub max_active: usize,
}
