//! A signature is accepted once. Each accepted signature is recorded in key-value with a
//! compare-and-swap from absent, keyed by the signature itself, so a replay is refused whichever
//! process sharing the store it reaches, and two copies racing each other meet at the swap.
//!
//! The memory is bounded: a record is only needed while its timestamp is inside the window
//! (`signature::TOLERANCE_S` either way), since outside it `check_headers` refuses the request
//! anyway. `wasi:keyvalue` cannot list by prefix without walking the whole bucket, so the sweep
//! that deletes expired records runs on every [`SWEEP_EVERY`]th accepted request (an atomic
//! counter in key-value), not on each. After a sweep at time `t` the store holds only records
//! with timestamps from `t - TOLERANCE_S` on, i.e. requests accepted from `t - 2 * TOLERANCE_S`
//! on; so at any time it holds at most the signed requests of the ten minutes before the last
//! sweep plus fewer than `SWEEP_EVERY` since.

use serde::{Deserialize, Serialize};

use super::signature::TOLERANCE_S;
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// How many accepted signed requests pass between two sweeps of expired signatures.
pub const SWEEP_EVERY: i64 = 64;

#[derive(Serialize, Deserialize)]
struct Seen {
    /// The request's timestamp.
    at: u64,
}

/// Records the signature `mac` of a request stamped `at`; `false` when it was recorded before,
/// i.e. the request is a replay.
pub fn first_use(p: &dyn Platform, mac: &[u8], at: u64) -> Result<bool> {
    let key = keys::signature_seen(&hex::encode(mac));
    let record = serde_json::to_vec(&Seen { at }).map_err(|e| Error::Unavailable(e.to_string()))?;
    if !p.kv_compare_and_swap(&key, None, &record)? {
        return Ok(false);
    }
    if p.kv_increment(keys::SIGNATURES_COUNT, 1)? % SWEEP_EVERY == 0 {
        // A failed sweep costs only memory until the next one; the request itself is fine.
        let _ = sweep(p);
    }
    Ok(true)
}

/// Deletes every recorded signature whose timestamp has left the window; how many it deleted.
pub fn sweep(p: &dyn Platform) -> Result<usize> {
    let now = p.now();
    let mut deleted = 0;
    for key in p.kv_keys(keys::SIGNATURES_SEEN)? {
        let expired = match p.kv_get(&key)? {
            None => continue,
            // Time only moves on, so a record expired now stays expired: deleting it cannot
            // let its request in again, whatever another process does meanwhile.
            Some(raw) => serde_json::from_slice::<Seen>(&raw)
                .map(|s| s.at + TOLERANCE_S < now)
                .unwrap_or(true),
        };
        if expired {
            p.kv_delete(&key)?;
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn seen(p: &FakePlatform) -> usize {
        p.kv_keys(keys::SIGNATURES_SEEN).unwrap().len()
    }

    #[test]
    fn a_signature_is_good_once() {
        let p = FakePlatform::configured();
        let now = p.now();
        assert!(first_use(&p, &[1; 32], now).unwrap());
        assert!(!first_use(&p, &[1; 32], now).unwrap());
        assert!(first_use(&p, &[2; 32], now).unwrap());
    }

    #[test]
    fn expired_signatures_are_swept_every_nth_request() {
        let p = FakePlatform::configured();
        let start = p.now();
        let mut mac = 0u32;
        let mut next = || {
            mac += 1;
            let mut m = [0u8; 32];
            m[..4].copy_from_slice(&mac.to_be_bytes());
            m
        };
        // One short of a sweep: everything is remembered.
        for _ in 0..SWEEP_EVERY - 1 {
            assert!(first_use(&p, &next(), start).unwrap());
        }
        assert_eq!(seen(&p), SWEEP_EVERY as usize - 1);
        // Later, past the window of all of them (one stamped in the future still counts).
        p.advance(TOLERANCE_S + 1);
        let fresh = next();
        assert!(first_use(&p, &fresh, p.now() + TOLERANCE_S).unwrap());
        assert_eq!(seen(&p), 1, "the 64th request swept the expired ones");
        assert!(
            !first_use(&p, &fresh, p.now()).unwrap(),
            "the fresh one is kept"
        );
        // However many requests arrive, what is kept stays under the bound.
        for _ in 0..10 * SWEEP_EVERY {
            p.advance(10);
            assert!(first_use(&p, &next(), p.now()).unwrap());
            assert!(seen(&p) <= (2 * TOLERANCE_S / 10) as usize + SWEEP_EVERY as usize);
        }
    }
}
