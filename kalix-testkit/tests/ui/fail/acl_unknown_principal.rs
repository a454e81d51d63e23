use kalix_core::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action]
#[acl(allow(principal = "everyone"))]
impl Greeter {
    #[get("/hello")]
    pub async fn hello(&self) -> action::Effect<String> {
        action::Effect::reply("hello".to_owned())
    }
}

fn main() {}
