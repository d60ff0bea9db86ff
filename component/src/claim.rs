//! A claim in key-value: per matter, so that concurrent deliveries of one matter (in one process
//! or several sharing the store) provision it once; and on token renewal, so that concurrent
//! calls refresh once (`auth::session`).
//!
//! # Why increment, not compare-and-swap
//!
//! The store may be Spin's Redis store, whose compare-and-swap reports failure even when it
//! wrote (and success when Redis aborted the write), so nothing here may rest on it. Atomic
//! `increment` holds everywhere (Redis `INCR`, a SQLite transaction, our Redis backend's script):
//!
//! - A claim on `K` is taken in *generations*. Generation `g` has a ticket `K/g` (a counter) and
//!   a holder record `K/g/holder` (`{token, at}`). Whoever's `increment` of the ticket returns 1
//!   holds generation `g`: the store hands out each number once, so exactly one caller sees 1.
//! - A taker walks from generation 0: a ticket that answers more than 1 is someone else's; if its
//!   holder record is older than the TTL, the holder is presumed crashed and the taker moves on
//!   to the next generation — taken, again, by whoever increments *its* ticket to 1. Two takers
//!   finding one stale generation therefore race on the same next ticket, never on two.
//! - Release deletes the holder's own ticket (then its record), so the next `increment` of that
//!   ticket answers 1 again. A holder that may have been taken over (its TTL passed, or the next
//!   generation's ticket exists) deletes nothing: deleting a ticket below a live generation would
//!   let a newcomer take it. Its generation simply stays stale, and takers walk past it.
//! - The holder record is written just after winning. A taker that loses the ticket but finds
//!   no record (the winner is between its two writes, or crashed there) writes one with its own
//!   clock, so that even such a claim goes stale; that time is after the winner's win, so it
//!   never makes a live claim look stale early.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// How long a delivery that found a claim held waits for its holder's result, and how often it
/// looks.
const WAIT_FOR_HOLDER_MS: u64 = 15_000;
const POLL_MS: u64 = 250;

/// Waits for the holder of a claim to finish: `ready` is asked every `POLL_MS` until it answers,
/// for at most `WAIT_FOR_HOLDER_MS`; then `busy` (a message saying what is under way) comes back
/// as `unavailable`, so that the caller retries.
pub fn wait_for<T>(
    p: &dyn Platform,
    busy: impl FnOnce() -> String,
    mut ready: impl FnMut() -> Result<Option<T>>,
) -> Result<T> {
    let mut waited = 0;
    while waited < WAIT_FOR_HOLDER_MS {
        p.sleep_ms(POLL_MS);
        waited += POLL_MS;
        if let Some(done) = ready()? {
            return Ok(done);
        }
    }
    Err(Error::Unavailable(busy()))
}

/// How many abandoned generations a taker walks past before it gives up: each one is a holder
/// that crashed mid-claim, so even this many means something is badly wrong.
const MAX_GENERATIONS: u64 = 64;

#[derive(Serialize, Deserialize)]
struct HolderRecord {
    token: String,
    at: u64,
}

/// A claim this process holds; released by `release` (or taken over once it is stale).
pub struct Claim<'a> {
    p: &'a dyn Platform,
    key: String,
    generation: u64,
    /// When the holder record was last written (taken or renewed).
    at: Cell<u64>,
    ttl_s: u64,
}

/// The result of trying to take a claim.
pub enum Attempt<'a> {
    /// The claim is ours.
    Taken(Claim<'a>),
    /// Another delivery holds a live claim.
    Busy,
}

/// Takes the claim on `matter_id`; a claim older than `ttl_s` is presumed abandoned by a
/// crashed process and taken over.
pub fn try_take<'a>(p: &'a dyn Platform, matter_id: &str, ttl_s: u64) -> Result<Attempt<'a>> {
    try_take_key(p, keys::claim(matter_id), ttl_s)
}

/// What a generation's holder record says.
enum Holder {
    /// Written less than the TTL ago (or unreadable as a time, so not provably stale).
    Live,
    /// Older than the TTL: presumed crashed.
    Stale,
    /// Not written (yet).
    Absent,
}

