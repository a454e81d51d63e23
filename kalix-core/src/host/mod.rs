//! Component hosts: how the effect of each kind of component becomes an outcome.

pub(crate) mod action;
