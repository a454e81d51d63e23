// A path or query parameter whose type cannot be read from a URL names what it needs, once for
// each trait the type lacks (here both FromStr and Display), and no runtime internals.
use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct CustomerId {
    pub value: String,
}

#[derive(Default)]
pub struct Lookup;

#[action]
impl Lookup {
    #[get("/lookup/<id>")]
    async fn by_id(&self, id: CustomerId) -> action::Effect<String> {
        action::Effect::reply(id.value)
    }

    #[get("/search")]
    async fn search(&self, #[query] id: CustomerId) -> action::Effect<String> {
        action::Effect::reply(id.value)
    }
}

fn main() {}
