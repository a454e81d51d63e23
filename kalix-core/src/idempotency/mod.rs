//! Idempotency keys: a command sent with `Idempotency-Key` (the IETF header, or
//! [`DeferredCall::with_idempotency_key`](crate::DeferredCall::with_idempotency_key) on a
//! component call) runs once; the same key again gets the first run's reply.
//!
//! **Which calls.** Commands of actions, value and event-sourced entities and workflows: every
//! handler but a view's and one routed by `GET` (a read, which a repeat cannot harm). A key is 1 to
//! 255 printable ASCII characters, else the call is a 400 and runs nothing.
//!
//! **Scope.** The reply is kept under the handler, the call's path parameters and the key (its
//! *scope*, [`CommandKey::scope`]), per entity: the same key on two entity ids, or on two routes,
//! is two commands. Beside it is a digest of the request (its body and query, SHA-256): the same
//! scope with another request is refused with a 422 and runs nothing.
//!
//! **Whose key.** A call from a verified service, or with a token whose subject is known, has its
//! keys to itself: the scope names the service or subject.
//!
//! **What is kept.** The reply's status, content type and body; for a client's request (the HTTP or
//! gRPC ingress, not another service's signed call) also a 4xx error's status and description, so
//! a client sending a refused request again is refused again. A component call's 4xx is not kept:
//! a workflow step retried after a refusal (a wallet not created yet) sees the world as it is then,
//! as Kalix retries a step until it succeeds, and a refusal changed nothing to repeat. Nor are
//! 408, 409, 425 and 429, which may pass. A 5xx is never kept (a retry runs again), nor is an
//! ignored call or a stream. A repeat gets the kept reply with `Idempotency-Replayed: true` and
//! runs nothing; the reply's other headers are not kept. A request an entity or workflow refused
//! before its handler ran (malformed JSON, a bad path parameter) kept nothing, since nothing ran:
//! a corrected request under the key runs. An action's whole call is what is kept, so there such
//! a refusal is kept like any.
//!
//! **Entities: exactly once.** The reply goes into the transaction of the command's change
//! (`StateWrite::kept_reply`, `EventAppend::kept_reply`), or, for a command that changed nothing,
//! into a write of its own (`Write::Reply`) before the caller is answered. The key is not looked
//! up before the command runs (that would cost every keyed command a read): the store refuses a
//! write under a scope kept already (`WriteError::KeyUsed`), and then the entity reloads (the
//! repeat's run is dropped) and the kept reply is the answer (`host/kept.rs`). The key is looked
//! up first only where nothing else would be refused: a handler that failed, or a workflow's
//! timers carried out before the commit. A forward is kept as its call, so a repeat changes
//! nothing and makes the forward again. A retry after a crash either finds the reply or finds
//! nothing changed. A repeat while the first run is in flight runs behind it (one command at a
//! time per entity) and its write is refused.
//!
//! **Actions: at least once, reply kept.** An action has no transaction: its reply is kept when it
//! completes ([`ActionKeys`]). A repeat while it runs waits for it (in this process; on a shared
//! store, through a claim on the scope that other processes see) and gets its reply. If the
//! process dies while the action runs, the repeat runs it again: its side effects elsewhere are
//! at least once, so what it calls should take a key too.
//!
//! **Retention.** Replies are purged after `KALIX_IDEMPOTENCY_RETENTION` (24 h by default), in
//! bounded rounds by the retention driver; after that the key is new again.

mod actions;
pub(crate) mod key;

use std::sync::Arc;

use bytes::Bytes;

pub(crate) use actions::ActionKeys;
pub(crate) use key::{CommandKey, REPLAYED};
use key::{check, fingerprint};

use crate::call::{Call, UntypedCall};
use crate::cloud_events::PayloadType;
use crate::error::CallError;
use crate::invocation::Invocation;
use crate::metadata::Metadata;
use crate::outcome::{Answer, HandlerOutcome, Outcome};
use crate::registry::{ComponentDescriptor, ComponentKind, HandlerDescriptor, HttpMethod, Trigger};
use crate::status::{ErrorCode, SuccessCode};
use crate::store::KeptReply;

/// The status of a key used for another request.
const UNPROCESSABLE: u16 = 422;

