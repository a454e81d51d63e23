//! The replicated entities sample's tests: its HTTP contract in process, unit tests with the
//! testkit and the replica simulator, SIGKILL on SQLite, and two and three processes on one
//! PostgreSQL.

mod api;
mod contract;
mod kill;
mod processes;
mod unit;
