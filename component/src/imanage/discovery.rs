//! `GET {base}/api`: who the token belongs to, the customer id and the libraries it sees. Kept in
//! key-value for the current sign-in (`keys::DISCOVERY`), so it costs one request per sign-in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::json;
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// What `GET /api` says about the connection: who is connected and what they see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    /// The connected account's user id (`data.user.id`): the integration's account, which
    /// owns workspaces under `owner_policy = service_account`.
    pub account: String,
    /// The customer id that library paths carry.
    pub customer_id: String,
    /// The libraries the account may use.
    pub libraries: Vec<String>,
    /// The library iManage marks as the account's preferred one, when it does.
    #[serde(default)]
    pub preferred_library: Option<String>,
}

impl Discovery {
    /// Reads `GET /api`'s answer; one naming no user or customer id is `unavailable`.
    pub fn parse(v: &Value) -> Result<Discovery> {
        let d = json::data(v);
        let customer_id = d
            .pointer("/user/customer_id")
            .and_then(|c| {
                c.as_u64()
                    .map(|n| n.to_string())
                    .or_else(|| c.as_str().map(String::from))
            })
            .ok_or_else(|| {
                Error::Unavailable("iManage discovery (GET /api) gave no customer id".into())
            })?;
        let account = d
            .pointer("/user/id")
            .and_then(Value::as_str)
            .filter(|a| !a.is_empty())
            .ok_or_else(|| Error::Unavailable("iManage discovery (GET /api) named no user".into()))?
            .to_string();
        let libraries = d
            .pointer("/work/libraries")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|l| json::str_field(l, "alias").map(String::from))
            .collect();
        Ok(Discovery {
            account,
            customer_id,
            libraries,
            preferred_library: d
                .pointer("/work/preferred_library")
                .and_then(Value::as_str)
                .map(String::from),
        })
    }

    /// Whether the account sees `library`. An answer listing no libraries at all is taken as
    /// "not said" rather than "none": the check is then left to the library calls themselves.
    pub fn has_library(&self, library: &str) -> bool {
        self.libraries.is_empty()
            || self
                .libraries
                .iter()
                .any(|l| l.eq_ignore_ascii_case(library))
    }
}

/// Discovery as remembered for the current sign-in, `None` when not yet asked.
pub fn cached(p: &dyn Platform) -> Result<Option<Discovery>> {
    Ok(p.kv_get(keys::DISCOVERY)?
        .and_then(|raw| serde_json::from_slice(&raw).ok()))
}

/// Remembers discovery for the current sign-in (cleared when someone connects again).
pub fn store(p: &dyn Platform, d: &Discovery) -> Result<()> {
    let raw = serde_json::to_vec(d).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(keys::DISCOVERY, &raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_user_customer_and_libraries() {
        let d = Discovery::parse(&json!({"data": {
            "user": {"customer_id": 7, "id": "SVC"},
            "work": {"libraries": [{"alias": "ACTIVE"}, {"alias": "BRANCH"}],
                     "preferred_library": "ACTIVE"}}}))
        .unwrap();
        assert_eq!(d.account, "SVC");
        assert_eq!(d.customer_id, "7");
        assert!(d.has_library("branch"));
        assert!(!d.has_library("OTHER"));
        assert!(Discovery::parse(&json!({"data": {"user": {"id": "x"}}})).is_err());
    }
}
