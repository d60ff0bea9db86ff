//! The authorization-code flow with PKCE, revocation, and the token lifecycle: what "connect and
//! stay connected" relies on.

use std::time::Duration;

use imanage_sandbox::{SandboxConfig, CLIENT_ID, CLIENT_SECRET, SERVICE_PASSWORD, SERVICE_USER};
use reqwest::redirect::Policy;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use url::Url;

use crate::harness::{expect_envelope, Harness};

/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// Never contacted: the test's browser does not follow redirects.
const REDIRECT: &str = "http://127.0.0.1:9/callback?from=matterlink";

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

fn authorize_params(challenge: Option<(&str, &str)>) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT_ID.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", "user".to_owned()),
        ("state", "st-42".to_owned()),
    ];
    if let Some((challenge, method)) = challenge {
        params.push(("code_challenge", challenge.to_owned()));
        params.push(("code_challenge_method", method.to_owned()));
    }
    params
}

async fn authorize_get(h: &Harness, params: &[(&str, String)]) -> Response {
    browser()
        .get(format!("{}/auth/oauth2/authorize", h.base()))
        .query(params)
        .send()
        .await
        .unwrap()
}

async fn authorize_post(h: &Harness, params: &[(&str, String)]) -> Response {
    browser()
        .post(format!("{}/auth/oauth2/authorize", h.base()))
        .form(params)
        .send()
        .await
        .unwrap()
}

/// The redirect target of a 302.
fn location(response: &Response) -> Url {
    assert_eq!(response.status(), StatusCode::FOUND);
    Url::parse(response.headers()["location"].to_str().unwrap()).unwrap()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A code from the auto-approving authorization endpoint.
async fn code(h: &Harness, challenge: Option<(&str, &str)>) -> String {
    h.sandbox.state().set_auto_approve(Some(SERVICE_USER));
    let response = authorize_get(h, &authorize_params(challenge)).await;
    param(&location(&response), "code").expect("code")
}

async fn exchange(
    h: &Harness,
    code: &str,
    redirect: &str,
    verifier: Option<&str>,
    secret: bool,
) -> Response {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("client_id", CLIENT_ID),
    ];
    if secret {
        form.push(("client_secret", CLIENT_SECRET));
    }
    if let Some(verifier) = verifier {
        form.push(("code_verifier", verifier));
    }
    h.token_request(&form).await
}

async fn oauth_error(response: Response, status: StatusCode, error: &str) -> String {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    body["error_description"].as_str().unwrap().to_owned()
}

