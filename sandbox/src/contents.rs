//! What a template holds besides folders, and what provisioning copies from it: a workspace's
//! tabs (`/workspaces/{id}/tabs`) and search folders (`/workspaces/{id}/search-folders`), and the
//! name-value pairs of workspaces (`GET|PATCH`) and folders (`GET`).
//!
//! Public sources: the `POST`s of tabs and search folders (one public client, body with
//! `searchprofile`), the name-value-pair paths and their `[{name, value}]` answer (public
//! clients). The `GET` listings of tabs and search folders, the `PATCH` body as an object of
//! names to values (`null` removes one), and tabs and search folders only at a workspace's top
//! level are **assumed** (docs/imanage-api.md, "Templates").

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Fields, JsonBody, Lib, Paging};
use crate::model::{DefaultSecurity, Folder, FolderKind, ViewType};
use crate::objects::{find_folder, find_workspace, render_one_folder, workspace_writable};
use crate::store::{library_of, Inner};

const NAME_MAX: usize = 254;
/// iManage's limit on a name-value pair's name is not public; this one keeps the sandbox bounded.
const PAIR_NAME_MAX: usize = 254;

/// The workspace's canonical id, 404 when it is not one of this library's.
fn workspace_id(lib: &Lib, inner: &Inner) -> ApiResult<String> {
    let number = find_workspace(inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    if !lib.in_library(&ws.id) {
        return Err(ApiError::not_found(format!(
            "workspace {} is not in library {}",
            ws.id,
            lib.library()
        )));
    }
    Ok(ws.id.clone())
}

fn list_kind(lib: &Lib, kind: FolderKind) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let id = workspace_id(lib, &inner)?;
    let items = inner
        .folders_of(&id)
        .filter(|f| f.kind == kind)
        .map(|f| render_one_folder(&inner, f))
        .collect();
    Ok(Json(Paging::from_query(lib)?.page(items)))
}

fn create_kind(
    lib: &Lib,
    body: JsonBody,
    kind: FolderKind,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.object()?;
    let fields = Fields(&body);
    let name = fields
        .name("name", NAME_MAX)?
        .ok_or_else(|| ApiError::invalid_field("name", "name is required"))?;
    let description = fields.string("description")?.unwrap_or_default();
    let searchprofile = match kind {
        FolderKind::SearchFolder => Some(Value::Object(
            fields
                .object("searchprofile")?
                .filter(|p| !p.is_empty())
                .ok_or_else(|| {
                    ApiError::invalid_field(
                        "searchprofile",
                        "a search folder needs a searchprofile",
                    )
                })?
                .clone(),
        )),
        _ => None,
    };
    let default_security = match fields.string("default_security")? {
        None => DefaultSecurity::Inherit,
        Some(text) => DefaultSecurity::parse(&text).ok_or_else(|| {
            ApiError::invalid_field(
                "default_security",
                "default_security must be inherit, private, view or public",
            )
        })?,
    };
    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    let ws_id = workspace_id(lib, &inner)?;
    let number = find_workspace(&inner, &ws_id)?;
    workspace_writable(
        inner
            .workspaces
            .get(&number)
            .ok_or_else(|| ApiError::internal("workspace vanished"))?,
    )?;
    let number = inner.allocate_number();
    let folder = Folder {
        id: inner.object_id_in(library_of(&ws_id), number),
        name,
        description,
        parent_id: ws_id.clone(),
        workspace_id: ws_id,
        default_security,
        view_type: ViewType::Document,
        profile: None,
        kind,
        searchprofile,
        name_value_pairs: BTreeMap::new(),
        create_date: now.clone(),
        edit_date: now,
        members: Vec::new(),
    };
    let rendered = render_one_folder(&inner, &folder);
    inner.folders.insert(number, folder);
    Ok((StatusCode::CREATED, Json(data(rendered))))
}

/// `GET /workspaces/{id}/tabs`.
pub async fn list_tabs(lib: Lib) -> ApiResult<Json<Value>> {
    list_kind(&lib, FolderKind::Tab)
}

/// `POST /workspaces/{id}/tabs` with `{"name", "description"?, "default_security"?}`.
pub async fn create_tab(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    create_kind(&lib, body, FolderKind::Tab)
}

/// `GET /workspaces/{id}/search-folders`.
pub async fn list_search_folders(lib: Lib) -> ApiResult<Json<Value>> {
    list_kind(&lib, FolderKind::SearchFolder)
}

/// `POST /workspaces/{id}/search-folders` with `{"name", "description"?, "searchprofile"}`.
pub async fn create_search_folder(
    lib: Lib,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<Value>)> {
    create_kind(&lib, body, FolderKind::SearchFolder)
}

fn render_pairs(pairs: &BTreeMap<String, String>) -> Value {
    let items: Vec<Value> = pairs
        .iter()
        .map(|(name, value)| json!({"name": name, "value": value}))
        .collect();
    json!({ "data": items })
}

/// `GET /workspaces/{id}/name-value-pairs` → `{"data": [{"name", "value"}]}`.
pub async fn workspace_pairs(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find_workspace(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    Ok(Json(render_pairs(&ws.name_value_pairs)))
}

/// `PATCH /workspaces/{id}/name-value-pairs` with `{"name": "value" | null, …}`: sets or removes
/// the named pairs, keeps the others.
pub async fn patch_workspace_pairs(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let changes = parse_pairs(&body)?;
    let mut inner = lib.state().lock()?;
    let number = find_workspace(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    workspace_writable(ws)?;
    for (name, value) in changes {
        match value {
            Some(v) => ws.name_value_pairs.insert(name, v),
            None => ws.name_value_pairs.remove(&name),
        };
    }
    Ok(Json(render_pairs(&ws.name_value_pairs)))
}

fn parse_pairs(body: &Map<String, Value>) -> ApiResult<Vec<(String, Option<String>)>> {
    body.iter()
        .map(|(name, value)| {
            if name.is_empty() || name.chars().count() > PAIR_NAME_MAX {
                return Err(ApiError::invalid_field(
                    name,
                    format!("a name-value pair's name must be 1 to {PAIR_NAME_MAX} characters"),
                ));
            }
            match value {
                Value::Null => Ok((name.clone(), None)),
                Value::String(s) => Ok((name.clone(), Some(s.clone()))),
                _ => Err(ApiError::invalid_field(
                    name,
                    format!("the value of {name} must be a string or null"),
                )),
            }
        })
        .collect()
}

/// `GET /folders/{id}/name-value-pairs` → `{"data": [{"name", "value"}]}`.
pub async fn folder_pairs(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find_folder(&inner, lib.param("id")?)?;
    let folder = inner
        .folders
        .get(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    Ok(Json(render_pairs(&folder.name_value_pairs)))
}
