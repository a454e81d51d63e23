//! Kalix's transfer-workflow-compensation sample: a transfer between two wallets that waits for
//! acceptation above 1000, times out, retries, fails over and compensates a withdrawal whose
//! deposit failed.

pub mod transfer;
pub mod wallet;
