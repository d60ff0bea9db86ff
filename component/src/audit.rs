//! The audit trail: one key-value record per action, numbered by an atomic counter so that
//! records from several processes never overwrite each other.

use serde::Serialize;

use crate::keys;
use crate::model::Result;
use crate::platform::Platform;

#[derive(Debug, Serialize)]
pub struct Record<'a> {
    pub at: u64,
    pub action: &'a str,
    pub matter_id: &'a str,
    /// `ok`, `unchanged` or the error kind.
    pub outcome: &'a str,
    pub detail: String,
}

pub fn record(
    p: &dyn Platform,
    action: &str,
    matter_id: &str,
    outcome: &str,
    detail: String,
) -> Result<()> {
    let seq = p.kv_increment(keys::AUDIT_SEQ, 1)?;
    let rec = Record {
        at: p.now(),
        action,
        matter_id,
        outcome,
        detail,
    };
    let raw = serde_json::to_vec(&rec).unwrap_or_default();
    p.kv_set(&keys::audit(seq), &raw)
}
