//! The Sync API: cursor-paged crawls that a client falls back on when it cannot read the
//! change-event queue. Body `{"limit": n, "cursor": "…"}` → `{"data": [...], "cursor": "…"}`;
//! the cursor is present only when more follows, so a client stops on a short page or a missing
//! cursor. Positions are keys, not offsets, so changes between pages neither skip nor repeat
//! the items already passed.

use std::collections::HashSet;
use std::ops::Bound;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::cursor;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Fields, Lib};
use crate::model::{AccessLevel, MemberType};
use crate::objects::render_workspace;
use crate::store::Inner;

/// The body as an object; an empty body is an empty request (first page, default size).
fn request(raw: Result<Bytes, BytesRejection>) -> ApiResult<Map<String, Value>> {
    let bytes = raw.map_err(|e| ApiError::bad_request(e.body_text()))?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ApiError::bad_request(
            "the request body must be a JSON object",
        )),
        Err(e) => Err(ApiError::bad_request(format!("malformed JSON: {e}"))),
    }
}

/// The position after which the page starts, or None for the first page.
fn after<K: DeserializeOwned>(body: &Map<String, Value>) -> ApiResult<Option<K>> {
    match Fields(body).string("cursor")?.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(text) => cursor::decode(&text).map(Some).ok_or_else(|| {
            ApiError::invalid_field("cursor", "the cursor is not one this sync crawl issued")
        }),
    }
}

/// The ids of an optional filter list, such as `container_ids`.
fn id_filter(body: &Map<String, Value>, field: &str) -> ApiResult<Option<Vec<String>>> {
    let Some(items) = Fields(body).array(field)? else {
        return Ok(None);
    };
    items
        .iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid_field(field, format!("{field} must be strings")))
        })
        .collect::<ApiResult<Vec<_>>>()
        .map(Some)
}

/// One page of keyed items that already start after the cursor.
fn page<K: Serialize>(items: impl Iterator<Item = (K, Value)>, limit: usize) -> Value {
    let mut data = Vec::new();
    let mut last = None;
    let mut more = false;
    for (key, value) in items {
        if data.len() == limit {
            more = true;
            break;
        }
        last = Some(key);
        data.push(value);
    }
    let mut out = json!({ "data": data });
    if let (true, Some(last)) = (more, last) {
        out["cursor"] = Value::String(cursor::encode(&last));
    }
    out
}

/// `POST /sync/workspaces/crawl`: every non-template workspace in id order.
pub async fn crawl_workspaces(
    lib: Lib,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    let body = request(raw)?;
    let limit = lib.cursor_limit(body.get("limit"))?;
    let start = after::<u64>(&body)?.map_or(Bound::Unbounded, Bound::Excluded);
    let inner = lib.state().lock()?;
    let items = inner
        .workspaces
        .range((start, Bound::Unbounded))
        .filter(|(_, ws)| !ws.is_template && lib.in_library(&ws.id))
        .map(|(n, ws)| (*n, render_workspace(&inner, ws, lib.base())));
    Ok(Json(page(items, limit)))
}

type TrusteeKey = (u64, String, String);

/// Members of the (listed, else all) non-template workspaces whose access `keep` selects, ordered
/// by workspace number, then member type and id.
fn trustees(
    inner: &Inner,
    lib: &Lib,
    containers: Option<Vec<String>>,
    keep: fn(AccessLevel) -> bool,
) -> Vec<(TrusteeKey, Value)> {
    let wanted: Option<HashSet<u64>> = containers.map(|ids| {
        ids.iter()
            .filter_map(|id| inner.workspace_number(id))
            .collect()
    });
    let mut out = Vec::new();
    for (number, ws) in &inner.workspaces {
        if ws.is_template
            || !lib.in_library(&ws.id)
            || wanted.as_ref().is_some_and(|w| !w.contains(number))
        {
            continue;
        }
        let mut members: Vec<_> = ws.members.iter().filter(|m| keep(m.access_level)).collect();
        members
            .sort_by(|a, b| (a.member_type.as_str(), &a.id).cmp(&(b.member_type.as_str(), &b.id)));
        for member in members {
            let key = (
                *number,
                member.member_type.as_str().to_owned(),
                member.id.clone(),
            );
            let entry = member.to_json();
            let value = json!({
                "container_id": ws.id,
                "trustee_id": entry["id"],
                "trustee_type": entry["type"],
                "access_level": entry["access_level"],
            });
            out.push((key, value));
        }
    }
    out
}

async fn search_trustees(
    lib: Lib,
    raw: Result<Bytes, BytesRejection>,
    keep: fn(AccessLevel) -> bool,
) -> ApiResult<Json<Value>> {
    let body = request(raw)?;
    let limit = lib.cursor_limit(body.get("limit"))?;
    let start = after::<TrusteeKey>(&body)?;
    let containers = id_filter(&body, "container_ids")?;
    let inner = lib.state().lock()?;
    let items = trustees(&inner, &lib, containers, keep)
        .into_iter()
        .filter(|(key, _)| start.as_ref().is_none_or(|s| key > s));
    Ok(Json(page(items, limit)))
}

/// `POST /sync/containers/security/allowed-trustees/search`: who may open each workspace.
pub async fn allowed_trustees(
    lib: Lib,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    search_trustees(lib, raw, |level| level != AccessLevel::NoAccess).await
}

/// `POST /sync/containers/security/denied-trustees/search`: members explicitly set to no access,
/// which is how an ethical wall shuts someone out.
pub async fn denied_trustees(
    lib: Lib,
    raw: Result<Bytes, BytesRejection>,
) -> ApiResult<Json<Value>> {
    search_trustees(lib, raw, |level| level == AccessLevel::NoAccess).await
}

/// `POST /sync/groups/members/search`, optionally for `group_ids`: group memberships ordered by
/// group id, then member id.
pub async fn group_members(lib: Lib, raw: Result<Bytes, BytesRejection>) -> ApiResult<Json<Value>> {
    let body = request(raw)?;
    let limit = lib.cursor_limit(body.get("limit"))?;
    let start = after::<(String, String)>(&body)?;
    let groups = id_filter(&body, "group_ids")?;
    let inner = lib.state().lock()?;
    let mut items: Vec<((String, String), Value)> = inner
        .groups
        .iter()
        .filter(|g| {
            groups
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id.eq_ignore_ascii_case(&g.id)))
        })
        .flat_map(|g| {
            g.members.iter().map(|m| {
                let value = json!({
                    "group_id": g.id,
                    "member_id": m,
                    "member_type": MemberType::User.as_str(),
                });
                ((g.id.clone(), m.clone()), value)
            })
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let items = items
        .into_iter()
        .filter(|(key, _)| start.as_ref().is_none_or(|s| key > s));
    Ok(Json(page(items, limit)))
}
