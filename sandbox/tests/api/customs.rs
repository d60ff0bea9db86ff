use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{expect_data, expect_envelope, field_of, Harness};

#[tokio::test]
async fn lookup_values_are_created_read_and_conflict_once() {
    let h = Harness::start().await;
    let created = h
        .post_ok(
            &h.lib("/customs/custom1"),
            &json!({"id": "C001", "description": "Acme Ltd", "enabled": true}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(
        created,
        json!({"id": "C001", "description": "Acme Ltd", "enabled": true})
    );

    let again = h
        .post(
            &h.lib("/customs/custom1"),
            &json!({"id": "C001", "description": "Acme again"}),
        )
        .await;
    let error = expect_envelope(again, StatusCode::CONFLICT).await;
    assert_eq!(error["code_message"], "Already exists");

    let read = h.get_ok(&h.lib("/customs/custom1/C001")).await;
    assert_eq!(read["description"], "Acme Ltd");
    expect_envelope(
        h.get(&h.lib("/customs/custom1/C999")).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let values = h.sandbox.state().custom_values("custom1");
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].id, "C001");
    assert_eq!(values[0].parent, None);
}

#[tokio::test]
async fn child_values_need_an_existing_parent() {
    let h = Harness::start().await;
    h.add_lookup("custom1", "C001", "Acme Ltd", None).await;

    let orphan = h
        .post(
            &h.lib("/customs/custom2"),
            &json!({"id": "M-1", "description": "Matter"}),
        )
        .await;
    expect_envelope(orphan, StatusCode::BAD_REQUEST).await;
    let unknown_parent = h
        .post(
            &h.lib("/customs/custom2"),
            &json!({"id": "M-1", "description": "Matter", "parent": {"id": "C404"}}),
        )
        .await;
    expect_envelope(unknown_parent, StatusCode::BAD_REQUEST).await;

    h.add_lookup("custom2", "M-1", "First matter", Some("C001"))
        .await;
    // The same matter id under another client is another value.
    h.add_lookup("custom1", "C002", "Beta plc", None).await;
    h.add_lookup("custom2", "M-1", "Beta's matter", Some("C002"))
        .await;
    let dup = h
        .post(
            &h.lib("/customs/custom2"),
            &json!({"id": "M-1", "parent": {"id": "C001"}}),
        )
        .await;
    expect_envelope(dup, StatusCode::CONFLICT).await;

    let read = h
        .get_ok(&h.lib("/customs/custom2/M-1?parent_alias=C002"))
        .await;
    assert_eq!(
        read,
        json!({"id": "M-1", "description": "Beta's matter", "enabled": true, "parent": {"id": "C002"}})
    );
    expect_envelope(
        h.get(&h.lib("/customs/custom2/M-1?parent_alias=C404"))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let listed = h.get_ok(&h.lib("/customs/custom2?parent_alias=C001")).await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 1);
    let listed = h.get_ok(&h.lib("/customs/custom2?alias=M-1")).await;
    assert_eq!(listed["results"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn lookup_values_are_patched_and_ids_are_path_decoded() {
    let h = Harness::start().await;
    h.add_lookup("custom1", "A&B/1 x", "Odd id", None).await;
    let url = h.lib("/customs/custom1/A%26B%2F1%20x");
    let patched = expect_data(
        h.patch(&url, &json!({"description": "Renamed", "enabled": false}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(patched["description"], "Renamed");
    assert_eq!(patched["enabled"], false);
    assert!(!h.sandbox.state().custom_values("custom1")[0].enabled);

    let wrong_type = h.patch(&url, &json!({"enabled": "no"})).await;
    assert_eq!(
        field_of(&expect_envelope(wrong_type, StatusCode::BAD_REQUEST).await),
        "enabled"
    );
    expect_envelope(
        h.patch(&h.lib("/customs/custom1/none"), &json!({"enabled": true}))
            .await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[tokio::test]
async fn only_lookup_fields_have_tables() {
    let h = Harness::start().await;
    for field in ["custom13", "custom31", "custom0", "name"] {
        let response = h
            .post(&h.lib(&format!("/customs/{field}")), &json!({"id": "X"}))
            .await;
        expect_envelope(response, StatusCode::BAD_REQUEST).await;
    }
    h.add_lookup("custom12", "X", "", None).await;
    h.add_lookup("custom29", "P", "Parent", None).await;
    h.add_lookup("custom30", "C", "Child", Some("P")).await;
    let missing_id = h
        .post(&h.lib("/customs/custom1"), &json!({"description": "no id"}))
        .await;
    assert_eq!(
        field_of(&expect_envelope(missing_id, StatusCode::BAD_REQUEST).await),
        "id"
    );
}
