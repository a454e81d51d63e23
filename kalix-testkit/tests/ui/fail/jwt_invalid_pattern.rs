use kalix_core::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action]
impl Greeter {
    #[get("/hello")]
    #[jwt(claim(name = "email", pattern = "@example(\\.com$"))]
    pub async fn hello(&self) -> action::Effect<String> {
        action::Effect::reply("hello".to_owned())
    }
}

fn main() {}
