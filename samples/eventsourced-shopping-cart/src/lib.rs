//! The Kalix event-sourced shopping cart in Rust, at `/cart/<cart_id>`:
//!
//! - `POST /create` -> `"OK"`
//! - `POST /add` `{"productId","name","quantity"}` -> `"OK"` (the same product sums quantities)
//! - `POST /items/<product_id>/remove` -> `"OK"`
//! - `POST /checkout` -> `"OK"`: emits `CheckedOut` and deletes the entity
//! - `GET` -> `{"cartId","items","checkedOut"}`, items sorted by product id

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

/// The cart's effect, named once: handlers return `Effect<Reply>`. The macro reads the state and
/// event from the `#[event_handler]` method, so an alias works.
type Effect<R> = event_sourced_entity::Effect<ShoppingCart, ShoppingCartEvent, R>;

/// One product in a cart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LineItem {
    /// The product's id.
    pub product_id: String,
    /// Its name.
    pub name: String,
    /// How many.
    pub quantity: i32,
}

/// The cart: `{"cartId","items","checkedOut"}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShoppingCart {
    /// The cart's id.
    pub cart_id: String,
    /// Its items, sorted by product id.
    pub items: Vec<LineItem>,
    /// Whether it was checked out.
    pub checked_out: bool,
}

impl ShoppingCart {
    /// The empty cart of `cart_id`.
    pub fn empty(cart_id: &str) -> Self {
        Self {
            cart_id: cart_id.to_owned(),
            ..Self::default()
        }
    }

    fn find(&self, product_id: &str) -> Option<&LineItem> {
        self.items.iter().find(|item| item.product_id == product_id)
    }
}

/// The cart's events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub enum ShoppingCartEvent {
    /// An item was added (quantities of one product sum).
    ItemAdded {
        /// The item.
        item: LineItem,
    },
    /// An item was removed.
    ItemRemoved {
        /// Its product id.
        product_id: String,
    },
    /// The cart was checked out.
    CheckedOut,
}

/// The event-sourced shopping cart.
#[derive(Default)]
pub struct ShoppingCartEntity;

const OK: &str = "OK";

#[event_sourced_entity(type_id = "shopping-cart", id = "cart_id", empty_state = ShoppingCart::empty)]
impl ShoppingCartEntity {
    /// Creates the cart.
    #[post("/cart/<cart_id>/create")]
    pub fn create(&self, _cart: &ShoppingCart) -> Effect<String> {
        Effect::reply(OK.to_owned())
    }

    /// Adds an item.
    #[post("/cart/<cart_id>/add")]
    pub fn add_item(&self, cart: &ShoppingCart, item: LineItem) -> Effect<String> {
        if cart.checked_out {
            return Effect::error("Cart is already checked out.");
        }
        if item.quantity <= 0 {
            return Effect::error(format!(
                "Quantity for item {} must be greater than zero.",
                item.product_id
            ));
        }
        let held = cart
            .find(&item.product_id)
            .map_or(0, |existing| existing.quantity);
        if held.checked_add(item.quantity).is_none() {
            return Effect::error(format!(
                "Quantity for item {} would exceed {}.",
                item.product_id,
                i32::MAX
            ));
        }
        Effect::emit_event(ShoppingCartEvent::ItemAdded { item }).then_reply(|_| OK.to_owned())
    }

    /// Removes an item.
    #[post("/cart/<cart_id>/items/<product_id>/remove")]
    pub fn remove_item(&self, cart: &ShoppingCart, product_id: String) -> Effect<String> {
        if cart.checked_out {
            return Effect::error("Cart is already checked out.");
        }
        if cart.find(&product_id).is_none() {
            return Effect::error(format!(
                "Cannot remove item {product_id} because it is not in the cart."
            ));
        }
        Effect::emit_event(ShoppingCartEvent::ItemRemoved { product_id })
            .then_reply(|_| OK.to_owned())
    }

    /// Checks the cart out and deletes the entity.
    #[post("/cart/<cart_id>/checkout")]
    pub fn checkout(&self, cart: &ShoppingCart) -> Effect<String> {
        if cart.checked_out {
            return Effect::error("Cart is already checked out.");
        }
        Effect::emit_event(ShoppingCartEvent::CheckedOut)
            .delete_entity()
            .then_reply(|_| OK.to_owned())
    }

    /// The cart.
    #[get("/cart/<cart_id>")]
    pub fn get_cart(&self, cart: &ShoppingCart) -> Effect<ShoppingCart> {
        Effect::reply(cart.clone())
    }

    /// Applies an event.
    #[event_handler]
    pub fn apply(&self, mut cart: ShoppingCart, event: &ShoppingCartEvent) -> ShoppingCart {
        match event {
            ShoppingCartEvent::ItemAdded { item } => {
                match cart
                    .items
                    .iter_mut()
                    .find(|existing| existing.product_id == item.product_id)
                {
                    // Commands refuse an add past `i32::MAX`; saturating keeps older journals
                    // replayable.
                    Some(existing) => {
                        existing.quantity = existing.quantity.saturating_add(item.quantity)
                    }
                    None => cart.items.push(item.clone()),
                }
                cart.items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
            }
            ShoppingCartEvent::ItemRemoved { product_id } => {
                cart.items.retain(|item| &item.product_id != product_id)
            }
            ShoppingCartEvent::CheckedOut => cart.checked_out = true,
        }
        cart
    }
}
