use eventsourced_counter::{CounterEntity, CounterEvent};
use kalix_testkit::EventSourcedTestKit;

#[test]
fn increase_then_multiply_emits_both_events_and_folds_them() {
    let mut testkit = EventSourcedTestKit::new(CounterEntity);
    let result = testkit.call(|e, s, _| e.increase(s, 5));
    assert_eq!(result.reply(), "5");
    assert_eq!(result.events(), [CounterEvent::ValueIncreased { value: 5 }]);
    let result = testkit.call(|e, s, _| e.multiply(s, 2));
    assert_eq!(result.reply(), "10");
    assert_eq!(*result.updated_state(), 10);
    assert_eq!(
        testkit.all_events(),
        [
            CounterEvent::ValueIncreased { value: 5 },
            CounterEvent::ValueMultiplied { value: 2 }
        ]
    );
    let result = testkit.call(|e, s, _| e.get(s));
    assert!(!result.did_emit_events());
    assert_eq!(result.reply(), "10");
}
