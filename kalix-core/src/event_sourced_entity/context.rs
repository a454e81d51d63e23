//! What an event-sourced entity's command handler can see.

use crate::client::ComponentClient;
use crate::metadata::Metadata;

/// The context of one command to an event-sourced entity: its id, the metadata, and a client to
/// build calls for `then_forward` and side effects.
#[derive(Clone, Debug)]
pub struct EventSourcedEntityContext {
    entity_id: String,
    metadata: Metadata,
    client: ComponentClient,
}

impl EventSourcedEntityContext {
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

    /// The command's metadata.
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

    /// A client to describe calls for forwards and side effects.
    pub fn component_client(&self) -> ComponentClient {
        self.client.clone()
    }
}
