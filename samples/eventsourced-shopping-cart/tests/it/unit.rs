use eventsourced_shopping_cart::{LineItem, ShoppingCartEntity, ShoppingCartEvent};
use kalix_testkit::EventSourcedTestKit;

fn item(product_id: &str, quantity: i32) -> LineItem {
    LineItem {
        product_id: product_id.to_owned(),
        name: "Super Duper Shirt".to_owned(),
        quantity,
    }
}

#[test]
fn two_adds_of_one_product_sum_to_15_in_two_events() {
    let mut testkit = EventSourcedTestKit::new(ShoppingCartEntity);
    let mut result = testkit.call(|e, s, _| e.add_item(s, item("shirt", 10)));
    assert_eq!(result.reply(), "OK");
    let added = result.next_event(|e| matches!(e, ShoppingCartEvent::ItemAdded { .. }));
    assert_eq!(
        added,
        &ShoppingCartEvent::ItemAdded {
            item: item("shirt", 10)
        }
    );

    let result = testkit.call(|e, s, _| e.add_item(s, item("shirt", 5)));
    assert_eq!(result.events().len(), 1);
    assert_eq!(result.updated_state().items, [item("shirt", 15)]);
    assert_eq!(testkit.state().items[0].quantity, 15);
    assert_eq!(testkit.all_events().len(), 2);
}

#[test]
fn checkout_emits_checked_out_deletes_and_refuses_more() {
    let mut testkit = EventSourcedTestKit::with_id(ShoppingCartEntity, "cart-9");
    testkit.call(|e, s, _| e.add_item(s, item("a", 1)));
    let result = testkit.call(|e, s, _| e.checkout(s));
    assert_eq!(result.events(), [ShoppingCartEvent::CheckedOut]);
    assert!(testkit.is_deleted());
    assert!(testkit.state().checked_out);
    assert_eq!(
        testkit.call(|e, s, _| e.add_item(s, item("b", 1))).error(),
        "Cart is already checked out."
    );
    assert_eq!(
        testkit.call(|e, s, _| e.checkout(s)).error(),
        "Cart is already checked out."
    );
}

#[test]
fn bad_commands_emit_nothing() {
    let mut testkit = EventSourcedTestKit::new(ShoppingCartEntity);
    let result = testkit.call(|e, s, _| e.add_item(s, item("a", 0)));
    assert_eq!(
        result.error(),
        "Quantity for item a must be greater than zero."
    );
    assert!(!result.did_emit_events());
    let result = testkit.call(|e, s, _| e.remove_item(s, "zzz".to_owned()));
    assert_eq!(
        result.error(),
        "Cannot remove item zzz because it is not in the cart."
    );
    assert!(testkit.all_events().is_empty());
}
