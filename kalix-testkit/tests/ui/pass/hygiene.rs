//! Generated code names everything by absolute path, so it compiles without the prelude and
//! beside user items that shadow common names.
#![no_implicit_prelude]

mod shadowing {
    #![allow(dead_code)]
    pub struct Result;
    pub struct Option;
    pub struct Box;
    pub struct Arc;
    pub struct Call;
    pub struct Metadata;
}

mod service {
    use ::kalix_core::prelude::*;
    #[allow(unused_imports)]
    use super::shadowing::*;

    #[derive(::serde::Serialize, ::serde::Deserialize)]
    pub struct Number {
        pub value: u64,
    }

    #[derive(::std::default::Default)]
    pub struct Hygienic;

    #[action(forward_headers = ["Role"])]
    impl Hygienic {
        #[post("/hygiene/<id>")]
        pub async fn handle(
            &self,
            id: ::std::string::String,
            #[query] page: ::std::option::Option<u32>,
            #[query] tags: ::std::vec::Vec<::std::string::String>,
            #[header("Role")] role: ::std::string::String,
            body: Number,
            ctx: &ActionContext,
        ) -> action::Effect<Number> {
            let _ = (id, page, tags, role, ctx);
            action::Effect::reply(body)
        }
    }
}

fn main() {
    let client = ::kalix_core::ComponentClient::disconnected();
    let call = client.action::<service::Hygienic>().handle(
        ::std::string::ToString::to_string("a"),
        ::std::option::Option::Some(1),
        ::std::vec::Vec::new(),
        ::std::string::ToString::to_string("Admin"),
        service::Number { value: 1 },
    );
    ::std::assert_eq!(call.call().method(), "handle");
}
