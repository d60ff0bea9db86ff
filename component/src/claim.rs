//! A claim in key-value, taken with compare-and-swap: per matter, so that concurrent deliveries
//! of one matter (in one process or several sharing the store) provision it once; and on token
//! renewal, so that concurrent calls refresh once (`auth::session`).

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

#[derive(Serialize, Deserialize)]
struct ClaimRecord {
    token: String,
    at: u64,
}

/// A claim this process holds; released by `release` (or taken over once it is stale).
pub struct Claim<'a> {
    p: &'a dyn Platform,
    key: String,
    raw: RefCell<Vec<u8>>,
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

/// A claim on `key`; one older than `ttl_s` seconds is presumed abandoned and taken over.
pub fn try_take_key(p: &dyn Platform, key: String, ttl_s: u64) -> Result<Attempt<'_>> {
    let record = ClaimRecord {
        token: crate::random::token(),
        at: p.now(),
    };
    let raw = serde_json::to_vec(&record).map_err(|e| Error::Unavailable(e.to_string()))?;
    if p.kv_compare_and_swap(&key, None, &raw)? {
        return Ok(Attempt::Taken(Claim {
            p,
            key,
            raw: RefCell::new(raw),
        }));
    }
    let Some(current) = p.kv_get(&key)? else {
        // Released between our swap and our read: try once more.
        return Ok(if p.kv_compare_and_swap(&key, None, &raw)? {
            Attempt::Taken(Claim {
                p,
                key,
                raw: RefCell::new(raw),
            })
        } else {
            Attempt::Busy
        });
    };
    let stale = serde_json::from_slice::<ClaimRecord>(&current)
        .map(|c| c.at + ttl_s < p.now())
        .unwrap_or(true);
    if stale && p.kv_compare_and_swap(&key, Some(&current), &raw)? {
        return Ok(Attempt::Taken(Claim {
            p,
            key,
            raw: RefCell::new(raw),
        }));
    }
    Ok(Attempt::Busy)
}

/// Whether a claim on `key` is held now (and not yet stale).
pub fn held(p: &dyn Platform, key: &str, ttl_s: u64) -> Result<bool> {
    Ok(match p.kv_get(key)? {
        None => false,
        Some(raw) => serde_json::from_slice::<ClaimRecord>(&raw)
            .map(|c| c.at + ttl_s >= p.now())
            .unwrap_or(false),
    })
}

impl Claim<'_> {
    /// Keeps the claim live for another `ttl_s`, or fails when another delivery has taken it
    /// over as stale: a long piece of work renews before each step it must not do twice, so
    /// that a slow holder stops rather than create beside the one that took over.
    pub fn renew(&self) -> Result<()> {
        let current = self.raw.borrow().clone();
        let token = serde_json::from_slice::<ClaimRecord>(&current)
            .map(|c| c.token)
            .map_err(|e| Error::Unavailable(e.to_string()))?;
        let record = ClaimRecord {
            token,
            at: self.p.now(),
        };
        let raw = serde_json::to_vec(&record).map_err(|e| Error::Unavailable(e.to_string()))?;
        if !self
            .p
            .kv_compare_and_swap(&self.key, Some(&current), &raw)?
        {
            return Err(Error::Unavailable(format!(
                "another delivery took over the claim {} while this one was slow; it carries on",
                self.key
            )));
        }
        *self.raw.borrow_mut() = raw;
        Ok(())
    }

    /// Gives the claim up, unless another process took it over meanwhile.
    pub fn release(self) -> Result<()> {
        if self.p.kv_get(&self.key)?.as_deref() == Some(self.raw.borrow().as_slice()) {
            self.p.kv_delete(&self.key)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn one_holder_at_a_time_and_stale_claims_are_taken_over() {
        const TTL: u64 = 120;
        let p = FakePlatform::configured();
        let Attempt::Taken(first) = try_take(&p, "1", TTL).unwrap() else {
            panic!("first")
        };
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy));
        assert!(matches!(try_take(&p, "2", TTL).unwrap(), Attempt::Taken(_)));
        p.advance(TTL + 1);
        let Attempt::Taken(second) = try_take(&p, "1", TTL).unwrap() else {
            panic!("stale")
        };
        // The first holder's late release must not drop the second holder's claim.
        first.release().unwrap();
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Busy));
        second.release().unwrap();
        assert!(matches!(try_take(&p, "1", TTL).unwrap(), Attempt::Taken(_)));
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
