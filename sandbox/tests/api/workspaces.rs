use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_data, expect_envelope, field_of, Harness};

async fn with_client_and_matter() -> Harness {
    let h = Harness::start().await;
    h.add_lookup("custom1", "C001", "Acme Ltd", None).await;
    h.add_lookup("custom2", "M-1042", "Acme v Widget", Some("C001"))
        .await;
    h
}

async fn create(h: &Harness, body: Value) -> Value {
    h.post_ok(&h.lib("/workspaces"), &body, StatusCode::CREATED)
        .await
}

#[tokio::test]
async fn create_with_client_and_matter_fields() {
    let h = with_client_and_matter().await;
    let ws = create(
        &h,
        json!({
            "name": "Acme v Widget",
            "description": "Dispute",
            "owner": "JSMITH",
            "default_security": "view",
            "custom1": "C001",
            "custom2": "M-1042",
            "custom3": "Litigation",
            "custom13": "REF/1",
            "custom17": 42,
            "custom21": "2024-03-01T09:30:00+01:00",
            "custom25": true,
            "subclass": "LIT",
        }),
    )
    .await;
    assert_eq!(ws["id"], "ACTIVE!1000");
    assert_eq!(ws["wstype"], "workspace");
    assert_eq!(ws["database"], "ACTIVE");
    assert_eq!(ws["name"], "Acme v Widget");
    assert_eq!(ws["owner"], "JSMITH");
    assert_eq!(ws["default_security"], "view");
    assert_eq!(ws["custom1"], "C001");
    assert_eq!(ws["custom1_description"], "Acme Ltd");
    assert_eq!(ws["custom2"], "M-1042");
    assert_eq!(ws["custom2_description"], "Acme v Widget");
    assert_eq!(
        ws["custom3"], "Litigation",
        "custom3 is not checked against a table"
    );
    assert_eq!(ws["custom17"], 42);
    assert_eq!(ws["custom21"], "2024-03-01T08:30:00Z");
    assert_eq!(ws["custom25"], true);
    assert_eq!(ws["subclass"], "LIT");
    assert_eq!(ws["is_template"], false);
    assert_eq!(ws["has_subfolders"], false);
    assert_eq!(
        ws["workspace_url"],
        format!("{}/work/link/w/ACTIVE!1000", h.base())
    );
    assert!(ws["iwl"].as_str().unwrap().contains("num=1000"));
    assert!(chrono_like(&ws["create_date"]) && chrono_like(&ws["edit_date"]));

    let stored = h.sandbox.state().workspace("ACTIVE!1000").unwrap();
    assert_eq!(stored.custom_text("custom2").as_deref(), Some("M-1042"));
    assert_eq!(h.sandbox.state().workspaces().len(), 1);

    // Defaults: the caller owns it, private.
    let second = create(&h, json!({"name": "Plain"})).await;
    assert_eq!(second["id"], "ACTIVE!1001");
    assert_eq!(second["owner"], "sandbox-admin");
    assert_eq!(second["default_security"], "private");
}

fn chrono_like(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|s| s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T')
}

#[tokio::test]
async fn profile_rules_answer_400_naming_the_field() {
    let h = with_client_and_matter().await;
    let cases = [
        (json!({"name": "x", "custom2": "M-1042"}), "custom2"),
        (json!({"name": "x", "custom1": "C404"}), "custom1"),
        (
            json!({"name": "x", "custom1": "C001", "custom2": "M-404"}),
            "custom2",
        ),
        (json!({"name": "x", "custom29": "nope"}), "custom29"),
        (json!({"name": "x", "custom17": "abc"}), "custom17"),
        (json!({"name": "x", "custom17": "42"}), "custom17"),
        (json!({"name": "x", "custom18": 1.5}), "custom18"),
        (json!({"name": "x", "custom22": "tomorrow"}), "custom22"),
        (json!({"name": "x", "custom26": "yes"}), "custom26"),
        (json!({"name": "x", "custom3": 7}), "custom3"),
        (json!({"name": "x", "owner": "NOBODY"}), "owner"),
        (json!({"name": "x", "owner": "x".repeat(64)}), "owner"),
        (
            json!({"name": "x", "default_security": "inherit"}),
            "default_security",
        ),
        (json!({"name": "x".repeat(255)}), "name"),
        (json!({"name": "   "}), "name"),
        (json!({"name": 12}), "name"),
        (json!({"description": "no name"}), "name"),
    ];
    for (body, field) in cases {
        let response = h.post(&h.lib("/workspaces"), &body).await;
        let error = expect_envelope(response, StatusCode::BAD_REQUEST).await;
        assert_eq!(field_of(&error), field, "{body}");
    }
    assert!(
        h.sandbox.state().workspaces().is_empty(),
        "nothing is created by a refused request"
    );

    // 254 characters are fine however many bytes they take.
    let long = "é".repeat(254);
    assert_eq!(create(&h, json!({"name": long})).await["name"], long);
}

