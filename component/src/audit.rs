//! The audit trail: one key-value record per action, numbered by an atomic counter so that
//! records from several processes never overwrite each other, and read back newest first.

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::Result;
use crate::platform::Platform;

/// One action taken, as the audit trail keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Its number: records are read back in this order, newest first.
    #[serde(default)]
    pub seq: u64,
    /// When it was taken, seconds since the Unix epoch.
    pub at: u64,
    /// What was done, e.g. `provision`, `update`, `connect`.
    pub action: String,
    /// The matter acted on (empty for actions on no matter, such as connecting).
    pub matter_id: String,
    /// `ok`, `unchanged`, `none`, `several` or the error kind.
    pub outcome: String,
    /// What happened, for people: ids, names, the error's message.
    pub detail: String,
}

/// Every outcome a record can carry: `ok`; `unchanged` (nothing to do); `none` and `several`
/// (a legacy matter with no workspace or with candidates to pick from); or an error kind. The
/// CLI's `log --outcome` offers exactly these, so a misspelt filter is refused instead of
/// answering nothing.
pub const OUTCOMES: &[&str] = &[
    "ok",
    "unchanged",
    "none",
    "several",
    "invalid-matter",
    "not-configured",
    "not-connected",
    "not-linked",
    "invalid-url",
    "rejected",
    "unavailable",
    "skipped",
];

/// Appends one record to the audit trail.
pub fn record(
    p: &dyn Platform,
    action: &str,
    matter_id: &str,
    outcome: &str,
    detail: String,
) -> Result<()> {
    // Every test that audits checks the list `log --outcome` offers is complete.
    debug_assert!(
        OUTCOMES.contains(&outcome),
        "outcome {outcome:?} not in OUTCOMES"
    );
    let seq = p.kv_increment(keys::AUDIT_SEQ, 1)?;
    let rec = Record {
        seq: seq.max(0) as u64,
        at: p.now(),
        action: action.into(),
        matter_id: matter_id.into(),
        outcome: outcome.into(),
        detail,
    };
    let raw = serde_json::to_vec(&rec).unwrap_or_default();
    p.kv_set(&keys::audit(seq), &raw)
}

/// Which audit records to read; every field that is set narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// Only this matter's records.
    pub matter_id: Option<String>,
    /// Only records with this outcome (`ok`, `unchanged`, … or an error kind).
    pub outcome: Option<String>,
    /// Seconds since the epoch, inclusive.
    pub since: Option<u64>,
    /// Seconds since the epoch, inclusive.
    pub until: Option<u64>,
    /// At most this many records (newest first); 0 means 100.
    pub limit: u32,
}

/// Records matching `q`, newest first.
pub fn read(p: &dyn Platform, q: &Query) -> Result<Vec<Record>> {
    // Adding 0 reads the counter atomically, whatever byte format the store keeps it in.
    let last = p.kv_increment(keys::AUDIT_SEQ, 0)?;
    let limit = if q.limit == 0 { 100 } else { q.limit as usize };
    let mut out = Vec::new();
    let mut seq = last;
    while seq > 0 && out.len() < limit {
        if let Some(raw) = p.kv_get(&keys::audit(seq))? {
            if let Ok(mut rec) = serde_json::from_slice::<Record>(&raw) {
                rec.seq = seq as u64;
                if q.since.is_some_and(|s| rec.at < s) {
                    // Numbered in time order: nothing older can match.
                    break;
                }
                let wanted = q.matter_id.as_ref().is_none_or(|m| *m == rec.matter_id)
                    && q.outcome.as_ref().is_none_or(|o| *o == rec.outcome)
                    && q.until.is_none_or(|u| rec.at <= u);
                if wanted {
                    out.push(rec);
                }
            }
        }
        seq -= 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Error;
    use crate::testing::FakePlatform;

    #[test]
    fn every_error_kind_is_an_outcome() {
        let s = String::new;
        for e in [
            Error::InvalidMatter(s()),
            Error::NotConfigured(s()),
            Error::NotConnected(s()),
            Error::NotLinked(s()),
            Error::InvalidUrl(s()),
            Error::Rejected(s()),
            Error::Unavailable(s()),
            Error::Skipped(s()),
        ] {
            assert!(OUTCOMES.contains(&e.kind()), "{}", e.kind());
        }
    }

    #[test]
    fn filters_newest_first() {
        let p = FakePlatform::configured();
        record(&p, "provision", "1", "ok", "a".into()).unwrap();
        p.advance(10);
        record(&p, "provision", "2", "unavailable", "b".into()).unwrap();
        p.advance(10);
        record(&p, "close", "1", "ok", "c".into()).unwrap();
        let all = read(&p, &Query::default()).unwrap();
        assert_eq!(
            all.iter().map(|r| r.detail.as_str()).collect::<Vec<_>>(),
            vec!["c", "b", "a"]
        );
        let one = read(
            &p,
            &Query {
                matter_id: Some("1".into()),
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(one.len(), 2);
        let failed = read(
            &p,
            &Query {
                outcome: Some("unavailable".into()),
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(failed[0].matter_id, "2");
        let recent = read(
            &p,
            &Query {
                since: Some(all[1].at),
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(recent.len(), 2);
        let limited = read(
            &p,
            &Query {
                limit: 1,
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(limited[0].detail, "c");
    }
}
