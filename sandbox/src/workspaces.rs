//! Workspaces: create, read, update, delete, list/search, children. Templates share the object
//! (see `templates.rs`) but are read-only here and never listed.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::Json;
use serde_json::{Map, Value};

use crate::custom_index;
use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Fields, JsonBody, Lib, Paging};
use crate::fields::{
    custom_kind, filter_text, lookup_is_enforced, lookup_parent, normalize, FieldKind,
};
use crate::model::{AccessLevel, DefaultSecurity, MemberType, SecurityMember, Workspace};
use crate::objects::{
    find_workspace as find, render_folder, render_workspace as render,
    workspace_writable as ensure_writable, FolderIndex,
};
use crate::store::Inner;

const NAME_MAX: usize = 254;
const OWNER_MAX: usize = 63;

/// A create or patch body, checked.
#[derive(Default)]
struct Changes {
    name: Option<String>,
    description: Option<String>,
    owner: Option<String>,
    default_security: Option<DefaultSecurity>,
    subclass: Option<Option<String>>,
    /// Normalised values; `Null` clears the field.
    custom: BTreeMap<String, Value>,
}

fn parse_changes(
    inner: &Inner,
    library: &str,
    caller: &str,
    body: &Map<String, Value>,
) -> ApiResult<Changes> {
    let fields = Fields(body);
    let mut changes = Changes {
        name: fields.name("name", NAME_MAX)?,
        description: fields.string("description")?,
        ..Changes::default()
    };
    if let Some(owner) = fields.string("owner")? {
        if owner.chars().count() > OWNER_MAX {
            return Err(ApiError::invalid_field(
                "owner",
                format!("owner is longer than {OWNER_MAX} characters"),
            ));
        }
        let user = inner
            .user(&owner)
            .ok_or_else(|| ApiError::invalid_field("owner", format!("unknown user {owner}")))?;
        let caller_is_admin = inner.user(caller).is_some_and(|u| u.user_type == "admin");
        if !caller_is_admin && !user.id.eq_ignore_ascii_case(caller) {
            return Err(
                ApiError::new(StatusCode::FORBIDDEN, "Forbidden").with_message(
                    "NotAllowed",
                    "only an administrator may set another user as owner",
                    Some("owner"),
                ),
            );
        }
        changes.owner = Some(user.id.clone());
    }
    if let Some(security) = fields.string("default_security")? {
        changes.default_security = match DefaultSecurity::parse(&security) {
            Some(DefaultSecurity::Inherit) | None => {
                return Err(ApiError::invalid_field(
                    "default_security",
                    "default_security must be private, view or public",
                ))
            }
            found => found,
        };
    }
    if body.contains_key("subclass") {
        changes.subclass = Some(fields.string("subclass")?.filter(|s| !s.is_empty()));
    }
    for (key, value) in body {
        if let Some(kind) = custom_kind(key) {
            changes
                .custom
                .insert(key.clone(), normalize(key, kind, value)?);
        }
    }
    check_lookups(inner, library, &changes.custom)?;
    Ok(changes)
}

/// The parent/child and lookup-table rules of the client/matter fields.
fn check_lookups(inner: &Inner, library: &str, custom: &BTreeMap<String, Value>) -> ApiResult<()> {
    let text = |field: &str| custom.get(field).filter(|v| !v.is_null()).map(filter_text);
    for (field, value) in custom {
        if value.is_null() || !lookup_is_enforced(field) {
            continue;
        }
        let id = filter_text(value);
        let parent = match lookup_parent(field) {
            Some(parent_field) => Some(text(parent_field).ok_or_else(|| {
                ApiError::invalid_field(
                    field,
                    format!("{field} requires {parent_field} in the same request"),
                )
            })?),
            None => None,
        };
        if inner
            .custom_value(library, field, &id, parent.as_deref())
            .is_none()
        {
            let under = parent.map(|p| format!(" under {p}")).unwrap_or_default();
            return Err(ApiError::invalid_field(
                field,
                format!("{field} value {id}{under} is not in the lookup table"),
            ));
        }
    }
    Ok(())
}