#[tokio::test]
async fn get_by_raw_and_encoded_id() {
    let h = with_client_and_matter().await;
    create(&h, json!({"name": "Acme v Widget"})).await;
    let raw = h.get_ok(&h.lib("/workspaces/ACTIVE!1000")).await;
    let encoded = h.get_ok(&h.lib("/workspaces/ACTIVE%211000")).await;
    assert_eq!(raw, encoded);
    assert_eq!(raw["name"], "Acme v Widget");

    for missing in [
        "/workspaces/ACTIVE!9999",
        "/workspaces/OTHER!1000",
        "/workspaces/garbage",
        "/workspaces/ACTIVE!101",
    ] {
        expect_envelope(h.get(&h.lib(missing)).await, StatusCode::NOT_FOUND).await;
    }
    let other_library = format!(
        "{}/work/api/v2/customers/1/libraries/OTHER/workspaces/ACTIVE!1000",
        h.base()
    );
    expect_envelope(h.get(&other_library).await, StatusCode::NOT_FOUND).await;
    let other_customer = format!(
        "{}/work/api/v2/customers/2/libraries/ACTIVE/workspaces/ACTIVE!1000",
        h.base()
    );
    expect_envelope(h.get(&other_customer).await, StatusCode::NOT_FOUND).await;
}

