//! Request extractors that fail with the API's error envelope instead of axum's plain-text
//! rejections: the caller's token (checked here, for every API call), the customer/library of the
//! path, the JSON body, the query; and the envelope helpers the handlers answer with.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::{AUTHORIZATION, HOST};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Map, Value};

use crate::error::{ApiError, ApiResult};
use crate::state::SharedState;
use crate::store::{library_of, same_library};

/// The access token of a request: `X-Auth-Token`, which every iManage client sends, or a bearer
/// token.
pub fn token_from_headers(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers.get("x-auth-token").and_then(|v| v.to_str().ok()) {
        let token = token.trim();
        if !token.is_empty() {
            return Some(token.to_owned());
        }
    }
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

/// The user a live access token belongs to. An expired token is forgotten as it is refused.
pub fn authenticate(state: &SharedState, token: &str) -> ApiResult<String> {
    let now = state.now();
    let mut inner = state.lock()?;
    let Some(found) = inner.access_tokens.get(token) else {
        return Err(ApiError::unauthorized(
            "Unauthorized",
            "the access token is not valid",
        ));
    };
    if found.expires_at <= now {
        inner.access_tokens.remove(token);
        return Err(ApiError::unauthorized(
            "Token expired",
            "the access token has expired",
        ));
    }
    Ok(found.user.clone())
}

/// The base URL to put in links: the host the client addressed, so that links work from wherever
/// the sandbox is reached; else the URL it was started on.
fn base_url(parts: &Parts, state: &SharedState) -> String {
    let host = parts
        .headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_graphic()));
    match (host, state.base_url()) {
        (Some(host), _) => format!("http://{host}"),
        (None, Some(base)) => base,
        (None, None) => "http://localhost".to_owned(),
    }
}

/// An authenticated caller.
pub struct Caller {
    pub state: SharedState,
    pub user: String,
    pub base: String,
}

impl FromRequestParts<SharedState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let token = token_from_headers(&parts.headers).ok_or_else(|| {
            ApiError::unauthorized("Unauthorized", "an access token is required (X-Auth-Token)")
        })?;
        let user = authenticate(state, &token)?;
        Ok(Caller {
            state: state.clone(),
            user,
            base: base_url(parts, state),
        })
    }
}

/// An authenticated call under `/customers/{cid}/libraries/{lib}`, with the path's other
/// parameters and the query.
pub struct Lib {
    pub caller: Caller,
    /// The path's library, spelled as the customer spells it.
    library: String,
    params: Vec<(String, String)>,
    pub query: Vec<(String, String)>,
}

impl Lib {
    pub fn state(&self) -> &SharedState {
        &self.caller.state
    }

    pub fn base(&self) -> &str {
        &self.caller.base
    }

    pub fn user(&self) -> &str {
        &self.caller.user
    }

    /// The library of the path (`ACTIVE`, `BRANCH`).
    pub fn library(&self) -> &str {
        &self.library
    }

    /// A path parameter, already percent-decoded (`ACTIVE%211000` arrives as `ACTIVE!1000`).
    pub fn param(&self, name: &str) -> ApiResult<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::internal(format!("route has no parameter {name}")))
    }

    /// Whether an object id belongs to the library of the request's path.
    pub fn in_library(&self, id: &str) -> bool {
        same_library(id, &format!("{}!", self.library))
    }

    /// A cursor-paged list's `limit` (`cursor::limit`), capped at `SandboxConfig::page_size` as
    /// every other list is.
    pub fn cursor_limit(&self, value: Option<&Value>) -> ApiResult<usize> {
        Ok(crate::cursor::limit(value)?.min(self.state().config().page_size.max(1)))
    }

    /// The first value of a query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl FromRequestParts<SharedState> for Lib {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &SharedState,
    ) -> Result<Self, Self::Rejection> {
        let caller = Caller::from_request_parts(parts, state).await?;
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("invalid path: {e}")))?;
        let params: Vec<(String, String)> = raw
            .iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let (customer_id, library) = {
            let inner = state.lock()?;
            let library = match get("lib") {
                Some(lib) => inner
                    .known_library(lib)
                    .ok_or_else(|| ApiError::not_found(format!("library {lib} not found")))?
                    .to_owned(),
                None => inner.library.clone(),
            };
            (inner.customer_id, library)
        };
        if let Some(cid) = get("cid") {
            if cid.parse::<u64>().ok() != Some(customer_id) {
                return Err(ApiError::not_found(format!("customer {cid} not found")));
            }
        }
        // An object id in the path belongs to the path's library: `BRANCH!300` is not found
        // under `/libraries/ACTIVE`. (Lookup routes name a `{field}`; their `{id}` is a value.)
        if let (Some(id), None) = (get("id"), get("field")) {
            if id.contains('!') && !library_of(id).eq_ignore_ascii_case(&library) {
                return Err(ApiError::not_found(format!(
                    "{id} is not in library {library}"
                )));
            }
        }
        let query = parts
            .uri
            .query()
            .map(|q| {
                url::form_urlencoded::parse(q.as_bytes())
                    .into_owned()
                    .collect()
            })
            .unwrap_or_default();
        Ok(Lib {
            caller,
            library,
            params,
            query,
        })
    }
}

