use std::time::Duration;

use imanage_sandbox::{
    Sandbox, SandboxConfig, CLIENT_ID, CLIENT_SECRET, SERVICE_PASSWORD, SERVICE_USER,
};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::{expect_envelope, Harness};

async fn oauth_error(response: reqwest::Response, status: StatusCode, error: &str) {
    assert_eq!(response.status(), status);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], error, "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "{body}"
    );
}

#[tokio::test]
async fn password_grant_answers_a_bearer_token_pair() {
    let h = Harness::start().await;
    let response = h.password_grant(SERVICE_USER, SERVICE_PASSWORD).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["scope"], "user");
    assert_eq!(body["expires_in"], 90 * 60);
    assert_eq!(body["refresh_token_expires_in"], 365 * 24 * 60 * 60);
    let access = body["access_token"].as_str().unwrap();
    let refresh = body["refresh_token"].as_str().unwrap();
    assert!(access.len() >= 32 && refresh.len() >= 32);
    assert_ne!(access, refresh);
    assert_ne!(access, h.token, "every grant issues a fresh token");
    assert!(!access.contains(SERVICE_PASSWORD));
    // A public client may leave the secret out.
    let no_secret = h
        .token_request(&[
            ("grant_type", "password"),
            ("username", SERVICE_USER),
            ("password", SERVICE_PASSWORD),
            ("client_id", CLIENT_ID),
        ])
        .await;
    assert_eq!(no_secret.status(), StatusCode::OK);
}

