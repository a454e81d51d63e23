//! The README's "new service from scratch" section, followed as a reader would: its files are
//! written into a crate outside the workspace, which must build and pass its own tests.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The files of the guide: each fenced block that follows a `<!-- guide: path -->` line.
fn guide_files(readme: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut lines = readme.lines();
    while let Some(line) = lines.next() {
        let Some(path) = line
            .strip_prefix("<!-- guide: ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let fence = lines.next().expect("a fenced block follows the marker");
        assert!(
            fence.starts_with("```"),
            "{path}: expected a fence, got {fence}"
        );
        let body: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
        files.push((path.to_owned(), body.join("\n") + "\n"));
    }
    files
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the testkit sits in the workspace")
        .to_owned()
}

#[test]
fn the_readme_guide_builds_and_its_tests_pass() {
    let workspace = workspace();
    let readme = std::fs::read_to_string(workspace.join("README.md")).unwrap();
    let files = guide_files(&readme);
    let paths: Vec<&str> = files.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "Cargo.toml",
            "src/lib.rs",
            "src/main.rs",
            "tests/customers.rs"
        ]
    );

    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().join("customer-registry");
    for (path, contents) in &files {
        let file = root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        // The guide's clone of this repository is this checkout.
        let contents = contents.replace("../kalix-rs/", &format!("{}/", workspace.display()));
        std::fs::write(file, contents).unwrap();
    }
    // The workspace's lock file pins the same versions, so nothing is resolved anew.
    std::fs::copy(workspace.join("Cargo.lock"), root.join("Cargo.lock")).unwrap();

    // A target directory of its own, kept between runs: the guide's crate resolves features on
    // its own, so sharing the workspace's would rebuild the workspace's artefacts back and forth.
    let target = workspace.join("target").join("readme-guide");
    let output = Command::new(env!("CARGO"))
        .args(["test", "--offline"])
        .current_dir(&root)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .expect("cargo runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    for test in [
        "a_customer_is_created_once_and_renamed",
        "the_service_serves_customers_over_http",
    ] {
        assert!(stdout.contains(&format!("{test} ... ok")), "{stdout}");
    }
    assert!(!stdout.contains("test result: FAILED"), "{stdout}");
}
