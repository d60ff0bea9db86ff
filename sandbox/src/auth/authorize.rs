//! `GET|POST /auth/oauth2/authorize`: the browser half of the authorization-code flow. GET shows
//! the sign-in form (or, with auto-approve on, redirects at once); POST checks the credentials and
//! redirects to the client with a code.
//!
//! Errors follow RFC 6749 §4.1.2.1: without a known client and a usable redirect URI the user gets
//! a 400 page; any other problem is reported to the client on its redirect URI.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use url::Url;

use super::code::{self, Grant};
use super::page;
use crate::pkce::Challenge;
use crate::state::SharedState;
use crate::store::Inner;

/// The request parameters the form carries through as hidden fields.
const CARRIED: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

struct Params(HashMap<String, String>);

impl Params {
    fn parse(encoded: &[u8]) -> Params {
        Params(url::form_urlencoded::parse(encoded).into_owned().collect())
    }

    /// A parameter; empty counts as absent, as HTML forms send empty fields.
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    fn hidden(&self) -> Vec<(&str, &str)> {
        CARRIED
            .iter()
            .filter_map(|name| self.get(name).map(|v| (*name, v)))
            .collect()
    }
}

/// A request that may be approved: its code will be bound to `grant`.
struct Approvable {
    redirect: Url,
    state: Option<String>,
    grant: Grant,
}

/// Check a request; `Err` is the answer to give instead (boxed: a response is large).
fn check(inner: &Inner, params: &Params) -> Result<Approvable, Box<Response>> {
    let refused_page = |message: &str| Box::new(page::error(StatusCode::BAD_REQUEST, message));
    let client_id = params
        .get("client_id")
        .ok_or_else(|| refused_page("client_id is required."))?;
    if !inner.clients.iter().any(|c| c.client_id == client_id) {
        return Err(refused_page(&format!(
            "{client_id} is not an application registered with this sandbox."
        )));
    }
    let redirect_uri = params
        .get("redirect_uri")
        .ok_or_else(|| refused_page("redirect_uri is required."))?;
    let redirect = Url::parse(redirect_uri)
        .ok()
        .filter(|u| u.fragment().is_none() && !u.cannot_be_a_base())
        .ok_or_else(|| refused_page("redirect_uri must be an absolute URL without a fragment."))?;
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: &str, description: &str| {
        Box::new(redirect_to(
            &redirect,
            &[("error", error), ("error_description", description)],
            state.as_deref(),
        ))
    };
    if params.get("response_type") != Some("code") {
        return Err(refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        ));
    }
    let challenge = Challenge::parse(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|description| refuse("invalid_request", &description))?;
    Ok(Approvable {
        grant: Grant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scope: params.get("scope").unwrap_or("user").to_owned(),
            challenge,
        },
        redirect,
        state,
    })
}

/// 302 to the client's redirect URI with `pairs` (and `state`) added to its query.
fn redirect_to(redirect: &Url, pairs: &[(&str, &str)], state: Option<&str>) -> Response {
    let mut target = redirect.clone();
    {
        let mut query = target.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
    }
    // A serialised URL is ASCII, so it is always a valid header value; the page is the fallback.
    let Ok(location) = HeaderValue::from_str(target.as_str()) else {
        return page::error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the redirect URI cannot be used.",
        );
    };
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, location);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn approve(inner: &mut Inner, user: String, request: Approvable, state: &SharedState) -> Response {
    let code = code::issue(inner, user, request.grant, state.now());
    redirect_to(
        &request.redirect,
        &[("code", &code)],
        request.state.as_deref(),
    )
}

fn unavailable() -> Response {
    page::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "the sandbox state is inconsistent after an earlier failure.",
    )
}

/// `GET /auth/oauth2/authorize`.
pub async fn authorize_form(
    State(state): State<SharedState>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.unwrap_or_default().as_bytes());
    let Ok(mut inner) = state.lock() else {
        return unavailable();
    };
    let request = match check(&inner, &params) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    if let Some(configured) = inner.auto_approve.clone() {
        let Some(user) = inner.user(&configured).map(|u| u.id.clone()) else {
            return page::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("auto-approve is set to {configured}, who is not a user of the sandbox."),
            );
        };
        return approve(&mut inner, user, request, &state);
    }
    page::login_form(&params.hidden(), "", None)
}

/// `POST /auth/oauth2/authorize`, the form's submission.
pub async fn authorize_submit(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Ok(body) = body else {
        return page::error(StatusCode::BAD_REQUEST, "the form could not be read.");
    };
    let params = Params::parse(&body);
    let Ok(mut inner) = state.lock() else {
        return unavailable();
    };
    let request = match check(&inner, &params) {
        Ok(request) => request,
        Err(answer) => return *answer,
    };
    let username = params.get("username").unwrap_or_default();
    let password = params.get("password");
    let user = inner
        .user(username)
        .filter(|u| u.password.is_some() && u.password.as_deref() == password)
        .map(|u| u.id.clone());
    match user {
        Some(user) => approve(&mut inner, user, request, &state),
        None => page::login_form(
            &params.hidden(),
            username,
            Some("Invalid username or password."),
        ),
    }
}