#[tokio::test]
async fn patch_renames_and_revalidates() {
    let h = with_client_and_matter().await;
    create(&h, json!({"name": "Acme v Widget", "custom1": "C001", "custom2": "M-1042", "custom13": "keep"})).await;
    let url = h.lib("/workspaces/ACTIVE%211000");
    let patched = expect_data(
        h.patch(
            &url,
            &json!({"name": "CLOSED - Acme v Widget", "custom13": ""}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["name"], "CLOSED - Acme v Widget");
    assert_eq!(patched["custom2"], "M-1042", "untouched fields stay");
    assert!(
        patched.get("custom13").is_none(),
        "an empty string clears a field"
    );
    assert_eq!(
        h.sandbox.state().workspace("ACTIVE!1000").unwrap().name,
        "CLOSED - Acme v Widget"
    );

    let orphan = h.patch(&url, &json!({"custom2": "M-1042"})).await;
    assert_eq!(
        field_of(&expect_envelope(orphan, StatusCode::BAD_REQUEST).await),
        "custom2"
    );
    expect_envelope(
        h.patch(&h.lib("/workspaces/ACTIVE!4040"), &json!({"name": "x"}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn delete_removes_the_workspace_and_its_folders() {
    let h = with_client_and_matter().await;
    create(&h, json!({"name": "Doomed"})).await;
    let folder = h
        .post_ok(
            &h.lib("/workspaces/ACTIVE!1000/folders"),
            &json!({"name": "Docs"}),
            StatusCode::CREATED,
        )
        .await;
    h.post_ok(
        &h.lib(&format!(
            "/folders/{}/subfolders",
            folder["id"].as_str().unwrap()
        )),
        &json!({"name": "Sub"}),
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(h.sandbox.state().folders_of("ACTIVE!1000").len(), 2);

    assert_eq!(
        h.delete(&h.lib("/workspaces/ACTIVE!1000")).await.status(),
        StatusCode::NO_CONTENT
    );
    expect_envelope(
        h.get(&h.lib("/workspaces/ACTIVE!1000")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    expect_envelope(
        h.get(&h.lib("/folders/ACTIVE!1001")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert!(h.sandbox.state().folders_of("ACTIVE!1000").is_empty());
    expect_envelope(
        h.delete(&h.lib("/workspaces/ACTIVE!1000")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn search_by_custom_fields_and_name() {
    let h = with_client_and_matter().await;
    h.add_lookup("custom2", "M-2000", "Other", Some("C001"))
        .await;
    create(
        &h,
        json!({"name": "Acme v Widget", "custom1": "C001", "custom2": "M-1042", "custom17": 7}),
    )
    .await;
    create(
        &h,
        json!({"name": "Acme lease", "custom1": "C001", "custom2": "M-2000"}),
    )
    .await;
    create(&h, json!({"name": "Unrelated"})).await;

    let ids = |data: &Value| -> Vec<String> {
        data["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let found = h.get_ok(&h.lib("/workspaces?custom2=M-1042")).await;
    assert_eq!(ids(&found), ["ACTIVE!1000"]);
    let found = h
        .get_ok(&h.lib("/workspaces?custom1=C001&custom2=M-2000"))
        .await;
    assert_eq!(ids(&found), ["ACTIVE!1001"]);
    let found = h.get_ok(&h.lib("/workspaces?name=ACME")).await;
    assert_eq!(ids(&found), ["ACTIVE!1000", "ACTIVE!1001"]);
    let found = h.get_ok(&h.lib("/workspaces?custom17=7")).await;
    assert_eq!(ids(&found), ["ACTIVE!1000"]);
    let all = h.get_ok(&h.lib("/workspaces")).await;
    assert_eq!(ids(&all).len(), 3, "templates are never listed");

    let response = h
        .get(&h.lib("/workspaces?custom1=C001&limit=1&offset=1&total=true"))
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total_count"], 2);
    assert_eq!(ids(&body["data"]), ["ACTIVE!1001"]);
    let body: Value = h.get(&h.lib("/workspaces")).await.json().await.unwrap();
    assert!(body.get("total_count").is_none());

    for bad in [
        "limit=0",
        "limit=10000",
        "limit=x",
        "offset=-1",
        "custom99=1",
    ] {
        expect_envelope(
            h.get(&h.lib(&format!("/workspaces?{bad}"))).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }

    let posted = h
        .post_ok(
            &h.lib("/workspaces/search"),
            &json!({"filters": {"custom2": "M-1042"}, "limit": 10}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(ids(&posted), ["ACTIVE!1000"]);
    let none = h
        .post_ok(
            &h.lib("/workspaces/search"),
            &json!({"filters": {"custom2": "M-9"}}),
            StatusCode::OK,
        )
        .await;
    assert!(ids(&none).is_empty());
    let bad = h
        .post(
            &h.lib("/workspaces/search"),
            &json!({"filters": {"custom2": ["x"]}}),
        )
        .await;
    expect_envelope(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn searches_follow_changes_and_deletions() {
    let h = with_client_and_matter().await;
    h.add_lookup("custom2", "M-2000", "Other", Some("C001"))
        .await;
    let ws = create(
        &h,
        json!({"name": "Acme v Widget", "custom1": "C001", "custom2": "M-1042"}),
    )
    .await;
    let id = ws["id"].as_str().unwrap();
    async fn count(h: &Harness, query: &str) -> usize {
        let found = h.get_ok(&h.lib(&format!("/workspaces?{query}"))).await;
        found["results"].as_array().unwrap().len()
    }
    assert_eq!(count(&h, "custom2=M-1042").await, 1);
    expect_data(
        h.patch(
            &h.lib(&format!("/workspaces/{id}")),
            &json!({"custom1": "C001", "custom2": "M-2000"}),
        )
        .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(count(&h, "custom2=M-1042").await, 0, "the old value");
    assert_eq!(count(&h, "custom2=M-2000").await, 1, "the new value");
    assert_eq!(count(&h, "custom1=C001&custom2=M-2000").await, 1);
    let gone = h.delete(&h.lib(&format!("/workspaces/{id}"))).await;
    assert_eq!(gone.status(), StatusCode::NO_CONTENT);
    assert_eq!(count(&h, "custom2=M-2000").await, 0, "deleted");
}
