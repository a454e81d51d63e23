//! A table's update methods, unit-tested as plain functions.

use customer_registry::Customer;
use customer_registry::views::{CustomerSummary, CustomerSummaryByName};
use kalix_core::view;

#[test]
fn a_change_becomes_a_summary_keyed_by_email_and_a_delete_removes_it() {
    let view = CustomerSummaryByName;
    let customer = Customer {
        customer_id: "c1".to_owned(),
        email: "ann@example.com".to_owned(),
        name: "Ann".to_owned(),
        address: None,
    };
    assert_eq!(
        view.on_change(&customer),
        view::Effect::update_state(CustomerSummary {
            id: "ann@example.com".to_owned(),
            name: "Ann".to_owned()
        })
    );
    assert_eq!(view.on_delete(), view::Effect::delete_state());
}
