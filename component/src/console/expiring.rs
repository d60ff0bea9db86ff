//! Records the console keeps until a time (sessions, OAuth flows in progress). Reading one past
//! its time deletes it, but some are never read again: a session whose browser was closed
//! without signing out, a sign-in link never followed. Those only a sweep deletes, run where
//! records of the kind are made (a sign-in, a flow's start), which is rare.

use serde::de::DeserializeOwned;

use crate::model::Result;
use crate::platform::Platform;

/// Deletes the records at `keys` that are past their time by `live` (or unreadable) and counts
/// the rest. The caller lists the keys (`kv_keys` of the kind's prefix), which walks the whole
/// key-value bucket since `wasi:keyvalue` cannot list by prefix, so one listing serves both a
/// count and the sweep. A record made meanwhile by another process is read as it is, so kept.
pub fn sweep<T: DeserializeOwned>(
    p: &dyn Platform,
    keys: Vec<String>,
    live: impl Fn(&T) -> bool,
) -> Result<usize> {
    let mut kept = 0;
    for key in keys {
        let record: Option<T> = p
            .kv_get(&key)?
            .and_then(|raw| serde_json::from_slice(&raw).ok());
        match record {
            Some(r) if live(&r) => kept += 1,
            _ => p.kv_delete(&key)?,
        }
    }
    Ok(kept)
}
