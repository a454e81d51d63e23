use kalix_core::prelude::*;

#[derive(Default)]
pub struct Likes;

// A plain number is no replicated data type.
#[replicated_entity(type_id = "likes", id = "post_id")]
impl Likes {
    #[get("/likes/<post_id>")]
    fn get(&self, likes: &i64) -> replicated_entity::Effect<i64, i64> {
        replicated_entity::Effect::reply(*likes)
    }
}

fn main() {}
