//! Kalix's transfer-workflow sample: wallets are value entities, and a transfer between two of
//! them is a workflow that withdraws from one, then deposits into the other.

pub mod transfer;
pub mod wallet;
