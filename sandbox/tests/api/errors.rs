use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{expect_envelope, Harness};

#[tokio::test]
async fn malformed_bodies_answer_400_envelopes() {
    let h = Harness::start().await;
    let send = |body: &'static str| {
        h.http
            .post(h.lib("/workspaces"))
            .header("X-Auth-Token", &h.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    for body in [
        "{\"name\": ",
        "not json",
        "",
        "[1, 2]",
        "\"text\"",
        "{\"name\": \"a\"} trailing",
    ] {
        expect_envelope(send(body).await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
    let wrong_types = h
        .post(
            &h.lib("/workspaces"),
            &json!({"name": "x", "description": 5}),
        )
        .await;
    expect_envelope(wrong_types, StatusCode::BAD_REQUEST).await;
    let wrong_types = h
        .post(&h.lib("/customs/custom1"), &json!({"id": "x", "parent": 5}))
        .await;
    expect_envelope(wrong_types, StatusCode::BAD_REQUEST).await;
    assert!(h.sandbox.state().workspaces().is_empty());
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_envelopes() {
    let h = Harness::start().await;
    expect_envelope(
        h.get(&format!("{}/nowhere", h.base())).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_envelope(h.get(&h.lib("/widgets")).await, StatusCode::NOT_FOUND).await;
    expect_envelope(
        h.get(&format!(
            "{}/work/api/v2/customers/1/libraries/ACTIVE",
            h.base()
        ))
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_envelope(
        h.delete(&h.lib("/templates")).await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    expect_envelope(
        h.patch(&format!("{}/api", h.base()), &json!({})).await,
        StatusCode::METHOD_NOT_ALLOWED,
    )
    .await;
    let unknown_customer = format!(
        "{}/work/api/v2/customers/x/libraries/ACTIVE/workspaces",
        h.base()
    );
    expect_envelope(h.get(&unknown_customer).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn hostile_ids_and_queries_do_not_break_the_server() {
    let h = Harness::start().await;
    for path in [
        "/workspaces/%FF%FE",
        "/workspaces/ACTIVE!99999999999999999999999999",
        "/workspaces/ACTIVE!1.2.3",
        "/folders/!",
        "/documents/ACTIVE!1.99999999999",
        "/customs/custom1/%00",
        "/workspaces?name=%FF&limit=99999999999999999999999",
    ] {
        let status = h.get(&h.lib(path)).await.status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    assert_eq!(
        h.get(&format!("{}/api", h.base())).await.status(),
        StatusCode::OK,
        "still serving"
    );
}
