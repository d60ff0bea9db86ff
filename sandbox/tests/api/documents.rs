use reqwest::multipart::{Form, Part};
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{expect_envelope, field_of, Harness};

async fn folder(h: &Harness) -> String {
    h.post_ok(
        &h.lib("/workspaces"),
        &json!({"name": "Matter"}),
        StatusCode::CREATED,
    )
    .await;
    let folder = h
        .post_ok(
            &h.lib("/workspaces/ACTIVE!1000/folders"),
            &json!({"name": "Invoices"}),
            StatusCode::CREATED,
        )
        .await;
    folder["id"].as_str().unwrap().to_owned()
}

fn profile(name: &str) -> Part {
    let profile = json!({
        "doc_profile": {"name": name, "extension": "pdf", "size": 1, "class": "INVOICE", "author": "JSMITH", "default_security": "inherit"},
        "warnings_for_required_and_disabled_fields": true,
    });
    Part::text(profile.to_string())
        .mime_str("application/json")
        .unwrap()
}

async fn upload(h: &Harness, folder_id: &str, form: Form) -> reqwest::Response {
    h.http
        .post(h.lib(&format!("/folders/{folder_id}/documents")))
        .header("X-Auth-Token", &h.token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn upload_and_download_round_trip() {
    let h = Harness::start().await;
    let folder_id = folder(&h).await;
    let content: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let form = Form::new().part("profile", profile("Invoice 17")).part(
        "file",
        Part::bytes(content.clone()).file_name("invoice-17.pdf"),
    );
    let response = upload(&h, &folder_id, form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    let doc = &body["data"];
    assert_eq!(doc["id"], "ACTIVE!1002.1");
    assert_eq!(doc["document_number"], 1002);
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["name"], "Invoice 17");
    assert_eq!(doc["extension"], "pdf");
    assert_eq!(
        doc["size"],
        content.len(),
        "the actual size, not the declared one"
    );
    assert_eq!(doc["folder_id"], folder_id);
    assert_eq!(doc["workspace_id"], "ACTIVE!1000");
    assert_eq!(doc["class"], "INVOICE");
    assert_eq!(doc["author"], "JSMITH");

    let profile = h.get_ok(&h.lib("/documents/ACTIVE%211002.1")).await;
    assert_eq!(profile["name"], "Invoice 17");
    assert_eq!(
        h.get_ok(&h.lib("/documents/ACTIVE!1002")).await["id"],
        "ACTIVE!1002.1"
    );
    expect_envelope(
        h.get(&h.lib("/documents/ACTIVE!1002.2")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let download = h.get(&h.lib("/documents/ACTIVE!1002.1/download")).await;
    assert_eq!(download.status(), StatusCode::OK);
    assert_eq!(
        download.headers()["content-type"],
        "application/octet-stream"
    );
    assert_eq!(download.bytes().await.unwrap().to_vec(), content);

    let inspected = h.sandbox.state().documents_in(&folder_id);
    assert_eq!(inspected.len(), 1);
    assert_eq!(inspected[0].content, content);
    let folder = h.get_ok(&h.lib(&format!("/folders/{folder_id}"))).await;
    assert_eq!(folder["has_documents"], true);
    let listed = h
        .get_ok(&h.lib(&format!("/folders/{folder_id}/documents")))
        .await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn bad_uploads_answer_400() {
    let h = Harness::start().await;
    let folder_id = folder(&h).await;

    let no_file = Form::new().part("profile", profile("x"));
    assert_eq!(
        field_of(
            &expect_envelope(
                upload(&h, &folder_id, no_file).await,
                StatusCode::BAD_REQUEST
            )
            .await
        ),
        "file"
    );
    let no_profile = Form::new().part("file", Part::bytes(b"abc".to_vec()).file_name("a.txt"));
    assert_eq!(
        field_of(
            &expect_envelope(
                upload(&h, &folder_id, no_profile).await,
                StatusCode::BAD_REQUEST
            )
            .await
        ),
        "profile"
    );
    let bad_json = Form::new()
        .text("profile", "{not json")
        .part("file", Part::bytes(b"abc".to_vec()).file_name("a.txt"));
    assert_eq!(
        field_of(
            &expect_envelope(
                upload(&h, &folder_id, bad_json).await,
                StatusCode::BAD_REQUEST
            )
            .await
        ),
        "profile"
    );
    let bad_security = Form::new()
        .text(
            "profile",
            json!({"doc_profile": {"name": "x", "default_security": "open"}}).to_string(),
        )
        .part("file", Part::bytes(b"abc".to_vec()).file_name("a.txt"));
    expect_envelope(
        upload(&h, &folder_id, bad_security).await,
        StatusCode::BAD_REQUEST,
    )
    .await;

    let not_multipart = h
        .post(
            &h.lib(&format!("/folders/{folder_id}/documents")),
            &json!({"name": "x"}),
        )
        .await;
    expect_envelope(not_multipart, StatusCode::BAD_REQUEST).await;
    let form = Form::new()
        .part("profile", profile("x"))
        .part("file", Part::bytes(b"abc".to_vec()).file_name("a.txt"));
    expect_envelope(upload(&h, "ACTIVE!4040", form).await, StatusCode::NOT_FOUND).await;
    assert!(h.sandbox.state().documents_in(&folder_id).is_empty());

    // Without a name in the profile, the file's name serves.
    let unnamed = Form::new()
        .text("profile", json!({"doc_profile": {}}).to_string())
        .part(
            "file",
            Part::bytes(b"abc".to_vec()).file_name("minutes.docx"),
        );
    let response = upload(&h, &folder_id, unnamed).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        (
            body["data"]["name"].as_str(),
            body["data"]["extension"].as_str()
        ),
        (Some("minutes"), Some("docx"))
    );
    assert_eq!(body["data"]["author"], "sandbox-admin");
}

#[tokio::test]
async fn uploads_may_exceed_the_json_body_limit() {
    let h = Harness::start().await;
    let folder_id = folder(&h).await;
    let content = vec![7u8; 3 * 1024 * 1024];
    let form = Form::new()
        .part("profile", profile("Big"))
        .part("file", Part::bytes(content.clone()).file_name("big.pdf"));
    let response = upload(&h, &folder_id, form).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        h.sandbox.state().documents_in(&folder_id)[0].size,
        content.len() as u64
    );

    // JSON bodies keep axum's 2 MB default, answered in the envelope.
    let huge = json!({"name": "x", "description": "d".repeat(3 * 1024 * 1024)});
    expect_envelope(
        h.post(&h.lib("/workspaces"), &huge).await,
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
}
