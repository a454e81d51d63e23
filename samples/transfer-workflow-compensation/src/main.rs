//! Serves the transfer-workflow-compensation sample: `cargo run -p transfer-workflow-compensation`,
//! then `curl -X POST localhost:9000/wallet/a/create/100`,
//! `curl -X PUT localhost:9000/transfer/t1 -H 'Content-Type: application/json' -d '{"from":"a","to":"missing","amount":10}'`
//! and `curl localhost:9000/transfer/t1` (it ends COMPENSATION_COMPLETED).

// Link the components of the library so their registrations are part of this binary.
use transfer_workflow_compensation as _;

fn main() -> Result<(), kalix_core::StartError> {
    kalix_core::Service::new()
        .version(env!("CARGO_PKG_VERSION"))
        .run()
}
