//! What a value entity's command handler can see.

use crate::client::ComponentClient;
use crate::metadata::Metadata;

/// The context of one command to a value entity: its id, the metadata, and a client to build
/// calls for `then_forward` and side effects.
#[derive(Clone, Debug)]
pub struct ValueEntityContext {
    entity_id: String,
    metadata: Metadata,
    client: ComponentClient,
}

impl ValueEntityContext {
    /// A context (the runtime and the testkits build these).
    pub fn new(entity_id: String, metadata: Metadata, client: ComponentClient) -> Self {
        Self {
            entity_id,
            metadata,
            client,
        }
    }

    /// The id of the entity handling the command.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The command's metadata (forwarded headers, or what a caller attached).
    pub fn metadata(&self) -> &Metadata {
        &self.metadata
    }

    /// Who made the call: the internet, another service (by its verified token), or this
    /// service itself (a component client call, a timer, a subscription, a workflow step).
    pub fn principals(&self) -> &crate::access::Principals {
        self.metadata.principals()
    }

    /// The claims of the call's verified bearer token (empty unless its handler has `#[jwt]`).
    pub fn jwt_claims(&self) -> &crate::access::JwtClaims {
        self.metadata.jwt_claims()
    }

    /// A client to describe calls for forwards and side effects. Handlers are synchronous, so
    /// they describe calls rather than await them.
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }
}
