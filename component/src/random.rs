//! Randomness without another dependency: std's `RandomState` is seeded from the platform's
//! entropy (`wasi:random` in the component), which is all jitter and claim tokens need.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

pub fn u64() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(0);
    h.finish()
}

/// A uniformly distributed number in `0..n` (`n` > 0); the modulo bias is negligible here.
pub fn below(n: u64) -> u64 {
    u64() % n.max(1)
}

/// A random token for claims, 128 bits as hex.
pub fn token() -> String {
    format!("{:016x}{:016x}", u64(), u64())
}
