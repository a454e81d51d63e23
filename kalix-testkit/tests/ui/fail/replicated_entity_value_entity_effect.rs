use kalix_core::prelude::*;
use kalix_core::replicated_entity::ReplicatedCounter;

#[derive(Default)]
pub struct Likes;

#[replicated_entity(type_id = "likes", id = "post_id")]
impl Likes {
    // A value entity's effect in a replicated entity.
    #[get("/likes/<post_id>")]
    fn get(&self, likes: &ReplicatedCounter) -> value_entity::Effect<ReplicatedCounter, i64> {
        value_entity::Effect::reply(likes.value())
    }
}

fn main() {}
