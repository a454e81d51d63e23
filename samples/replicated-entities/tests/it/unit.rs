//! Unit tests of the sample's entities: one replica with `ReplicatedEntityTestKit`, and
//! partitioned replicas with `ReplicaSimulator`.

use kalix_testkit::{ReplicaSimulator, ReplicatedEntityTestKit};
use replicated_entities::{AddItem, CartEntity, CounterEntity, Element, Number, SetEntity};

#[test]
fn a_counter_counts_and_a_delete_refuses_what_follows() {
    let mut testkit = ReplicatedEntityTestKit::new(CounterEntity);
    let result = testkit.call(|e, c, _| e.increase(c, Number { value: 3 }));
    assert_eq!(result.reply(), "Ok");
    assert_eq!(result.updated_data().map(|c| c.value()), Some(3));
    testkit.call(|e, c, _| e.decrease(c, Number { value: 1 }));
    assert_eq!(testkit.data().value(), 2);
    assert!(testkit.call(|e, c, _| e.delete(c)).was_deleted());
    assert!(testkit.is_deleted());
    let read = testkit.call(|e, c, _| e.get(c));
    assert_eq!(
        read.error_status(),
        kalix_core::ErrorCode::NOT_FOUND,
        "{}",
        read.error()
    );
    let change = testkit.call(|e, c, _| e.increase(c, Number { value: 1 }));
    assert_eq!(change.error_status(), kalix_core::ErrorCode::BAD_REQUEST);
}

#[test]
fn a_cart_refuses_a_quantity_below_one_and_changes_nothing() {
    let mut testkit = ReplicatedEntityTestKit::new(CartEntity);
    let item = |quantity| AddItem {
        product_id: "p1".to_owned(),
        quantity,
    };
    assert!(testkit.call(|e, c, _| e.add(c, item(0))).is_error());
    testkit.call(|e, c, _| e.add(c, item(2)));
    assert_eq!(testkit.data().get(&"p1".to_owned()), 2);
}

#[test]
fn partitioned_counters_converge_to_every_increment_once_healed() {
    let mut replicas = ReplicaSimulator::new(CounterEntity, 3);
    replicas.call(0, |e, c, _| e.increase(c, Number { value: 1 }));
    replicas.assert_converged();
    replicas.partition(&[&[0, 1], &[2]]);
    replicas.call(1, |e, c, _| e.increase(c, Number { value: 10 }));
    replicas.call(2, |e, c, _| e.increase(c, Number { value: 100 }));
    replicas.call(2, |e, c, _| e.decrease(c, Number { value: 5 }));
    assert_eq!(replicas.data(0).value(), 11, "its side of the partition");
    assert_eq!(replicas.data(2).value(), 96);
    replicas.heal();
    replicas.assert_converged();
    assert_eq!(replicas.data(1).value(), 106);
}

#[test]
fn an_add_made_during_a_partition_survives_a_remove_on_the_other_side() {
    let mut replicas = ReplicaSimulator::new(SetEntity, 2);
    let element = |name: &str| Element {
        element: name.to_owned(),
    };
    replicas.call(0, |e, s, _| e.add(s, element("x")));
    replicas.partition(&[&[0], &[1]]);
    replicas.call(0, |e, s, _| e.remove(s, element("x")));
    replicas.call(1, |e, s, _| e.add(s, element("x")));
    replicas.call(1, |e, s, _| e.add(s, element("y")));
    replicas.heal();
    replicas.assert_converged();
    let elements: Vec<&String> = replicas.data(0).elements().collect();
    assert_eq!(elements, ["x", "y"]);
}

#[test]
fn a_delete_during_a_partition_wins_once_healed() {
    let mut replicas = ReplicaSimulator::new(CounterEntity, 2);
    replicas.partition(&[&[0], &[1]]);
    replicas.call(0, |e, c, _| e.delete(c));
    replicas.call(1, |e, c, _| e.increase(c, Number { value: 4 }));
    replicas.heal();
    replicas.assert_converged();
    assert!(replicas.is_deleted(1));
}
