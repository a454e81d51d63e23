use kalix_core::Metadata;
use kalix_testkit::ValueEntityTestkit;
use shopping_cart::{LineItem, ShoppingCartEntity};

fn item(product_id: &str, quantity: i32) -> LineItem {
    LineItem {
        product_id: product_id.to_owned(),
        name: format!("{product_id} name"),
        quantity,
    }
}

#[test]
fn a_cart_is_created_once_and_its_empty_state_holds_its_id() {
    let mut testkit = ValueEntityTestkit::with_id(ShoppingCartEntity, "cart-1");
    assert_eq!(testkit.state().cart_id, "cart-1");
    assert!(testkit.call(|e, s, _| e.create(s)).is_reply());
    assert_eq!(
        testkit.call(|e, s, _| e.create(s)).error(),
        "Cart was already created"
    );
}

#[test]
fn items_of_one_product_sum_and_stay_sorted() {
    let mut testkit = ValueEntityTestkit::new(ShoppingCartEntity);
    testkit.call(|e, s, _| e.add_item(s, item("b", 1)));
    testkit.call(|e, s, _| e.add_item(s, item("a", 2)));
    let result = testkit.call(|e, s, _| e.add_item(s, item("b", 4)));
    let items: Vec<(&str, i32)> = result
        .reply()
        .items
        .iter()
        .map(|i| (i.product_id.as_str(), i.quantity))
        .collect();
    assert_eq!(items, [("a", 2), ("b", 5)]);
}

#[test]
fn bad_quantities_and_absent_items_are_errors_that_change_nothing() {
    let mut testkit = ValueEntityTestkit::new(ShoppingCartEntity);
    let result = testkit.call(|e, s, _| e.add_item(s, item("x", 0)));
    assert_eq!(
        result.error(),
        "Quantity for item x must be greater than zero."
    );
    assert!(!result.state_was_updated());
    let result = testkit.call(|e, s, _| e.remove_item(s, "y".to_owned()));
    assert_eq!(
        result.error(),
        "Cannot remove item y because it is not in the cart."
    );
}

#[test]
fn only_an_admin_removes_a_cart() {
    let mut testkit = ValueEntityTestkit::new(ShoppingCartEntity);
    testkit.call(|e, s, _| e.add_item(s, item("x", 1)));
    assert_eq!(
        testkit.call(|e, s, ctx| e.remove_cart(s, ctx)).error(),
        "Only admin can remove the cart"
    );

    let mut admin = ValueEntityTestkit::new(ShoppingCartEntity)
        .with_metadata(Metadata::new().add("Role", "Admin"));
    admin.call(|e, s, _| e.add_item(s, item("x", 1)));
    let result = admin.call(|e, s, ctx| e.remove_cart(s, ctx));
    assert!(result.state_was_deleted());
    assert!(admin.state().items.is_empty());
}
