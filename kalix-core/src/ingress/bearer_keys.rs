//! The keys that verify bearer tokens while the service runs: the configured ones (a JWKS
//! file, the testkit's) and, with `KALIX_JWT_JWKS_URL`, those an identity provider publishes.
//! Published keys are fetched at start, again on a schedule, and when a token names a `kid` no
//! key has, so a rotated key is taken up at its first use. That last fetch happens at most once
//! a minute: a flood of made-up key ids costs the provider one request a minute, not one each.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{Uri, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Mutex, watch};

use crate::access::{BearerRefused, JwtClaims, JwtKeys};
use crate::background::BackgroundDriver;
use crate::dispatch::Dispatcher;

/// How often a token with an unknown `kid` may make a fetch.
const UNKNOWN_KID_FETCH_EVERY: Duration = Duration::from_secs(60);
/// How long a fetch may take, response body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest JWKS document read.
const MAX_JWKS_BYTES: usize = 1024 * 1024;
/// When a failed scheduled fetch is tried again.
const RETRY_FAILED_FETCH: Duration = Duration::from_secs(60);

/// The keys bearer tokens are verified with.
pub(crate) struct BearerKeys {
    /// The configured keys: every fetch adds the published ones to these.
    configured: JwtKeys,
    /// The keys in force.
    current: RwLock<Arc<JwtKeys>>,
    published: Option<Published>,
}

/// Where the provider publishes its keys, and the client that fetches them.
struct Published {
    url: Uri,
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
    /// When a token with an unknown `kid` last made a fetch; held while that fetch runs, so
    /// tokens arriving meanwhile wait for it instead of fetching again.
    unknown_kid_fetch: Mutex<Option<Instant>>,
}

impl Default for BearerKeys {
    fn default() -> Self {
        Self::fixed(JwtKeys::default())
    }
}

impl std::fmt::Debug for BearerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerKeys")
            .field("current", &self.keys())
            .field("url", &self.published.as_ref().map(|p| &p.url))
            .finish()
    }
}

impl BearerKeys {
    /// Only `keys`, never fetched.
    pub(crate) fn fixed(keys: JwtKeys) -> Self {
        Self {
            current: RwLock::new(Arc::new(keys.clone())),
            configured: keys,
            published: None,
        }
    }

    /// `configured` and, once fetched, the keys published at `url`. An `https` URL needs the
    /// system's root certificates; their absence is the error.
    pub(crate) fn published(configured: JwtKeys, url: Uri) -> Result<Self, String> {
        let builder = HttpsConnectorBuilder::new();
        let builder = if url.scheme_str() == Some("https") {
            builder
                .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
                .map_err(|error| format!("the system's root certificates: {error}"))?
        } else {
            // Plain http: TLS is never used, so no root is needed.
            builder.with_tls_config(
                rustls::ClientConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .map_err(|error| error.to_string())?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
            )
        };
        let connector = builder.https_or_http().enable_http1().build();
        let mut keys = Self::fixed(configured);
        keys.published = Some(Published {
            url,
            client: Client::builder(TokioExecutor::new()).build(connector),
            unknown_kid_fetch: Mutex::new(None),
        });
        Ok(keys)
    }

    /// Whether no key verifies anything, and none will be fetched.
    pub(crate) fn is_empty(&self) -> bool {
        self.published.is_none() && self.configured.is_empty()
    }

    /// The keys in force.
    pub(crate) fn keys(&self) -> Arc<JwtKeys> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    /// The claims of `token`, as [`JwtKeys::verify`] gives them; a token naming a `kid` no key
    /// has first makes a fetch of the published keys, unless one was made in the last minute.
    pub(crate) async fn verify(&self, token: &str) -> Result<JwtClaims, BearerRefused> {
        let keys = self.keys();
        let refused = match keys.verify(token) {
            Ok(claims) => return Ok(claims),
            Err(refused) => refused,
        };
        let Some(published) = &self.published else {
            return Err(refused);
        };
        let unknown_kid = jsonwebtoken::decode_header(token)
            .ok()
            .and_then(|header| header.kid)
            .is_some_and(|kid| !keys.knows_kid(&kid));
        if !unknown_kid {
            return Err(refused);
        }
        {
            let mut last = published.unknown_kid_fetch.lock().await;
            if last.is_none_or(|at| at.elapsed() >= UNKNOWN_KID_FETCH_EVERY) {
                *last = Some(Instant::now());
                if let Err(why) = self.fetch().await {
                    tracing::warn!(url = %published.url, "fetching the JWKS for an unknown key id failed: {why}");
                }
            }
        }
        // The keys may have changed: by this fetch or by one another token made meanwhile.
        self.keys().verify(token)
    }

    /// Fetches the published keys and puts them in force beside the configured ones; on an
    /// error the keys in force stay.
    pub(crate) async fn fetch(&self) -> Result<(), String> {
        let Some(published) = &self.published else {
            return Ok(());
        };
        let (fetched, left_out) = tokio::time::timeout(FETCH_TIMEOUT, published.get())
            .await
            .map_err(|_| format!("no answer within {}s", FETCH_TIMEOUT.as_secs()))??;
        let before = self.keys();
        let mut keys = self.configured.clone();
        keys.extend(fetched);
        if before.kids() != keys.kids() {
            tracing::info!(url = %published.url, kids = ?keys.kids(), ?left_out, "bearer token keys fetched");
        }
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(())
    }
}

impl Published {
    async fn get(&self) -> Result<(JwtKeys, Vec<String>), String> {
        let request = http::Request::get(&self.url)
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|error| error.to_string())?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|error| format!("the request failed: {error}"))?;
        if !response.status().is_success() {
            return Err(format!("the answer was {}", response.status()));
        }
        let body = Limited::new(response.into_body(), MAX_JWKS_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the answer failed: {error}"))?
            .to_bytes();
        let text = std::str::from_utf8(&body).map_err(|_| "the answer is not UTF-8".to_owned())?;
        JwtKeys::from_published_jwks(text)
    }
}

/// Fetches the published keys again every `every` (each minute after a failure) until the
/// service stops.
pub(crate) struct JwksRefresher {
    pub keys: Arc<BearerKeys>,
    pub every: Duration,
    /// How long until the first fetch: the start made one already.
    pub first_wait: Duration,
}

impl JwksRefresher {
    /// The wait after a fetch that ended with `result`.
    pub(crate) fn wait_after(result: &Result<(), String>, every: Duration) -> Duration {
        match result {
            Ok(()) => every,
            Err(_) => RETRY_FAILED_FETCH.min(every),
        }
    }
}

impl BackgroundDriver for JwksRefresher {
    fn name(&self) -> &'static str {
        "jwks refresher"
    }

    fn run(
        self: Box<Self>,
        _dispatcher: Arc<Dispatcher>,
        mut stopping: watch::Receiver<bool>,
    ) -> BoxFuture<'static, ()> {
        Box::pin(async move {
            let mut wait = self.first_wait;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                let fetched = self.keys.fetch().await;
                if let Err(why) = &fetched {
                    tracing::warn!("fetching the JWKS failed (the keys in force stay): {why}");
                }
                wait = Self::wait_after(&fetched, self.every);
            }
        })
    }
}
