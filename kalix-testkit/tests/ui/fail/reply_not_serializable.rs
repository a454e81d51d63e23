use kalix_core::prelude::*;

pub struct Secret(u64);

#[derive(Default)]
pub struct Vault;

#[action]
impl Vault {
    #[get("/secret")]
    async fn secret(&self) -> action::Effect<Secret> {
        action::Effect::reply(Secret(1))
    }
}

fn main() {}
