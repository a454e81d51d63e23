include!("../view_join_fixture.rs");

#[derive(Default)]
pub struct CustomerOrders;

#[view]
impl CustomerOrders {
    #[table("customers")]
    #[subscribe(value_entity = CustomerEntity)]
    fn on_customer(&self, customer: &Customer) -> view::Effect<Customer> {
        view::Effect::update_state(customer.clone())
    }

    #[table("orders")]
    #[subscribe(value_entity = OrderEntity)]
    fn on_order(&self, order: &Order) -> view::Effect<Order> {
        view::Effect::update_state(order.clone())
    }

    #[get("/orders/<id>")]
    #[query("SELECT * AS orders FROM customers JOIN orders ON customers.customerId = orders.customerId WHERE customerId = :id")]
    fn orders(&self, id: String) -> Orders;
}

fn main() {}
