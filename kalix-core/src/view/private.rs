//! What the code `#[view]` generates reaches (through `kalix_core::__private`): building the
//! query handlers' runtime, running queries and update methods, and the traits that check a
//! query against its row and parameter types at compile time. Not a public API.

use std::any::Any;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::query::{ResultShape, ViewQuery};
use super::serve::ViewQueries;
use super::{Effect, UpdateContext};
use crate::dependencies::MissingDependency;
use crate::error::CallError;
use crate::event_sourced_entity::EventSourcedComponent;
use crate::outcome::HandlerOutcome;
use crate::registry::{RowUpdate, SubscriptionSource, ViewSourceDescriptor, ViewUpdateInput};
use crate::runtime::ComponentEnv;
use crate::status::ErrorCode;
use crate::value_entity::ValueEntityComponent;

/// The instance a view's query handlers run on.
pub fn construct_view_queries(
    env: &ComponentEnv<'_>,
) -> Result<Arc<dyn Any + Send + Sync>, MissingDependency> {
    Ok(Arc::new(ViewQueries {
        store: Arc::clone(&env.store),
        updated: Arc::clone(&env.view_updates),
    }))
}

/// The instance a view's update methods run on.
pub fn view_instance<V: crate::__private::DefaultComponent + Any + Send + Sync>()
-> Box<dyn Any + Send + Sync> {
    Box::new(V::build())
}

/// The view, back from its type-erased instance.
pub fn view_downcast<V: Any>(instance: &(dyn Any + Send + Sync)) -> &V {
    instance
        .downcast_ref::<V>()
        .expect("a view's update runs on its own instance")
}

/// Adds a query parameter from an argument.
pub fn query_param<T: Serialize>(
    params: &mut Map<String, Value>,
    name: &str,
    value: &T,
) -> Result<(), CallError> {
    let value = serde_json::to_value(value).map_err(|error| {
        CallError::new(
            ErrorCode::BAD_REQUEST,
            format!("parameter `{name}` cannot be used in a query: {error}"),
        )
    })?;
    params.insert(name.to_owned(), value);
    Ok(())
}

/// Adds the fields of a body argument as query parameters (by their JSON names).
pub fn query_body_params<T: Serialize>(
    params: &mut Map<String, Value>,
    body: &T,
) -> Result<(), CallError> {
    match serde_json::to_value(body) {
        Ok(Value::Object(fields)) => {
            for (name, value) in fields {
                params.entry(name).or_insert(value);
            }
            Ok(())
        }
        Ok(_) => Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            "a query's body is an object whose fields are the query's parameters",
        )),
        Err(error) => Err(CallError::new(
            ErrorCode::BAD_REQUEST,
            format!("the body cannot be used in a query: {error}"),
        )),
    }
}

/// Runs a query method.
pub fn run_view_query(
    instance: Arc<dyn Any + Send + Sync>,
    query: &'static ViewQuery,
    params: Map<String, Value>,
    shape: ResultShape,
) -> BoxFuture<'static, HandlerOutcome> {
    Box::pin(async move {
        let queries = crate::__private::downcast::<ViewQueries>(instance);
        super::serve::run_query(&queries, query, params, shape).await
    })
}

/// The source of a table whose row is value entity `E`'s state as it is; compiles only if
/// `E` is a value entity whose state is `Row`.
pub const fn view_value_entity_as_is<E, Row>(handles_deletes: bool) -> ViewSourceDescriptor
where
    E: ValueEntityComponent<State = Row>,
{
    ViewSourceDescriptor {
        kind: SubscriptionSource::ValueEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        as_is: true,
        handles_deletes,
        migrate: crate::__private::current_state::<E>,
        topic: None,
    }
}

/// The source of a table fed by update methods from value entity `E`'s changes.
pub const fn view_value_entity<E: ValueEntityComponent>() -> ViewSourceDescriptor {
    ViewSourceDescriptor {
        kind: SubscriptionSource::ValueEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        as_is: false,
        handles_deletes: false,
        migrate: crate::__private::current_state::<E>,
        topic: None,
    }
}

/// The source of a table fed by update methods from event-sourced entity `E`'s events.
pub const fn view_event_sourced<E: EventSourcedComponent>() -> ViewSourceDescriptor {
    ViewSourceDescriptor {
        kind: SubscriptionSource::EventSourcedEntity,
        component: E::COMPONENT_ID,
        type_id: E::TYPE_ID,
        as_is: false,
        handles_deletes: false,
        migrate: crate::__private::current_event::<E>,
        topic: None,
    }
}