#[tokio::test]
async fn token_endpoint_refuses_bad_requests_in_oauth_shape() {
    let h = Harness::start().await;
    oauth_error(
        h.password_grant(SERVICE_USER, "wrong").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    oauth_error(
        h.password_grant("nobody", SERVICE_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    // People of the firm have no password in the sandbox: only the service account signs in.
    oauth_error(
        h.password_grant("JSMITH", SERVICE_PASSWORD).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    oauth_error(
        h.password_grant(SERVICE_USER, "").await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    let unknown_client = h
        .token_request(&[
            ("grant_type", "password"),
            ("username", SERVICE_USER),
            ("password", SERVICE_PASSWORD),
            ("client_id", "other"),
        ])
        .await;
    oauth_error(unknown_client, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let wrong_secret = h
        .token_request(&[
            ("grant_type", "password"),
            ("username", SERVICE_USER),
            ("password", SERVICE_PASSWORD),
            ("client_id", CLIENT_ID),
            ("client_secret", "guess"),
        ])
        .await;
    oauth_error(wrong_secret, StatusCode::UNAUTHORIZED, "invalid_client").await;
    let unsupported = h
        .token_request(&[
            ("grant_type", "client_credentials"),
            ("client_id", CLIENT_ID),
        ])
        .await;
    oauth_error(
        unsupported,
        StatusCode::BAD_REQUEST,
        "unsupported_grant_type",
    )
    .await;
    let missing = h
        .token_request(&[
            ("grant_type", "password"),
            ("client_id", CLIENT_ID),
            ("username", SERVICE_USER),
        ])
        .await;
    oauth_error(missing, StatusCode::BAD_REQUEST, "invalid_request").await;
    oauth_error(
        h.token_request(&[]).await,
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
}

async fn refresh(h: &Harness, token: &str) -> reqwest::Response {
    h.token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", token),
        ("client_id", CLIENT_ID),
        ("client_secret", CLIENT_SECRET),
    ])
    .await
}

#[tokio::test]
async fn refresh_rotates_and_invalidates_the_old_refresh_token() {
    let h = Harness::start().await;
    let first: Value = h
        .password_grant(SERVICE_USER, SERVICE_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let old_refresh = first["refresh_token"].as_str().unwrap();

    let response = refresh(&h, old_refresh).await;
    assert_eq!(response.status(), StatusCode::OK);
    let second: Value = response.json().await.unwrap();
    let new_refresh = second["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, old_refresh);
    let new_access = second["access_token"].as_str().unwrap();
    let api = h
        .http
        .get(format!("{}/api", h.base()))
        .header("X-Auth-Token", new_access)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);

    oauth_error(
        refresh(&h, old_refresh).await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    oauth_error(
        refresh(&h, "made-up").await,
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    )
    .await;
    assert_eq!(refresh(&h, new_refresh).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn access_tokens_expire_on_the_sandbox_clock() {
    let h = Harness::start().await;
    let grant: Value = h
        .password_grant(SERVICE_USER, SERVICE_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    let refresh_token = grant["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        h.get(&format!("{}/api", h.base())).await.status(),
        StatusCode::OK
    );

    h.sandbox
        .state()
        .advance_clock(Duration::from_secs(91 * 60));
    let error = expect_envelope(
        h.get(&format!("{}/api", h.base())).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_eq!(error["code_message"], "Token expired");
    let error = expect_envelope(h.get(&h.lib("/workspaces")).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        error["code_message"], "Unauthorized",
        "an expired token is forgotten once reported"
    );

    // The refresh token outlives the access token...
    assert_eq!(refresh(&h, &refresh_token).await.status(), StatusCode::OK);
    // ...but not a year.
    let grant: Value = h
        .password_grant(SERVICE_USER, SERVICE_PASSWORD)
        .await
        .json()
        .await
        .unwrap();
    h.sandbox
        .state()
        .advance_clock(Duration::from_secs(366 * 24 * 3600));
    let stale = refresh(&h, grant["refresh_token"].as_str().unwrap()).await;
    oauth_error(stale, StatusCode::BAD_REQUEST, "invalid_grant").await;
}

#[tokio::test]
async fn ttls_come_from_the_config() {
    let config = SandboxConfig {
        access_token_ttl: Duration::from_secs(60),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start("127.0.0.1:0".parse().unwrap(), config)
        .await
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/auth/oauth2/token", sandbox.base_url()))
        .form(&[
            ("grant_type", "password"),
            ("username", SERVICE_USER),
            ("password", SERVICE_PASSWORD),
            ("client_id", CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["expires_in"], 60);
    sandbox.shutdown().await;
}

#[tokio::test]
async fn calls_need_a_valid_token_in_either_header() {
    let h = Harness::start().await;
    let url = format!("{}/api", h.base());
    let none = h.http.get(&url).send().await.unwrap();
    let error = expect_envelope(none, StatusCode::UNAUTHORIZED).await;
    assert_eq!(error["code_message"], "Unauthorized");
    let unknown = h
        .http
        .get(h.lib("/workspaces"))
        .header("X-Auth-Token", "nope")
        .send()
        .await
        .unwrap();
    expect_envelope(unknown, StatusCode::UNAUTHORIZED).await;
    let bearer = h.http.get(&url).bearer_auth(&h.token).send().await.unwrap();
    assert_eq!(bearer.status(), StatusCode::OK);
}

#[tokio::test]
async fn logout_invalidates_the_presented_token() {
    let h = Harness::start().await;
    let response = h.get(&format!("{}/auth/logout", h.base())).await;
    assert_eq!(response.status(), StatusCode::OK);
    expect_envelope(
        h.get(&format!("{}/api", h.base())).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

#[tokio::test]
async fn discovery_describes_user_version_and_libraries() {
    let h = Harness::start().await;
    let data = h.get_ok(&format!("{}/api", h.base())).await;
    assert_eq!(data["user"]["customer_id"], 1);
    assert_eq!(data["user"]["id"], SERVICE_USER);
    assert_eq!(data["user"]["name"], "Sandbox Service Account");
    assert_eq!(data["user"]["user_type"], "admin");
    assert!(data["user"]["email"]
        .as_str()
        .is_some_and(|e| e.contains('@')));
    assert_eq!(data["versions"][0]["name"], "v2");
    assert_eq!(
        data["versions"][0]["url"],
        format!("{}/work/api/v2/customers/1", h.base())
    );
    assert_eq!(data["work"]["libraries"][0]["alias"], "ACTIVE");
    assert_eq!(data["work"]["libraries"][1]["alias"], "BRANCH");
    assert_eq!(data["work"]["preferred_library"], "ACTIVE");
}

#[tokio::test]
async fn every_request_is_counted_and_shutdown_stops_serving() {
    let h = Harness::start().await;
    let state = h.sandbox.state();
    assert_eq!(state.request_count(), 1, "the harness's login");
    state.reset_request_count();
    h.get(&format!("{}/api", h.base())).await;
    h.get(&format!("{}/nowhere", h.base())).await;
    h.password_grant(SERVICE_USER, "bad").await;
    assert_eq!(state.request_count(), 3);

    let base = h.base();
    let Harness { sandbox, http, .. } = h;
    sandbox.shutdown().await;
    assert!(http.get(format!("{base}/api")).send().await.is_err());
}
