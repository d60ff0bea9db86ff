//! Hook deliveries kept whole. A sender that switches its hook off at any answer but 200
//! (Actionstep) must get 200 even for a body matterlink cannot read or handle yet: an unknown
//! shape, a setting that is wrong, a body over the limit. Such a delivery is kept here with its
//! raw body and why, one key each (no shared index, no compare-and-swap), until a replay reads it
//! with whatever has been fixed since — a setting, or a newer matterlink that knows the shape.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// A delivery kept for replay, as `replay-events` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldDelivery {
    /// Its key: the digest of its body, so a redelivery of the same body is kept once.
    pub id: String,
    /// Who sent it, e.g. `actionstep`.
    pub source: String,
    /// Why it was kept, as an error kind: `malformed`, `too-large`, `not-configured`, …
    pub kind: String,
    /// Why it was kept, for people.
    pub reason: String,
    /// The body as received (UTF-8, any invalid bytes replaced); empty when it was too large
    /// to read.
    pub body: String,
    /// The body was over the route's limit and was not kept: a replay cannot handle it, and the
    /// sender's record has to be sent again.
    pub truncated: bool,
    /// How many times it could not be handled.
    pub attempts: u32,
    /// When it came, seconds since the epoch.
    pub first_held_at: u64,
    /// When it last could not be handled, seconds since the epoch.
    pub last_failed_at: u64,
}

/// A held delivery as key-value keeps it, with its place in the order of arrival.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    held: HeldDelivery,
    seq: i64,
}

/// The body of a delivery to keep.
pub enum Body<'a> {
    /// Read in full.
    Read(&'a [u8]),
    /// Over the limit (in bytes), not read.
    TooLarge {
        /// The limit it was over.
        limit: usize,
    },
}

/// Keeps a delivery from `source` that could not be handled for `kind`/`reason`; a delivery of
/// the same body kept before counts one more attempt. Returns its id.
pub fn keep(
    p: &dyn Platform,
    source: &str,
    body: Body<'_>,
    kind: &str,
    reason: &str,
) -> Result<String> {
    let now = p.now();
    let (id, text, truncated, seq) = match body {
        Body::Read(bytes) => {
            let digest = hex::encode(Sha256::digest(bytes));
            (
                format!("{source}-{}", &digest[..32]),
                String::from_utf8_lossy(bytes).into_owned(),
                false,
                None,
            )
        }
        // Nothing of the body tells one from another: each is kept on its own, under its number.
        Body::TooLarge { .. } => {
            let seq = p.kv_increment(keys::HELD_SEQ, 1)?;
            (
                format!("{source}-too-large-{seq}"),
                String::new(),
                true,
                Some(seq),
            )
        }
    };
    let key = keys::held_delivery(&id);
    let stored = match read(p, &key)? {
        Some(mut s) => {
            s.held.attempts += 1;
            s.held.kind = kind.to_string();
            s.held.reason = reason.to_string();
            s.held.last_failed_at = now;
            s
        }
        None => Stored {
            held: HeldDelivery {
                id: id.clone(),
                source: source.to_string(),
                kind: kind.to_string(),
                reason: reason.to_string(),
                body: text,
                truncated,
                attempts: 1,
                first_held_at: now,
                last_failed_at: now,
            },
            seq: match seq {
                Some(n) => n,
                None => p.kv_increment(keys::HELD_SEQ, 1)?,
            },
        },
    };
    p.kv_set(&key, &to_json(&stored)?)?;
    Ok(id)
}

/// Records another failed attempt of the held delivery `held` (its body is kept as it was).
pub fn failed_again(
    p: &dyn Platform,
    held: &HeldDelivery,
    kind: &str,
    reason: &str,
) -> Result<HeldDelivery> {
    let key = keys::held_delivery(&held.id);
    let Some(mut s) = read(p, &key)? else {
        // Handled by someone else meanwhile.
        return Ok(held.clone());
    };
    s.held.attempts += 1;
    s.held.kind = kind.to_string();
    s.held.reason = reason.to_string();
    s.held.last_failed_at = p.now();
    p.kv_set(&key, &to_json(&s)?)?;
    Ok(s.held)
}

/// Forgets a held delivery that has been handled.
pub fn forget(p: &dyn Platform, id: &str) -> Result<()> {
    let key = keys::held_delivery(id);
    if p.kv_get(&key)?.is_some() {
        p.kv_delete(&key)?;
    }
    Ok(())
}

/// Every held delivery from `source`, in the order they came.
pub fn list(p: &dyn Platform, source: &str) -> Result<Vec<HeldDelivery>> {
    let mut stored = Vec::new();
    for key in p.kv_keys(keys::HELD_PREFIX)? {
        if let Some(s) = read(p, &key)? {
            if s.held.source == source {
                stored.push(s);
            }
        }
    }
    stored.sort_unstable_by(|a, b| (a.seq, &a.held.id).cmp(&(b.seq, &b.held.id)));
    Ok(stored.into_iter().map(|s| s.held).collect())
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Unavailable(e.to_string()))
}

fn read(p: &dyn Platform, key: &str) -> Result<Option<Stored>> {
    p.kv_get(key)?
        .map(|raw| {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::Unavailable(format!("key-value record {key} is unreadable: {e}"))
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn a_body_is_kept_once_and_in_order() {
        let p = FakePlatform::configured();
        let a = keep(&p, "actionstep", Body::Read(b"{nope"), "malformed", "x").unwrap();
        p.advance(1);
        let big = keep(
            &p,
            "actionstep",
            Body::TooLarge { limit: 1 },
            "too-large",
            "y",
        )
        .unwrap();
        let again = keep(&p, "actionstep", Body::Read(b"{nope"), "malformed", "z").unwrap();
        assert_eq!(a, again, "the same body is one held delivery");
        let other_big = keep(
            &p,
            "actionstep",
            Body::TooLarge { limit: 1 },
            "too-large",
            "y",
        )
        .unwrap();
        assert_ne!(
            big, other_big,
            "bodies not read are never taken for one another"
        );
        let held = list(&p, "actionstep").unwrap();
        let ids: Vec<_> = held.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, vec![a.as_str(), big.as_str(), other_big.as_str()]);
        assert_eq!((held[0].attempts, held[0].reason.as_str()), (2, "z"));
        assert_eq!(held[0].body, "{nope");
        assert!(held[1].truncated && held[1].body.is_empty());
        assert!(list(&p, "other").unwrap().is_empty());
        forget(&p, &a).unwrap();
        assert_eq!(list(&p, "actionstep").unwrap().len(), 2);
    }
}
