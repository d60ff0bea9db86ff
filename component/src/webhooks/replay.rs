//! A signature is accepted once. Each signature is counted in key-value with an atomic
//! `increment` on a key made of its timestamp and the signature itself: only the first caller
//! sees 1, so a replay is refused whichever process sharing the store it reaches, and two copies
//! racing each other meet at the counter. Increment, not compare-and-swap: Spin's Redis store
//! reports a swap as failed even when it wrote, and `INCR` is atomic everywhere.
//!
//! The memory is bounded: a record is only needed while its timestamp is inside the window
//! (`signature::TOLERANCE_S` either way), since outside it `check_headers` refuses the request
//! anyway. `wasi:keyvalue` cannot list by prefix: the sweep that deletes expired records walks
//! the whole bucket (events, links, audit and all), so it must run by the clock, not by the
//! count of requests: swept every `n` requests, its cost per request grew with the bucket, and
//! under load the bucket is mostly the signatures of the last ten minutes (the benchmark's
//! duplicates ran at two thirds of the rate with a sweep every 64). So a sweep runs at most once
//! per [`SWEEP_INTERVAL_S`] for the whole store, whichever host the requests reach:
//! - one accepted request in [`SWEEP_EVERY`] asks, told by its signature's first byte (an HMAC
//!   is uniform and nobody without the secret can choose it), so the other requests pay
//!   nothing, not even a read;
//! - it asks by incrementing the interval's claim (`keys::sweep_claim`); only the first to
//!   reach 1 sweeps, and the sweep deletes the claims of earlier intervals.
//!
//! A record is therefore deleted within one interval after it expires, under load; at a trickle
//! of requests the sweep waits for an asking request, `SWEEP_EVERY` on average. Either way the
//! store holds the signed requests of the ten minutes before the last sweep plus those since.

use super::signature::TOLERANCE_S;
use crate::keys;
use crate::model::Result;
use crate::platform::Platform;

/// How many accepted signed requests pass between two that ask for a sweep, on average.
pub const SWEEP_EVERY: u8 = 64;

/// At most one sweep per this many seconds, per store.
pub const SWEEP_INTERVAL_S: u64 = 60;

/// Records the signature `mac` of a request stamped `at`; `false` when it was recorded before,
/// i.e. the request is a replay.
pub fn first_use(p: &dyn Platform, mac: &[u8], at: u64) -> Result<bool> {
    // The timestamp leads the key so that the sweep can tell a record's age from its key alone;
    // the signature covers the timestamp, so a replay always lands on the same key.
    let key = keys::signature_seen(&format!("{at}.{}", hex::encode(mac)));
    // A replay that comes after the first use is refused on a read, changing nothing; only
    // copies racing each other meet at the counter.
    if p.kv_get(&key)?.is_some() || p.kv_increment(&key, 1)? != 1 {
        return Ok(false);
    }
    if asks_to_sweep(mac) {
        // A failed sweep costs only memory until the next one; the request itself is fine.
        let _ = sweep_if_due(p);
    }
    Ok(true)
}

/// Whether the request signed `mac` asks for a sweep: one in [`SWEEP_EVERY`] (a power of two
/// dividing 256, so each first byte is as likely).
fn asks_to_sweep(mac: &[u8]) -> bool {
    mac.first().is_some_and(|b| b % SWEEP_EVERY == 0)
}

/// Sweeps when this interval has not been swept yet (by any host); whether it swept.
fn sweep_if_due(p: &dyn Platform) -> Result<bool> {
    let interval = p.now() / SWEEP_INTERVAL_S;
    if p.kv_increment(&keys::sweep_claim(interval), 1)? != 1 {
        return Ok(false);
    }
    sweep(p, interval)?;
    Ok(true)
}

