use kalix_core::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action]
impl Greeter {
    #[get("/hello")]
    #[acl(allow(service = "*"), deny_code = 200)]
    pub async fn hello(&self) -> action::Effect<String> {
        action::Effect::reply("hello".to_owned())
    }
}

fn main() {}
