//! Cursor paging shared by the change-event queue and the Sync API: the page size and opaque
//! cursors. Cursors are base64url JSON so that clients treat them as tokens rather than parse them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

pub const DEFAULT_LIMIT: usize = 100;
pub const MAX_LIMIT: usize = 1000;

/// The page size from a `limit` given as a JSON number or as text (from a query string). Larger
/// than [`MAX_LIMIT`] is cut down to it, as a server caps a page; zero or not a number is a 400.
pub fn limit(value: Option<&Value>) -> ApiResult<usize> {
    let parsed = match value {
        None | Some(Value::Null) => return Ok(DEFAULT_LIMIT),
        Some(Value::Number(n)) => n.as_u64(),
        Some(Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    match parsed {
        Some(0) | None => Err(ApiError::invalid_field(
            "limit",
            format!("limit must be a whole number from 1 (at most {MAX_LIMIT} are returned)"),
        )),
        Some(n) => Ok(usize::try_from(n).map_or(MAX_LIMIT, |n| n.min(MAX_LIMIT))),
    }
}

pub fn encode<T: Serialize>(position: &T) -> String {
    // Serialising plain tuples of numbers and strings cannot fail.
    let json = serde_json::to_vec(position).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode<T: DeserializeOwned>(cursor: &str) -> Option<T> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor.trim()).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn limits_default_cap_and_refuse() {
        assert_eq!(limit(None).unwrap(), DEFAULT_LIMIT);
        assert_eq!(limit(Some(&json!(5))).unwrap(), 5);
        assert_eq!(limit(Some(&json!("7"))).unwrap(), 7);
        assert_eq!(limit(Some(&json!(100_000))).unwrap(), MAX_LIMIT);
        for bad in [json!(0), json!(-1), json!(1.5), json!("x"), json!([1])] {
            assert!(limit(Some(&bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let cursor = encode(&(1000u64, "user", "JSMITH"));
        assert_eq!(
            decode::<(u64, String, String)>(&cursor),
            Some((1000, "user".to_owned(), "JSMITH".to_owned()))
        );
        assert_eq!(decode::<u64>("not base64!"), None);
        assert_eq!(decode::<u64>(&encode(&"text")), None);
    }
}
