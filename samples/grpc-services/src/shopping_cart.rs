//! `com.example.shoppingcart.ShoppingCartService` as a value entity: the state is the `Cart`
//! message, and each request names its cart by `cart_id`.

use kalix_core::grpc::types::Empty;
use kalix_core::prelude::*;

use crate::proto::com::example::shoppingcart::{
    AddLineItem, Cart, GetShoppingCart, LineItem, RemoveLineItem, RemoveShoppingCart,
    ShoppingCartService,
};

/// A shopping cart, kept durably under its `cart_id`.
#[derive(Default)]
pub struct ShoppingCartEntity;

type Effect<R> = value_entity::Effect<Cart, R>;

/// A shopping cart over gRPC: its items in the order they were first added.
#[value_entity(type_id = "grpc-shopping-cart", id = "cart_id", state = Cart)]
impl ShoppingCartEntity {
    /// Adds an item; a product already in the cart gets the quantity added to it.
    #[grpc(ShoppingCartService::AddItem)]
    pub fn add_item(&self, cart: &Cart, item: AddLineItem) -> Effect<Empty> {
        if item.quantity <= 0 {
            return Effect::error(format!(
                "Quantity for item {} must be greater than zero.",
                item.product_id
            ));
        }
        let mut updated = cart.clone();
        match updated
            .items
            .iter_mut()
            .find(|line| line.product_id == item.product_id)
        {
            Some(line) => match line.quantity.checked_add(item.quantity) {
                Some(quantity) => line.quantity = quantity,
                None => {
                    return Effect::error(format!(
                        "Quantity for item {} would exceed {}.",
                        item.product_id,
                        i32::MAX
                    ));
                }
            },
            None => updated.items.push(LineItem {
                product_id: item.product_id,
                name: item.name,
                quantity: item.quantity,
            }),
        }
        Effect::update_state(updated).then_reply(Empty {})
    }

    /// Removes a product from the cart.
    #[grpc(ShoppingCartService::RemoveItem)]
    pub fn remove_item(&self, cart: &Cart, item: RemoveLineItem) -> Effect<Empty> {
        let Some(position) = cart
            .items
            .iter()
            .position(|line| line.product_id == item.product_id)
        else {
            return Effect::error_with_status(
                format!(
                    "Cannot remove item {} because it is not in the cart.",
                    item.product_id
                ),
                ErrorCode::NOT_FOUND,
            );
        };
        let mut updated = cart.clone();
        updated.items.remove(position);
        Effect::update_state(updated).then_reply(Empty {})
    }

    /// The cart (empty if it was never filled, or was removed).
    #[grpc(ShoppingCartService::GetCart)]
    pub fn get_cart(&self, cart: &Cart, _request: GetShoppingCart) -> Effect<Cart> {
        Effect::reply(cart.clone())
    }

    /// Deletes the cart.
    #[grpc(ShoppingCartService::RemoveCart)]
    pub fn remove_cart(&self, _cart: &Cart, _request: RemoveShoppingCart) -> Effect<Empty> {
        Effect::delete_entity().then_reply(Empty {})
    }
}