fn apply(ws: &mut Workspace, changes: Changes) {
    if let Some(name) = changes.name {
        ws.name = name;
    }
    if let Some(description) = changes.description {
        ws.description = description;
    }
    if let Some(owner) = changes.owner {
        ws.owner = owner;
    }
    if let Some(security) = changes.default_security {
        ws.default_security = security;
    }
    if let Some(subclass) = changes.subclass {
        ws.subclass = subclass;
    }
    for (field, value) in changes.custom {
        if value.is_null() {
            ws.custom.remove(&field);
        } else {
            ws.custom.insert(field, value);
        }
    }
}

pub async fn create(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.object()?;
    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    let changes = parse_changes(&inner, lib.library(), lib.user(), &body)?;
    if changes.name.is_none() {
        return Err(ApiError::invalid_field("name", "name is required"));
    }
    let owner = match &changes.owner {
        Some(owner) => owner.clone(),
        None => inner
            .user(lib.user())
            .map_or_else(|| lib.user().to_owned(), |u| u.id.clone()),
    };
    let number = inner.allocate_number();
    let mut ws = Workspace {
        id: inner.object_id_in(lib.library(), number),
        name: String::new(),
        description: String::new(),
        owner: owner.clone(),
        default_security: DefaultSecurity::Private,
        custom: BTreeMap::new(),
        subclass: None,
        create_date: now.clone(),
        edit_date: now.clone(),
        is_template: false,
        // The owner's full access is implicit in iManage; listing it keeps security reads honest.
        members: vec![SecurityMember {
            id: owner,
            member_type: MemberType::User,
            access_level: AccessLevel::FullAccess,
        }],
        name_value_pairs: BTreeMap::new(),
    };
    apply(&mut ws, changes);
    let rendered = render(&inner, &ws, lib.base());
    inner.events.workspace_created(&ws, &now);
    inner.custom_index.add(number, &ws);
    inner.workspaces.insert(number, ws);
    Ok((StatusCode::CREATED, Json(data(rendered))))
}

pub async fn get(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    Ok(Json(data(render(&inner, ws, lib.base()))))
}

pub async fn update(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    ensure_writable(
        inner
            .workspaces
            .get(&number)
            .ok_or_else(|| ApiError::internal("workspace vanished"))?,
    )?;
    let changes = parse_changes(&inner, lib.library(), lib.user(), &body)?;
    let ws = inner
        .workspaces
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    let before = ws.clone();
    apply(ws, changes);
    ws.edit_date = now.clone();
    let ws = ws.clone();
    inner.custom_index.remove(number, &before);
    inner.custom_index.add(number, &ws);
    inner.events.workspace_updated(&before, &ws, &now);
    Ok(Json(data(render(&inner, &ws, lib.base()))))
}

