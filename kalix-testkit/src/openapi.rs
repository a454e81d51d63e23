//! The service's API description in tests: fetched from the admin listener, checked by a real
//! OpenAPI 3.1 validator, and compared with the routes the service answers.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{ServiceProcess, TestKit};

/// The environment variable naming a Python with `openapi-spec-validator` installed. When it is
/// set, [`TestKit::check_api_description`] fails if the validator cannot run; when it is not,
/// `python3` is tried and the validation is skipped (with a note) if it lacks the module.
pub const OPENAPI_VALIDATOR_VARIABLE: &str = "KALIX_TEST_OPENAPI_VALIDATOR";

impl TestKit {
    /// The service's API description, as the admin listener serves it at `/openapi.json`.
    pub async fn api_description(&self) -> Value {
        fetch(self.http(), &self.admin_url("/openapi.json")).await
    }

    /// Fetches the API description and checks it: a real OpenAPI 3.1 validator
    /// (`openapi-spec-validator`, see [`OPENAPI_VALIDATOR_VARIABLE`]) accepts it, and each of its
    /// paths is answered by the service with exactly the methods it lists (asked with
    /// `OPTIONS`, which the router answers with `405` and an `Allow` header without running a
    /// handler). Panics with what is wrong; returns the document.
    pub async fn check_api_description(&self) -> Value {
        let document = self.api_description().await;
        check(self.http(), self.base_url(), &document).await;
        document
    }
}

impl ServiceProcess {
    /// The service's API description, as its admin listener serves it at `/openapi.json`.
    pub async fn api_description(&self) -> Value {
        let url = format!("{}/openapi.json", self.admin_url());
        fetch(&reqwest::Client::new(), &url).await
    }

    /// Checks the API description as [`TestKit::check_api_description`] does.
    pub async fn check_api_description(&self) -> Value {
        let document = self.api_description().await;
        check(&reqwest::Client::new(), self.base_url(), &document).await;
        document
    }
}

async fn fetch(http: &reqwest::Client, url: &str) -> Value {
    let response = http
        .get(url)
        .send()
        .await
        .expect("the admin listener answers");
    assert_eq!(response.status(), 200, "GET {url}");
    response.json().await.expect("the API description is JSON")
}

/// Validates `document` and compares its paths with the routes the service at `base_url`
/// answers.
async fn check(http: &reqwest::Client, base_url: &str, document: &Value) {
    assert_eq!(document["openapi"], "3.1.0", "{document:#}");
    validate(document);
    let paths = document["paths"]
        .as_object()
        .expect("the document has paths");
    for (path, operations) in paths {
        let documented: BTreeSet<String> = operations
            .as_object()
            .expect("a path item is an object")
            .keys()
            .map(|method| method.to_ascii_uppercase())
            .collect();
        let concrete = concrete_path(path);
        let response = http
            .request(http::Method::OPTIONS, format!("{base_url}{concrete}"))
            .send()
            .await
            .expect("the service answers");
        assert_eq!(
            response.status(),
            405,
            "{path} (asked as {concrete}) is in the API description, but the service does not route it"
        );
        let allow = response
            .headers()
            .get(http::header::ALLOW)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        let answered: BTreeSet<String> = allow
            .split(',')
            .map(|method| method.trim().to_owned())
            .filter(|method| !method.is_empty() && method != "HEAD")
            .collect();
        assert_eq!(
            answered, documented,
            "the methods of {path}: the service answers {allow}"
        );
    }
}

/// `path` with each `{param}` replaced by a value any route segment matches.
fn concrete_path(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') && segment.ends_with('}') {
                "x1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Runs `openapi-spec-validator` on `document`; skipped (with a note) only when no validator
/// is installed and none was asked for.
fn validate(document: &Value) {
    let asked = std::env::var(OPENAPI_VALIDATOR_VARIABLE).ok();
    let python = asked.clone().unwrap_or_else(|| "python3".to_owned());
    let installed = std::process::Command::new(&python)
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .is_ok_and(|output| output.status.success());
    if !installed {
        assert!(
            asked.is_none(),
            "{OPENAPI_VALIDATOR_VARIABLE}={python}, but it cannot import openapi_spec_validator \
             (pip install openapi-spec-validator)"
        );
        eprintln!(
            "note: the API description was not validated: no openapi-spec-validator for python3 \
             (pip install openapi-spec-validator, or set {OPENAPI_VALIDATOR_VARIABLE})"
        );
        return;
    }
    let file = std::env::temp_dir().join(format!(
        "kalix-openapi-{}-{}.json",
        std::process::id(),
        uuid::Uuid::new_v4()
    ));
    std::fs::write(&file, document.to_string()).expect("the document is written");
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            "import json, sys\n\
             from openapi_spec_validator import validate\n\
             from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
             validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)",
        ])
        .arg(&file)
        .output()
        .expect("the validator runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "openapi-spec-validator refuses the API description:\n{}\n{document:#}",
        String::from_utf8_lossy(&output.stderr)
    );
    if let Ok(directory) = std::env::var("KALIX_TEST_MARKERS") {
        let _ = std::fs::write(
            std::path::Path::new(&directory).join("openapi-validator"),
            "",
        );
    }
}
