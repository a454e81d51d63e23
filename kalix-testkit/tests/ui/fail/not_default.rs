use kalix_core::prelude::*;

pub struct NeedsClient {
    base_url: String,
}

#[action]
impl NeedsClient {
    #[get("/url")]
    async fn url(&self) -> action::Effect<String> {
        action::Effect::reply(self.base_url.clone())
    }
}

fn main() {}
