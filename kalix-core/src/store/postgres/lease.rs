//! Leases in PostgreSQL: a row per lease with its holder and an expiry on the database's clock,
//! so processes whose clocks differ agree on who holds what.

use super::{PostgresStore, db_error, pool_error};
use crate::store::LeaseStore;
use crate::store::StoreError;
use futures_util::future::BoxFuture;
use std::time::Duration;

/// Takes or renews the lease `name` for `owner`; `true` if `owner` holds it now.
pub(super) async fn lease(
    store: &PostgresStore,
    name: &str,
    owner: u64,
    ttl: std::time::Duration,
) -> Result<bool, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.lease)
        .await
        .map_err(db_error)?;
    let ttl_ms = ttl.as_millis() as f64;
    let row = client
        .query_opt(&statement, &[&name, &(owner as i64), &ttl_ms])
        .await
        .map_err(db_error)?;
    Ok(row.is_some())
}

/// Gives the lease `name` up if `owner` holds it, so another may take it at once.
pub(super) async fn release(
    store: &PostgresStore,
    name: &str,
    owner: u64,
) -> Result<(), StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.release_lease)
        .await
        .map_err(db_error)?;
    client
        .execute(&statement, &[&name, &(owner as i64)])
        .await
        .map_err(db_error)?;
    Ok(())
}

/// How many leases whose name starts with `prefix` are held now.
pub(super) async fn count(store: &PostgresStore, prefix: &str) -> Result<u64, StoreError> {
    let client = store.pool.get().await.map_err(pool_error)?;
    let statement = client
        .prepare_cached(&store.sql.feed.count_leases)
        .await
        .map_err(db_error)?;
    let row = client
        .query_one(&statement, &[&prefix])
        .await
        .map_err(db_error)?;
    Ok(row.get::<_, i64>(0) as u64)
}

impl LeaseStore for PostgresStore {
    fn lease(
        &self,
        name: &str,
        owner: u64,
        ttl: Duration,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { lease(&store, &name, owner, ttl).await })
    }

    fn release_lease(&self, name: &str, owner: u64) -> BoxFuture<'static, Result<(), StoreError>> {
        let (store, name) = (self.clone(), name.to_owned());
        Box::pin(async move { release(&store, &name, owner).await })
    }

    fn count_leases(&self, prefix: &str) -> BoxFuture<'static, Result<u64, StoreError>> {
        let (store, prefix) = (self.clone(), prefix.to_owned());
        Box::pin(async move { count(&store, &prefix).await })
    }
}
