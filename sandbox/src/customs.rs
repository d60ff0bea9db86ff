//! Lookup tables of the custom fields (`/customs/{field}`): the client (custom1) and matter
//! (custom2) values a profile may only use once they exist.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Fields, JsonBody, Lib, Paging};
use crate::fields::{has_lookup_table, lookup_parent};
use crate::model::CustomValue;
use crate::store::custom_table;

pub fn render(value: &CustomValue) -> Value {
    let mut out =
        json!({"id": value.id, "description": value.description, "enabled": value.enabled});
    if let Some(parent) = &value.parent {
        out["parent"] = json!({"id": parent});
    }
    out
}

fn lookup_field(lib: &Lib) -> ApiResult<String> {
    let field = lib.param("field")?;
    if has_lookup_table(field) {
        Ok(field.to_owned())
    } else {
        Err(ApiError::invalid_field(
            "field",
            format!("{field} has no lookup table (custom1..custom12, custom29, custom30)"),
        ))
    }
}

/// `parent_alias` of the query, empty meaning absent.
fn parent_alias(lib: &Lib) -> Option<&str> {
    lib.query("parent_alias").filter(|p| !p.is_empty())
}

pub async fn create(lib: Lib, body: JsonBody) -> ApiResult<(StatusCode, Json<Value>)> {
    let field = lookup_field(&lib)?;
    let body = body.object()?;
    let fields = Fields(&body);
    let id = fields
        .name("id", 254)?
        .ok_or_else(|| ApiError::invalid_field("id", "id is required"))?;
    let description = fields.string("description")?.unwrap_or_default();
    let enabled = fields.boolean("enabled")?.unwrap_or(true);
    let parent = match fields.object("parent")? {
        Some(parent) => Fields(parent)
            .string("id")
            .map_err(|_| ApiError::invalid_field("parent", "parent.id must be a string"))?,
        None => None,
    }
    .filter(|p| !p.is_empty());

    let mut inner = lib.state().lock()?;
    // Only child tables keep a parent; for the others a sent parent means nothing.
    let parent = match lookup_parent(&field) {
        Some(parent_field) => {
            let parent = parent.ok_or_else(|| {
                ApiError::invalid_field(
                    "parent",
                    format!("{field} values need parent.id, a {parent_field} value"),
                )
            })?;
            if inner
                .custom_value(lib.library(), parent_field, &parent, None)
                .is_none()
            {
                return Err(ApiError::invalid_field(
                    "parent",
                    format!("{parent_field} value {parent} does not exist"),
                ));
            }
            Some(parent)
        }
        None => None,
    };
    let table = inner
        .customs
        .entry(custom_table(lib.library(), &field))
        .or_default();
    if table.with_id(&id).any(|v| v.parent == parent) {
        return Err(ApiError::conflict(format!(
            "{field} value {id} already exists"
        )));
    }
    let value = CustomValue {
        id,
        description,
        enabled,
        parent,
    };
    let rendered = render(&value);
    table.push(value);
    Ok((StatusCode::CREATED, Json(json!({"data": rendered}))))
}

pub async fn get(lib: Lib) -> ApiResult<Json<Value>> {
    let field = lookup_field(&lib)?;
    let id = lib.param("id")?;
    let inner = lib.state().lock()?;
    let value = inner
        .custom_value(lib.library(), &field, id, parent_alias(&lib))
        .ok_or_else(|| ApiError::not_found(format!("{field} value {id} not found")))?;
    Ok(Json(json!({"data": render(value)})))
}

pub async fn update(lib: Lib, body: JsonBody) -> ApiResult<Json<Value>> {
    let field = lookup_field(&lib)?;
    let id = lib.param("id")?;
    let body = body.object()?;
    let fields = Fields(&body);
    let description = fields.string("description")?;
    let enabled = fields.boolean("enabled")?;
    let parent = parent_alias(&lib);

    let mut inner = lib.state().lock()?;
    let value = inner
        .customs
        .get_mut(&custom_table(lib.library(), &field))
        .and_then(|table| table.find_mut(id, parent))
        .ok_or_else(|| ApiError::not_found(format!("{field} value {id} not found")))?;
    if let Some(description) = description {
        value.description = description;
    }
    if let Some(enabled) = enabled {
        value.enabled = enabled;
    }
    Ok(Json(json!({"data": render(value)})))
}

/// `GET /customs/{field}?alias=&parent_alias=&query=`: `alias` is an exact id, `query` a
/// case-insensitive substring of id or description.
pub async fn list(lib: Lib) -> ApiResult<Json<Value>> {
    let field = lookup_field(&lib)?;
    let alias = lib.query("alias").filter(|a| !a.is_empty());
    let parent = parent_alias(&lib);
    let query = lib
        .query("query")
        .filter(|q| !q.is_empty())
        .map(str::to_lowercase);
    let inner = lib.state().lock()?;
    let values = inner
        .customs
        .get(&custom_table(lib.library(), &field))
        .map(|table| {
            let candidates: Box<dyn Iterator<Item = &CustomValue>> = match alias {
                Some(alias) => Box::new(table.with_id(alias)),
                None => Box::new(table.values().iter()),
            };
            candidates
                .filter(|v| parent.is_none_or(|p| v.parent.as_deref() == Some(p)))
                .filter(|v| {
                    query.as_deref().is_none_or(|q| {
                        v.id.to_lowercase().contains(q) || v.description.to_lowercase().contains(q)
                    })
                })
                .map(render)
                .collect()
        })
        .unwrap_or_default();
    Ok(Json(Paging::from_query(&lib)?.page(values)))
}
