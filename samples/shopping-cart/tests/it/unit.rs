use kalix_core::{CallError, ErrorCode, Metadata};
use kalix_testkit::{ActionTestKit, ValueEntityTestKit};
use shopping_cart::{CartView, LineItem, ShoppingCartController, ShoppingCartEntity};

fn item(product_id: &str, quantity: i32) -> LineItem {
    LineItem {
        product_id: product_id.to_owned(),
        name: format!("{product_id} name"),
        quantity,
    }
}

#[test]
fn a_cart_is_created_once_and_its_empty_state_holds_its_id() {
    let mut testkit = ValueEntityTestKit::with_id(ShoppingCartEntity, "cart-1");
    assert_eq!(testkit.state().cart_id, "cart-1");
    assert!(testkit.call(|e, s, _| e.create(s)).is_reply());
    assert_eq!(
        testkit.call(|e, s, _| e.create(s)).error(),
        "Cart was already created"
    );
}

#[test]
fn items_of_one_product_sum_and_stay_sorted() {
    let mut testkit = ValueEntityTestKit::new(ShoppingCartEntity);
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
    let mut testkit = ValueEntityTestKit::new(ShoppingCartEntity);
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
    let mut testkit = ValueEntityTestKit::new(ShoppingCartEntity);
    testkit.call(|e, s, _| e.add_item(s, item("x", 1)));
    assert_eq!(
        testkit.call(|e, s, ctx| e.remove_cart(s, ctx)).error(),
        "Only admin can remove the cart"
    );

    let mut admin = ValueEntityTestKit::new(ShoppingCartEntity)
        .with_metadata(Metadata::new().add("Role", "Admin"));
    admin.call(|e, s, _| e.add_item(s, item("x", 1)));
    let result = admin.call(|e, s, ctx| e.remove_cart(s, ctx));
    assert!(result.state_was_deleted());
    assert!(admin.state().items.is_empty());
}

/// What the entity would answer: the cart of the call's id, holding the item sent, if any.
fn cart_of(call: &kalix_core::Call) -> Result<CartView, CallError> {
    let cart_id = call.path_param("cart_id").unwrap_or_default().to_owned();
    let items = call.body_as::<LineItem>().into_iter().collect();
    Ok(CartView { cart_id, items })
}

/// The controller's calls to the cart, answered by stubs: the prepopulated cart is created, then
/// gets its eggplant, and the reply is the id the entity answered with.
#[tokio::test]
async fn the_controller_creates_then_fills_a_prepopulated_cart() {
    let testkit = ActionTestKit::new(ShoppingCartController);
    testkit
        .stub::<ShoppingCartEntity>()
        .create(cart_of)
        .add_item(cart_of);
    let result = testkit
        .call(async |action, ctx| action.create_prepopulated(ctx).await)
        .await;
    let calls = testkit.calls();
    let methods: Vec<&str> = calls.iter().map(|call| call.method()).collect();
    assert_eq!(methods, ["create", "add_item"]);
    assert_eq!(result.reply(), calls[0].path_param("cart_id").unwrap());
    assert_eq!(calls[1].body_as::<LineItem>().unwrap().name, "eggplant");
}

#[tokio::test]
async fn a_failed_creation_fails_the_prepopulated_cart() {
    // Only an error: the reply type is the handler's, nothing to annotate.
    let testkit = ActionTestKit::new(ShoppingCartController);
    testkit
        .stub::<ShoppingCartEntity>()
        .create(|_| Err(CallError::new(ErrorCode::SERVICE_UNAVAILABLE, "store down")));
    let result = testkit
        .call(async |action, ctx| action.create_prepopulated(ctx).await)
        .await;
    assert_eq!(result.error_status(), ErrorCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        testkit.calls().len(),
        1,
        "no item is added to a cart that was not created"
    );
}
