//! Workspace templates. They are workspace objects with `is_template`; their folders, tabs and
//! search folders, and the name-value pairs that mark a folder optional (`IMCC_IsOptional`), are
//! read through the ordinary workspace and folder endpoints (`contents.rs`).

use axum::Json;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::extract::{data, Lib, Paging};
use crate::objects::render_workspace;

pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    let items = inner
        .workspaces
        .values()
        .filter(|ws| ws.is_template && lib.in_library(&ws.id))
        .map(|ws| render_workspace(&inner, ws, lib.base()))
        .collect();
    Ok(Json(Paging::from_query(&lib)?.page(items)))
}

pub async fn get(lib: Lib) -> ApiResult<Json<Value>> {
    let id = lib.param("id")?;
    let inner = lib.state().lock()?;
    let ws = inner
        .workspace_number(id)
        .and_then(|n| inner.workspaces.get(&n))
        .filter(|ws| ws.is_template)
        .ok_or_else(|| ApiError::not_found(format!("template {id} not found")))?;
    Ok(Json(data(render_workspace(&inner, ws, lib.base()))))
}
