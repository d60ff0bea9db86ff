//! PKCE (RFC 7636): the challenge a client sends to the authorization endpoint and the verifier it
//! proves it with at the token endpoint.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Plain,
    S256,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    method: Method,
    value: String,
}

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Za-z0-9-._~]`, for verifiers and challenges alike.
fn well_formed(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

impl Challenge {
    /// The challenge of an authorization request; none is allowed (iManage makes PKCE optional).
    /// The method defaults to `plain`, as the RFC says.
    pub fn parse(
        challenge: Option<&str>,
        method: Option<&str>,
    ) -> Result<Option<Challenge>, String> {
        let Some(value) = challenge else {
            return match method {
                None => Ok(None),
                Some(_) => Err("code_challenge_method without code_challenge".to_owned()),
            };
        };
        let method = match method {
            None | Some("plain") => Method::Plain,
            Some("S256") => Method::S256,
            Some(other) => {
                return Err(format!(
                    "code_challenge_method {other} is not supported (S256 or plain)"
                ))
            }
        };
        if !well_formed(value) {
            return Err(
                "code_challenge must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~".into(),
            );
        }
        Ok(Some(Challenge {
            method,
            value: value.to_owned(),
        }))
    }

    pub fn verify(&self, verifier: &str) -> bool {
        if !well_formed(verifier) {
            return false;
        }
        match self.method {
            Method::Plain => verifier == self.value,
            Method::S256 => {
                URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == self.value
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of RFC 7636 appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn s256_matches_the_rfc_example() {
        let challenge = Challenge::parse(Some(CHALLENGE), Some("S256"))
            .unwrap()
            .unwrap();
        assert!(challenge.verify(VERIFIER));
        assert!(!challenge.verify(CHALLENGE));
        assert!(!challenge.verify(&VERIFIER[1..]));
    }

    #[test]
    fn plain_is_the_default_and_compares_as_is() {
        let challenge = Challenge::parse(Some(VERIFIER), None).unwrap().unwrap();
        assert!(challenge.verify(VERIFIER));
        assert!(!challenge.verify(CHALLENGE));
    }

    #[test]
    fn malformed_requests_are_refused() {
        assert_eq!(Challenge::parse(None, None), Ok(None));
        assert!(Challenge::parse(None, Some("S256")).is_err());
        assert!(Challenge::parse(Some(CHALLENGE), Some("S512")).is_err());
        assert!(Challenge::parse(Some("short"), Some("S256")).is_err());
        assert!(Challenge::parse(Some(&"a".repeat(129)), Some("plain")).is_err());
        let challenge = Challenge::parse(Some(CHALLENGE), Some("S256"))
            .unwrap()
            .unwrap();
        assert!(!challenge.verify("ü".repeat(30).as_str()));
    }
}
