//! The controller action at `/carts`: validation, composition of calls, forwards.

use kalix_core::prelude::*;

use crate::cart::{CartView, LineItem, ShoppingCartEntity};

/// The controller in front of the cart entity.
#[derive(Default)]
pub struct ShoppingCartController;

#[action(forward_headers = ["UserRole"])]
impl ShoppingCartController {
    /// Creates a cart with a new id and replies with the id.
    #[post("/carts/create")]
    pub async fn initialize_cart(&self, ctx: &ActionContext) -> action::Effect<String> {
        let cart_id = uuid::Uuid::new_v4().to_string();
        let created = ctx
            .component_client()
            .value_entity::<ShoppingCartEntity>(cart_id.clone())
            .create();
        action::Effect::async_effect(async move {
            match created.await {
                Ok(_) => action::Effect::reply(cart_id),
                Err(_) => action::Effect::error("Failed to create cart, please retry"),
            }
        })
    }

    /// Adds an item, refusing carrots.
    #[post("/carts/<cart_id>/items/add")]
    pub async fn verified_add_item(
        &self,
        cart_id: String,
        item: LineItem,
        ctx: &ActionContext,
    ) -> action::Effect<CartView> {
        if item.name.eq_ignore_ascii_case("carrot") {
            return action::Effect::error("Carrots no longer for sale");
        }
        let add = ctx
            .component_client()
            .value_entity::<ShoppingCartEntity>(cart_id)
            .add_item(item);
        action::Effect::forward(add)
    }

    /// Creates a cart holding an eggplant and replies with its id.
    #[post("/carts/prepopulated")]
    pub async fn create_prepopulated(&self, ctx: &ActionContext) -> action::Effect<String> {
        let cart_id = uuid::Uuid::new_v4().to_string();
        let cart = ctx
            .component_client()
            .value_entity::<ShoppingCartEntity>(cart_id);
        action::Effect::async_reply(async move {
            cart.create().await?;
            let eggplant = LineItem {
                product_id: "e".to_owned(),
                name: "eggplant".to_owned(),
                quantity: 1,
            };
            Ok(cart.add_item(eggplant).await?.cart_id)
        })
    }

    /// Removes a cart, passing the `UserRole` header on as metadata `Role`.
    #[delete("/carts/<cart_id>")]
    pub async fn remove_cart(
        &self,
        cart_id: String,
        #[header("UserRole")] user_role: Option<String>,
        ctx: &ActionContext,
    ) -> action::Effect<String> {
        let remove = ctx
            .component_client()
            .value_entity::<ShoppingCartEntity>(cart_id)
            .remove_cart();
        let metadata = Metadata::new().add("Role", user_role.unwrap_or_default());
        action::Effect::forward(remove.with_metadata(metadata))
    }
}
