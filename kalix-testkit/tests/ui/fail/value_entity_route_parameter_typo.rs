// A route whose parameter misspells the entity's id parameter.
use kalix_core::prelude::*;

#[derive(Default)]
pub struct MemberEntity;

#[value_entity(type_id = "member", id = "member_id")]
impl MemberEntity {
    #[get("/member/<memberid>")]
    fn get(&self, loans: &u32) -> value_entity::Effect<u32, u32> {
        value_entity::Effect::reply(*loans)
    }
}

fn main() {}
