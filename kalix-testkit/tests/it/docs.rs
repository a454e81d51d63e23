//! ARCHITECTURE.md is the map of the code: every path it names exists; and every file the
//! README links to exists.

use std::path::{Path, PathBuf};

/// Where a path the map names may be read from: the workspace, then each crate's sources.
const ROOTS: [&str; 7] = [
    "",
    "kalix-core/src/",
    "kalix-macros/src/",
    "kalix-query/src/",
    "kalix-testkit/src/",
    "kalix-core/",
    "kalix-testkit/",
];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit is in the workspace")
        .to_path_buf()
}

/// Whether a file called `name` is anywhere in `dir` (the build's output left out).
fn file_named(dir: &Path, name: &str) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        let path = entry.path();
        if path.is_dir() {
            !path.ends_with("target") && file_named(&path, name)
        } else {
            path.file_name().is_some_and(|file| file == name)
        }
    })
}

#[test]
fn every_path_the_architecture_map_names_exists() {
    let root = workspace();
    let map = std::fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap();
    // Code spans are the odd pieces between backticks; a path ends in `.rs` or `/`, and a
    // template (`<kind>`) is no path.
    let paths: Vec<&str> = map
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|span| span.ends_with(".rs") || (span.ends_with('/') && span.len() > 1))
        .filter(|span| !span.contains(['<', ' ', ':', '*']))
        .collect();
    assert!(paths.len() > 50, "the map names the code: {}", paths.len());
    let missing: Vec<&str> = paths
        .into_iter()
        .filter(|path| {
            if path.contains('/') {
                !ROOTS.iter().any(|base| root.join(base).join(path).exists())
            } else {
                !file_named(&root, path)
            }
        })
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

#[test]
fn every_file_the_readme_links_exists() {
    let root = workspace();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let links: Vec<&str> = readme
        .split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|target| !target.starts_with("http"))
        .map(|target| target.split('#').next().unwrap_or(target))
        .collect();
    assert!(links.len() > 5, "the README links the guide: {links:?}");
    let missing: Vec<&&str> = links
        .iter()
        .filter(|target| !root.join(target).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "README.md links files that do not exist: {missing:?}"
    );
}