/// Reads the call's idempotency key and, if its handler takes keys, marks the call with its
/// [`CommandKey`]; a malformed key is a 400. Any scope the metadata carried from another call is
/// cleared first.
pub(crate) fn prepare(
    component: &ComponentDescriptor,
    handler: &HandlerDescriptor,
    invocation: &mut Invocation,
) -> Result<(), CallError> {
    invocation.metadata_mut().set_command_key(None);
    let Some(key) = invocation.metadata().get(Metadata::IDEMPOTENCY_KEY) else {
        return Ok(());
    };
    if !takes_keys(component, handler) {
        return Ok(());
    }
    check(key)?;
    if invocation
        .metadata()
        .get_all(Metadata::IDEMPOTENCY_KEY)
        .nth(1)
        .is_some()
    {
        return Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            format!(
                "More than one {} header: send one key per request",
                Metadata::IDEMPOTENCY_KEY
            ),
        ));
    }
    // Whose key it is: a verified service's or token subject's keys are their own.
    let metadata = invocation.metadata();
    let caller = metadata
        .principals()
        .service()
        .or_else(|| metadata.jwt_claims().subject());
    let scope = serde_json::to_string(&(handler.name, invocation.path_params(), key, caller))
        .expect("strings always serialize");
    // A client's refusals are kept, not another service's (its workflow may retry a refusal).
    let keeps_refusals =
        invocation.is_sent_by_client() && metadata.principals().service().is_none();
    let key = CommandKey {
        key: key.to_owned(),
        scope,
        fingerprint: fingerprint(&invocation.body_json(), invocation.query()),
        keeps_refusals,
    };
    invocation
        .metadata_mut()
        .set_command_key(Some(Arc::new(key)));
    Ok(())
}

/// Whether a key on a call of `handler` is kept: a command's, not a view's or a `GET` route's.
fn takes_keys(component: &ComponentDescriptor, handler: &HandlerDescriptor) -> bool {
    component.kind != ComponentKind::View
        && !handler
            .triggers
            .iter()
            .any(|trigger| matches!(trigger, Trigger::Http(route) if matches!(route.method, HttpMethod::Get)))
}

/// What is kept of a handler's answer under `key`, if anything (see the module's doc).
pub(crate) fn kept_of_answer<R: serde::Serialize>(
    key: &CommandKey,
    answer: &Answer<R>,
) -> Option<KeptReply> {
    match answer {
        Answer::Reply(value, metadata) => {
            let body = serde_json::to_vec(value).ok()?;
            Some(kept_reply(key, metadata, Bytes::from(body)))
        }
        Answer::Error(error) => kept_error(key, error),
        // Kept so that a repeat neither changes the entity again nor loses the forward: it is
        // made again (its callee keeps its own reply if the call carries a key).
        Answer::Forward(call) => Some(KeptReply {
            key: key.scope.clone(),
            fingerprint: key.fingerprint.clone(),
            status: KeptReply::FORWARDED,
            content_type: None,
            body: Bytes::from(serde_json::to_vec(call.call()).ok()?),
        }),
        Answer::Ignore => None,
    }
}

/// What is kept of a call's final outcome under `key`, if anything.
pub(crate) fn kept_of_outcome(key: &CommandKey, outcome: &Outcome) -> Option<KeptReply> {
    match outcome {
        Outcome::Reply { body, metadata, .. } => Some(kept_reply(key, metadata, body.clone())),
        Outcome::Error(error) => kept_error(key, error),
        Outcome::Ignore | Outcome::Stream(_) => None,
    }
}

fn kept_reply(key: &CommandKey, metadata: &Metadata, body: Bytes) -> KeptReply {
    KeptReply {
        key: key.scope.clone(),
        fingerprint: key.fingerprint.clone(),
        status: metadata.status_code().unwrap_or(SuccessCode::OK).as_u16(),
        content_type: Some(
            metadata
                .get("Content-Type")
                .unwrap_or("application/json")
                .to_owned(),
        ),
        body,
    }
}

/// A client's 4xx is kept (the same request is refused again); a 5xx is not (a retry may
/// succeed), nor is a component call's 4xx (see the module's doc).
fn kept_error(key: &CommandKey, error: &CallError) -> Option<KeptReply> {
    // A timeout, a conflict, "too early" and "too many requests" may pass: not kept.
    let transient = matches!(error.status(), 408 | 409 | 425 | 429);
    let refusal = (400..500).contains(&error.status()) && !transient && key.keeps_refusals;
    refusal.then(|| KeptReply {
        key: key.scope.clone(),
        fingerprint: key.fingerprint.clone(),
        status: error.status(),
        content_type: None,
        body: Bytes::copy_from_slice(error.description().as_bytes()),
    })
}

