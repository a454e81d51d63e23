//! Waiting for what happens in the background (a view catching up, a workflow reaching a
//! state, a subscriber applying a message) without hand-written polling loops.

use std::fmt::Debug;
use std::time::{Duration, Instant};

/// How long [`eventually`] tries.
pub const EVENTUALLY: Duration = Duration::from_secs(10);

/// Runs `attempt` until it returns `Ok`, every 20 ms for at most 10 s, and returns its value;
/// panics with the last error if it never succeeds. An `assert!` inside `attempt` does not
/// retry: return `Err` with what is still missing.
///
/// ```no_run
/// # async fn example(testkit: kalix_testkit::TestKit) {
/// use kalix_testkit::eventually;
///
/// // Until the view has caught up with the customer just created.
/// let row: serde_json::Value = eventually(|| async {
///     let response = testkit.get("/customer/by_email/ann@example.com").send().await.unwrap();
///     match response.status().as_u16() {
///         200 => Ok(response.json().await.unwrap()),
///         status => Err(format!("the view answers {status}")),
///     }
/// })
/// .await;
/// assert_eq!(row["name"], "Ann");
/// # }
/// ```
pub async fn eventually<T, E: Debug, F: Future<Output = Result<T, E>>>(
    attempt: impl FnMut() -> F,
) -> T {
    eventually_within(EVENTUALLY, attempt).await
}

/// As [`eventually`], trying for at most `within`.
pub async fn eventually_within<T, E: Debug, F: Future<Output = Result<T, E>>>(
    within: Duration,
    mut attempt: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    loop {
        match attempt().await {
            Ok(value) => return value,
            Err(error) if started.elapsed() >= within => {
                panic!("not so within {within:?}; last: {error:?}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_success() {
        let tries = AtomicU32::new(0);
        let value = eventually(|| async {
            match tries.fetch_add(1, Ordering::SeqCst) {
                n if n < 3 => Err(format!("only {n} tries")),
                n => Ok(n),
            }
        })
        .await;
        assert_eq!(value, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "last: \"still 0\"")]
    async fn panics_with_the_last_error() {
        eventually_within(Duration::from_millis(50), || async {
            Err::<(), _>("still 0")
        })
        .await;
    }
}