/// The source of a table fed by update methods from a topic, or another service's stream.
pub const fn view_topic(
    topic: &'static str,
    service: Option<&'static str>,
    consumer_group: Option<&'static str>,
) -> ViewSourceDescriptor {
    ViewSourceDescriptor {
        kind: SubscriptionSource::ValueEntity,
        component: "",
        type_id: "",
        as_is: false,
        handles_deletes: false,
        migrate: crate::__private::as_stored,
        topic: Some(crate::registry::ViewTopicSource {
            topic,
            service,
            consumer_group,
        }),
    }
}

/// Compiles only if `P` is value entity `E`'s state: what an update method of its changes takes.
pub fn assert_view_state<E: ValueEntityComponent<State = P>, P>() {}

/// Compiles only if `P` is event-sourced entity `E`'s event: what an update method of its
/// events takes.
pub fn assert_view_event<E: EventSourcedComponent<Event = P>, P>() {}

/// The current row of an update, read as `Row`.
pub fn view_row<Row: DeserializeOwned>(input: &ViewUpdateInput<'_>) -> Result<Option<Row>, String> {
    input
        .row
        .map(|row| {
            serde_json::from_slice(row).map_err(|error| {
                format!(
                    "the view's row of `{}` does not parse: {error}",
                    input.subject
                )
            })
        })
        .transpose()
}

/// The new state or the event of an update, read as `P`.
pub fn view_payload<P: DeserializeOwned>(input: &ViewUpdateInput<'_>) -> Result<P, String> {
    let payload = input.payload.unwrap_or(b"null");
    serde_json::from_slice(payload).map_err(|error| {
        format!(
            "the change of `{}` does not parse as `{}`: {error}",
            input.subject,
            std::any::type_name::<P>()
        )
    })
}

/// The context of an update.
pub fn view_context(input: &ViewUpdateInput<'_>) -> UpdateContext {
    UpdateContext {
        subject: input.subject.to_owned(),
        event_name: input.event_name.map(str::to_owned),
    }
}

/// What an update method's effect does to the row.
pub fn view_update<Row: Serialize>(effect: Effect<Row>) -> Result<RowUpdate, String> {
    match effect {
        Effect::Update(row) => serde_json::to_vec(&row)
            .map(|json| RowUpdate::Set(json.into()))
            .map_err(|error| format!("the new row could not be serialized: {error}")),
        Effect::Delete => Ok(RowUpdate::Delete),
        Effect::Ignore => Ok(RowUpdate::Keep),
        Effect::Error(description) => Err(description),
    }
}

/// Reaches through an `Option` column to its fields, in the checks of nested columns
/// (`address.city` where `address: Option<Address>`). Never run.
pub trait ViaOption {
    /// The type inside.
    type Inner;
    /// The value inside.
    fn kalix_nested(&self) -> &Self::Inner;
}

impl<T> ViaOption for Option<T> {
    type Inner = T;
    fn kalix_nested(&self) -> &T {
        self.as_ref().expect("only type-checked, never run")
    }
}

/// Reaches a plain column's fields, in the checks of nested columns. Never run.
pub trait ViaPlain {
    /// The value itself.
    fn kalix_nested(&self) -> &Self;
}

impl<T> ViaPlain for &T {
    fn kalix_nested(&self) -> &Self {
        self
    }
}

/// Reaches a list's items, in the checks of what `collect(..)` fills. Never run.
pub trait ViaList {
    /// The item type.
    type Item;
    /// An item.
    fn kalix_item(&self) -> &Self::Item;
}

impl<T> ViaList for Vec<T> {
    type Item = T;
    fn kalix_item(&self) -> &T {
        self.first().expect("only type-checked, never run")
    }
}

/// A column a join can compare with another: its value without the `Option` around it.
#[diagnostic::on_unimplemented(
    message = "a query compares a column of type `{Self}` with another column",
    label = "in this query",
    note = "columns compared with each other (`ON a.x = b.y`) are text, numbers or bools, optional or not"
)]
pub trait JoinValue {
    /// The value, without `Option`.
    type Plain: ?Sized;
}

impl<T: JoinValue> JoinValue for Option<T> {
    type Plain = T::Plain;
}

macro_rules! join_values {
    ($($column:ty),*) => {
        $(impl JoinValue for $column { type Plain = $column; })*
    };
}
join_values!(
    String, bool, i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// A column of type `Self` can be compared with a value of type `P`.
#[diagnostic::on_unimplemented(
    message = "a query compares a column of type `{Self}` with a value of type `{P}`",
    label = "in this query",
    note = "a parameter is compared with a column of the same kind: text, a number or a bool"
)]
pub trait Comparable<P: ?Sized> {}

