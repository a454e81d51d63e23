//! Generated code names everything by absolute path, so it compiles without the prelude and
//! beside user items that shadow common names: every attribute is used here.
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

        #[patch("/hygiene/flag/<on>")]
        pub async fn flag(&self, on: bool) -> action::Effect<bool> {
            action::Effect::reply(on)
        }

        #[on_startup(max_retries = 2)]
        pub async fn warm_up(&self) -> action::Effect<()> {
            action::Effect::reply(())
        }
    }

    #[derive(::std::default::Default)]
    pub struct Tally;

    #[value_entity(type_id = "hygienic-tally", id = "tally_id")]
    impl Tally {
        #[put("/hygiene/tally/<tally_id>/<by>")]
        pub fn add(
            &self,
            total: &Number,
            by: u64,
            ctx: &ValueEntityContext,
        ) -> value_entity::Effect<Number, Number> {
            let _ = ctx.entity_id();
            let total = Number {
                value: total.value + by,
            };
            let reply = Number { value: total.value };
            value_entity::Effect::update_state(total).then_reply(reply)
        }

        #[get("/hygiene/tally/<tally_id>")]
        pub fn get(&self, total: &Number) -> value_entity::Effect<Number, u64> {
            value_entity::Effect::reply(total.value)
        }

        #[delete("/hygiene/tally/<tally_id>")]
        pub fn reset(&self, _total: &Number) -> value_entity::Effect<Number, ()> {
            value_entity::Effect::delete_entity().then_reply(())
        }
    }

    #[derive(::std::default::Default)]
    pub struct Watcher;

    #[action]
    impl Watcher {
        #[subscribe(value_entity = Tally)]
        pub async fn on_tally(&self, total: Number, ctx: &ActionContext) -> action::Effect<()> {
            let _ = (total, ctx.event_subject());
            action::Effect::reply(())
        }

        #[subscribe(value_entity = Tally, handle_deletes)]
        pub async fn on_reset(&self) -> action::Effect<()> {
            action::Effect::ignore()
        }

        #[subscribe(event_sourced_entity = Ledger, ignore_unknown)]
        pub async fn on_number_event(&self, number: Number) -> action::Effect<()> {
            let _ = number;
            action::Effect::reply(())
        }

        #[subscribe(event_sourced_entity = Ledger)]
        #[publish(topic = "counted")]
        pub async fn on_counted(&self, event: Counted) -> action::Effect<Counted> {
            action::Effect::reply(event)
        }
    }

    #[derive(::std::default::Default)]
    pub struct Listener;

    #[action]
    impl Listener {
        #[subscribe(topic = "counted", consumer_group = "listeners", ignore_unknown)]
        pub async fn on_counted(&self, event: Counted) -> action::Effect<()> {
            let _ = event;
            action::Effect::reply(())
        }

        #[subscribe(topic = "counted", consumer_group = "listeners")]
        pub async fn on_number(&self, number: Number) -> action::Effect<()> {
            let _ = number;
            action::Effect::reply(())
        }
    }

    #[derive(::std::default::Default)]
    pub struct Streamer;

    #[action]
    impl Streamer {
        #[subscribe(stream = "ledger", service = "other-service", consumer_group = "copies")]
        #[publish(stream = "ledger-copies")]
        pub async fn on_counted(&self, event: Counted) -> action::Effect<Counted> {
            action::Effect::reply(event)
        }
    }

    impl ::std::default::Default for Number {
        fn default() -> Self {
            Number { value: 0 }
        }
    }

    #[derive(::serde::Serialize, ::serde::Deserialize)]
    pub enum Counted {
        By(u64),
    }

    #[derive(::std::default::Default)]
    pub struct Ledger;

    #[event_sourced_entity(type_id = "hygienic-ledger", id = "ledger_id", snapshot_every = 10)]
    impl Ledger {
        #[post("/hygiene/ledger/<ledger_id>/<by>")]
        pub fn count(
            &self,
            _total: &u64,
            by: u64,
            ctx: &EventSourcedEntityContext,
        ) -> event_sourced_entity::Effect<u64, Counted, u64> {
            let _ = ctx.entity_id();
            event_sourced_entity::Effect::emit_event(Counted::By(by)).then_reply(|total| *total)
        }

        #[event_handler]
        pub fn apply(&self, total: u64, event: &Counted) -> u64 {
            match event {
                Counted::By(by) => total + by,
            }
        }
    }

    #[derive(::std::clone::Clone, ::serde::Serialize, ::serde::Deserialize)]
    pub struct Progress {
        pub done: u64,
    }

    #[derive(::std::default::Default)]
    pub struct Flow;

    #[workflow(type_id = "hygienic-flow", id = "flow_id")]
    impl Flow {
        #[settings]
        fn settings() -> workflow::Settings<Self> {
            workflow::Settings::new()
                .default_step_recovery(workflow::Recovery::max_retries(1).failover_to(Self::FINISH, 0))
        }

        #[put("/hygiene/flow/<flow_id>")]
        pub fn start(
            &self,
            state: ::std::option::Option<&Progress>,
            ctx: &WorkflowContext,
        ) -> workflow::Effect<Self, Progress, u64> {
            let _ = (state, ctx.workflow_id());
            workflow::Effect::update_state(Progress { done: 0 })
                .transition_to(Self::WORK, 1)
                .then_reply(1)
        }

        #[step]
        async fn work(&self, state: &Progress, by: u64, ctx: &StepContext) -> StepResult<Self, Progress> {
            let _ = ctx.attempt();
            ::std::result::Result::Ok(
                Transition::update_state(Progress { done: state.done + by }).transition_to(Self::FINISH, 0),
            )
        }

        #[step(name = "finish-it")]
        async fn finish(&self, extra: u64) -> StepResult<Self, Progress> {
            let _ = extra;
            ::std::result::Result::Ok(Transition::end())
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
    let add = client
        .value_entity::<service::Tally>(::std::string::ToString::to_string("t"))
        .add(3);
    ::std::assert_eq!(add.call().method(), "add");
    let count = client
        .event_sourced_entity::<service::Ledger>(::std::string::ToString::to_string("l"))
        .count(4);
    ::std::assert_eq!(count.call().method(), "count");
    let start = client
        .workflow::<service::Flow>(::std::string::ToString::to_string("f"))
        .start();
    ::std::assert_eq!(start.call().method(), "start");
}
