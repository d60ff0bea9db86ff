//! Randomness, and comparing the secrets made of it. Jitter and claim tokens use std's `RandomState`, seeded from the platform's
//! entropy (`wasi:random` in the component), which is all they need. Secrets (PKCE verifiers,
//! OAuth `state`) come straight from the platform's random source through `getrandom`.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::model::{Error, Result};

/// A random number, for ids that must differ between runs but need not be secret.
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

/// 256 random bits as 43 base64url characters: a valid PKCE verifier (RFC 7636 §4.1) and an
/// unguessable `state`.
pub fn secret() -> Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Unavailable(format!("no random source: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// Compares a secret someone gave with the one expected (an OAuth `state`, a hook token)
/// without revealing, through timing, how much of it matched: both sides are hashed first, so
/// where the hashes differ says nothing about where the secrets do.
pub fn same_secret(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    Sha256::digest(given.as_bytes()) == Sha256::digest(expected.as_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_long_url_safe_and_distinct() {
        let a = super::secret().unwrap();
        let b = super::secret().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