impl Comparable<String> for String {}
impl Comparable<str> for String {}
impl Comparable<&str> for String {}
impl Comparable<bool> for bool {}
impl<C: Comparable<P>, P: ?Sized> Comparable<P> for Option<C> {}
impl<C: Comparable<P> + ?Sized, P: ?Sized> Comparable<P> for Box<C> {}

macro_rules! numbers_compare {
    ($($column:ty),*) => {
        $(numbers_compare!(@each $column; i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64);)*
    };
    (@each $column:ty; $($param:ty),*) => {
        $(impl Comparable<$param> for $column {})*
    };
}
numbers_compare!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

/// A list parameter (`= ANY(:list)`) and what it holds.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a list: `column = ANY(:param)` takes a `Vec<T>` parameter"
)]
pub trait ListOf {
    /// The items.
    type Item;
}

impl<T> ListOf for Vec<T> {
    type Item = T;
}

impl<T> ListOf for [T] {
    type Item = T;
}

/// Checks that a column exists (the closure names it).
pub fn check_column<R, C: ?Sized, F>(_column: F)
where
    F: for<'a> Fn(&'a R) -> &'a C,
{
}

/// Checks that a column can be compared with a value of type `P`.
pub fn check_compare<R, P: ?Sized, C, F>(_column: F)
where
    F: for<'a> Fn(&'a R) -> &'a C,
    C: Comparable<P> + ?Sized,
{
}

/// Checks that two columns (of rows `RA` and `RB`) can be compared: `ON a.x = b.y`.
pub fn check_compare_columns<RA, RB, CA, CB, F, G>(_left: F, _right: G)
where
    F: for<'a> Fn(&'a RA) -> &'a CA,
    G: for<'a> Fn(&'a RB) -> &'a CB,
    CA: JoinValue + ?Sized,
    CB: JoinValue + ?Sized,
    CA::Plain: Comparable<CB::Plain>,
{
}

/// Checks that a field is a list (what `collect(..)` fills).
pub fn check_list<W, X, F>(_field: F)
where
    F: for<'a> Fn(&'a W) -> &'a Vec<X>,
{
}

/// Checks that a column can be compared with a field of the body.
pub fn check_compare_body<R, B, C, P: ?Sized, F, G>(_column: F, _field: G)
where
    F: for<'a> Fn(&'a R) -> &'a C,
    G: for<'a> Fn(&'a B) -> &'a P,
    C: Comparable<P> + ?Sized,
{
}

/// Checks that a column can be compared with each item of a list parameter.
pub fn check_any_of<R, P: ListOf + ?Sized, C, F>(_column: F)
where
    F: for<'a> Fn(&'a R) -> &'a C,
    C: Comparable<P::Item> + ?Sized,
{
}

/// Checks that an array column holds items comparable with a value of type `P`.
pub fn check_in_column<R, P: ?Sized, C: ListOf + ?Sized, F>(_column: F)
where
    F: for<'a> Fn(&'a R) -> &'a C,
    C::Item: Comparable<P>,
{
}

/// `Self` is the type a query method's result holds, and `Row` what its query selects.
#[diagnostic::on_unimplemented(
    message = "the query selects rows of type `{Row}`, but the method returns `{Self}`",
    label = "`SELECT *` gives the table's row type",
    note = "return the row type, or select columns into another type: `SELECT a AS x, b FROM ..`"
)]
pub trait SelectsAs<Row> {}

impl<T> SelectsAs<T> for T {}

/// Checks that a method returning `T` (or a list or stream of `T`) fits `SELECT *`.
pub fn check_selects<T: SelectsAs<Row>, Row>() {}

/// Checks that a projected field and its column have one type.
pub fn check_projection<T, R, X: ?Sized, F, G>(_field: F, _column: G)
where
    F: for<'a> Fn(&'a T) -> &'a X,
    G: for<'a> Fn(&'a R) -> &'a X,
{
}

/// Checks that a wrapper's field holds the rows: `SELECT * AS field`.
pub fn check_wrapper<W, Row, F>(_field: F)
where
    F: for<'a> Fn(&'a W) -> &'a Vec<Row>,
{
}

/// Checks that a wrapper's field holds a value of type `X` (`next_page_token()`: `String`,
/// `has_more()`: `bool`).
pub fn check_wrapper_field<W, X, F>(_field: F)
where
    F: for<'a> Fn(&'a W) -> &'a X,
{
}
