//! My Matters: the per-user list of workspace shortcuts iManage users open their matters from.
//! iManage objects carry `my_matters_shortcut_id` and its admin automation has
//! `addShortcutsToMyMattersAdmin`, but no REST path is public, so every path and shape here is
//! **assumed** (docs/imanage-api.md, "My Matters"):
//!
//! | endpoint | answer |
//! |---|---|
//! | `GET /users/{user}/my-matters` | the user's workspaces, in the order added |
//! | `POST /users/{user}/my-matters` `{"id": "ACTIVE!1000"}` | 201 added, 200 already there |
//! | `DELETE /users/{user}/my-matters/{id}` | 204; 404 when it is not in the list |
//!
//! Only an administrator may change another user's list (as the automation's "Admin" says); a
//! template, an unknown workspace or an unknown user is refused.

use axum::http::StatusCode;
use axum::Json;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Fields, JsonBody, Lib, Paging};
use crate::objects::{find_workspace, render_workspace};
use crate::store::Inner;

/// The user's canonical id; 404 for an unknown one, 403 when the caller may not change it.
fn target_user(lib: &Lib, inner: &Inner, changing: bool) -> ApiResult<String> {
    let wanted = lib.param("user")?;
    let user = inner
        .user(wanted)
        .ok_or_else(|| ApiError::not_found(format!("user {wanted} not found")))?;
    let caller_is_admin = inner
        .user(lib.user())
        .is_some_and(|u| u.user_type == "admin");
    if changing && !caller_is_admin && !user.id.eq_ignore_ascii_case(lib.user()) {
        return Err(
            ApiError::new(StatusCode::FORBIDDEN, "Forbidden").with_message(
                "NotAllowed",
                "only an administrator may change another user's My Matters",
                None,
            ),
        );
    }
    Ok(user.id.clone())
}

/// `GET /users/{user}/my-matters`.
pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let user = target_user(&lib, &inner, false)?;
    let items = inner
        .my_matters
        .get(&user)
        .into_iter()
        .flatten()
        .filter_map(|id| inner.workspace_number(id))
        .filter_map(|n| inner.workspaces.get(&n))
        .filter(|ws| lib.in_library(&ws.id))
        .map(|ws| render_workspace(&inner, ws, lib.base()))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}

/// `POST /users/{user}/my-matters` with `{"id": workspaceId}`.
pub async fn add(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    let body = body.object()?;
    let wanted = Fields(&body)
        .string("id")?
        .ok_or_else(|| ApiError::invalid_field("id", "the workspace id is required"))?;
    let mut inner = lib.state().lock()?;
    let user = target_user(&lib, &inner, true)?;
    let number = find_workspace(&inner, &wanted)?;
    let ws = inner
        .workspaces
        .get(&number)
        .ok_or_else(|| ApiError::internal("workspace vanished"))?;
    if ws.is_template {
        return Err(ApiError::invalid_field(
            "id",
            format!("{} is a template, not a matter", ws.id),
        ));
    }
    let (id, rendered) = (ws.id.clone(), render_workspace(&inner, ws, lib.base()));
    let list = inner.my_matters.entry(user).or_default();
    let status = if list.contains(&id) {
        StatusCode::OK
    } else {
        list.push(id);
        StatusCode::CREATED
    };
    Ok((status, Json(data(rendered))))
}

/// `DELETE /users/{user}/my-matters/{id}`.
pub async fn remove(lib: Lib) -> ApiResult<StatusCode> {
    let mut inner = lib.state().lock()?;
    let user = target_user(&lib, &inner, true)?;
    let wanted = lib.param("id")?.to_owned();
    let list = inner.my_matters.entry(user.clone()).or_default();
    let before = list.len();
    // Ids are `LIBRARY!n`: the library may be spelled in another case.
    list.retain(|id| !id.eq_ignore_ascii_case(&wanted));
    if list.len() == before {
        return Err(ApiError::not_found(format!(
            "{wanted} is not in {user}'s My Matters"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