pub async fn delete(lib: Lib) -> ApiResult<StatusCode> {
    let mut inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    ensure_writable(ws)?;
    let id = ws.id.clone();
    let roots: Vec<u64> = inner
        .folders
        .iter()
        .filter(|(_, f)| f.parent_id == id)
        .map(|(n, _)| *n)
        .collect();
    for root in roots {
        inner.remove_folder_tree(root);
    }
    // Anything left pointing at the workspace (a broken tree) goes too.
    inner.folders.retain(|_, f| f.workspace_id != id);
    inner.documents.retain(|_, d| d.workspace_id != id);
    if let Some(gone) = inner.workspaces.remove(&number) {
        inner.custom_index.remove(number, &gone);
    }
    for list in inner.my_matters.values_mut() {
        list.retain(|w| *w != id);
    }
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /workspaces/{id}/children`: the folders directly under the workspace.
pub async fn children(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find(&inner, lib.param("id")?)?;
    let id = inner
        .workspaces
        .get(&number)
        .map(|w| w.id.clone())
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    let index = FolderIndex::new(&inner);
    let items = inner
        .folders
        .values()
        .filter(|f| f.parent_id == id)
        .map(|f| render_folder(&index, f))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}

/// Search criteria, from the query string or a search body.
#[derive(Default)]
struct Filters {
    /// Case-insensitive substring of the name.
    name: Option<String>,
    owner: Option<String>,
    /// Exact matches on custom fields.
    custom: Vec<(String, FieldKind, String)>,
}

impl Filters {
    /// Add one criterion. Empty values filter nothing (clients send empty parameters); other keys
    /// than the known ones are ignored, except custom-looking ones, whose typos must not silently
    /// widen a search.
    fn add(&mut self, key: &str, value: String) -> ApiResult<()> {
        if value.is_empty() {
            return Ok(());
        }
        match key {
            "name" => self.name = Some(value.to_lowercase()),
            "owner" => self.owner = Some(value),
            _ if key.starts_with("custom") => {
                let kind = custom_kind(key).ok_or_else(|| {
                    ApiError::invalid_field(key, format!("{key} is not a custom field"))
                })?;
                self.custom.push((key.to_owned(), kind, value));
            }
            _ => {}
        }
        Ok(())
    }

    fn matches(&self, ws: &Workspace) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| ws.name.to_lowercase().contains(n))
            && self
                .owner
                .as_deref()
                .is_none_or(|o| ws.owner.eq_ignore_ascii_case(o))
            && self.custom.iter().all(|(field, kind, wanted)| {
                ws.custom
                    .get(field)
                    .is_some_and(|stored| value_matches(field, *kind, stored, wanted))
            })
    }
}

fn value_matches(field: &str, kind: FieldKind, stored: &Value, wanted: &str) -> bool {
    match kind {
        FieldKind::Lookup | FieldKind::Text => filter_text(stored) == wanted,
        FieldKind::Integer => wanted.trim().parse::<i64>().ok() == stored.as_i64(),
        FieldKind::Boolean => stored
            .as_bool()
            .is_some_and(|b| wanted.eq_ignore_ascii_case(&b.to_string())),
        FieldKind::DateTime => {
            normalize(field, kind, &Value::String(wanted.to_owned())).is_ok_and(|w| &w == stored)
        }
    }
}

fn search(inner: &Inner, lib: &Lib, filters: &Filters, paging: Paging) -> Value {
    let base = lib.base();
    // With an exact text criterion, only the workspaces the index names can match.
    let by_index = filters
        .custom
        .iter()
        .find(|(field, _, _)| custom_index::indexed(field))
        .map(|(field, _, wanted)| inner.custom_index.get(field, wanted));
    let candidates: Box<dyn Iterator<Item = &Workspace>> = match by_index {
        Some(numbers) => Box::new(numbers.into_iter().filter_map(|n| inner.workspaces.get(&n))),
        None => Box::new(inner.workspaces.values()),
    };
    let items = candidates
        .filter(|ws| !ws.is_template && lib.in_library(&ws.id) && filters.matches(ws))
        .map(|ws| render(inner, ws, base))
        .collect();
    paging.page(items)
}

/// `GET /workspaces?name=&customN=&owner=&limit=&offset=&total=`.
pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let paging = Paging::from_query(&lib)?;
    let mut filters = Filters::default();
    for (key, value) in &lib.query {
        filters.add(key, value.clone())?;
    }
    let inner = lib.state().lock()?;
    Ok(Json(search(&inner, &lib, &filters, paging)))
}

/// `POST /workspaces/search` with `{"filters": {...}, "limit": n}`. The body shape is not
/// confirmed, so criteria at the top level are taken too.
pub async fn search_post(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let paging = Paging::parse(body.get("limit"), body.get("offset"), body.get("total"))?
        .capped(lib.state().config().page_size);
    let criteria: Vec<(&String, &Value)> = match Fields(&body).object("filters")? {
        Some(filters) => filters.iter().collect(),
        None => body
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "limit" | "offset" | "total"))
            .collect(),
    };
    let mut filters = Filters::default();
    for (key, value) in criteria {
        let text = match value {
            Value::Null => String::new(),
            Value::String(s) => s.clone(),
            Value::Number(_) | Value::Bool(_) => value.to_string(),
            _ => {
                return Err(ApiError::invalid_field(
                    key,
                    format!("filter {key} must be a string, number or boolean"),
                ))
            }
        };
        filters.add(key, text)?;
    }
    let inner = lib.state().lock()?;
    Ok(Json(search(&inner, &lib, &filters, paging)))
}
