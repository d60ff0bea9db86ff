//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) for the component.
//!
//! Arranged like Spin's key-value factor: `host` binds the WIT to `Backend`s, `runtime_config`
//! says which backend serves which store label and builds them, and `conformance` is the one
//! suite every backend must pass. SQLite (`sqlite`) is the durable backend today: safe for
//! several processes on one data directory. `overlay` keeps a dry run's writes in memory. `redis`
//! is the shared backend: Redis or Valkey in Spin's own key layout, so Spin and our processes
//! share one state. Every backend runs the same suite. `namespace` gives each tenant its own
//! labels in a shared backend.

pub mod conformance;
pub mod counter;
pub(crate) mod host;
pub mod namespace;
pub mod overlay;
pub mod redis;
pub mod runtime_config;
pub mod sqlite;
pub(crate) mod wit;

use std::sync::Arc;

use async_trait::async_trait;

/// An open bucket, as the guest holds it: the label it opened and the backend serving it.
pub struct Bucket {
    pub(crate) store: String,
    pub(crate) backend: Arc<dyn Backend>,
}

/// A compare-and-swap handle: the key and the version of the value the guest saw.
pub struct Cas {
    pub(crate) store: String,
    pub(crate) backend: Arc<dyn Backend>,
    pub(crate) key: String,
    pub(crate) seen: Option<Versioned>,
}

/// A value with the version it was written at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    /// The value's bytes.
    pub value: Vec<u8>,
    /// Greater after every write than any version the key had before, even across a delete,
    /// so a swap can tell "unchanged" from "changed back" or "deleted and made again".
    pub version: i64,
}

/// What a backend reports. The first two are the WIT `store.error` cases of the same names;
/// everything else reaches the guest as `other` with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The label names no store this host serves.
    #[error("no such key-value store {0:?}")]
    NoSuchStore(String),
    /// The store refuses the operation (a write to a store opened read-only).
    #[error("key-value access denied: {0}")]
    AccessDenied(String),
    /// `increment` of a value that is not a counter (see `counter`).
    #[error("value of {key:?} is not an integer")]
    NotACounter {
        /// The key holding something else.
        key: String,
    },
    /// `increment` past the range of an `i64`.
    #[error("increment of {key:?} overflows")]
    Overflow {
        /// The counter.
        key: String,
    },
    /// Anything else the backend met: I/O, a lock held too long, a damaged file. The text names
    /// keys at most, never values.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Any other backend failure, from its message.
    pub fn other(e: impl std::fmt::Display) -> Error {
        Error::Other(e.to_string())
    }
}

/// Storage for key-value data, shared by every instance (and, for a durable backend, every
/// process) using it. `store` is the label the data lives under: one backend may serve several
/// labels, each its own key space.
///
/// Async so that a networked backend (Redis) waits without holding a thread; object-safe so the
/// runtime holds `Arc<dyn Backend>` whatever `runtime_config` chose.
#[async_trait]
pub trait Backend: Send + Sync {
    /// The value of `key` and its version; `None` when absent.
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error>;
    /// Writes `value` at a new version.
    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error>;
    /// Deleting an absent key is not an error.
    async fn delete(&self, store: &str, key: &str) -> Result<(), Error>;
    /// Whether `key` is present.
    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error>;
    /// At most `limit` keys after `cursor`, and the cursor of the next page (`None`: no more).
    /// Every key present throughout a listing appears in exactly one page.
    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error>;
    /// The keys starting with `prefix`, a page at a time as [`Backend::list_keys`] pages
    /// (a page may hold fewer than `limit` keys, even none, while more follow; `None` ends the
    /// listing). By default it filters `list_keys`, which walks the whole store; a backend that
    /// keeps keys in order seeks to the prefix and stops after it, so a reader of a few keys
    /// (the metrics' failed events) costs what it reads, not what the store holds.
    async fn list_prefix(
        &self,
        store: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let (keys, next) = self.list_keys(store, cursor, limit).await?;
        Ok((
            keys.into_iter().filter(|k| k.starts_with(prefix)).collect(),
            next,
        ))
    }
    /// Writes `value` only if the key is still at version `expected` (`None`: still absent).
    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error>;
    /// Adds `delta` to the counter at `key` (absent: 0) atomically; the new value.
    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error>;
    /// Writes every entry, each at a new version.
    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error>;
    /// Deletes every key (absent ones are fine).
    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error>;
}
