include!("../grpc_fixture.rs");
use kalix_core::prelude::*;
use proto::{Cart, Carts, GetCart};

#[derive(Default)]
pub struct CartEntity;

#[value_entity(type_id = "cart", id = "cart", state = Cart)]
impl CartEntity {
    #[grpc(Carts::GetCart)]
    pub fn get_cart(&self, cart: &Cart, _request: GetCart) -> value_entity::Effect<Cart, Cart> {
        value_entity::Effect::reply(cart.clone())
    }
}

fn main() {}
