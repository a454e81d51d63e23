use kalix_core::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action]
impl Greeter {
    #[get("/hello")]
    #[jwt(issuer = "https://auth.example.com", claim(name = "role", values = ["admin"], pattern = "adm.*"))]
    pub async fn hello(&self) -> action::Effect<String> {
        action::Effect::reply("hello".to_owned())
    }
}

fn main() {}
