use kalix_core::prelude::*;

#[derive(Default)]
pub struct Cart;

#[action]
impl Cart {
    #[post("/cart/<cart_id>/items")]
    async fn add(&self, cart_id: String, item: String, quantity: u32) -> action::Effect<String> {
        action::Effect::reply(format!("{cart_id}{item}{quantity}"))
    }
}

fn main() {}