/// The answer to a command whose scope holds `kept`: the kept reply again, or a 422 if it was
/// kept for another request.
pub(crate) fn replay(key: &CommandKey, kept: KeptReply) -> Outcome {
    if !kept.fingerprint.is_empty() && kept.fingerprint != key.fingerprint {
        return Outcome::Error(used_for_another_request(key));
    }
    let Some(content_type) = kept.content_type else {
        let description = String::from_utf8_lossy(&kept.body).into_owned();
        return Outcome::Error(CallError::from_status(kept.status, description).replayed());
    };
    let mut metadata = Metadata::new();
    if let Ok(status) = SuccessCode::try_from(kept.status)
        && status != SuccessCode::OK
    {
        metadata = metadata.with_status_code(status);
    }
    if content_type != "application/json" {
        metadata.set("Content-Type", content_type);
    }
    metadata.set(REPLAYED, "true");
    Outcome::Reply {
        body: kept.body,
        metadata,
        payload_type: PayloadType::Named("kept reply"),
    }
}

/// As [`replay`], for a host: a kept forward is made again; the outcome is marked as replayed.
pub(crate) fn replay_command(key: &CommandKey, kept: KeptReply) -> HandlerOutcome {
    let fingerprint_matches = kept.fingerprint.is_empty() || kept.fingerprint == key.fingerprint;
    if kept.status != KeptReply::FORWARDED || !fingerprint_matches {
        return HandlerOutcome::new(replay(key, kept), Vec::new()).replayed();
    }
    match serde_json::from_slice::<Call>(&kept.body) {
        Ok(call) => {
            HandlerOutcome::forward(UntypedCall { call, defect: None }, Vec::new()).replayed()
        }
        Err(error) => HandlerOutcome::error(CallError::new(
            ErrorCode::INTERNAL_SERVER_ERROR,
            format!("the forward kept under this idempotency key cannot be read: {error}"),
        )),
    }
}

/// The 422 of a key sent again with another request.
pub(crate) fn used_for_another_request(key: &CommandKey) -> CallError {
    CallError::from_status(
        UNPROCESSABLE,
        format!(
            "{} '{}' was used for another request (a different body or query); a key stands for \
             one request: send a new key for a new request",
            Metadata::IDEMPOTENCY_KEY,
            key.key
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(fingerprint: &str) -> CommandKey {
        CommandKey {
            key: "k1".into(),
            scope: "[\"increase\",[],\"k1\"]".into(),
            fingerprint: fingerprint.into(),
            keeps_refusals: true,
        }
    }

    #[test]
    fn a_kept_reply_is_answered_again_with_its_status_and_type_and_marked() {
        let metadata = Metadata::new()
            .with_status_code(SuccessCode::CREATED)
            .add("Content-Type", "text/plain");
        let kept = kept_reply(&key("f"), &metadata, Bytes::from_static(b"hi"));
        let Outcome::Reply { body, metadata, .. } = replay(&key("f"), kept.clone()) else {
            panic!("a reply")
        };
        assert_eq!(&body[..], b"hi");
        assert_eq!(metadata.status_code(), Some(SuccessCode::CREATED));
        assert_eq!(metadata.get("content-type"), Some("text/plain"));
        assert_eq!(metadata.get(REPLAYED), Some("true"));
        let Outcome::Error(refused) = replay(&key("other"), kept) else {
            panic!("a 422")
        };
        assert_eq!(refused.status(), 422);
        assert!(refused.description().contains("'k1'"), "{refused}");
    }

    #[test]
    fn a_4xx_is_kept_and_a_5xx_is_not() {
        let bad = CallError::new(ErrorCode::BAD_REQUEST, "no");
        let kept = kept_error(&key("f"), &bad).expect("a 4xx is kept");
        let Outcome::Error(again) = replay(&key("f"), kept) else {
            panic!("an error")
        };
        assert_eq!((again.status(), again.description()), (400, "no"));
        assert!(again.is_replayed());
        let down = CallError::new(ErrorCode::SERVICE_UNAVAILABLE, "later");
        assert_eq!(kept_error(&key("f"), &down), None);
        for passing in [408, 409, 425, 429] {
            let error = CallError::from_status(passing, "may pass");
            assert_eq!(kept_error(&key("f"), &error), None, "{passing}");
        }
        let from_a_handler = CommandKey {
            keeps_refusals: false,
            ..key("f")
        };
        assert_eq!(kept_error(&from_a_handler, &bad), None);
    }
}
