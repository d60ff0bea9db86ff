//! A signature is accepted once. Each signature is counted in key-value with an atomic
//! `increment` on a key made of its timestamp and the signature itself: only the first caller
//! sees 1, so a replay is refused whichever process sharing the store it reaches, and two copies
//! racing each other meet at the counter. Increment, not compare-and-swap: Spin's Redis store
//! reports a swap as failed even when it wrote, and `INCR` is atomic everywhere.
//!
//! The memory is bounded: a record is only needed while its timestamp is inside the window
//! (`signature::TOLERANCE_S` either way), since outside it `check_headers` refuses the request
//! anyway. `wasi:keyvalue` cannot list by prefix without walking the whole bucket, so the sweep
//! that deletes expired records runs for one accepted request in [`SWEEP_EVERY`], not for each.
//! Which one is told by the signature itself (its first byte): an HMAC is uniform, and nobody
//! without the secret can choose it, so sweeps come every `SWEEP_EVERY` requests on average
//! without a shared counter written on every request (a second write per request, and a key
//! every host sharing the store would contend for). After a sweep at time `t` the store holds
//! only records with timestamps from `t - TOLERANCE_S` on, i.e. requests accepted from
//! `t - 2 * TOLERANCE_S` on; so at any time it holds the signed requests of the ten minutes
//! before the last sweep plus those since, `SWEEP_EVERY` on average (more than 1,000 with a
//! chance below one in a million).

use super::signature::TOLERANCE_S;
use crate::keys;
use crate::model::Result;
use crate::platform::Platform;

/// How many accepted signed requests pass between two sweeps of expired signatures, on average.
pub const SWEEP_EVERY: u8 = 64;

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
    if sweeps(mac) {
        // A failed sweep costs only memory until the next one; the request itself is fine.
        let _ = sweep(p);
    }
    Ok(true)
}

/// Whether the request signed `mac` sweeps: one in [`SWEEP_EVERY`] (a power of two dividing
/// 256, so each first byte is as likely).
fn sweeps(mac: &[u8]) -> bool {
    mac.first().is_some_and(|b| b % SWEEP_EVERY == 0)
}

/// Deletes every recorded signature whose timestamp has left the window; how many it deleted.
pub fn sweep(p: &dyn Platform) -> Result<usize> {
    let now = p.now();
    let mut deleted = 0;
    for key in p.kv_keys(keys::SIGNATURES_SEEN)? {
        // Time only moves on, so a record expired now stays expired: deleting it cannot let its
        // request in again, whatever another process does meanwhile.
        let at = key[keys::SIGNATURES_SEEN.len()..]
            .split('.')
            .next()
            .and_then(|t| t.parse::<u64>().ok());
        let expired = at.is_none_or(|at| at + TOLERANCE_S < now);
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

    /// A signature whose first byte is `b`, unique by `n`.
    fn mac(b: u8, n: u32) -> [u8; 32] {
        let mut m = [0u8; 32];
        m[0] = b;
        m[1..5].copy_from_slice(&n.to_be_bytes());
        m
    }

    #[test]
    fn expired_signatures_are_swept_by_the_signatures_that_sweep() {
        let p = FakePlatform::configured();
        let start = p.now();
        // Signatures that do not sweep: everything is remembered.
        for n in 0..100 {
            assert!(first_use(&p, &mac(1, n), start).unwrap());
        }
        assert_eq!(seen(&p), 100);
        // Later, past the window of all of them (one stamped in the future still counts).
        p.advance(TOLERANCE_S + 1);
        let fresh = mac(SWEEP_EVERY, 0);
        assert!(sweeps(&fresh));
        assert!(first_use(&p, &fresh, p.now() + TOLERANCE_S).unwrap());
        assert_eq!(seen(&p), 1, "a sweeping signature swept the expired ones");
        assert!(
            !first_use(&p, &fresh, p.now() + TOLERANCE_S).unwrap(),
            "the fresh one is kept"
        );
    }

    #[test]
    fn one_signature_in_sweep_every_sweeps() {
        let sweeping = (0..=255u8).filter(|&b| sweeps(&mac(b, 0))).count();
        assert_eq!(sweeping, 256 / SWEEP_EVERY as usize);
        // Random signatures (HMACs are uniform) keep what is stored near the bound.
        let p = FakePlatform::configured();
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for n in 0..20 * SWEEP_EVERY as u32 {
            // xorshift: a fixed sequence of uniform bytes.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            p.advance(10);
            assert!(first_use(&p, &mac(state as u8, n), p.now()).unwrap());
        }
        let bound = (2 * TOLERANCE_S / 10) as usize + 4 * SWEEP_EVERY as usize;
        assert!(seen(&p) <= bound, "{} kept, bound {bound}", seen(&p));
    }
}
