use kalix_core::prelude::*;

#[derive(Default)]
pub struct Carts;

#[action]
impl Carts {
    #[delete("/carts/<cart_id>")]
    async fn remove(&self, cart_id: String, #[header("UserRole")] role: String) -> action::Effect<String> {
        action::Effect::reply(format!("{cart_id}{role}"))
    }
}

fn main() {}