fn holder(p: &dyn Platform, key: &str, g: u64, ttl_s: u64) -> Result<Holder> {
    Ok(match p.kv_get(&keys::claim_holder(key, g))? {
        None => Holder::Absent,
        Some(raw) => match serde_json::from_slice::<HolderRecord>(&raw) {
            Ok(r) if r.at.saturating_add(ttl_s) < p.now() => Holder::Stale,
            Ok(_) => Holder::Live,
            // Damaged: treat as abandoned, as a record that can never go stale would block the
            // matter for good.
            Err(_) => Holder::Stale,
        },
    })
}

fn write_holder(p: &dyn Platform, key: &str, g: u64, at: u64) -> Result<()> {
    let record = HolderRecord {
        token: crate::random::token(),
        at,
    };
    let raw = serde_json::to_vec(&record).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&keys::claim_holder(key, g), &raw)
}

/// A claim on `key`; one older than `ttl_s` seconds is presumed abandoned and taken over.
pub fn try_take_key(p: &dyn Platform, key: String, ttl_s: u64) -> Result<Attempt<'_>> {
    for g in 0..MAX_GENERATIONS {
        let ticket = keys::claim_ticket(&key, g);
        if p.kv_increment(&ticket, 1)? == 1 {
            let at = p.now();
            write_holder(p, &key, g, at)?;
            return Ok(Attempt::Taken(Claim {
                p,
                key,
                generation: g,
                at: Cell::new(at),
                ttl_s,
            }));
        }
        match holder(p, &key, g, ttl_s)? {
            Holder::Live => return Ok(Attempt::Busy),
            Holder::Stale => continue,
            Holder::Absent => {
                // Read after our increment, so this time is after the winner's win.
                write_holder(p, &key, g, p.now())?;
                // Released meanwhile (the ticket is gone): take back the record we just wrote,
                // which would otherwise be left behind with no claim to describe.
                if p.kv_get(&ticket)?.is_none() {
                    p.kv_delete(&keys::claim_holder(&key, g))?;
                }
                return Ok(Attempt::Busy);
            }
        }
    }
    Err(Error::Unavailable(format!(
        "claim {key} has {MAX_GENERATIONS} abandoned generations; clear its keys"
    )))
}

/// Whether a claim on `key` is held now (and not yet stale).
pub fn held(p: &dyn Platform, key: &str, ttl_s: u64) -> Result<bool> {
    for g in 0..MAX_GENERATIONS {
        if p.kv_get(&keys::claim_ticket(key, g))?.is_none() {
            return Ok(false);
        }
        match holder(p, key, g, ttl_s)? {
            Holder::Live | Holder::Absent => return Ok(true),
            Holder::Stale => continue,
        }
    }
    Ok(false)
}

