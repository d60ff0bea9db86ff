//! `GET /api`: how a connection learns its customer id, the v2 base URL and the libraries.

use axum::Json;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult, DMS_VERSION};
use crate::extract::{results, Caller, Lib};

pub async fn api(caller: Caller) -> ApiResult<Json<Value>> {
    let inner = caller.state.lock()?;
    let user = inner.user(&caller.user).ok_or_else(|| {
        ApiError::internal(format!("token user {} no longer exists", caller.user))
    })?;
    Ok(Json(json!({
        "data": {
            "user": {
                "customer_id": inner.customer_id,
                "id": user.id,
                "name": user.full_name,
                "email": user.email,
                "user_type": user.user_type,
            },
            "versions": [{
                "name": "v2",
                "url": format!("{}/work/api/v2/customers/{}", caller.base, inner.customer_id),
                "version": DMS_VERSION,
            }],
            "work": {
                "libraries": inner
                    .libraries
                    .iter()
                    .map(|l| json!({"alias": l, "type": "worksite"}))
                    .collect::<Vec<_>>(),
                "preferred_library": inner.library,
            },
        }
    })))
}

/// `GET /work/api/v2/customers/{cid}/libraries`.
pub async fn libraries(lib: Lib) -> ApiResult<Json<Value>> {
    let inner = lib.state().lock()?;
    Ok(Json(results(
        inner
            .libraries
            .iter()
            .map(|l| json!({"id": l, "alias": l, "type": "worksite"}))
            .collect(),
    )))
}