/// Deletes every recorded signature whose timestamp has left the window, and the claims of
/// intervals before `interval` (the one this sweep claimed).
fn sweep(p: &dyn Platform, interval: u64) -> Result<()> {
    let now = p.now();
    // One walk of the bucket for both prefixes: it is the walk that costs.
    for key in p.kv_keys(keys::WEBHOOK)? {
        if let Some(rest) = key.strip_prefix(keys::SIGNATURES_SEEN) {
            // Time only moves on, so a record expired now stays expired: deleting it cannot let
            // its request in again, whatever another process does meanwhile.
            let at = rest.split('.').next().and_then(|t| t.parse::<u64>().ok());
            if at.is_none_or(|at| at + TOLERANCE_S < now) {
                p.kv_delete(&key)?;
            }
        } else if let Some(rest) = key.strip_prefix(keys::SWEEP_CLAIMS) {
            // A claim of this interval stays, or a second sweep would start in it.
            if rest.parse::<u64>().is_ok_and(|i| i < interval) {
                p.kv_delete(&key)?;
            }
        } else if key == keys::RETIRED_SIGNATURES_COUNT {
            p.kv_delete(&key)?;
        }
    }
    Ok(())
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

    /// A signature whose first byte is `b`, unique by `n`.
    fn mac(b: u8, n: u32) -> [u8; 32] {
        let mut m = [0u8; 32];
        m[0] = b;
        m[1..5].copy_from_slice(&n.to_be_bytes());
        m
    }

    /// A signature that asks for a sweep, unique by `n`.
    fn asking(n: u32) -> [u8; 32] {
        mac(SWEEP_EVERY, n)
    }

    #[test]
    fn expired_signatures_are_swept_by_a_request_that_asks() {
        let p = FakePlatform::configured();
        // A store from before sweeps ran by the clock keeps the counter that chose them.
        p.kv_set(keys::RETIRED_SIGNATURES_COUNT, b"7").unwrap();
        let start = p.now();
        // Signatures that do not ask: everything is remembered.
        for n in 0..100 {
            assert!(!asks_to_sweep(&mac(1, n)));
            assert!(first_use(&p, &mac(1, n), start).unwrap());
        }
        assert_eq!(seen(&p), 100);
        // Later, past the window of all of them (one stamped in the future still counts).
        p.advance(TOLERANCE_S + 1);
        let fresh = asking(0);
        assert!(first_use(&p, &fresh, p.now() + TOLERANCE_S).unwrap());
        assert_eq!(seen(&p), 1, "an asking signature swept the expired ones");
        assert_eq!(p.kv_get(keys::RETIRED_SIGNATURES_COUNT).unwrap(), None);
        assert!(
            !first_use(&p, &fresh, p.now() + TOLERANCE_S).unwrap(),
            "the fresh one is kept"
        );
    }

    #[test]
    fn one_sweep_per_interval_whoever_asks() {
        let p = FakePlatform::configured();
        // Start an interval afresh, so that the test does not depend on the fake clock's start.
        p.advance(SWEEP_INTERVAL_S - p.now() % SWEEP_INTERVAL_S);
        assert!(
            sweep_if_due(&p).unwrap(),
            "the interval's first asker sweeps"
        );
        // Everything recorded from now on expires within this interval...
        for n in 1..50 {
            assert!(first_use(&p, &mac(1, n), p.now() - TOLERANCE_S).unwrap());
        }
        p.advance(2);
        // ...but no other request sweeps in it, however many ask (as if from other hosts).
        for n in 1..10 {
            assert!(first_use(&p, &asking(n), p.now()).unwrap());
        }
        assert_eq!(seen(&p), 49 + 9, "nothing was swept twice in one interval");
        // The next interval's first asker sweeps, and deletes the earlier interval's claim.
        p.advance(SWEEP_INTERVAL_S);
        assert!(first_use(&p, &asking(100), p.now()).unwrap());
        assert_eq!(seen(&p), 9 + 1, "the expired records are gone");
        let claims = p.kv_keys(keys::SWEEP_CLAIMS).unwrap();
        assert_eq!(
            claims,
            vec![keys::sweep_claim(p.now() / SWEEP_INTERVAL_S)],
            "only this interval's claim is left"
        );
    }

    #[test]
    fn one_signature_in_sweep_every_asks_and_the_store_stays_bounded() {
        let asking = (0..=255u8).filter(|&b| asks_to_sweep(&mac(b, 0))).count();
        assert_eq!(asking, 256 / SWEEP_EVERY as usize);
        // Random signatures (HMACs are uniform), one per second for forty minutes: what is
        // kept stays within the window, the interval and the wait for an asking request.
        let p = FakePlatform::configured();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in 0..2_400u32 {
            // xorshift: a fixed sequence of uniform bytes.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            p.advance(1);
            assert!(first_use(&p, &mac(state as u8, n), p.now()).unwrap());
        }
        let bound = (2 * TOLERANCE_S + SWEEP_INTERVAL_S) as usize + 4 * SWEEP_EVERY as usize;
        assert!(seen(&p) <= bound, "{} kept, bound {bound}", seen(&p));
        assert!(
            seen(&p) >= TOLERANCE_S as usize,
            "the window's records are kept"
        );
    }
}
