use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{expect_envelope, field_of, Harness};

#[tokio::test]
async fn workspace_security_is_read_and_changed() {
    let h = Harness::start().await;
    h.post_ok(
        &h.lib("/workspaces"),
        &json!({"name": "Matter", "owner": "LWONG"}),
        StatusCode::CREATED,
    )
    .await;
    let url = h.lib("/workspaces/ACTIVE%211000/security");
    let initial = h.get_ok(&url).await;
    assert_eq!(
        initial,
        json!({"default_security": "private", "members": [{"id": "LWONG", "type": "user", "access_level": "full_access"}]})
    );

    let changed = h
        .post_ok(
            &url,
            &json!({
                "default_security": "view",
                "include": [
                    {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
                    {"id": "apatel", "type": "user", "access_level": "read"},
                ],
                "remove": [{"id": "LWONG", "type": "user"}],
            }),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        changed,
        json!({"default_security": "view", "members": [
            {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
            {"id": "APATEL", "type": "user", "access_level": "read"},
        ]})
    );

    // The other client's shape: lists nested under `members`; including again updates the level.
    let nested = h
        .post_ok(
            &url,
            &json!({"members": {"include": [{"id": "APATEL", "type": "user", "access_level": "full_access"}], "remove": [{"id": "LITIGATION", "type": "group"}]}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(
        nested["members"],
        json!([{"id": "APATEL", "type": "user", "access_level": "full_access"}])
    );
    assert_eq!(nested["default_security"], "view");
    assert_eq!(
        h.sandbox
            .state()
            .workspace("ACTIVE!1000")
            .unwrap()
            .members
            .len(),
        1
    );
}

#[tokio::test]
async fn bad_security_changes_are_refused_whole() {
    let h = Harness::start().await;
    h.post_ok(
        &h.lib("/workspaces"),
        &json!({"name": "Matter"}),
        StatusCode::CREATED,
    )
    .await;
    let url = h.lib("/workspaces/ACTIVE!1000/security");
    let cases = [
        (
            json!({"include": [{"id": "NOBODY", "type": "user", "access_level": "read"}]}),
            "include",
        ),
        (
            json!({"include": [{"id": "JSMITH", "type": "user", "access_level": "admin"}]}),
            "include",
        ),
        (
            json!({"include": [{"id": "JSMITH", "type": "robot", "access_level": "read"}]}),
            "include",
        ),
        (
            json!({"include": [{"id": "JSMITH", "type": "group", "access_level": "read"}]}),
            "include",
        ),
        (
            json!({"default_security": "view", "remove": [{"id": "GHOSTS", "type": "group"}]}),
            "remove",
        ),
        (json!({"default_security": "inherit"}), "default_security"),
        (json!({"include": "JSMITH"}), "include"),
    ];
    for (body, field) in cases {
        let error = expect_envelope(h.post(&url, &body).await, StatusCode::BAD_REQUEST).await;
        assert_eq!(field_of(&error), field, "{body}");
    }
    let unchanged = h.get_ok(&url).await;
    assert_eq!(unchanged["default_security"], "private");
    assert_eq!(unchanged["members"].as_array().unwrap().len(), 1);
    expect_envelope(
        h.get(&h.lib("/workspaces/ACTIVE!4040/security")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn users_and_groups_are_listed() {
    let h = Harness::start().await;
    let users = h.get_ok(&h.lib("/users")).await;
    let ids: Vec<&str> = users["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["sandbox-admin", "JSMITH", "LWONG", "APATEL", "MCHEN"]);
    assert_eq!(users["results"][1]["full_name"], "Jane Smith");
    let groups = h.get_ok(&h.lib("/groups")).await;
    let ids: Vec<&str> = groups["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["LITIGATION", "PROPERTY", "NRTADMIN"]);
    let members = h.get_ok(&h.lib("/groups/NRTADMIN/members")).await;
    assert_eq!(members["results"][0]["id"], "sandbox-admin");
}