/// A JSON request body. Any content type is read as JSON: clients of the real API are not
/// consistent about the header, and the body decides.
pub struct JsonBody(pub Value);

impl JsonBody {
    /// The body as an object, as every write endpoint expects.
    pub fn object(self) -> ApiResult<Map<String, Value>> {
        match self.0 {
            Value::Object(map) => Ok(map),
            _ => Err(ApiError::bad_request(
                "the request body must be a JSON object",
            )),
        }
    }
}

impl FromRequest<SharedState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &SharedState) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            let status = rejection.status();
            let text = rejection.body_text();
            if status == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(status, "Payload Too Large").with_message(
                    "PayloadTooLarge",
                    text,
                    None,
                )
            } else {
                ApiError::new(status, "Bad Request").with_message("InvalidRequest", text, None)
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::bad_request("a JSON request body is required"));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::bad_request(format!("malformed JSON: {e}")))
    }
}

/// Typed access to the fields of a JSON object body, with 400s naming the field.
pub struct Fields<'a>(pub &'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// A string field; absent or null is None.
    pub fn string(&self, field: &str) -> ApiResult<Option<String>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a string"),
            )),
        }
    }

    pub fn boolean(&self, field: &str) -> ApiResult<Option<bool>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a boolean"),
            )),
        }
    }

    pub fn object(&self, field: &str) -> ApiResult<Option<&'a Map<String, Value>>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be an object"),
            )),
        }
    }

    pub fn array(&self, field: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.0.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(ApiError::invalid_field(
                field,
                format!("{field} must be an array"),
            )),
        }
    }

    /// A name-like string: present, not blank, at most `max` characters (counted as characters,
    /// not bytes, as iManage counts them).
    pub fn name(&self, field: &str, max: usize) -> ApiResult<Option<String>> {
        let Some(value) = self.string(field)? else {
            return Ok(None);
        };
        check_name(field, &value, max)?;
        Ok(Some(value))
    }
}

pub fn check_name(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.trim().is_empty() {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::invalid_field(
            field,
            format!("{field} is longer than {max} characters"),
        ));
    }
    Ok(())
}

/// Paging parameters: `limit` 1..=9999 (default 500), `offset` ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: usize,
    pub offset: usize,
    pub total: bool,
}

impl Paging {
    pub const DEFAULT_LIMIT: usize = 500;
    pub const MAX_LIMIT: usize = 9999;

    pub fn parse(
        limit: Option<&Value>,
        offset: Option<&Value>,
        total: Option<&Value>,
    ) -> ApiResult<Paging> {
        let number = |field: &str, value: Option<&Value>| -> ApiResult<Option<u64>> {
            match value {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(|| {
                    ApiError::invalid_field(
                        field,
                        format!("{field} must be a non-negative integer"),
                    )
                }),
                Some(Value::String(s)) if s.is_empty() => Ok(None),
                Some(Value::String(s)) => s.parse::<u64>().map(Some).map_err(|_| {
                    ApiError::invalid_field(
                        field,
                        format!("{field} must be a non-negative integer"),
                    )
                }),
                Some(_) => Err(ApiError::invalid_field(
                    field,
                    format!("{field} must be a non-negative integer"),
                )),
            }
        };
        let limit = match number("limit", limit)? {
            None => Paging::DEFAULT_LIMIT,
            Some(n) if (1..=Paging::MAX_LIMIT as u64).contains(&n) => n as usize,
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "limit",
                    format!("limit must be between 1 and {}", Paging::MAX_LIMIT),
                ))
            }
        };
        let offset = usize::try_from(number("offset", offset)?.unwrap_or(0)).unwrap_or(usize::MAX);
        let total = match total {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            Some(_) => return Err(ApiError::invalid_field("total", "total must be a boolean")),
        };
        Ok(Paging {
            limit,
            offset,
            total,
        })
    }

    pub fn from_query(lib: &Lib) -> ApiResult<Paging> {
        let text = |name: &str| lib.query(name).map(|v| Value::String(v.to_owned()));
        let paging = Paging::parse(
            text("limit").as_ref(),
            text("offset").as_ref(),
            text("total").as_ref(),
        )?;
        Ok(paging.capped(lib.state().config().page_size))
    }

    /// At most `page_size` items a page, whatever `limit` asked (`SandboxConfig::page_size`):
    /// a client that takes one page for the whole list then misses the rest.
    pub fn capped(mut self, page_size: usize) -> Paging {
        self.limit = self.limit.min(page_size.max(1));
        self
    }

    /// `{"data": {"results": [...]}}` with `total_count` when asked for.
    pub fn page(&self, items: Vec<Value>) -> Value {
        let total = items.len();
        let results: Vec<Value> = items
            .into_iter()
            .skip(self.offset)
            .take(self.limit)
            .collect();
        let mut body = serde_json::json!({"data": {"results": results}});
        if self.total {
            body["total_count"] = Value::from(total);
        }
        body
    }
}

/// `{"data": {"results": [...]}}` for listings that are not paged.
pub fn results(items: Vec<Value>) -> Value {
    serde_json::json!({"data": {"results": items}})
}

/// `{"data": ...}`.
pub fn data(value: Value) -> Value {
    serde_json::json!({ "data": value })
}
