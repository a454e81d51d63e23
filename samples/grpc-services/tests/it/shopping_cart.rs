//! `com.example.shoppingcart.ShoppingCartService` over gRPC: a value entity keyed by `cart_id`.

use grpc_services::proto::com::example::shoppingcart::shopping_cart_service_client::ShoppingCartServiceClient;
use grpc_services::proto::com::example::shoppingcart::{
    AddLineItem, GetShoppingCart, LineItem, RemoveLineItem, RemoveShoppingCart,
};
use kalix_core::grpc::__deps::tonic::Code;
use kalix_core::grpc::__deps::tonic::transport::Channel;
use kalix_testkit::TestKit;

pub(crate) fn add(cart: &str, product: &str, name: &str, quantity: i32) -> AddLineItem {
    AddLineItem {
        cart_id: cart.into(),
        product_id: product.into(),
        name: name.into(),
        quantity,
    }
}

pub(crate) async fn items(
    client: &mut ShoppingCartServiceClient<Channel>,
    cart: &str,
) -> Vec<LineItem> {
    client
        .get_cart(GetShoppingCart {
            cart_id: cart.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .items
}

fn line(product: &str, name: &str, quantity: i32) -> LineItem {
    LineItem {
        product_id: product.into(),
        name: name.into(),
        quantity,
    }
}

#[tokio::test]
async fn items_are_added_merged_listed_in_order_and_removed() {
    let testkit = TestKit::start().await;
    let mut client = ShoppingCartServiceClient::new(testkit.grpc_channel().await);
    assert_eq!(items(&mut client, "never-used").await, []);

    client
        .add_item(add("c1", "akka-tshirt", "Akka T-Shirt", 3))
        .await
        .unwrap();
    client
        .add_item(add("c1", "scala-mug", "Scala Mug", 1))
        .await
        .unwrap();
    client
        .add_item(add("c1", "akka-tshirt", "Akka T-Shirt", 2))
        .await
        .unwrap();
    // Another cart is another entity.
    client
        .add_item(add("c2", "scala-mug", "Scala Mug", 7))
        .await
        .unwrap();
    assert_eq!(
        items(&mut client, "c1").await,
        [
            line("akka-tshirt", "Akka T-Shirt", 5),
            line("scala-mug", "Scala Mug", 1)
        ]
    );

    client
        .remove_item(RemoveLineItem {
            cart_id: "c1".into(),
            product_id: "akka-tshirt".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        items(&mut client, "c1").await,
        [line("scala-mug", "Scala Mug", 1)]
    );

    client
        .remove_cart(RemoveShoppingCart {
            cart_id: "c1".into(),
        })
        .await
        .unwrap();
    assert_eq!(items(&mut client, "c1").await, []);
    assert_eq!(
        items(&mut client, "c2").await,
        [line("scala-mug", "Scala Mug", 7)]
    );
    testkit.stop().await;
}

#[tokio::test]
async fn bad_commands_get_their_codes_and_change_nothing() {
    let testkit = TestKit::start().await;
    let mut client = ShoppingCartServiceClient::new(testkit.grpc_channel().await);
    client.add_item(add("c1", "mug", "Mug", 1)).await.unwrap();

    for quantity in [0, -1] {
        let refused = client
            .add_item(add("c1", "mug", "Mug", quantity))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument);
        assert_eq!(
            refused.message(),
            "Quantity for item mug must be greater than zero."
        );
    }
    let overflow = client
        .add_item(add("c1", "mug", "Mug", i32::MAX))
        .await
        .unwrap_err();
    assert_eq!(overflow.code(), Code::InvalidArgument);

    let missing = client
        .remove_item(RemoveLineItem {
            cart_id: "c1".into(),
            product_id: "hat".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound);
    assert_eq!(
        missing.message(),
        "Cannot remove item hat because it is not in the cart."
    );

    let no_id = client.add_item(add("", "mug", "Mug", 1)).await.unwrap_err();
    assert_eq!(no_id.code(), Code::InvalidArgument);
    let no_id = client
        .get_cart(GetShoppingCart {
            cart_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(no_id.code(), Code::InvalidArgument);

    assert_eq!(items(&mut client, "c1").await, [line("mug", "Mug", 1)]);
    testkit.stop().await;
}

/// An `idempotency-key` in a gRPC call's metadata makes the command run once: the repeat's
/// response says `idempotency-replayed: true` and the cart holds the items once; the same key
/// with another message is refused (HTTP's 422, `INVALID_ARGUMENT`) and changes nothing.
#[tokio::test]
async fn a_call_sent_again_with_its_idempotency_key_adds_once() {
    let testkit = TestKit::start().await;
    let mut client = ShoppingCartServiceClient::new(testkit.grpc_channel().await);
    let keyed = |item: AddLineItem| {
        let mut request = kalix_core::grpc::__deps::tonic::Request::new(item);
        request
            .metadata_mut()
            .insert("idempotency-key", "add-once".parse().unwrap());
        request
    };
    let first = client
        .add_item(keyed(add("k1", "mug", "Mug", 2)))
        .await
        .unwrap();
    assert!(first.metadata().get("idempotency-replayed").is_none());
    let again = client
        .add_item(keyed(add("k1", "mug", "Mug", 2)))
        .await
        .unwrap();
    assert_eq!(
        again.metadata().get("idempotency-replayed").unwrap(),
        "true"
    );
    assert_eq!(items(&mut client, "k1").await, [line("mug", "Mug", 2)]);
    let other = client
        .add_item(keyed(add("k1", "mug", "Mug", 5)))
        .await
        .unwrap_err();
    assert_eq!(other.code(), Code::InvalidArgument);
    assert!(other.message().contains("another request"), "{other:?}");
    assert_eq!(items(&mut client, "k1").await, [line("mug", "Mug", 2)]);
}
