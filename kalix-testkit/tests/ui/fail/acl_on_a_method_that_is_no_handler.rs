use kalix_core::prelude::*;

#[derive(Default)]
pub struct Greeter;

#[action]
impl Greeter {
    #[get("/hello")]
    pub async fn hello(&self) -> action::Effect<String> {
        action::Effect::reply(self.text())
    }

    #[acl(allow(principal = "all"))]
    fn text(&self) -> String {
        "hello".to_owned()
    }
}

fn main() {}
