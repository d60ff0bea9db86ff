//! Security of linked workspaces through iManage's Sync API: cursor-paged crawls of every
//! workspace (for `default_security`) and of the allowed and denied trustees of every container.
//! A poll costs a few requests per thousand workspaces and trustees, not one per workspace.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::model::{Error, Result};
use crate::platform::Method;
use crate::security::{Member, Security};
use crate::transport::{status_error, Retry};

/// Items per request (the sandbox's and a sensible server's cap).
pub const PAGE: usize = 1000;

/// Why the Sync API could not be read.
#[derive(Debug)]
pub enum SyncError {
    /// This server or account has no Sync API (403, 404).
    Refused(String),
    /// Anything else: a transport failure, an unexpected answer.
    Failed(Error),
}

impl From<Error> for SyncError {
    fn from(e: Error) -> Self {
        SyncError::Failed(e)
    }
}

/// Every item of a crawl: `{"limit", "cursor"}` → `{"data": [...], "cursor"}`, ending on an
/// empty page or a missing cursor. A short page is not the end: a server may cap a page below
/// the `limit` asked for, and the cursor says whether more follows.
fn crawl(api: &Imanage<'_>, path: &str, mut each: impl FnMut(&Value)) -> Result<(), SyncError> {
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"limit": PAGE});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let v = match api.call(Method::Post, path, Some(&body), Retry::Safe)? {
            Answer::Ok(v) => v,
            Answer::Status(s @ (403 | 404 | 405 | 501), why) => {
                return Err(SyncError::Refused(format!("{s}: {why}")))
            }
            Answer::Status(s, why) => return Err(status_error(Method::Post, path, s, &why).into()),
        };
        let items = json::results(&v);
        items.iter().for_each(&mut each);
        cursor = json::str_field(&v, "cursor").map(String::from);
        if cursor.is_none() || items.is_empty() {
            return Ok(());
        }
    }
}

/// The current security of each workspace of `wanted` that still exists.
pub fn security_of(
    api: &Imanage<'_>,
    wanted: &BTreeSet<String>,
) -> Result<(BTreeMap<String, Security>, usize), SyncError> {
    let mut found: BTreeMap<String, Security> = BTreeMap::new();
    crawl(api, "/sync/workspaces/crawl", |w| {
        if let Some(id) = json::str_field(w, "id").filter(|id| wanted.contains(*id)) {
            let default = json::str_field(w, "default_security").map(String::from);
            found.insert(id.to_string(), Security::new(default, Vec::new()));
        }
    })?;
    let mut unreadable = 0;
    for list in ["allowed", "denied"] {
        let path = format!("/sync/containers/security/{list}-trustees/search");
        crawl(api, &path, |t| {
            let Some(security) = json::str_field(t, "container_id").and_then(|c| found.get_mut(c))
            else {
                return;
            };
            // The entry names its trustee as `trustee_id`/`trustee_type`.
            let entry = json!({
                "id": t.get("trustee_id"),
                "type": t.get("trustee_type"),
                "access_level": t.get("access_level"),
            });
            match Member::from_imanage(&entry) {
                Some(m) => security.set(m),
                None => unreadable += 1,
            }
        })?;
    }
    Ok((found, unreadable))
}

/// Whether the Sync API answers this account, at the cost of one small request.
pub fn probe(api: &Imanage<'_>) -> Result<(), SyncError> {
    let body = json!({"limit": 1});
    let path = "/sync/workspaces/crawl";
    match api.call(Method::Post, path, Some(&body), Retry::Safe)? {
        Answer::Ok(_) => Ok(()),
        Answer::Status(s @ (403 | 404 | 405 | 501), why) => {
            Err(SyncError::Refused(format!("{s}: {why}")))
        }
        Answer::Status(s, why) => Err(status_error(Method::Post, path, s, &why).into()),
    }
}
