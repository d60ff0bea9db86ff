//! What makes filing a document idempotent: each filing has a key (the caller's idempotency key,
//! or by default a digest of matter, folder, name and content), and a receipt in key-value under
//! that key says which document the filing made. A platform delivers at least once, so a repeat
//! of a filing must answer the first document instead of filing a second one.
//!
//! The receipt is written `pending` before the upload and `filed` after it: a repeat that finds
//! `pending` (the first attempt crashed or failed somewhere around the upload) looks in the folder
//! for the document before uploading, as `imanage::once` does after a failed create.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// Longest idempotency key accepted (Stripe's limit; a UUID or a delivery id fits many times).
pub const MAX_KEY_LEN: usize = 255;

/// What a filing is, as a digest: the same matter, folder, name and bytes give the same digest.
/// Each part is length-prefixed, so no two different filings run together into one string.
pub fn request_digest(matter_id: &str, folder: Option<&str>, name: &str, content: &[u8]) -> String {
    let mut h = Sha256::new();
    let folder = folder.unwrap_or("");
    for part in [
        matter_id.as_bytes(),
        folder.as_bytes(),
        name.as_bytes(),
        content,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    hex::encode(h.finalize())
}

/// The slot a filing's receipt and claim live under: a digest of the caller's key, or the
/// request's own digest when the caller gave none. A digest, so that any key the caller picked
/// makes a safe key-value key.
pub fn slot(idempotency_key: Option<&str>, request: &str) -> Result<String> {
    match idempotency_key {
        None => Ok(request.to_string()),
        Some(k) if k.is_empty() || k.len() > MAX_KEY_LEN || k.chars().any(char::is_control) => {
            Err(Error::InvalidMatter(format!(
                "an idempotency key is 1 to {MAX_KEY_LEN} bytes without control characters"
            )))
        }
        Some(k) => Ok(hex::encode(Sha256::digest(format!("key:{k}").as_bytes()))),
    }
}

/// A filing's receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Receipt {
    /// An upload was about to be sent; whether iManage stored it is not known.
    Pending {
        /// The filing's `request_digest`.
        request: String,
    },
    /// The document the filing made.
    Filed {
        /// The filing's `request_digest`.
        request: String,
        /// The document iManage stored.
        document_id: String,
    },
}

impl Receipt {
    fn request(&self) -> &str {
        match self {
            Receipt::Pending { request } | Receipt::Filed { request, .. } => request,
        }
    }
}

/// The receipt under `slot`, whichever filing it was for.
pub fn get(p: &dyn Platform, matter_id: &str, slot: &str) -> Result<Option<Receipt>> {
    match p.kv_get(&keys::document_receipt(matter_id, slot))? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw)
            .map(Some)
            .map_err(|e| Error::Unavailable(format!("the receipt of a filing is damaged: {e}"))),
    }
}

/// Writes the receipt under `slot`.
pub fn put(p: &dyn Platform, matter_id: &str, slot: &str, receipt: &Receipt) -> Result<()> {
    let raw = serde_json::to_vec(receipt).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&keys::document_receipt(matter_id, slot), &raw)
}

/// The receipt under `slot`, refused when the caller's key was used for another filing: a key
/// names one filing, and quietly answering another document would hide the caller's mistake.
pub fn matching(
    p: &dyn Platform,
    matter_id: &str,
    slot: &str,
    request: &str,
) -> Result<Option<Receipt>> {
    match get(p, matter_id, slot)? {
        Some(r) if r.request() != request => Err(Error::Rejected(format!(
            "this idempotency key was used to file another document for matter {matter_id} \
             (another folder, name or content); use a new key for a new document"
        ))),
        found => Ok(found),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn the_digest_tells_every_part_apart() {
        let base = request_digest("1042", None, "a.pdf", b"x");
        assert_eq!(base, request_digest("1042", None, "a.pdf", b"x"));
        for other in [
            request_digest("1043", None, "a.pdf", b"x"),
            request_digest("1042", Some("ACTIVE!1"), "a.pdf", b"x"),
            request_digest("1042", None, "b.pdf", b"x"),
            request_digest("1042", None, "a.pdf", b"y"),
            // Parts that would run together without their lengths.
            request_digest("1042", None, "a.pdfx", b""),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn keys_are_checked_and_name_their_own_slot() {
        let request = request_digest("1042", None, "a.pdf", b"x");
        assert_eq!(slot(None, &request).unwrap(), request);
        let k = slot(Some("delivery-7"), &request).unwrap();
        assert_ne!(k, request);
        assert_eq!(k, slot(Some("delivery-7"), "another request").unwrap());
        for bad in ["", "a\nb", &"k".repeat(MAX_KEY_LEN + 1)] {
            assert!(
                matches!(slot(Some(bad), &request), Err(Error::InvalidMatter(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_key_reused_for_another_filing_is_refused() {
        let p = FakePlatform::configured();
        let filed = Receipt::Filed {
            request: "r1".into(),
            document_id: "ACTIVE!5.1".into(),
        };
        put(&p, "1042", "s", &filed).unwrap();
        assert_eq!(matching(&p, "1042", "s", "r1").unwrap(), Some(filed));
        assert!(matches!(
            matching(&p, "1042", "s", "r2"),
            Err(Error::Rejected(_))
        ));
        assert_eq!(matching(&p, "1043", "s", "r2").unwrap(), None);
    }
}
