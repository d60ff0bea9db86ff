//! The second library, BRANCH: its own objects, templates and lookup tables, reached only under
//! its own path.

use imanage_sandbox::{BRANCH_LIBRARY, BRANCH_TEMPLATE, LIBRARY};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{expect_envelope, Harness};

fn branch(h: &Harness, path: &str) -> String {
    format!(
        "{}/work/api/v2/customers/1/libraries/{BRANCH_LIBRARY}{path}",
        h.base()
    )
}

#[tokio::test]
async fn each_library_lists_its_own_templates() {
    let h = Harness::start().await;
    let active = h.get_ok(&h.lib("/templates")).await;
    let ids: Vec<&str> = active["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["ACTIVE!100", "ACTIVE!200"]);
    let branch_templates = h.get_ok(&branch(&h, "/templates")).await;
    let branch_templates = branch_templates["results"].as_array().unwrap();
    assert_eq!(branch_templates[0]["id"], BRANCH_TEMPLATE);
    assert_eq!(branch_templates[0]["database"], BRANCH_LIBRARY);
    assert_eq!(branch_templates.len(), 1);
    let libraries = h
        .get_ok(&format!("{}/work/api/v2/customers/1/libraries", h.base()))
        .await;
    assert_eq!(libraries["results"][1]["alias"], BRANCH_LIBRARY);
}

#[tokio::test]
async fn objects_are_created_and_found_in_their_own_library_only() {
    let h = Harness::start().await;
    let ws = h
        .post_ok(
            &branch(&h, "/workspaces"),
            &json!({"name": "Branch matter"}),
            StatusCode::CREATED,
        )
        .await;
    let id = ws["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("BRANCH!"), "{id}");
    assert_eq!(ws["database"], BRANCH_LIBRARY);
    let folder = h
        .post_ok(
            &branch(&h, &format!("/workspaces/{id}/folders")),
            &json!({"name": "Documents"}),
            StatusCode::CREATED,
        )
        .await;
    assert!(folder["id"].as_str().unwrap().starts_with("BRANCH!"));
    // The same object under the other library's path is not found.
    expect_envelope(
        h.get(&h.lib(&format!("/workspaces/{id}"))).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let number = id.split_once('!').unwrap().1;
    expect_envelope(
        h.get(&h.lib(&format!("/workspaces/{LIBRARY}!{number}")))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let listed = h.get_ok(&h.lib("/workspaces")).await;
    assert!(listed["results"].as_array().unwrap().is_empty(), "{listed}");
    let listed = h.get_ok(&branch(&h, "/workspaces")).await;
    assert_eq!(listed["results"][0]["id"], id.as_str());
    assert_eq!(
        h.sandbox.state().folders_of(&id).len(),
        1,
        "inspection finds the branch workspace's folders"
    );
}

#[tokio::test]
async fn lookup_tables_are_per_library() {
    let h = Harness::start().await;
    h.post_ok(
        &branch(&h, "/customs/custom1"),
        &json!({"id": "C-1", "description": "Branch client"}),
        StatusCode::CREATED,
    )
    .await;
    expect_envelope(
        h.get(&h.lib("/customs/custom1/C-1")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    // A branch profile may use it; the main library refuses it.
    h.post_ok(
        &branch(&h, "/workspaces"),
        &json!({"name": "x", "custom1": "C-1"}),
        StatusCode::CREATED,
    )
    .await;
    expect_envelope(
        h.post(
            &h.lib("/workspaces"),
            &json!({"name": "x", "custom1": "C-1"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    let state = h.sandbox.state();
    assert_eq!(state.custom_values_in(BRANCH_LIBRARY, "custom1").len(), 1);
    assert!(state.custom_values("custom1").is_empty());
}
