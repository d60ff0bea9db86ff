//! Security of workspaces and folders: the default security and the member list. The post body
//! takes `include`/`remove` at the top level or nested under `members`, since clients differ.

use axum::Json;
use serde_json::{json, Map, Value};

use crate::config::MemberShape;
use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Fields, JsonBody, Lib, Paging};
use crate::model::{AccessLevel, DefaultSecurity, MemberType, SecurityMember};
use crate::objects::{find_folder, find_workspace, folder_writable, workspace_writable};
use crate::store::Inner;

/// A security answer in the library's member shape (`SandboxConfig::member_shapes`): the typed
/// shape under `data.members` with the default security, or the flagged shape as the array
/// directly under `data`, as the public clients that read it expect.
fn render(
    shape: MemberShape,
    default_security: DefaultSecurity,
    members: &[SecurityMember],
) -> Value {
    match shape {
        MemberShape::Typed => {
            let members: Vec<Value> = members.iter().map(SecurityMember::to_json).collect();
            data(json!({"default_security": default_security.as_str(), "members": members}))
        }
        MemberShape::Flagged => {
            let members: Vec<Value> = members
                .iter()
                .map(|m| {
                    json!({
                        "user_id": m.id,
                        "is_group": m.member_type == MemberType::Group,
                        "access": m.access_level.as_str(),
                    })
                })
                .collect();
            data(Value::Array(members))
        }
    }
}

/// A `GET …/security` answer: the member list is paged like every list (`limit`/`offset`,
/// `total_count` with `total=true`, capped at `page_size`); the default security comes with every
/// page of the typed shape.
fn render_page(
    shape: MemberShape,
    default_security: DefaultSecurity,
    members: &[SecurityMember],
    paging: Paging,
) -> Value {
    let page: Vec<SecurityMember> = members
        .iter()
        .skip(paging.offset)
        .take(paging.limit)
        .cloned()
        .collect();
    let mut body = render(shape, default_security, &page);
    if paging.total {
        body["total_count"] = Value::from(members.len());
    }
    body
}

/// A checked security change.
struct Change {
    default_security: Option<DefaultSecurity>,
    include: Vec<SecurityMember>,
    remove: Vec<(String, MemberType)>,
}

/// The canonical id and type of a member entry, which must name a known user or group.
fn member_ref(
    inner: &Inner,
    shape: MemberShape,
    list: &str,
    item: &Value,
) -> ApiResult<(String, MemberType)> {
    let Value::Object(item) = item else {
        return Err(ApiError::invalid_field(
            list,
            format!("{list} entries must be objects"),
        ));
    };
    let fields = Fields(item);
    let id = match fields
        .string("id")
        .map_err(|_| ApiError::invalid_field(list, "member id must be a string"))?
    {
        Some(id) => Some(id),
        None if shape == MemberShape::Flagged => fields
            .string("user_id")
            .map_err(|_| ApiError::invalid_field(list, "member user_id must be a string"))?,
        None => None,
    };
    let id = id.ok_or_else(|| ApiError::invalid_field(list, "member id is required"))?;
    // A library of the flagged shape knows members by `is_group` only: an entry in the other
    // shape (or with no kind) is refused, never taken for a user.
    let member_type = if shape == MemberShape::Flagged {
        match item.get("is_group") {
            Some(Value::Bool(true)) => MemberType::Group,
            Some(Value::Bool(false)) => MemberType::User,
            _ => {
                return Err(ApiError::invalid_field(
                    list,
                    format!("member {id} needs is_group (true or false) in this library"),
                ))
            }
        }
    } else {
        match fields
            .string("type")
            .map_err(|_| ApiError::invalid_field(list, "member type must be a string"))?
        {
            None => MemberType::User,
            Some(text) => MemberType::parse(&text).ok_or_else(|| {
                ApiError::invalid_field(list, format!("member type {text} must be user or group"))
            })?,
        }
    };
    let canonical = match member_type {
        MemberType::User => inner.user(&id).map(|u| u.id.clone()),
        MemberType::Group => inner.group(&id).map(|g| g.id.clone()),
    };
    let canonical = canonical.ok_or_else(|| {
        ApiError::invalid_field(list, format!("unknown {} {id}", member_type.as_str()))
    })?;
    Ok((canonical, member_type))
}

