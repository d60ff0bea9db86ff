//! The Sync API: cursor-paged crawls, the fallback when the change-event queue is not readable.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_envelope, Harness};

async fn sync(h: &Harness, path: &str, body: &Value) -> Value {
    let response = h.post(&h.lib(&format!("/sync{path}")), body).await;
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// Every page of a crawl, following cursors until a page comes without one.
async fn crawl_all(h: &Harness, path: &str, mut body: Value) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    loop {
        let page = sync(h, path, &body).await;
        pages += 1;
        items.extend(page["data"].as_array().unwrap().iter().cloned());
        match page.get("cursor").and_then(Value::as_str) {
            Some(cursor) => body["cursor"] = json!(cursor),
            None => return (items, pages),
        }
    }
}

async fn create(h: &Harness, name: &str) -> String {
    let ws = h
        .post_ok(
            &h.lib("/workspaces"),
            &json!({ "name": name }),
            StatusCode::CREATED,
        )
        .await;
    ws["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn workspace_crawl_pages_in_id_order() {
    let h = Harness::start().await;
    for i in 0..5 {
        create(&h, &format!("ws {i}")).await;
    }
    let first = sync(&h, "/workspaces/crawl", &json!({"limit": 2})).await;
    let ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACTIVE!1000", "ACTIVE!1001"]);
    assert_eq!(first["data"][0]["wstype"], "workspace");

    let (all, pages) = crawl_all(&h, "/workspaces/crawl", json!({"limit": 2})).await;
    assert_eq!(pages, 3, "2 + 2 + a short page of 1");
    let ids: Vec<&str> = all.iter().map(|w| w["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "ACTIVE!1000",
            "ACTIVE!1001",
            "ACTIVE!1002",
            "ACTIVE!1003",
            "ACTIVE!1004"
        ],
        "templates are not crawled"
    );
    // A full last page has no cursor either: nothing follows.
    let exact = sync(&h, "/workspaces/crawl", &json!({"limit": 5})).await;
    assert_eq!(exact["data"].as_array().unwrap().len(), 5);
    assert!(exact.get("cursor").is_none());

    // A workspace deleted behind the cursor neither hides nor repeats the others.
    let page = sync(&h, "/workspaces/crawl", &json!({"limit": 2})).await;
    h.delete(&h.lib("/workspaces/ACTIVE!1001")).await;
    let rest = sync(
        &h,
        "/workspaces/crawl",
        &json!({"limit": 10, "cursor": page["cursor"]}),
    )
    .await;
    let ids: Vec<&str> = rest["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACTIVE!1002", "ACTIVE!1003", "ACTIVE!1004"]);

    // An empty body is a first page; bad cursors and limits are 400s.
    let response = h
        .http
        .post(h.lib("/sync/workspaces/crawl"))
        .header("X-Auth-Token", &h.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    for bad in [
        json!({"cursor": "not-a-cursor"}),
        json!({"cursor": 5}),
        json!({"limit": 0}),
        json!([]),
    ] {
        let response = h.post(&h.lib("/sync/workspaces/crawl"), &bad).await;
        expect_envelope(response, StatusCode::BAD_REQUEST).await;
    }
}

#[tokio::test]
async fn trustee_searches_list_workspace_members() {
    let h = Harness::start().await;
    let a = create(&h, "A").await;
    let b = create(&h, "B").await;
    h.post_ok(
        &h.lib(&format!("/workspaces/{a}/security")),
        &json!({"include": [
            {"id": "LWONG", "type": "user", "access_level": "read"},
            {"id": "MCHEN", "type": "user", "access_level": "no_access"},
            {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
        ]}),
        StatusCode::OK,
    )
    .await;

    let allowed = "/containers/security/allowed-trustees/search";
    let (everything, _) = crawl_all(&h, allowed, json!({})).await;
    let rows: Vec<(String, String, String, String)> = everything
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap().to_owned();
            (
                s("container_id"),
                s("trustee_id"),
                s("trustee_type"),
                s("access_level"),
            )
        })
        .collect();
    let row = |c: &str, id: &str, t: &str, l: &str| {
        (c.to_owned(), id.to_owned(), t.to_owned(), l.to_owned())
    };
    assert_eq!(
        rows,
        [
            row(&a, "LITIGATION", "group", "read_write"),
            row(&a, "LWONG", "user", "read"),
            row(&a, "sandbox-admin", "user", "full_access"),
            row(&b, "sandbox-admin", "user", "full_access"),
        ]
    );
    // Paging one at a time finds the same rows.
    let (paged, pages) = crawl_all(&h, allowed, json!({"limit": 1})).await;
    assert_eq!(paged, everything);
    assert_eq!(pages, 4);

    let only_b = sync(&h, allowed, &json!({"container_ids": [b, "ACTIVE!999999"]})).await;
    assert_eq!(only_b["data"].as_array().unwrap().len(), 1);
    assert_eq!(only_b["data"][0]["container_id"], b.as_str());

    let denied = sync(
        &h,
        "/containers/security/denied-trustees/search",
        &json!({}),
    )
    .await;
    assert_eq!(
        denied["data"],
        json!([{"container_id": a, "trustee_id": "MCHEN", "trustee_type": "user", "access_level": "no_access"}])
    );
    let bad = h
        .post(
            &h.lib(&format!("/sync{allowed}")),
            &json!({"container_ids": [1]}),
        )
        .await;
    expect_envelope(bad, StatusCode::BAD_REQUEST).await;
}

#[tokio::test]
async fn group_member_search_lists_memberships() {
    let h = Harness::start().await;
    let path = "/groups/members/search";
    let (all, pages) = crawl_all(&h, path, json!({"limit": 2})).await;
    assert_eq!(pages, 2);
    let pairs: Vec<(String, String)> = all
        .iter()
        .map(|m| {
            assert_eq!(m["member_type"], "user");
            (
                m["group_id"].as_str().unwrap().to_owned(),
                m["member_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let pair = |g: &str, m: &str| (g.to_owned(), m.to_owned());
    assert_eq!(
        pairs,
        [
            pair("LITIGATION", "JSMITH"),
            pair("LITIGATION", "MCHEN"),
            pair("NRTADMIN", "sandbox-admin"),
            pair("PROPERTY", "APATEL"),
        ]
    );
    let nrt = sync(&h, path, &json!({"group_ids": ["nrtadmin"]})).await;
    assert_eq!(nrt["data"].as_array().unwrap().len(), 1);
    assert_eq!(nrt["data"][0]["member_id"], "sandbox-admin");
}
