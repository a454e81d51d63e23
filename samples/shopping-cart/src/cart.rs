//! The cart entity, at `/cart/<cart_id>`.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

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

/// A cart as stored.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShoppingCart {
    /// The cart's id (the empty state already holds it).
    pub cart_id: String,
    /// Its items, sorted by product id.
    pub items: Vec<LineItem>,
    /// When it was created, in milliseconds since the epoch; 0 until created.
    #[serde(default)]
    pub creation_timestamp: u64,
}

/// A cart as replied (Kalix's `ShoppingCartDTO`): `{"cartId", "items"}`, items sorted by product id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CartView {
    /// The cart's id.
    pub cart_id: String,
    /// Its items, sorted by product id.
    pub items: Vec<LineItem>,
}

impl ShoppingCart {
    /// The empty cart of `cart_id`.
    pub fn empty(cart_id: &str) -> Self {
        Self {
            cart_id: cart_id.to_owned(),
            ..Self::default()
        }
    }

    /// What a reply shows of the cart.
    pub fn view(&self) -> CartView {
        CartView {
            cart_id: self.cart_id.clone(),
            items: self.items.clone(),
        }
    }

    /// The cart with `item` added, or `None` if its quantity would overflow.
    fn with_item(&self, item: LineItem) -> Option<Self> {
        let mut cart = self.clone();
        match cart
            .items
            .iter_mut()
            .find(|existing| existing.product_id == item.product_id)
        {
            Some(existing) => existing.quantity = existing.quantity.checked_add(item.quantity)?,
            None => cart.items.push(item),
        }
        cart.items.sort_by(|a, b| a.product_id.cmp(&b.product_id));
        Some(cart)
    }
}

/// The shopping cart entity.
#[derive(Default)]
pub struct ShoppingCartEntity;

/// The cart's effect, named once: handlers return `Effect<Reply>` (the attribute names the state,
/// so the macro needs no more).
type Effect<R> = value_entity::Effect<ShoppingCart, R>;

#[value_entity(
    type_id = "shopping-cart",
    id = "cart_id",
    state = ShoppingCart,
    empty_state = ShoppingCart::empty,
    forward_headers = ["Role"]
)]
impl ShoppingCartEntity {
    /// Creates the cart (once).
    #[post("/cart/<cart_id>/create")]
    pub fn create(&self, cart: &ShoppingCart) -> Effect<CartView> {
        if cart.creation_timestamp > 0 {
            return Effect::error("Cart was already created");
        }
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |elapsed| elapsed.as_millis() as u64)
            .max(1);
        let created = ShoppingCart {
            creation_timestamp: now,
            ..cart.clone()
        };
        let view = created.view();
        Effect::update_state(created).then_reply(view)
    }

    /// Adds an item; the same product sums quantities.
    #[post("/cart/<cart_id>/items/add")]
    pub fn add_item(&self, cart: &ShoppingCart, item: LineItem) -> Effect<CartView> {
        if item.quantity <= 0 {
            return Effect::error(format!(
                "Quantity for item {} must be greater than zero.",
                item.product_id
            ));
        }
        let product_id = item.product_id.clone();
        let Some(updated) = cart.with_item(item) else {
            return Effect::error(format!(
                "Quantity for item {product_id} would exceed {}.",
                i32::MAX
            ));
        };
        let view = updated.view();
        Effect::update_state(updated).then_reply(view)
    }

    /// Removes an item.
    #[post("/cart/<cart_id>/items/<product_id>/remove")]
    pub fn remove_item(&self, cart: &ShoppingCart, product_id: String) -> Effect<CartView> {
        if !cart.items.iter().any(|item| item.product_id == product_id) {
            return Effect::error(format!(
                "Cannot remove item {product_id} because it is not in the cart."
            ));
        }
        let mut updated = cart.clone();
        updated.items.retain(|item| item.product_id != product_id);
        let view = updated.view();
        Effect::update_state(updated).then_reply(view)
    }

    /// The cart.
    #[get("/cart/<cart_id>")]
    pub fn get_cart(&self, cart: &ShoppingCart) -> Effect<CartView> {
        Effect::reply(cart.view())
    }

    /// Deletes the cart; only for metadata `Role: Admin`.
    #[post("/cart/<cart_id>/remove")]
    pub fn remove_cart(&self, _cart: &ShoppingCart, ctx: &ValueEntityContext) -> Effect<String> {
        if ctx.metadata().get("Role") != Some("Admin") {
            return Effect::error("Only admin can remove the cart");
        }
        Effect::delete_entity().then_reply("OK".to_owned())
    }
}
