//! Replicated entities: state every process of the service changes at once, merged without
//! conflicts.
//!
//! - counter (`ReplicatedCounter`): `POST /counter/<id>/increase` and `/decrease` `{"value": n}`
//!   -> `"Ok"`; `POST /counter/<id>/increase-all` (replies once every live process has it) ->
//!   `"Ok"`; `GET /counter/<id>` -> `{"value": v}`; `DELETE /counter/<id>` -> `"Ok"`, for good.
//! - set (`ReplicatedSet<String>`): `POST /set/<id>/add` and `/remove` `{"element": "x"}` ->
//!   `"Ok"`; `GET /set/<id>` -> `{"elements": [..]}` in ascending order.
//! - register (`ReplicatedRegister<String>`): `PUT /register/<id>` `{"value": "x"}` -> `"Ok"`;
//!   `GET /register/<id>` -> `{"value": "x"}` (`null` until set).
//! - cart (`ReplicatedCounterMap<String>`): `POST /cart/<id>/add` `{"productId": "p",
//!   "quantity": n}` (n > 0) -> `"Ok"`; `POST /cart/<id>/remove/<productId>` -> `"Ok"`;
//!   `GET /cart/<id>` -> `{"items": {"p": n}}`.

use std::collections::BTreeMap;

use kalix_core::prelude::*;
use kalix_core::replicated_entity::{
    ReplicatedCounter, ReplicatedCounterMap, ReplicatedRegister, ReplicatedSet, WriteConsistency,
};
use serde::{Deserialize, Serialize};

/// A number, as the sample's JSON: `{"value": 5}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Number {
    /// The number.
    pub value: i64,
}

/// The counter, replicated.
#[derive(Default)]
pub struct CounterEntity;

/// The counter's effect.
type CounterEffect<R> = replicated_entity::Effect<ReplicatedCounter, R>;

#[replicated_entity(type_id = "replicated-counter", id = "counter_id", state = ReplicatedCounter)]
impl CounterEntity {
    /// Adds the body's value (on this process; the others merge it).
    #[post("/counter/<counter_id>/increase")]
    pub fn increase(
        &self,
        counter: &ReplicatedCounter,
        #[body] by: Number,
    ) -> CounterEffect<String> {
        replicated_entity::Effect::update(counter.increment(by.value)).then_reply("Ok".to_owned())
    }

    /// Subtracts the body's value.
    #[post("/counter/<counter_id>/decrease")]
    pub fn decrease(
        &self,
        counter: &ReplicatedCounter,
        #[body] by: Number,
    ) -> CounterEffect<String> {
        replicated_entity::Effect::update(counter.decrement(by.value)).then_reply("Ok".to_owned())
    }

    /// Adds the body's value and replies once every live process has it.
    #[post("/counter/<counter_id>/increase-all")]
    pub fn increase_all(
        &self,
        counter: &ReplicatedCounter,
        #[body] by: Number,
    ) -> CounterEffect<String> {
        replicated_entity::Effect::update(counter.increment(by.value))
            .with_write_consistency(WriteConsistency::All)
            .then_reply("Ok".to_owned())
    }

    /// The value (0 for an unknown id).
    #[get("/counter/<counter_id>")]
    pub fn get(&self, counter: &ReplicatedCounter) -> CounterEffect<Number> {
        replicated_entity::Effect::reply(Number {
            value: counter.value(),
        })
    }

    /// Deletes the counter for good.
    #[delete("/counter/<counter_id>")]
    pub fn delete(&self, _counter: &ReplicatedCounter) -> CounterEffect<String> {
        replicated_entity::Effect::delete().then_reply("Ok".to_owned())
    }
}

/// An element of a set: `{"element": "x"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Element {
    /// The element.
    pub element: String,
}

/// A set's elements: `{"elements": [..]}`, in ascending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Elements {
    /// The elements.
    pub elements: Vec<String>,
}

/// A set of strings, replicated.
#[derive(Default)]
pub struct SetEntity;

type SetEffect<R> = replicated_entity::Effect<ReplicatedSet<String>, R>;

