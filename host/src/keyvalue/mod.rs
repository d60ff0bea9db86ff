//! `wasi:keyvalue@0.2.0-draft2` (store, atomics, batch) for the component.
//!
//! Arranged like Spin's key-value factor: `host` binds the WIT to a `Backend`, and the backend
//! is chosen at start-up. SQLite (`sqlite`) is the one backend today: safe for several
//! processes on one data directory. A shared backend (Redis) would implement the same trait.

pub(crate) mod host;
pub mod overlay;
pub mod sqlite;

use anyhow::Result;

/// An open bucket, as the guest holds it.
pub struct Bucket {
    pub(crate) store: String,
}

/// A compare-and-swap handle: the key and the version of the value the guest saw.
pub struct Cas {
    pub(crate) store: String,
    pub(crate) key: String,
    pub(crate) seen: Option<Versioned>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Versioned {
    pub value: Vec<u8>,
    /// Bumped on every write, so a swap can tell "unchanged" from "changed back".
    pub version: i64,
}

/// Storage for key-value data, shared by every instance and process using one data directory.
pub trait Backend: Send + Sync {
    fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>>;
    fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()>;
    fn delete(&self, store: &str, key: &str) -> Result<()>;
    fn exists(&self, store: &str, key: &str) -> Result<bool>;
    /// Keys in order, `limit` at a time, starting after `cursor`.
    fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)>;
    /// Writes `value` only if the key is still at `expected` (`None`: still absent).
    fn swap(&self, store: &str, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool>;
    fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64>;
    fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<()>;
    fn delete_many(&self, store: &str, keys: &[String]) -> Result<()>;
}
