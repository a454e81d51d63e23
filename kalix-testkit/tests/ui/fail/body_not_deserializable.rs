use kalix_core::prelude::*;

pub struct Item {
    pub name: String,
}

#[derive(Default)]
pub struct Cart;

#[action]
impl Cart {
    #[post("/cart/items")]
    async fn add(&self, item: Item) -> action::Effect<String> {
        action::Effect::reply(item.name)
    }
}

fn main() {}