impl Claim<'_> {
    /// Whether a taker has moved past this claim's generation (it found the claim stale).
    fn taken_over(&self) -> Result<bool> {
        Ok(self
            .p
            .kv_get(&keys::claim_ticket(&self.key, self.generation + 1))?
            .is_some())
    }

    /// Keeps the claim live for another TTL, or fails when another delivery has taken it over
    /// as stale: a long piece of work renews before each step it must not do twice, so that a
    /// slow holder stops rather than create beside the one that took over. Without
    /// compare-and-swap (see above) a taker that judged the claim stale just before the renewal
    /// can still take it, but the holder then stops at its next step: at most the one step in
    /// flight overlaps.
    pub fn renew(&self) -> Result<()> {
        let taken = || {
            Err(Error::Unavailable(format!(
                "another delivery took over the claim {} while this one was slow; it carries on",
                self.key
            )))
        };
        if self.taken_over()? {
            return taken();
        }
        let now = self.p.now();
        write_holder(self.p, &self.key, self.generation, now)?;
        self.at.set(now);
        if self.taken_over()? {
            return taken();
        }
        Ok(())
    }

    /// Gives the claim up, unless another process may have taken it over meanwhile.
    pub fn release(self) -> Result<()> {
        let p = self.p;
        // Past the TTL another taker may hold the next generation: deleting our ticket then
        // would open a generation below theirs to a newcomer. Left alone, it reads as stale.
        if self.at.get().saturating_add(self.ttl_s) < p.now() {
            return Ok(());
        }
        if p.kv_get(&keys::claim_ticket(&self.key, self.generation + 1))?
            .is_some()
        {
            return Ok(());
        }
        // The ticket first: a taker that increments it before it goes still finds our record,
        // sees a live claim and writes nothing; one that increments after takes the claim.
        p.kv_delete(&keys::claim_ticket(&self.key, self.generation))?;
        p.kv_delete(&keys::claim_holder(&self.key, self.generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    const TTL: u64 = 120;

    fn taken<'a>(a: Attempt<'a>, what: &str) -> Claim<'a> {
        match a {
            Attempt::Taken(c) => c,
            Attempt::Busy => panic!("{what}: busy"),
        }
    }

    #[test]
    fn one_holder_at_a_time_and_stale_claims_are_taken_over() {
        let p = FakePlatform::configured();
        let first = taken(try_take(&p, "1", TTL).unwrap(), "first");
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy));
        assert!(held(&p, &keys::claim("1"), TTL).unwrap());
        assert!(matches!(try_take(&p, "2", TTL).unwrap(), Attempt::Taken(_)));
        p.advance(TTL + 1);
        assert!(!held(&p, &keys::claim("1"), TTL).unwrap());
        let second = taken(try_take(&p, "1", TTL).unwrap(), "stale");
        // The first holder's late release must not drop the second holder's claim.
        first.release().unwrap();
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy));
        second.release().unwrap();
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Taken(_)));
    }

    #[test]
    fn a_released_claim_leaves_no_keys() {
        let p = FakePlatform::configured();
        for _ in 0..3 {
            let c = taken(try_take(&p, "7", TTL).unwrap(), "take");
            // Losers while it is held leave nothing of their own.
            assert!(matches!(try_take(&p, "7", TTL).unwrap(), Attempt::Busy));
            c.release().unwrap();
            assert!(!held(&p, &keys::claim("7"), TTL).unwrap());
        }
        assert!(
            p.kv_keys("claim/").unwrap().is_empty(),
            "{:?}",
            p.kv.borrow()
        );
    }

    #[test]
    fn a_winner_that_crashed_before_its_record_still_goes_stale() {
        let p = FakePlatform::configured();
        // The ticket was won, and the process died before writing who holds it.
        p.kv_increment(&keys::claim_ticket(&keys::claim("9"), 0), 1)
            .unwrap();
        assert!(matches!(try_take(&p, "9", TTL).unwrap(), Attempt::Busy));
        p.advance(TTL / 2);
        assert!(matches!(try_take(&p, "9", TTL).unwrap(), Attempt::Busy));
        p.advance(TTL / 2 + 1);
        let c = taken(try_take(&p, "9", TTL).unwrap(), "after the ttl");
        assert_eq!(c.generation, 1);
    }

    #[test]
    fn two_takers_of_one_stale_generation_race_for_one_ticket() {
        let p = FakePlatform::configured();
        let _crashed = taken(try_take(&p, "3", TTL).unwrap(), "first");
        p.advance(TTL + 1);
        let a = taken(try_take(&p, "3", TTL).unwrap(), "takeover");
        assert_eq!(a.generation, 1);
        // A second taker that also found generation 0 stale meets the same ticket 1, live.
        assert!(matches!(try_take(&p, "3", TTL).unwrap(), Attempt::Busy));
    }

    #[test]
    fn a_renewed_claim_stays_and_a_taken_over_one_cannot_be_renewed() {
        const TTL: u64 = 3;
        let p = FakePlatform::configured();
        let Attempt::Taken(slow) = try_take(&p, "1", TTL).unwrap() else {
            panic!("first")
        };
        p.advance(TTL);
        slow.renew().unwrap();
        p.advance(TTL);
        assert!(
            matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy),
            "renewed: still live"
        );
        p.advance(TTL + 1);
        let Attempt::Taken(other) = try_take(&p, "1", TTL).unwrap() else {
            panic!("stale")
        };
        assert!(slow.renew().is_err(), "taken over: the slow holder stops");
        other.renew().unwrap();
        slow.release().unwrap();
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy));
    }
}
