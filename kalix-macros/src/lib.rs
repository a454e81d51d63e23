//! Attribute macros of `kalix-core`. Use them through `kalix_core::prelude`, which re-exports
//! them; the generated code reaches the runtime through `::kalix_core::__private`.
//!
//! Each attribute kind is a module that runs parse -> model -> validate -> expand. Every error
//! of an item is reported at once, on the tokens at fault, and the user's item is still
//! emitted, so one mistake gives one error.

#![warn(missing_docs)]

use proc_macro::TokenStream;

mod access;
mod action;
mod api_doc;
mod codegen;
mod component;
mod diagnostics;
mod entity;
mod event_sourced_entity;
mod exports;
mod handler;
mod keyed;
mod options;
mod readers;
mod replicated_entity;
mod route;
pub(crate) mod value_entity;
mod view;
mod workflow;

/// Makes the methods of an `impl` block with route attributes the handlers of an action.
///
/// Options: `new = path::to::constructor` (a `fn(&Dependencies) -> Result<Self, MissingDependency>`
/// used instead of `Default`), `forward_headers = ["UserRole", ...]` (request headers copied into
/// the metadata of its calls). See `kalix_core::action` for the handler signatures.
#[proc_macro_attribute]
pub fn action(args: TokenStream, item: TokenStream) -> TokenStream {
    action::expand(args.into(), item.into()).into()
}

/// Routes `GET <template>` to a handler of an `#[action]` impl block.
#[proc_macro_attribute]
pub fn get(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("get", item)
}

/// Routes `POST <template>` to a handler of an `#[action]` impl block.
#[proc_macro_attribute]
pub fn post(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("post", item)
}

/// Routes `PUT <template>` to a handler of an `#[action]` impl block.
#[proc_macro_attribute]
pub fn put(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("put", item)
}

/// Routes `PATCH <template>` to a handler of an `#[action]` impl block.
#[proc_macro_attribute]
pub fn patch(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("patch", item)
}

/// Routes `DELETE <template>` to a handler of an `#[action]` impl block.
#[proc_macro_attribute]
pub fn delete(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("delete", item)
}

/// Runs a handler of an `#[action]` impl block each time the service starts:
/// `#[on_startup]` or `#[on_startup(max_retries = 3)]`.
#[proc_macro_attribute]
pub fn on_startup(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("on_startup", item)
}

/// Runs a handler of an `#[action]` impl block for each change of an entity:
/// `#[subscribe(value_entity = CounterEntity)]` (the new state), with
/// `#[subscribe(value_entity = CounterEntity, handle_deletes)]` for its deletes, or
/// `#[subscribe(event_sourced_entity = CartEntity)]` (each event).
#[proc_macro_attribute]
pub fn subscribe(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("subscribe", item)
}

/// Implements a method of a `.proto` service with a handler of an `#[action]`,
/// `#[value_entity]`, `#[event_sourced_entity]` or `#[workflow]` impl block:
/// `#[grpc(Fibonacci::NextNumber)]`, naming the method's constant that `kalix-build` generated.
/// The handler takes the request message and replies with the reply message (a stream of them
/// for a server-streaming method, from an action); an entity's id is the message's field named
/// by its `id` option.
#[proc_macro_attribute]
pub fn grpc(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("grpc", item)
}

/// Publishes the replies of a handler of an `#[action]` impl block to a topic, as CloudEvents:
/// `#[publish(topic = "counter-events")]`.
#[proc_macro_attribute]
pub fn publish(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("publish", item)
}

/// Who may call a component's handlers, or one handler:
/// `#[acl(allow(principal = "internet"), allow(service = "billing"), deny(service = "legacy-*"), deny_code = 404)]`.
/// A handler's replaces its component's, a component's the service's default. See
/// `kalix_core::access`.
#[proc_macro_attribute]
pub fn acl(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("acl", item)
}

/// The bearer token a component's handlers, or one handler, require:
/// `#[jwt(issuer = "https://auth.example.com", claim(name = "role", values = ["admin"]))]`.
/// A handler's replaces its component's. See `kalix_core::access`.
#[proc_macro_attribute]
pub fn jwt(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("jwt", item)
}

