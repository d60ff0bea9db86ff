use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_data, expect_envelope, field_of, Harness};

fn names(data: &Value) -> Vec<String> {
    data["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn folder_tree_is_built_read_and_listed_flat() {
    let h = Harness::start().await;
    let ws = h
        .post_ok(
            &h.lib("/workspaces"),
            &json!({"name": "Matter"}),
            StatusCode::CREATED,
        )
        .await;
    let ws_id = ws["id"].as_str().unwrap();

    let docs = h
        .post_ok(
            &h.lib(&format!("/workspaces/{ws_id}/folders")),
            &json!({"name": "Documents", "description": "All", "view_type": "document", "profile": {"custom3": "LIT"}}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(docs["wstype"], "folder");
    assert_eq!(docs["parent_id"], ws_id);
    assert_eq!(docs["workspace_id"], ws_id);
    assert_eq!(docs["default_security"], "inherit");
    assert_eq!(docs["view_type"], "document");
    assert!(
        docs.get("optional").is_none(),
        "iManage folders carry no such field"
    );
    assert_eq!(docs["has_subfolders"], false);
    assert_eq!(docs["profile"]["custom3"], "LIT");
    let docs_id = docs["id"].as_str().unwrap();

    let emails = h
        .post_ok(
            &h.lib(&format!("/workspaces/{ws_id}/folders")),
            &json!({"name": "Emails", "view_type": "email"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(emails["view_type"], "email");
    let invoices = h
        .post_ok(
            &h.lib(&format!("/folders/{docs_id}/subfolders")),
            &json!({"name": "Invoices", "default_security": "private"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(invoices["parent_id"], docs_id);
    assert_eq!(invoices["workspace_id"], ws_id);
    // iManage allows two folders of one name under one parent.
    h.post_ok(
        &h.lib(&format!("/folders/{docs_id}/subfolders")),
        &json!({"name": "Invoices"}),
        StatusCode::CREATED,
    )
    .await;

    let top = h
        .get_ok(&h.lib(&format!("/workspaces/{ws_id}/children")))
        .await;
    assert_eq!(names(&top), ["Documents", "Emails"]);
    assert_eq!(top["results"][0]["has_subfolders"], true);
    let under = h
        .get_ok(&h.lib(&format!("/folders/{docs_id}/children")))
        .await;
    assert_eq!(names(&under), ["Invoices", "Invoices"]);
    // One folder's own answer says the same as the listing does.
    let docs_alone = h.get_ok(&h.lib(&format!("/folders/{docs_id}"))).await;
    assert_eq!(docs_alone["has_subfolders"], true);
    let emails_alone = h
        .get_ok(&h.lib(&format!("/folders/{}", emails["id"].as_str().unwrap())))
        .await;
    assert_eq!(emails_alone["has_subfolders"], false);
    let flat = h
        .get_ok(&h.lib(&format!(
            "/folders?container_id={}",
            ws_id.replace('!', "%21")
        )))
        .await;
    assert_eq!(
        names(&flat),
        ["Documents", "Emails", "Invoices", "Invoices"]
    );
    assert_eq!(flat["results"][2]["parent_id"], docs_id);
    assert!(
        h.get_ok(&h.lib(&format!("/workspaces/{ws_id}"))).await["has_subfolders"]
            .as_bool()
            .unwrap()
    );
    expect_envelope(
        h.get(&h.lib("/folders?container_id=ACTIVE!4040")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let inspected = h.sandbox.state().folders_of(ws_id);
    assert_eq!(inspected.len(), 4);
    assert!(inspected
        .iter()
        .filter(|f| f.name == "Invoices")
        .all(|f| f.parent_id == docs_id));
}

#[tokio::test]
async fn folders_are_patched_deleted_and_validated() {
    let h = Harness::start().await;
    h.post_ok(
        &h.lib("/workspaces"),
        &json!({"name": "Matter"}),
        StatusCode::CREATED,
    )
    .await;
    let folder = h
        .post_ok(
            &h.lib("/workspaces/ACTIVE!1000/folders"),
            &json!({"name": "Docs"}),
            StatusCode::CREATED,
        )
        .await;
    let url = h.lib(&format!("/folders/{}", folder["id"].as_str().unwrap()));
    h.post_ok(
        &format!("{url}/subfolders"),
        &json!({"name": "Sub"}),
        StatusCode::CREATED,
    )
    .await;

    let patched = expect_data(
        h.patch(
            &url,
            &json!({"name": "Renamed", "default_security": "view"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["name"], "Renamed");
    assert_eq!(patched["default_security"], "view");
    assert_eq!(h.get_ok(&url).await["name"], "Renamed");

    let cases = [
        (json!({}), "name"),
        (json!({"name": ""}), "name"),
        (json!({"name": "x".repeat(255)}), "name"),
        (json!({"name": "x", "view_type": "gallery"}), "view_type"),
        (
            json!({"name": "x", "default_security": "secret"}),
            "default_security",
        ),
        (json!({"name": "x", "profile": "flat"}), "profile"),
    ];
    for (body, field) in cases {
        let response = h
            .post(&h.lib("/workspaces/ACTIVE!1000/folders"), &body)
            .await;
        assert_eq!(
            field_of(&expect_envelope(response, StatusCode::BAD_REQUEST).await),
            field,
            "{body}"
        );
    }
    expect_envelope(
        h.post(
            &h.lib("/workspaces/ACTIVE!4040/folders"),
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_envelope(
        h.post(
            &h.lib("/folders/ACTIVE!4040/subfolders"),
            &json!({"name": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    assert_eq!(h.delete(&url).await.status(), StatusCode::NO_CONTENT);
    expect_envelope(h.get(&url).await, StatusCode::NOT_FOUND).await;
    assert!(
        h.sandbox.state().folders_of("ACTIVE!1000").is_empty(),
        "subfolders go with their parent"
    );
}
