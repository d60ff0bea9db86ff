//! The feed's memory in key-value: how far the caller has acknowledged, the event queue's
//! position, and the batch delivered but not yet acknowledged. One record, changed only by the
//! holder of the feed's claim (`keys::FEED_CLAIM`, taken by `feed::poll_changes`), so that two
//! polls at once never both advance the feed; no compare-and-swap, which Spin's Redis store lacks.

use serde::{Deserialize, Serialize};

use crate::feed::change::{Batch, Source};
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::security::Security;

/// The change feed's record in key-value.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedState {
    /// Random per feed, so that a cursor from another installation (or a reset feed) is refused
    /// rather than taken for a position in this one.
    pub epoch: String,
    /// The last batch the caller acknowledged; batches are numbered from 1.
    pub acked: u64,
    /// The event queue's position after the last acknowledged batch.
    pub queue_position: Option<String>,
    /// The source of the last batch read, to notice a switch between sources.
    pub last_source: Option<Source>,
    /// The batch delivered and not yet acknowledged, if any.
    pub pending: Option<Pending>,
    /// When and why the event queue's position was last taken anew (the feed started, the
    /// queue forgot the cursor or overflowed, the queue answered again after a fallback), so
    /// that an operator reading the feed's record sees a recovery, not only the batch's notes.
    #[serde(default)]
    pub last_restart: Option<Restart>,
    /// When a poll last read iManage and recorded what it found, seconds since the epoch: the
    /// console shows it and the lag since. A poll that only delivers the unacknowledged batch
    /// again reads nothing and does not move it. Absent in records written before it existed.
    #[serde(default)]
    pub last_polled_at: Option<u64>,
}

/// A recovery of the event queue's position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {
    /// Seconds since the epoch.
    pub at: u64,
    /// Why, as the batch's note said it.
    pub why: String,
}

/// A batch delivered and not yet acknowledged: delivered again, unchanged, until it is.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pending {
    /// Its number, which its cursor names.
    pub seq: u64,
    /// The batch as it was delivered.
    pub batch: Batch,
    /// The event queue's position after this batch.
    pub queue_position: Option<String>,
    /// The snapshots of the workspaces this batch changed, made the feed's own on acknowledgement
    /// (again: storing them is idempotent, and a crash may have come before the first time).
    pub snapshots: Vec<(String, Security)>,
}

impl FeedState {
    /// A feed that starts now, with a fresh epoch.
    pub fn start() -> FeedState {
        FeedState {
            epoch: format!("{:012x}", crate::random::u64() >> 16),
            acked: 0,
            queue_position: None,
            last_source: None,
            pending: None,
            last_restart: None,
            last_polled_at: None,
        }
    }

    /// The cursor naming batch `seq` of this feed.
    pub fn cursor(&self, seq: u64) -> String {
        format!("{}.{seq}", self.epoch)
    }

    /// The batch number a cursor names, if it is one of this feed's.
    pub fn seq_of(&self, cursor: &str) -> Result<u64> {
        let unknown = || {
            Error::Rejected(format!(
                "{cursor:?} is not a cursor of this change feed; poll without one to continue from the last acknowledged change"
            ))
        };
        let (epoch, seq) = cursor.trim().split_once('.').ok_or_else(unknown)?;
        let seq: u64 = seq.parse().map_err(|_| unknown())?;
        if epoch != self.epoch {
            return Err(unknown());
        }
        let delivered = self.pending.as_ref().map_or(self.acked, |p| p.seq);
        if seq > delivered {
            return Err(unknown());
        }
        Ok(seq)
    }
}

fn encode(state: &FeedState) -> Result<Vec<u8>> {
    serde_json::to_vec(state).map_err(|e| Error::Unavailable(e.to_string()))
}

/// The stored state with its raw bytes (what `save` expects to find).
pub fn load(p: &dyn Platform) -> Result<(Option<Vec<u8>>, Option<FeedState>)> {
    let raw = p.kv_get(keys::FEED_STATE)?;
    let state = raw
        .as_deref()
        .map(|r| {
            serde_json::from_slice(r).map_err(|e| {
                Error::Unavailable(format!(
                    "key-value record {} is unreadable: {e}",
                    keys::FEED_STATE
                ))
            })
        })
        .transpose()?;
    Ok((raw, state))
}

/// Stores `state` if the record is still `expected`; `false` when it changed since it was read
/// (a poll that outlived its claim). Call it holding the feed's claim: the check and the write
/// are two steps, which only the claim keeps together.
pub fn save(p: &dyn Platform, expected: Option<&[u8]>, state: &FeedState) -> Result<bool> {
    if p.kv_get(keys::FEED_STATE)?.as_deref() != expected {
        return Ok(false);
    }
    p.kv_set(keys::FEED_STATE, &encode(state)?)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_name_delivered_batches_of_this_feed_only() {
        let mut st = FeedState::start();
        st.acked = 3;
        assert_eq!(st.seq_of(&st.cursor(3)).unwrap(), 3);
        assert_eq!(
            st.seq_of(&st.cursor(1)).unwrap(),
            1,
            "older cursors are harmless"
        );
        for bad in [
            st.cursor(4),
            format!("other.{}", 3),
            "3".into(),
            format!("{}.x", st.epoch),
        ] {
            assert_eq!(st.seq_of(&bad).unwrap_err().kind(), "rejected", "{bad}");
        }
        st.pending = Some(Pending {
            seq: 4,
            batch: Batch {
                changes: Vec::new(),
                next_cursor: st.cursor(4),
                source: Source::EventQueue,
                notes: Vec::new(),
            },
            queue_position: None,
            snapshots: Vec::new(),
        });
        assert_eq!(st.seq_of(&st.cursor(4)).unwrap(), 4);
        assert!(st.seq_of(&st.cursor(5)).is_err());
        assert_ne!(FeedState::start().epoch, FeedState::start().epoch);
    }
}