#[replicated_entity(type_id = "replicated-set", id = "set_id", state = ReplicatedSet<String>)]
impl SetEntity {
    /// Adds the element.
    #[post("/set/<set_id>/add")]
    pub fn add(&self, set: &ReplicatedSet<String>, #[body] add: Element) -> SetEffect<String> {
        replicated_entity::Effect::update(set.add(add.element)).then_reply("Ok".to_owned())
    }

    /// Removes the element (an add on another process it has not seen wins).
    #[post("/set/<set_id>/remove")]
    pub fn remove(
        &self,
        set: &ReplicatedSet<String>,
        #[body] remove: Element,
    ) -> SetEffect<String> {
        replicated_entity::Effect::update(set.remove(&remove.element)).then_reply("Ok".to_owned())
    }

    /// The elements.
    #[get("/set/<set_id>")]
    pub fn get(&self, set: &ReplicatedSet<String>) -> SetEffect<Elements> {
        replicated_entity::Effect::reply(Elements {
            elements: set.elements().cloned().collect(),
        })
    }
}

/// A register's value: `{"value": "x"}`, `null` until set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Value {
    /// The value.
    pub value: Option<String>,
}

/// The value to set: `{"value": "x"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NewValue {
    /// The value.
    pub value: String,
}

/// A register of a string, replicated: the last write wins.
#[derive(Default)]
pub struct RegisterEntity;

type RegisterEffect<R> = replicated_entity::Effect<ReplicatedRegister<String>, R>;

#[replicated_entity(
    type_id = "replicated-register",
    id = "register_id",
    state = ReplicatedRegister<String>
)]
impl RegisterEntity {
    /// Sets the value.
    #[put("/register/<register_id>")]
    pub fn set(
        &self,
        register: &ReplicatedRegister<String>,
        #[body] new: NewValue,
    ) -> RegisterEffect<String> {
        replicated_entity::Effect::update(register.set(new.value)).then_reply("Ok".to_owned())
    }

    /// The value.
    #[get("/register/<register_id>")]
    pub fn get(&self, register: &ReplicatedRegister<String>) -> RegisterEffect<Value> {
        replicated_entity::Effect::reply(Value {
            value: register.get().cloned(),
        })
    }
}

/// A product to add: `{"productId": "p", "quantity": n}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AddItem {
    /// The product.
    pub product_id: String,
    /// How many: more than 0.
    pub quantity: i64,
}

/// A cart's items: `{"items": {"p": n}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Items {
    /// The quantity of each product in it.
    pub items: BTreeMap<String, i64>,
}

/// A cart that many devices edit at once: a counter per product.
#[derive(Default)]
pub struct CartEntity;

type CartEffect<R> = replicated_entity::Effect<ReplicatedCounterMap<String>, R>;

#[replicated_entity(type_id = "replicated-cart", id = "cart_id", state = ReplicatedCounterMap<String>)]
impl CartEntity {
    /// Adds a quantity of a product; a quantity of 0 or less is refused.
    #[post("/cart/<cart_id>/add")]
    pub fn add(
        &self,
        cart: &ReplicatedCounterMap<String>,
        #[body] item: AddItem,
    ) -> CartEffect<String> {
        if item.quantity <= 0 {
            return replicated_entity::Effect::error(format!(
                "Quantity for item {} must be greater than zero.",
                item.product_id
            ));
        }
        replicated_entity::Effect::update(cart.increment(item.product_id, item.quantity))
            .then_reply("Ok".to_owned())
    }

    /// Removes a product.
    #[post("/cart/<cart_id>/remove/<product_id>")]
    pub fn remove(
        &self,
        cart: &ReplicatedCounterMap<String>,
        product_id: String,
    ) -> CartEffect<String> {
        replicated_entity::Effect::update(cart.remove(&product_id)).then_reply("Ok".to_owned())
    }

    /// The items.
    #[get("/cart/<cart_id>")]
    pub fn get(&self, cart: &ReplicatedCounterMap<String>) -> CartEffect<Items> {
        replicated_entity::Effect::reply(Items {
            items: cart.entries().into_iter().collect(),
        })
    }
}
