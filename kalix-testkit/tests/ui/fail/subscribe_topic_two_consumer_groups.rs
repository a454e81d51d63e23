use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Increase {
    value: i64,
}

#[derive(Serialize, Deserialize)]
pub struct Reset {}

#[derive(Default)]
pub struct Commands;

#[action]
impl Commands {
    #[subscribe(topic = "commands", consumer_group = "a")]
    async fn on_increase(&self, _command: Increase) -> action::Effect<()> {
        action::Effect::reply(())
    }

    #[subscribe(topic = "commands", consumer_group = "b")]
    async fn on_reset(&self, _command: Reset) -> action::Effect<()> {
        action::Effect::reply(())
    }
}

fn main() {}
