//! Settings over `wasi:config`.

use super::bindings::wasi::config::store;
use crate::model::{Error, Result};

/// The configuration value under `key`, `None` when unset; a store that cannot answer is
/// `not-configured`, naming the key.
pub fn get(key: &str) -> Result<Option<String>> {
    store::get(key).map_err(|e| {
        Error::NotConfigured(match e {
            store::Error::Upstream(m) | store::Error::Io(m) => {
                format!("reading configuration key `{key}`: {m}")
            }
        })
    })
}
