//! A key-value backend that adds up the time spent in another: how much of an event the host's
//! key-value calls take, for the per-event breakdown. It forwards every call unchanged.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use matterlink_host::keyvalue::{Backend, Error, Versioned};

pub struct TimedBackend {
    inner: Arc<dyn Backend>,
    nanos: AtomicU64,
}

impl TimedBackend {
    pub fn new(inner: Arc<dyn Backend>) -> TimedBackend {
        TimedBackend {
            inner,
            nanos: AtomicU64::new(0),
        }
    }

    /// Time spent in the backend so far.
    pub fn spent(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }

    async fn timed<T>(&self, call: impl std::future::Future<Output = T>) -> T {
        let started = Instant::now();
        let out = call.await;
        self.nanos
            .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
        out
    }
}

#[async_trait]
impl Backend for TimedBackend {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        self.timed(self.inner.get(store, key)).await
    }
    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.timed(self.inner.set(store, key, value)).await
    }
    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        self.timed(self.inner.delete(store, key)).await
    }
    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        self.timed(self.inner.exists(store, key)).await
    }
    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        self.timed(self.inner.list_keys(store, cursor, limit)).await
    }
    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        self.timed(self.inner.swap(store, key, expected, value))
            .await
    }
    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        self.timed(self.inner.increment(store, key, delta)).await
    }
    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        self.timed(self.inner.set_many(store, entries)).await
    }
    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        self.timed(self.inner.delete_many(store, keys)).await
    }
}