/// These attributes are read by the component macro on the enclosing `impl` block, which removes
/// them; one that reaches its own expansion stands outside such a block.
fn misplaced(name: &str, item: TokenStream) -> TokenStream {
    let container = match name {
        "on_startup" | "publish" => "`#[action]`",
        "subscribe" => "`#[action]` or `#[view]`",
        "query" => "`#[view]`",
        "event_handler" => "`#[event_sourced_entity]`",
        "step" | "settings" => "`#[workflow]`",

        _ => "`#[action]`, `#[value_entity]` or `#[event_sourced_entity]`",
    };
    let message = if matches!(name, "acl" | "jwt") {
        format!(
            "`#[{name}]` goes below the component attribute of an `impl` block \
             (`#[action] #[{name}(..)] impl ..`), or on one of its handlers"
        )
    } else {
        format!("`#[{name}]` goes on a method of an `impl` block marked {container}")
    };
    let error = syn::Error::new(proc_macro2::Span::call_site(), message).to_compile_error();
    let item = proc_macro2::TokenStream::from(item);
    quote::quote!(#error #item).into()
}

/// Makes the methods of an `impl` block with route attributes the command handlers of a value
/// entity: `#[value_entity(type_id = "counter", id = "counter_id")]`. See `kalix_core::value_entity`.
#[proc_macro_attribute]
pub fn value_entity(args: TokenStream, item: TokenStream) -> TokenStream {
    value_entity::expand(args.into(), item.into()).into()
}

/// Makes the methods of an `impl` block with route attributes the command handlers of a
/// replicated entity, whose state is one replicated data type:
/// `#[replicated_entity(type_id = "counter", id = "counter_id")]`. See
/// `kalix_core::replicated_entity`.
#[proc_macro_attribute]
pub fn replicated_entity(args: TokenStream, item: TokenStream) -> TokenStream {
    replicated_entity::expand(args.into(), item.into()).into()
}

/// Makes the methods of an `impl` block with route attributes the command handlers of an
/// event-sourced entity, and its one `#[event_handler]` method the fold of events into state:
/// `#[event_sourced_entity(type_id = "cart", id = "cart_id")]`. See
/// `kalix_core::event_sourced_entity`.
#[proc_macro_attribute]
pub fn event_sourced_entity(args: TokenStream, item: TokenStream) -> TokenStream {
    event_sourced_entity::expand(args.into(), item.into()).into()
}

/// Makes an `impl` block a view: a table kept from a source, and query methods reading it.
/// `#[view(table = "customers")]`, with the source as `#[subscribe(value_entity = E)]` on the
/// block (the row is the state as it is) or on update methods, and query methods with a route
/// and `#[query("SELECT * FROM customers WHERE name = :name")]` and no body. A view of several
/// tables is a bare `#[view]` whose update methods each name their table with
/// `#[table("orders")]`; its queries join them. See `kalix_core::view`.
#[proc_macro_attribute]
pub fn view(args: TokenStream, item: TokenStream) -> TokenStream {
    view::expand(args.into(), item.into()).into()
}

/// The query of a query method of a `#[view]` impl block.
#[proc_macro_attribute]
pub fn query(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("query", item)
}

/// Marks the method of an `#[event_sourced_entity]` impl block that applies an event to the state.
#[proc_macro_attribute]
pub fn event_handler(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("event_handler", item)
}

/// Makes the methods of an `impl` block a workflow: command handlers with routes, `#[step]`
/// methods and an optional `#[settings]` method:
/// `#[workflow(type_id = "transfer", id = "transfer_id")]`. See `kalix_core::workflow`.
#[proc_macro_attribute]
pub fn workflow(args: TokenStream, item: TokenStream) -> TokenStream {
    workflow::expand(args.into(), item.into()).into()
}

/// Marks an `async` method of a `#[workflow]` impl block as a step: `#[step]` (named after the
/// method in kebab case) or `#[step(name = "compensate-withdraw")]`.
#[proc_macro_attribute]
pub fn step(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("step", item)
}

/// Marks the method of a `#[workflow]` impl block that returns its `workflow::Settings`.
#[proc_macro_attribute]
pub fn settings(_args: TokenStream, item: TokenStream) -> TokenStream {
    misplaced("settings", item)
}
