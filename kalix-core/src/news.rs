//! News per key (a view table, a service stream): a generation per key that writers bump and
//! followers watch, so a follower wakes only for its own key and never misses a write between
//! two looks.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::watch;

/// A generation per key.
#[derive(Default)]
pub(crate) struct KeyedNews {
    keys: Mutex<HashMap<String, watch::Sender<u64>>>,
}

impl KeyedNews {
    /// Follows the writes to `key`: `changed()` wakes after each.
    pub(crate) fn follow(&self, key: &str) -> watch::Receiver<u64> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        keys.entry(key.to_owned())
            .or_insert_with(|| watch::channel(0).0)
            .subscribe()
    }

    /// Something was written under `key`.
    pub(crate) fn wrote(&self, key: &str) {
        let keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(sender) = keys.get(key) {
            sender.send_modify(|generation| *generation = generation.wrapping_add(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_follower_wakes_for_its_key_only_and_never_misses_a_write() {
        let news = KeyedNews::default();
        let mut customers = news.follow("customers");
        let orders = news.follow("orders");
        news.wrote("customers");
        // Written before the follower waited: still seen.
        customers.changed().await.unwrap();
        assert!(!orders.has_changed().unwrap(), "another key's write");
        news.wrote("nobody-follows");
        assert!(!customers.has_changed().unwrap());
    }
}
