use kalix_core::prelude::*;

pub struct Plain;

impl Plain {
    #[get("/plain")]
    pub fn plain(&self) {}
}

fn main() {}
