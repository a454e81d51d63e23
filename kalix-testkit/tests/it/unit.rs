use kalix_core::{CallError, Dependencies, ErrorCode, SuccessCode};
use kalix_testkit::ActionTestKit;

use crate::components::{Effects, Recorder, Tally};

fn testkit() -> ActionTestKit<Effects> {
    let dependencies = Dependencies::new().with(Recorder::default());
    ActionTestKit::new(Effects::new(&dependencies).unwrap())
}

#[tokio::test]
async fn a_reply_and_its_metadata() {
    let result = testkit().call(async |a, _| a.reply_with().await).await;
    assert_eq!(result.reply(), "accepted");
    assert_eq!(result.reply_metadata().get("X-Custom"), Some("yes"));
    assert_eq!(
        result.reply_metadata().status_code(),
        Some(SuccessCode::ACCEPTED)
    );
}

#[tokio::test]
async fn an_error_and_its_status() {
    let result = testkit().call(async |a, _| a.error(409).await).await;
    assert!(result.is_error());
    assert_eq!(result.error(), "failed with 409");
    assert_eq!(result.error_status(), ErrorCode::CONFLICT);
}

#[tokio::test]
async fn side_effects_are_recorded_not_run() {
    let result = testkit()
        .call(async |a, ctx| a.side_effects("u".into(), ctx).await)
        .await;
    assert_eq!(result.reply(), "ok");
    let side_effects = result.side_effects();
    assert_eq!(side_effects.len(), 3);
    assert!(side_effects[0].is_synchronous());
    assert_eq!(side_effects[0].call().method(), "record");
    assert_eq!(
        side_effects[0].call().path_params(),
        [("entry".to_owned(), "u-sync".to_owned())]
    );
    assert!(!side_effects[1].is_synchronous());
}

#[tokio::test]
async fn a_forward_shows_its_target_and_metadata() {
    let result = testkit()
        .call(async |a, ctx| a.forward_with_metadata(ctx).await)
        .await;
    assert_eq!(result.forward().method(), "whoami");
    assert_eq!(result.forward().metadata().get("Role"), Some("Admin"));
}

#[tokio::test]
async fn metadata_given_to_the_testkit_reaches_the_handler() {
    let testkit = testkit().with_metadata(kalix_core::Metadata::new().add("Role", "Admin"));
    let result = testkit.call(async |a, ctx| a.whoami(ctx).await).await;
    assert_eq!(result.reply(), "Admin");
}

#[tokio::test]
async fn ignore_and_unrunnable_calls() {
    assert!(
        testkit()
            .call(async |a, _| a.ignore().await)
            .await
            .is_ignore()
    );
    // The unit testkit's client reaches no service: a call nothing stubs fails, naming the fix.
    let result = testkit()
        .call(async |a, ctx| a.async_reply(1, ctx).await)
        .await;
    assert_eq!(result.error_status(), ErrorCode::INTERNAL_SERVER_ERROR);
    assert!(
        result.error().contains("no stub answers") && result.error().contains("stub::<"),
        "{}",
        result.error()
    );
}

#[tokio::test]
async fn stubbed_component_calls_answer_per_target_and_are_recorded() {
    let testkit = testkit();
    testkit
        .stub::<Tally>()
        .get(|call| match call.path_param("id") {
            Some("t1") => Ok(20),
            _ => Err(CallError::new(ErrorCode::NOT_FOUND, "no such tally")),
        });
    testkit.stub::<Effects>().echo(|call| {
        let n: i64 = call.path_param("n").unwrap().parse().unwrap();
        Ok(n + 1)
    });

    let result = testkit
        .call(async |a, ctx| a.tally_doubled("t1".into(), ctx).await)
        .await;
    assert_eq!(*result.reply(), 40);
    let result = testkit
        .call(async |a, ctx| a.tally_doubled("t9".into(), ctx).await)
        .await;
    assert_eq!(result.error_status(), ErrorCode::NOT_FOUND);
    assert_eq!(result.error(), "no such tally");
    // Another target's stub answers its own calls.
    let result = testkit
        .call(async |a, ctx| a.async_reply(4, ctx).await)
        .await;
    assert_eq!(*result.reply(), 10);

    let calls: Vec<(String, Option<String>)> = testkit
        .calls()
        .iter()
        .map(|call| {
            let id = call.path_param("id").or(call.path_param("n"));
            (call.method().to_owned(), id.map(str::to_owned))
        })
        .collect();
    assert_eq!(
        calls,
        [
            ("get".to_owned(), Some("t1".to_owned())),
            ("get".to_owned(), Some("t9".to_owned())),
            ("echo".to_owned(), Some("4".to_owned())),
        ]
    );
}

#[tokio::test]
async fn streamed_calls_resolve_each_element() {
    let results = testkit()
        .streamed_call(async |a, _| a.stream_with_error(3))
        .await;
    assert_eq!(*results[0].reply(), 1);
    assert!(results[1].is_ignore());
    assert_eq!(results[2].error(), "stream failed");
}

#[tokio::test]
#[should_panic(
    expected = "expected a reply, but the effect was an error (400 Bad Request: failed with the default status)"
)]
async fn asking_for_the_wrong_kind_of_effect_says_what_it_was() {
    let result = testkit().call(async |a, _| a.error(1).await).await;
    result.reply();
}