async fn tokens(response: Response) -> (String, String) {
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn api_status(h: &Harness, access: &str) -> StatusCode {
    h.http
        .get(format!("{}/api", h.base()))
        .header("X-Auth-Token", access)
        .send()
        .await
        .unwrap()
        .status()
}

async fn api_user(h: &Harness, access: &str) -> String {
    let response = h
        .http
        .get(format!("{}/api", h.base()))
        .header("X-Auth-Token", access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["data"]["user"]["id"].as_str().unwrap().to_owned()
}

async fn refresh(h: &Harness, token: &str) -> Response {
    h.token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .await
}

#[tokio::test]
async fn sign_in_form_then_s256_exchange() {
    let h = Harness::start().await;
    let params = authorize_params(Some((CHALLENGE, "S256")));
    let form = authorize_get(&h, &params).await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(form.headers()["cache-control"], "no-store");
    let html = form.text().await.unwrap();
    for needle in [
        "name=\"username\"",
        "name=\"password\" type=\"password\"",
        "name=\"state\" value=\"st-42\"",
        CHALLENGE,
        "name=\"code_challenge_method\" value=\"S256\"",
    ] {
        assert!(html.contains(needle), "{needle} missing from {html}");
    }

    // Wrong password: the form again, with an error and without the password.
    let typed = "Tr0ub4dor&3-typed";
    let mut attempt = params.clone();
    attempt.push(("username", SERVICE_USER.to_owned()));
    attempt.push(("password", typed.to_owned()));
    let refused = authorize_post(&h, &attempt).await;
    assert_eq!(refused.status(), StatusCode::OK);
    let html = refused.text().await.unwrap();
    assert!(html.contains("Invalid username or password"), "{html}");
    assert!(
        !html.contains("Tr0ub4dor"),
        "the password is echoed: {html}"
    );
    assert!(html.contains(&format!("value=\"{SERVICE_USER}\"")));

    let mut sign_in = params.clone();
    sign_in.push(("username", SERVICE_USER.to_owned()));
    sign_in.push(("password", SERVICE_PASSWORD.to_owned()));
    let approved = authorize_post(&h, &sign_in).await;
    let target = location(&approved);
    assert_eq!(target.path(), "/callback");
    assert_eq!(param(&target, "from").as_deref(), Some("matterlink"));
    assert_eq!(param(&target, "state").as_deref(), Some("st-42"));
    let code = param(&target, "code").expect("code");

    let response = exchange(&h, &code, REDIRECT, Some(VERIFIER), true).await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let (access, refresh_token) = tokens(response).await;
    assert_eq!(api_user(&h, &access).await, SERVICE_USER);
    assert_eq!(h.sandbox.state().token_grants("authorization_code"), 1);

    // A code works once; a replay also ends what it gave.
    let replay = exchange(&h, &code, REDIRECT, Some(VERIFIER), true).await;
    oauth_error(replay, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert_eq!(api_status(&h, &access).await, StatusCode::UNAUTHORIZED);
    oauth_error(
        refresh(&h, &refresh_token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(h.sandbox.state().token_grants("authorization_code"), 1);
}

#[tokio::test]
async fn the_exchange_checks_verifier_redirect_and_client() {
    let h = Harness::start().await;
    let s256 = Some((CHALLENGE, "S256"));

    let spent = code(&h, s256).await;
    let wrong = exchange(&h, &spent, REDIRECT, Some(&"x".repeat(43)), true).await;
    oauth_error(wrong, StatusCode::BAD_REQUEST, "invalid_grant").await;
    // A failed attempt spends the code, so a verifier cannot be guessed by retrying.
    let retry = exchange(&h, &spent, REDIRECT, Some(VERIFIER), true).await;
    oauth_error(retry, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let missing = exchange(&h, &code(&h, s256).await, REDIRECT, None, true).await;
    oauth_error(missing, StatusCode::BAD_REQUEST, "invalid_grant").await;

    let other_uri = "http://127.0.0.1:9/callback";
    let moved = exchange(&h, &code(&h, s256).await, other_uri, Some(VERIFIER), true).await;
    let text = oauth_error(moved, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(text.contains("redirect_uri"), "{text}");

    let unknown = exchange(&h, "made-up", REDIRECT, Some(VERIFIER), true).await;
    oauth_error(unknown, StatusCode::BAD_REQUEST, "invalid_grant").await;

    // plain: the verifier is the challenge; a public client needs no secret with PKCE.
    let plain = code(&h, Some((VERIFIER, "plain"))).await;
    tokens(exchange(&h, &plain, REDIRECT, Some(VERIFIER), false).await).await;

    // Without PKCE the secret is what proves the client, and a verifier is out of place.
    let bare = exchange(&h, &code(&h, None).await, REDIRECT, None, false).await;
    oauth_error(bare, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let stray = exchange(&h, &code(&h, None).await, REDIRECT, Some(VERIFIER), true).await;
    oauth_error(stray, StatusCode::BAD_REQUEST, "invalid_grant").await;
    let (access, _) = tokens(exchange(&h, &code(&h, None).await, REDIRECT, None, true).await).await;
    assert_eq!(api_user(&h, &access).await, SERVICE_USER);

    let missing_code = h
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("redirect_uri", REDIRECT),
            ("client_id", CLIENT_ID),
        ])
        .await;
    oauth_error(missing_code, StatusCode::BAD_REQUEST, "invalid_request").await;
    assert_eq!(h.sandbox.state().token_grants("authorization_code"), 2);
}

#[tokio::test]
async fn codes_expire_after_ten_minutes_on_the_sandbox_clock() {
    let h = Harness::start().await;
    let fresh = code(&h, Some((CHALLENGE, "S256"))).await;
    let stale = code(&h, Some((CHALLENGE, "S256"))).await;
    h.sandbox.state().advance_clock(Duration::from_secs(9 * 60));
    tokens(exchange(&h, &fresh, REDIRECT, Some(VERIFIER), true).await).await;
    h.sandbox.state().advance_clock(Duration::from_secs(2 * 60));
    let late = exchange(&h, &stale, REDIRECT, Some(VERIFIER), true).await;
    let text = oauth_error(late, StatusCode::BAD_REQUEST, "invalid_grant").await;
    assert!(text.contains("expired"), "{text}");
}

#[tokio::test]
async fn requests_that_cannot_be_redirected_get_a_400_page() {
    let h = Harness::start().await;
    let base = authorize_params(None);
    let without = |name: &str| -> Vec<(&'static str, String)> {
        base.iter().filter(|(k, _)| *k != name).cloned().collect()
    };
    let with = |name: &'static str, value: &str| -> Vec<(&'static str, String)> {
        let mut params = without(name);
        params.push((name, value.to_owned()));
        params
    };
    for params in [
        without("client_id"),
        with("client_id", "someone-else"),
        without("redirect_uri"),
        with("redirect_uri", "/relative/callback"),
        with("redirect_uri", "http://127.0.0.1:9/cb#fragment"),
    ] {
        let response = authorize_get(&h, &params).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{params:?}");
        assert!(response.headers().get("location").is_none());
        assert!(response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        // The form's POST is checked the same way.
        let posted = authorize_post(&h, &params).await;
        assert_eq!(posted.status(), StatusCode::BAD_REQUEST, "{params:?}");
    }

    // Other problems go back to the client, with its state.
    let token_flow = authorize_get(&h, &with("response_type", "token")).await;
    let target = location(&token_flow);
    assert_eq!(
        param(&target, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert_eq!(param(&target, "state").as_deref(), Some("st-42"));
    assert_eq!(param(&target, "code"), None);
    let mut bad_method = base.clone();
    bad_method.push(("code_challenge", CHALLENGE.to_owned()));
    bad_method.push(("code_challenge_method", "S512".to_owned()));
    let target = location(&authorize_get(&h, &bad_method).await);
    assert_eq!(param(&target, "error").as_deref(), Some("invalid_request"));

    // Whatever comes in the query is escaped in the page.
    let hostile = authorize_get(&h, &with("state", "\"><script>alert(1)</script>")).await;
    let html = hostile.text().await.unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("&quot;&gt;&lt;script&gt;"));
}

#[tokio::test]
async fn auto_approve_signs_in_as_the_configured_user() {
    let h = Harness::start_with(SandboxConfig {
        auto_approve: Some("jsmith".to_owned()),
        ..SandboxConfig::default()
    })
    .await;
    let response = authorize_get(&h, &authorize_params(Some((CHALLENGE, "S256")))).await;
    let code = param(&location(&response), "code").unwrap();
    let (access, _) = tokens(exchange(&h, &code, REDIRECT, Some(VERIFIER), false).await).await;
    assert_eq!(api_user(&h, &access).await, "JSMITH");

    // Switched off over the admin API: the form again.
    let off = h
        .http
        .put(h.admin("/auto-approve"))
        .json(&json!({"user": null}))
        .send()
        .await
        .unwrap();
    assert_eq!(off.status(), StatusCode::OK);
    assert_eq!(h.sandbox.state().auto_approve(), None);
    let form = authorize_get(&h, &authorize_params(None)).await;
    assert_eq!(form.status(), StatusCode::OK);
    let unknown = h
        .http
        .put(h.admin("/auto-approve"))
        .json(&json!({"user": "NOBODY"}))
        .send()
        .await
        .unwrap();
    expect_envelope(unknown, StatusCode::BAD_REQUEST).await;
    let on = h
        .http
        .put(h.admin("/auto-approve"))
        .json(&json!({"user": "mchen"}))
        .send()
        .await
        .unwrap();
    let body: Value = on.json().await.unwrap();
    assert_eq!(body["user"], "MCHEN");
    assert_eq!(
        authorize_get(&h, &authorize_params(None)).await.status(),
        StatusCode::FOUND
    );
}

async fn revoke(h: &Harness, form: &[(&str, &str)]) -> Response {
    h.http
        .post(format!("{}/auth/oauth2/revoke", h.base()))
        .form(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn revoked_tokens_stop_working() {
    let h = Harness::start().await;
    let (access, refresh_token) =
        tokens(h.password_grant(SERVICE_USER, SERVICE_PASSWORD).await).await;

    // An access token goes alone.
    let response = revoke(
        &h,
        &[("token", &access), ("token_type_hint", "access_token")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(api_status(&h, &access).await, StatusCode::UNAUTHORIZED);
    let (access, refresh_token) = tokens(refresh(&h, &refresh_token).await).await;
    assert_eq!(api_status(&h, &access).await, StatusCode::OK);

    // A refresh token takes its access tokens along, whatever the hint says.
    let response = revoke(
        &h,
        &[
            ("token", &refresh_token),
            ("token_type_hint", "access_token"),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    oauth_error(
        refresh(&h, &refresh_token).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(api_status(&h, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        api_status(&h, &h.token).await,
        StatusCode::OK,
        "other sign-ins stay"
    );

    // Unknown and repeated tokens are fine; a request without a token is not.
    assert_eq!(
        revoke(&h, &[("token", "made-up")]).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        revoke(&h, &[("token", &access)]).await.status(),
        StatusCode::OK
    );
    oauth_error(
        revoke(&h, &[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;

    h.sandbox.state().revoke_all_tokens();
    assert_eq!(api_status(&h, &h.token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(h.sandbox.state().active_token_count(), 0);
    let (access, _) = tokens(h.password_grant(SERVICE_USER, SERVICE_PASSWORD).await).await;
    let all = h.http.post(h.admin("/revoke-tokens")).send().await.unwrap();
    assert_eq!(all.status(), StatusCode::NO_CONTENT);
    assert_eq!(api_status(&h, &access).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_rotation_and_lifetimes_from_the_config() {
    let h = Harness::start_with(SandboxConfig {
        access_token_ttl: Duration::from_secs(60),
        refresh_token_ttl: Duration::from_secs(120),
        ..SandboxConfig::default()
    })
    .await;
    let state = h.sandbox.state();
    let (access, first) = tokens(h.password_grant(SERVICE_USER, SERVICE_PASSWORD).await).await;
    state.advance_clock(Duration::from_secs(61));
    assert_eq!(api_status(&h, &access).await, StatusCode::UNAUTHORIZED);

    let response = refresh(&h, &first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    let second = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        api_status(&h, body["access_token"].as_str().unwrap()).await,
        StatusCode::OK
    );
    // The rotated-out token is spent.
    oauth_error(
        refresh(&h, &first).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;

    // The new refresh token lives 120 s from its issue, not from the first sign-in.
    state.advance_clock(Duration::from_secs(100));
    let (_, third) = tokens(refresh(&h, &second).await).await;
    state.advance_clock(Duration::from_secs(121));
    let text = oauth_error(
        refresh(&h, &third).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert!(text.contains("expired"), "{text}");

    assert_eq!(
        state.token_grants("password"),
        2,
        "the harness's and this test's"
    );
    assert_eq!(state.token_grants("refresh_token"), 2);
    assert_eq!(state.token_grants("authorization_code"), 0);
    assert_eq!(state.token_grants("nonsense"), 0);
    let stats = h.stats().await;
    assert_eq!(stats["token_grants"]["refresh_token"], 2);
}
