//! The key-value store over `wasi:keyvalue` (draft2): one bucket, opened on first use.

use std::cell::OnceCell;

use super::bindings::wasi::keyvalue::{atomics, store};
use crate::model::{Error, Result};

/// The key-value store label (Spin's default; `key_value_stores = ["default"]`).
const STORE_LABEL: &str = "default";

/// The bucket behind every key-value call of one export.
pub struct Store {
    bucket: OnceCell<store::Bucket>,
}

impl Store {
    /// A store that opens its bucket when first used, so exports that never touch key-value
    /// never open it.
    pub fn new() -> Self {
        Store {
            bucket: OnceCell::new(),
        }
    }

    fn bucket(&self) -> Result<&store::Bucket> {
        if let Some(b) = self.bucket.get() {
            return Ok(b);
        }
        let b = store::open(STORE_LABEL).map_err(kv_error)?;
        Ok(self.bucket.get_or_init(|| b))
    }

    /// The value under `key`, `None` when absent.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.bucket()?.get(key).map_err(kv_error)
    }

    /// Sets `key` to `value`.
    pub fn set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.bucket()?.set(key, value).map_err(kv_error)
    }

    /// Removes `key`; removing an absent key is not an error.
    pub fn delete(&self, key: &str) -> Result<()> {
        self.bucket()?.delete(key).map_err(kv_error)
    }

    /// Adds `delta` to the number under `key`; the new value.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64> {
        atomics::increment(self.bucket()?, key, delta).map_err(kv_error)
    }

    /// Every key starting with `prefix`.
    pub fn keys(&self, prefix: &str) -> Result<Vec<String>> {
        // wasi:keyvalue lists the whole bucket page by page; the prefix is ours to apply.
        let bucket = self.bucket()?;
        let mut keys = Vec::new();
        let mut cursor = None;
        loop {
            let page = bucket.list_keys(cursor.as_deref()).map_err(kv_error)?;
            keys.extend(page.keys.into_iter().filter(|k| k.starts_with(prefix)));
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(keys),
            }
        }
    }
}

fn kv_error(e: store::Error) -> Error {
    Error::Unavailable(match e {
        store::Error::NoSuchStore => format!("key-value store {STORE_LABEL:?} does not exist"),
        store::Error::AccessDenied => format!("access to key-value store {STORE_LABEL:?} denied"),
        store::Error::Other(m) => format!("key-value store: {m}"),
    })
}
