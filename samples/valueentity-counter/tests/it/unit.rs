use kalix_testkit::ValueEntityTestKit;
use valueentity_counter::{CounterEntity, Number};

#[test]
fn increase_set_plus_one_and_delete_change_the_state() {
    let mut testkit = ValueEntityTestKit::new(CounterEntity);
    let result = testkit.call(|e, s, _| e.increase(s, Number { value: 5 }));
    assert_eq!(*result.reply(), Number { value: 5 });
    assert_eq!(result.updated_state(), Some(&Number { value: 5 }));

    assert_eq!(testkit.call(|e, s, _| e.plus_one(s)).reply().value, 6);
    assert_eq!(
        testkit
            .call(|e, s, _| e.set(s, Number { value: 42 }))
            .reply()
            .value,
        42
    );
    assert_eq!(testkit.state().value, 42);

    let result = testkit.call(|e, s, ctx| e.delete(s, ctx));
    assert!(result.state_was_deleted());
    assert_eq!(result.reply(), "deleted: testkit-entity-id");
    assert_eq!(*testkit.state(), Number { value: 0 });
}

#[test]
fn get_replies_without_changing_the_state() {
    let mut testkit = ValueEntityTestKit::with_id(CounterEntity, "c7");
    testkit.call(|e, s, _| e.increase(s, Number { value: 3 }));
    let result = testkit.call(|e, s, _| e.get(s));
    assert_eq!(result.reply().value, 3);
    assert!(!result.state_was_updated());
}
