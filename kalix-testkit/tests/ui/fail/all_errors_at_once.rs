use kalix_core::prelude::*;

#[derive(Default)]
pub struct Many;

// Every mistake of the item is reported in one compilation.
#[action]
impl Many {
    #[get("/a/<x")]
    async fn a(&self) -> action::Effect<u64> {
        action::Effect::reply(1)
    }

    #[post("/b")]
    async fn b(&self, first: u64, second: u64) -> action::Effect<u64> {
        action::Effect::reply(first + second)
    }

    #[get("/c")]
    fn c(&self) -> String {
        String::new()
    }
}

fn main() {}
