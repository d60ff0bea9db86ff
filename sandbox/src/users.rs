//! Users and groups of the library.

use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Lib, Paging};
use crate::model::{Group, User};

pub fn render_user(user: &User) -> Value {
    json!({
        "id": user.id,
        "full_name": user.full_name,
        "email": user.email,
        "user_type": user.user_type,
        "type": "user",
    })
}

fn render_group(group: &Group) -> Value {
    json!({"id": group.id, "full_name": group.full_name, "type": "group"})
}

pub async fn list_users(lib: Lib) -> ApiResult<Json<Value>> {
    let paging = Paging::from_query(&lib)?;
    let inner = lib.state().lock()?;
    Ok(Json(
        paging.page(inner.users.iter().map(render_user).collect()),
    ))
}

pub async fn list_groups(lib: Lib) -> ApiResult<Json<Value>> {
    let paging = Paging::from_query(&lib)?;
    let inner = lib.state().lock()?;
    Ok(Json(
        paging.page(inner.groups.iter().map(render_group).collect()),
    ))
}

/// `GET /groups/{id}/members`: how a client checks, e.g., NRTADMIN membership.
pub async fn group_members(lib: Lib) -> ApiResult<Json<Value>> {
    let id = lib.param("id")?;
    let inner = lib.state().lock()?;
    let group = inner
        .group(id)
        .ok_or_else(|| ApiError::not_found(format!("group {id} not found")))?;
    let members = group
        .members
        .iter()
        .filter_map(|m| inner.user(m))
        .map(render_user)
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(members)))
}
