//! The change feed (poll-changes): security and membership changes on linked workspaces, each
//! mapped to its matter, so that the matter system learns of a new ethical wall within seconds.
//!
//! Delivery: every poll returns a batch and a cursor. Passing that cursor to the next poll
//! acknowledges the batch; until then every poll (without a cursor, or with an older one)
//! returns the same batch again. So a caller that crashes before it has handled a batch loses
//! nothing (at-least-once), and one that acknowledges what it handled sees each change exactly
//! once. Everything lives in key-value, so this holds across host restarts.
//!
//! Sources (`change_source`): the event queue (`event_queue.rs`, the one module that knows its
//! unconfirmed shape), the Sync API (`sync_crawl.rs`) and per-workspace polling (`polling.rs`);
//! the last two compare with snapshots (`snapshot.rs`). `auto` reads the queue and falls back
//! when it answers 403 or in a shape matterlink does not understand. One consumer per feed: two
//! callers acknowledging in turn would each miss the other's batches.

pub mod change;
pub mod event_queue;
pub mod linked;
pub mod polling;
pub mod read;
pub mod snapshot;
pub mod source;
pub mod state;
pub mod sync_crawl;

use crate::imanage::Imanage;
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::settings::Settings;

pub use change::{Batch, Change, ChangeKind, Source};
use state::{FeedState, Pending};

/// Rounds of load-and-save before concurrent polls are reported as a failure.
const MAX_ROUNDS: usize = 16;
/// How long a poll waits for another poll's claim on the feed before it gives up.
const WAIT_FOR_POLL_MS: u64 = 10_000;
const POLL_MS: u64 = 100;

/// poll-changes: the security changes on linked workspaces since `cursor`. A batch's
/// `next_cursor` acknowledges it; until then every poll answers the same batch again.
pub fn poll_changes(p: &dyn Platform, cursor: Option<&str>) -> Result<Batch> {
    let s = Settings::load(p)?;
    let mode = source::Mode::load(p)?;
    // One poll at a time changes the feed's record: the claim (by increment) is what makes the
    // record's load-then-save safe on a store without a working compare-and-swap.
    let mut waited = 0;
    let claim = loop {
        match crate::claim::try_take_key(p, crate::keys::FEED_CLAIM.into(), s.claim_ttl_s)? {
            crate::claim::Attempt::Taken(c) => break c,
            crate::claim::Attempt::Busy if waited < WAIT_FOR_POLL_MS => {
                p.sleep_ms(POLL_MS);
                waited += POLL_MS;
            }
            crate::claim::Attempt::Busy => return Err(contended()),
        }
    };
    let result = poll_holding_claim(p, &s, mode, cursor, &claim);
    // The batch is recorded either way; a failed release only delays the next poll until the
    // claim goes stale, so it must not turn the outcome into another one.
    let _ = claim.release();
    result
}