fn parse_change(
    inner: &Inner,
    shape: MemberShape,
    body: &Map<String, Value>,
    allow_inherit: bool,
) -> ApiResult<Change> {
    let fields = Fields(body);
    let default_security = match fields.string("default_security")? {
        None => None,
        Some(text) => {
            let parsed = DefaultSecurity::parse(&text)
                .filter(|s| allow_inherit || *s != DefaultSecurity::Inherit);
            Some(parsed.ok_or_else(|| {
                ApiError::invalid_field(
                    "default_security",
                    format!("default_security {text} is not allowed here"),
                )
            })?)
        }
    };
    let nested = fields.object("members")?;
    let lists = |name: &str| -> ApiResult<Vec<Value>> {
        let mut items = fields.array(name)?.cloned().unwrap_or_default();
        if let Some(nested) = nested {
            items.extend(Fields(nested).array(name)?.cloned().unwrap_or_default());
        }
        Ok(items)
    };
    let mut include = Vec::new();
    for item in lists("include")? {
        let (id, member_type) = member_ref(inner, shape, "include", &item)?;
        let level_key = match shape {
            MemberShape::Typed => "access_level",
            MemberShape::Flagged => "access",
        };
        let level = item.get(level_key).and_then(Value::as_str).ok_or_else(|| {
            ApiError::invalid_field("include", format!("{level_key} is required for {id}"))
        })?;
        let access_level = AccessLevel::parse(level).ok_or_else(|| {
            ApiError::invalid_field(
                "include",
                format!("access_level {level} must be no_access, read, read_write or full_access"),
            )
        })?;
        include.push(SecurityMember {
            id,
            member_type,
            access_level,
        });
    }
    let mut remove = Vec::new();
    for item in lists("remove")? {
        remove.push(member_ref(inner, shape, "remove", &item)?);
    }
    Ok(Change {
        default_security,
        include,
        remove,
    })
}

fn apply(
    change: Change,
    default_security: &mut DefaultSecurity,
    members: &mut Vec<SecurityMember>,
) {
    if let Some(security) = change.default_security {
        *default_security = security;
    }
    members.retain(|m| {
        !change
            .remove
            .iter()
            .any(|(id, t)| *id == m.id && *t == m.member_type)
    });
    for member in change.include {
        match members
            .iter_mut()
            .find(|m| m.id == member.id && m.member_type == member.member_type)
        {
            Some(existing) => existing.access_level = member.access_level,
            None => members.push(member),
        }
    }
}

fn shape(lib: &Lib) -> MemberShape {
    lib.state().config().member_shape(lib.library())
}

pub async fn get_workspace(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find_workspace(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    Ok(Json(render_page(
        shape(&lib),
        ws.default_security,
        &ws.members,
        Paging::from_query(&lib)?,
    )))
}

pub async fn post_workspace(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let now = lib.state().clock().now_rfc3339();
    let mut inner = lib.state().lock()?;
    let number = find_workspace(&inner, lib.param("id")?)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    workspace_writable(ws)?;
    let change = parse_change(&inner, shape(&lib), &body, false)?;
    let ws = inner
        .workspaces
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    let before = ws.clone();
    apply(change, &mut ws.default_security, &mut ws.members);
    let after = ws.clone();
    inner.events.security_posted(&before, &after, &now);
    Ok(Json(render(
        shape(&lib),
        after.default_security,
        &after.members,
    )))
}

pub async fn get_folder(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let number = find_folder(&inner, lib.param("id")?)?;
    let folder = inner
        .folders
        .get(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    Ok(Json(render_page(
        shape(&lib),
        folder.default_security,
        &folder.members,
        Paging::from_query(&lib)?,
    )))
}

pub async fn post_folder(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let mut inner = lib.state().lock()?;
    let number = find_folder(&inner, lib.param("id")?)?;
    let workspace_id = inner
        .folders
        .get(&number)
        .map(|f| f.workspace_id.clone())
        .unwrap_or_default();
    folder_writable(&inner, &workspace_id)?;
    let change = parse_change(&inner, shape(&lib), &body, true)?;
    let folder = inner
        .folders
        .get_mut(&number)
        .ok_or_else(|| ApiError::internal("folder vanished"))?;
    apply(change, &mut folder.default_security, &mut folder.members);
    Ok(Json(render(
        shape(&lib),
        folder.default_security,
        &folder.members,
    )))
}
