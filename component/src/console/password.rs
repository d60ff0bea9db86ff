//! The local administrator password: how the console is opened before iManage is connected.
//! Set with `matterlink admin password --stdin` (the `set-admin-password` export); kept as an
//! Argon2id hash (memory-hard, so a copy of the store is no shortcut to the password), never in
//! configuration or logs.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// The shortest password accepted: it guards the whole integration.
pub const MIN_CHARS: usize = 12;
/// The longest: enough for any passphrase, and a bound on what one sign-in hashes.
pub const MAX_CHARS: usize = 256;

/// Hashes and stores `password` as the console's administrator password, replacing any other.
pub fn set(p: &dyn Platform, password: &str) -> Result<()> {
    let chars = password.chars().count();
    if !(MIN_CHARS..=MAX_CHARS).contains(&chars) {
        return Err(Error::Rejected(format!(
            "the password must have {MIN_CHARS} to {MAX_CHARS} characters; it has {chars}"
        )));
    }
    if password.trim() != password {
        return Err(Error::Rejected(
            "the password must not begin or end with spaces (a pasted newline?)".into(),
        ));
    }
    // Argon2id with the parameters OWASP recommends (19 MiB, 2 passes); the salt comes from
    // the platform's random source (`wasi:random`).
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| Error::Unavailable(format!("the password could not be hashed: {e}")))?
        .to_string();
    p.kv_set(keys::ADMIN_PASSWORD, hash.as_bytes())?;
    crate::audit::record(
        p,
        "admin-password",
        "",
        "ok",
        "the console's administrator password was set".into(),
    )
}

/// Whether a local administrator password is set.
pub fn is_set(p: &dyn Platform) -> Result<bool> {
    Ok(p.kv_get(keys::ADMIN_PASSWORD)?.is_some())
}

/// Whether `password` is the administrator password; `false` when none is set.
pub fn verify(p: &dyn Platform, password: &str) -> Result<bool> {
    let Some(stored) = p.kv_get(keys::ADMIN_PASSWORD)? else {
        return Ok(false);
    };
    let stored = String::from_utf8_lossy(&stored);
    if password.chars().count() > MAX_CHARS {
        return Ok(false);
    }
    Ok(Argon2::default()
        .verify_password(password.as_bytes(), stored.as_ref())
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn the_password_is_stored_hashed_and_verified() {
        let p = FakePlatform::configured();
        assert!(!is_set(&p).unwrap());
        assert!(!verify(&p, "anything at all").unwrap());
        set(&p, "correct horse battery").unwrap();
        let stored = String::from_utf8(p.kv_get(keys::ADMIN_PASSWORD).unwrap().unwrap()).unwrap();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
        assert!(verify(&p, "correct horse battery").unwrap());
        assert!(!verify(&p, "correct horse batterY").unwrap());
    }

    #[test]
    fn short_or_padded_passwords_are_refused_and_change_nothing() {
        let p = FakePlatform::configured();
        for bad in ["short", " padded password ", "a password\n"] {
            let e = set(&p, bad).unwrap_err();
            assert_eq!(e.kind(), "rejected", "{bad:?}");
            assert!(!e.message().contains(bad.trim()), "{}", e.message());
        }
        assert!(!is_set(&p).unwrap());
    }
}
