//! Folders: root folders of a workspace, subfolders, reads, updates, deletes and listings.
//! Duplicate names under one parent are allowed, as iManage allows them.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Fields, JsonBody, Lib, Paging};
use crate::model::{DefaultSecurity, Folder, FolderKind, ViewType};
use crate::objects::{
    find_folder as find, find_workspace, folder_holds, folder_writable as ensure_writable,
    render_folder as render, render_one_folder as render_one, workspace_writable, FolderIndex,
};
use crate::store::{library_of, Inner};

const NAME_MAX: usize = 254;

/// A template folder's profile value that takes the workspace's own value.
const WORKSPACE_VALUE: &str = "%workspace_value%";

#[derive(Default)]
struct Changes {
    name: Option<String>,
    description: Option<String>,
    default_security: Option<DefaultSecurity>,
    view_type: Option<ViewType>,
    profile: Option<Option<Value>>,
}

fn parse_changes(body: &Map<String, Value>) -> ApiResult<Changes> {
    let fields = Fields(body);
    let mut changes = Changes {
        name: fields.name("name", NAME_MAX)?,
        description: fields.string("description")?,
        ..Changes::default()
    };
    if let Some(security) = fields.string("default_security")? {
        let parsed = DefaultSecurity::parse(&security).ok_or_else(|| {
            ApiError::invalid_field(
                "default_security",
                "default_security must be inherit, private, view or public",
            )
        })?;
        changes.default_security = Some(parsed);
    }
    if let Some(view_type) = fields.string("view_type")? {
        let parsed = ViewType::parse(&view_type).ok_or_else(|| {
            ApiError::invalid_field("view_type", "view_type must be document or email")
        })?;
        changes.view_type = Some(parsed);
    }
    if body.contains_key("profile") {
        let profile = fields.object("profile")?;
        if let Some((field, _)) = profile
            .into_iter()
            .flatten()
            .find(|(_, v)| v.as_str() == Some(WORKSPACE_VALUE))
        {
            // Whoever copies a template resolves the placeholder; stored as text it would name
            // a lookup value that does not exist (assumed: docs/imanage-api.md, "Folders").
            return Err(ApiError::invalid_field(
                field,
                format!("{field} is {WORKSPACE_VALUE}, which only a template may hold"),
            ));
        }
        changes.profile = Some(profile.map(|p| Value::Object(p.clone())));
    }
    Ok(changes)
}

fn apply(folder: &mut Folder, changes: Changes) {
    if let Some(name) = changes.name {
        folder.name = name;
    }
    if let Some(description) = changes.description {
        folder.description = description;
    }
    if let Some(security) = changes.default_security {
        folder.default_security = security;
    }
    if let Some(view_type) = changes.view_type {
        folder.view_type = view_type;
    }
    if let Some(profile) = changes.profile {
        folder.profile = profile;
    }
}

fn insert(
    lib: &Lib,
    inner: &mut Inner,
    parent_id: String,
    workspace_id: String,
    body: &Map<String, Value>,
) -> ApiResult<Value> {
    let changes = parse_changes(body)?;
    if changes.name.is_none() {
        return Err(ApiError::invalid_field("name", "name is required"));
    }
    let now = lib.state().clock().now_rfc3339();
    let number = inner.allocate_number();
    // A folder lives in its workspace's library.
    let library = library_of(&workspace_id).to_owned();
    let mut folder = Folder {
        id: inner.object_id_in(&library, number),
        name: String::new(),
        description: String::new(),
        parent_id,
        workspace_id,
        default_security: DefaultSecurity::Inherit,
        view_type: ViewType::Document,
        profile: None,
        kind: FolderKind::Folder,
        searchprofile: None,
        name_value_pairs: Default::default(),
        create_date: now.clone(),
        edit_date: now,
        members: Vec::new(),
    };
    apply(&mut folder, changes);
    let rendered = render_one(inner, &folder);
    inner.folders.insert(number, folder);
    Ok(rendered)
}

/// `POST /workspaces/{id}/folders`.
pub async fn create_root(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.object()?;
    let mut inner = lib.state().lock()?;
    let number = find_workspace(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    workspace_writable(ws)?;
    let id = ws.id.clone();
    let rendered = insert(&lib, &mut inner, id.clone(), id, &body)?;
    Ok((StatusCode::CREATED, Json(data(rendered))))
}

/// `POST /folders/{id}/subfolders`.
pub async fn create_sub(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.object()?;
    let mut inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let parent = inner
        .folders
        .get(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    folder_holds(parent, "folders")?;
    let (parent_id, workspace_id) = (parent.id.clone(), parent.workspace_id.clone());
    ensure_writable(&inner, &workspace_id)?;
    let rendered = insert(&lib, &mut inner, parent_id, workspace_id, &body)?;
    Ok((StatusCode::CREATED, Json(data(rendered))))
}

pub async fn get(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let folder = inner
        .folders
        .get(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    Ok(Json(data(render_one(&inner, folder))))
}

pub async fn update(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let workspace_id = inner
        .folders
        .get(&number)
        .map(|f| f.workspace_id.clone())
        .unwrap_or_default();
    ensure_writable(&inner, &workspace_id)?;
    let changes = parse_changes(&body)?;
    let folder = inner
        .folders
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    apply(folder, changes);
    folder.edit_date = now;
    let folder = folder.clone();
    Ok(Json(data(render_one(&inner, &folder))))
}

/// Deletes the folder with its subfolders and documents.
pub async fn delete(lib: Lib) -> ApiResult<StatusCode> {
    let mut inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let workspace_id = inner
        .folders
        .get(&number)
        .map(|f| f.workspace_id.clone())
        .unwrap_or_default();
    ensure_writable(&inner, &workspace_id)?;
    inner.remove_folder_tree(number);
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /folders/{id}/children`: the subfolders directly under the folder.
pub async fn children(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let id = inner
        .folders
        .get(&number)
        .map(|f| f.id.clone())
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    let index = FolderIndex::new(&inner);
    let items = inner
        .folders
        .values()
        .filter(|f| f.parent_id == id)
        .map(|f| render(&index, f))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}

/// `GET /folders?container_id={wsId}`: every folder and tab of the workspace, at any depth, or
/// of the library without `container_id`. Search folders are listed by
/// `GET /workspaces/{id}/search-folders` only (assumed: docs/imanage-api.md, "Templates").
pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let container = match lib.query("container_id").filter(|c| !c.is_empty()) {
        Some(id) => {
            let number = find_workspace(&inner, id)?;
            let ws = inner
                .workspaces
                .get(&number)
                .ok_or_else(|| ApiError::internal("workspace vanished"))?;
            if !lib.in_library(&ws.id) {
                return Err(ApiError::not_found(format!(
                    "workspace {id} is not in library {}",
                    lib.library()
                )));
            }
            Some(ws.id.clone())
        }
        None => None,
    };
    let index = FolderIndex::new(&inner);
    let items = inner
        .folders
        .values()
        .filter(|f| lib.in_library(&f.id) && f.kind != FolderKind::SearchFolder)
        .filter(|f| container.as_deref().is_none_or(|c| f.workspace_id == c))
        .map(|f| render(&index, f))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}
