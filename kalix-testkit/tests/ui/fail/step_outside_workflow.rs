use kalix_core::prelude::*;

#[derive(Default)]
pub struct Echo;

#[action]
impl Echo {
    #[get("/echo/<word>")]
    async fn echo(&self, word: String) -> action::Effect<String> {
        action::Effect::reply(word)
    }
}

impl Echo {
    #[step]
    async fn later(&self) {}
}

fn main() {}
