//! One view of three tables (customers, products, orders), each kept from its entity, and two
//! queries that join them: one flat row per order, and each customer with its orders nested.

use kalix_core::prelude::*;
use serde::{Deserialize, Serialize};

use crate::{Address, Customer, CustomerEntity, Money, Order, OrderEntity, Product, ProductEntity};

/// A row of `customers`: the customer with its id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRow {
    /// Its id.
    pub customer_id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Where it lives.
    pub address: Address,
}

/// A row of `products`: the product with its id, its name as `productName`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductRow {
    /// Its id.
    pub product_id: String,
    /// Its name.
    pub product_name: String,
    /// Its price.
    pub price: Money,
}

/// An order with its product and its customer: one result of the joined query.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerOrder {
    /// The order's id.
    pub order_id: String,
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The product's price.
    pub price: Money,
    /// How many.
    pub quantity: u32,
    /// The customer's id.
    pub customer_id: String,
    /// The customer's email.
    pub email: String,
    /// The customer's name.
    pub name: String,
    /// The customer's address.
    pub address: Address,
    /// When the order was created, in milliseconds since the epoch.
    pub created_timestamp: u64,
}

/// `{"orders": [...]}`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CustomerOrders {
    /// A customer's orders, oldest first.
    pub orders: Vec<CustomerOrder>,
}

/// An order with its product, nested in its customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductOrder {
    /// The order's id.
    pub order_id: String,
    /// The product's id.
    pub product_id: String,
    /// The product's name.
    pub product_name: String,
    /// The product's price.
    pub price: Money,
    /// How many.
    pub quantity: u32,
    /// When the order was created, in milliseconds since the epoch.
    pub created_timestamp: u64,
}

/// A customer with its orders.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NestedCustomerOrders {
    /// Its id.
    pub customer_id: String,
    /// Its email.
    pub email: String,
    /// Its name.
    pub name: String,
    /// Where it lives.
    pub address: Address,
    /// Its orders, oldest first.
    pub orders: Vec<ProductOrder>,
}

/// The store's customers, products and orders, joined by their queries.
#[derive(Default)]
pub struct CustomerOrdersView;

#[view]
impl CustomerOrdersView {
    /// Each customer, keyed by its id.
    #[table("customers")]
    #[subscribe(value_entity = CustomerEntity)]
    pub fn on_customer(
        &self,
        customer: &Option<Customer>,
        ctx: &UpdateContext,
    ) -> view::Effect<CustomerRow> {
        let Some(customer) = customer else {
            return view::Effect::ignore();
        };
        view::Effect::update_state(CustomerRow {
            customer_id: ctx.event_subject().unwrap_or_default().to_owned(),
            email: customer.email.clone(),
            name: customer.name.clone(),
            address: customer.address.clone(),
        })
    }

    /// Each product, its name as `productName`.
    #[table("products")]
    #[subscribe(value_entity = ProductEntity)]
    pub fn on_product(
        &self,
        product: &Option<Product>,
        ctx: &UpdateContext,
    ) -> view::Effect<ProductRow> {
        let Some(product) = product else {
            return view::Effect::ignore();
        };
        view::Effect::update_state(ProductRow {
            product_id: ctx.event_subject().unwrap_or_default().to_owned(),
            product_name: product.name.clone(),
            price: product.price.clone(),
        })
    }

    /// Each order as it is.
    #[table("orders")]
    #[subscribe(value_entity = OrderEntity)]
    pub fn on_order(&self, order: &Option<Order>) -> view::Effect<Order> {
        match order {
            Some(order) => view::Effect::update_state(order.clone()),
            None => view::Effect::ignore(),
        }
    }

    /// A customer's orders, each with its product and the customer, oldest first.
    #[get("/joined-customer-orders/<customer_id>")]
    #[query(
        "SELECT * AS orders \
         FROM customers \
         JOIN orders ON customers.customerId = orders.customerId \
         JOIN products ON products.productId = orders.productId \
         WHERE customers.customerId = :customer_id \
         ORDER BY orders.createdTimestamp"
    )]
    pub fn joined(&self, customer_id: String) -> CustomerOrders;

    /// The same orders streamed (NDJSON, or server-sent events), then each order that is new or
    /// changed as it comes: a new order, a renamed product or a moved customer (beyond Kalix's
    /// sample: an update stream over a join follows each table it reads).
    #[get("/customer-orders-updates/<customer_id>")]
    #[query(
        "SELECT * \
         FROM customers \
         JOIN orders ON customers.customerId = orders.customerId \
         JOIN products ON products.productId = orders.productId \
         WHERE customers.customerId = :customer_id \
         ORDER BY orders.createdTimestamp",
        stream_updates = true
    )]
    pub fn joined_updates(&self, customer_id: String) -> QueryStream<CustomerOrder>;

    /// A customer with its orders (each with its product) nested, oldest first; 404 without
    /// orders.
    #[get("/nested-customer-orders/<customer_id>")]
    #[query(
        "SELECT customers.*, \
           collect(orders.orderId, orders.productId, products.productName, products.price, \
                   orders.quantity, orders.createdTimestamp) AS orders \
         FROM customers \
         JOIN orders ON customers.customerId = orders.customerId \
         JOIN products ON products.productId = orders.productId \
         WHERE customers.customerId = :customer_id \
         GROUP BY customers.customerId \
         ORDER BY orders.createdTimestamp"
    )]
    pub fn nested(&self, customer_id: String) -> NestedCustomerOrders;
}
