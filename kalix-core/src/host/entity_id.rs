//! The one rule for entity ids, checked before a command reaches any store, so every backend
//! accepts the same ids: at most [`MAX_ENTITY_ID_BYTES`] bytes of UTF-8, no control characters.
//! (PostgreSQL cannot store a NUL in text, and refuses index keys of a few kilobytes; a batch
//! holding such a write would fail for everyone in it.)

use crate::error::CallError;
use crate::status::ErrorCode;

/// The longest entity id, in bytes of UTF-8.
pub(crate) const MAX_ENTITY_ID_BYTES: usize = 1024;

/// `Ok` if `entity_id` may name an entity of `type_id`; otherwise a 400 saying why.
pub(crate) fn check(type_id: &str, entity_id: &str) -> Result<(), CallError> {
    if entity_id.is_empty() {
        return Err(bad_id(format!("the id of a {type_id} cannot be empty")));
    }
    if entity_id.len() > MAX_ENTITY_ID_BYTES {
        return Err(bad_id(format!(
            "the id of a {type_id} is {} bytes long; the limit is {MAX_ENTITY_ID_BYTES} bytes",
            entity_id.len()
        )));
    }
    if let Some((position, control)) = entity_id.char_indices().find(|(_, c)| c.is_control()) {
        return Err(bad_id(format!(
            "the id of a {type_id} contains the control character U+{:04X} at byte {position}; \
             ids are text without control characters",
            control as u32
        )));
    }
    Ok(())
}

fn bad_id(detail: String) -> CallError {
    CallError::new(ErrorCode::BAD_REQUEST, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_text_without_control_characters() {
        assert!(check("counter", "c-1 ü/é").is_ok());
        assert!(check("counter", &"x".repeat(MAX_ENTITY_ID_BYTES)).is_ok());
        let long = check("counter", &"x".repeat(3000)).unwrap_err();
        assert_eq!(long.status(), 400);
        assert_eq!(
            long.description(),
            "the id of a counter is 3000 bytes long; the limit is 1024 bytes"
        );
        let nul = check("counter", "a\0b").unwrap_err();
        assert_eq!(
            nul.description(),
            "the id of a counter contains the control character U+0000 at byte 1; ids are text without control characters"
        );
        assert!(check("counter", "line\nbreak").is_err());
        assert!(check("counter", "").is_err());
    }
}