/// Everything a poll does runs under `lease`: one consumer of the feed at a time, whichever
/// host it runs on. A poll slower than the lease's TTL may have been taken over by a poll on
/// another host, so it renews the lease (which fails once taken over) right before each write
/// that moves the feed: two hosts never acknowledge, or record, the same batch.
fn poll_holding_claim(
    p: &dyn Platform,
    s: &Settings,
    mode: source::Mode,
    cursor: Option<&str>,
    lease: &crate::claim::Claim<'_>,
) -> Result<Batch> {
    if let Some(c) = cursor {
        lease.renew()?;
        acknowledge(p, c)?;
    }
    let api = Imanage::new(p, s);
    for _ in 0..MAX_ROUNDS {
        let (raw, stored) = state::load(p)?;
        let mut st = stored.unwrap_or_else(FeedState::start);
        if let Some(pending) = &st.pending {
            return Ok(pending.batch.clone());
        }
        let reading = read::read(&api, mode, &st)?;
        let observed_at = p.now();
        st.last_source = Some(reading.source);
        st.last_polled_at = Some(observed_at);
        if let Some(why) = &reading.restarted {
            st.last_restart = Some(state::Restart {
                at: observed_at,
                why: why.clone(),
            });
        }
        let changes: Vec<Change> = reading
            .found
            .into_iter()
            .enumerate()
            .map(|(n, f)| {
                let mut c = Change::new(
                    &f.matter_id,
                    &f.workspace_id,
                    f.delta,
                    f.occurred_at,
                    observed_at,
                );
                c.id = format!("{}.{}", st.cursor(st.acked + 1), n + 1);
                c
            })
            .collect();
        let batch = if changes.is_empty() {
            // Nothing to lose: the feed moves on at once.
            if let Some(position) = reading.queue_position {
                st.queue_position = Some(position);
            }
            Batch {
                changes,
                next_cursor: st.cursor(st.acked),
                source: reading.source,
                notes: reading.notes,
            }
        } else {
            let seq = st.acked + 1;
            let batch = Batch {
                changes,
                next_cursor: st.cursor(seq),
                source: reading.source,
                notes: reading.notes,
            };
            st.pending = Some(Pending {
                seq,
                batch: batch.clone(),
                queue_position: reading.queue_position,
                snapshots: reading.snapshots.clone(),
            });
            batch
        };
        lease.renew()?;
        if !state::save(p, raw.as_deref(), &st)? {
            continue; // another poll got there first; its batch is the one to deliver
        }
        // After the batch is safely recorded: should this fail half-way, acknowledging the batch
        // stores its snapshots again.
        for (ws, security) in reading.baselines.iter().chain(&reading.snapshots) {
            snapshot::store(p, ws, security)?;
        }
        return Ok(batch);
    }
    Err(contended())
}

/// The caller holds the batch `cursor` names: make its snapshots and position the feed's own.
fn acknowledge(p: &dyn Platform, cursor: &str) -> Result<()> {
    for _ in 0..MAX_ROUNDS {
        let (raw, stored) = state::load(p)?;
        let Some(mut st) = stored else {
            return Err(Error::Rejected(format!(
                "{cursor:?} is not a cursor of this change feed, which has not started; poll without a cursor first"
            )));
        };
        let seq = st.seq_of(cursor)?;
        let Some(pending) = st.pending.take().filter(|pd| pd.seq == seq) else {
            return Ok(()); // acknowledged before, or an older cursor: nothing to do
        };
        for (ws, security) in &pending.snapshots {
            snapshot::store(p, ws, security)?;
        }
        st.acked = seq;
        if let Some(position) = pending.queue_position {
            st.queue_position = Some(position);
        }
        if state::save(p, raw.as_deref(), &st)? {
            return Ok(());
        }
    }
    Err(contended())
}

fn contended() -> Error {
    Error::Unavailable("the change feed kept changing under concurrent polls; poll again".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::{try_take_key, Attempt};
    use crate::keys;
    use crate::testing::FakePlatform;

    /// A poll whose lease another host took over (it outlived the TTL) writes nothing: the
    /// batch it would acknowledge stays the other host's to acknowledge.
    #[test]
    fn a_poll_that_lost_its_lease_acknowledges_nothing() {
        let p = FakePlatform::configured();
        let s = Settings::load(&p).unwrap();
        let mode = source::Mode::load(&p).unwrap();
        let Attempt::Taken(slow) =
            try_take_key(&p, keys::FEED_CLAIM.into(), s.claim_ttl_s).unwrap()
        else {
            panic!("the feed's lease is free");
        };
        p.advance(s.claim_ttl_s + 1);
        let Attempt::Taken(_other) =
            try_take_key(&p, keys::FEED_CLAIM.into(), s.claim_ttl_s).unwrap()
        else {
            panic!("a stale lease is taken over");
        };
        let before = p.kv.borrow().clone();
        let err = poll_holding_claim(&p, &s, mode, Some("any-cursor"), &slow).unwrap_err();
        assert_eq!(err.kind(), "unavailable", "{err}");
        assert_eq!(*p.kv.borrow(), before, "nothing written");
    }
}
