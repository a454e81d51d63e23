use crate::start;

#[tokio::test]
async fn on_startup_hooks_run_after_start_and_retry_up_to_max_retries() {
    let (mut testkit, recorder) = start().await;
    testkit.startup_hooks_finished().await;
    // Fails twice, succeeds on the third attempt, and is not called again.
    assert_eq!(recorder.count("init"), 3);
    // Never succeeds: the first attempt plus max_retries = 2.
    assert_eq!(recorder.count("always_fails"), 3);
    // The hook is an ordinary handler too.
    let response = testkit.post("/startup/always-fails").send().await.unwrap();
    assert_eq!(response.status(), 503);
}
