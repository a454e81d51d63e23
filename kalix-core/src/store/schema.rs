//! What every backend's schema versions share: a database is migrated from the version it
//! records up to the latest its backend knows, one step at a time; one made by a newer version
//! of the runtime is refused rather than written in a layout this version does not know.

use super::StoreError;

/// One step of a backend's schema: the version it reaches and what it adds. `apply` finds the
/// backend's connection or transaction (`C`) and must be safe to run again (a crash may come
/// after it and before its version is recorded; a database made before versions were kept
/// reads as version 0 and may hold any earlier layout).
pub(crate) struct Migration<C> {
    /// The version a database is at once this step ran.
    pub version: u32,
    /// What the step adds, for the error a failed step gives.
    pub what: &'static str,
    /// The step.
    pub apply: C,
}

/// The migrations a database at version `found` still needs, or why it cannot be opened.
pub(crate) fn pending<C>(
    migrations: &[Migration<C>],
    found: u32,
) -> Result<&[Migration<C>], StoreError> {
    let latest = migrations.last().map_or(0, |m| m.version);
    if found > latest {
        return Err(StoreError::new(format!(
            "the store's schema is version {found}, newer than this runtime knows ({latest}): \
             it was written by a newer version; run that version, or a newer one, on it"
        )));
    }
    let start = migrations.partition_point(|m| m.version <= found);
    Ok(&migrations[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: [Migration<()>; 3] = [
        Migration {
            version: 1,
            what: "a",
            apply: (),
        },
        Migration {
            version: 2,
            what: "b",
            apply: (),
        },
        Migration {
            version: 3,
            what: "c",
            apply: (),
        },
    ];

    #[test]
    fn a_database_gets_the_steps_after_its_version_and_a_newer_one_is_refused() {
        let versions = |found| -> Vec<u32> {
            pending(&STEPS, found)
                .unwrap()
                .iter()
                .map(|m| m.version)
                .collect()
        };
        assert_eq!(versions(0), [1, 2, 3]);
        assert_eq!(versions(2), [3]);
        assert!(versions(3).is_empty());
        let error = pending(&STEPS, 4).err().unwrap();
        assert!(
            error
                .to_string()
                .contains("version 4, newer than this runtime knows (3)")
        );
    }
}
