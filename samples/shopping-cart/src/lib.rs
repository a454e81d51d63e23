//! The Kalix value-entity shopping cart in Rust: a cart entity, and a controller action in front
//! of it that validates, composes calls and forwards.

mod cart;
mod controller;

pub use cart::{CartView, LineItem, ShoppingCart, ShoppingCartEntity};
pub use controller::ShoppingCartController;
