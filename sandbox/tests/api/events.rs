//! The change-event queue: what ethical walls are kept with.

use imanage_sandbox::{ChangeEventType, QueueShape, SandboxConfig, SERVICE_USER};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_data, expect_envelope, Harness};

/// `GET /change-events` with the given query; returns the whole body.
async fn read(h: &Harness, query: &[(&str, &str)]) -> Value {
    let response = h
        .http
        .get(h.lib("/change-events"))
        .header("X-Auth-Token", &h.token)
        .query(query)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn read_status(h: &Harness, query: &[(&str, &str)]) -> reqwest::Response {
    h.http
        .get(h.lib("/change-events"))
        .header("X-Auth-Token", &h.token)
        .query(query)
        .send()
        .await
        .unwrap()
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

fn types(events: &Value) -> Vec<String> {
    events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn workspace_changes_become_events_in_order() {
    let h = Harness::start().await;
    h.add_lookup("custom1", "C001", "Acme", None).await;
    h.add_lookup("custom2", "M-1", "Acme v Widget", Some("C001"))
        .await;
    let ws = h
        .post_ok(
            &h.lib("/workspaces"),
            &json!({"name": "Acme v Widget", "custom1": "C001", "custom2": "M-1"}),
            StatusCode::CREATED,
        )
        .await;
    let id = ws["id"].as_str().unwrap().to_owned();
    let url = h.lib(&format!("/workspaces/{id}"));
    expect_data(
        h.patch(&url, &json!({"name": "Renamed"})).await,
        StatusCode::OK,
    )
    .await;
    let security = format!("{url}/security");
    h.post_ok(
        &security,
        &json!({
            "default_security": "public",
            "include": [
                {"id": "JSMITH", "type": "user", "access_level": "read"},
                {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
            ],
            "remove": [{"id": SERVICE_USER, "type": "user"}],
        }),
        StatusCode::OK,
    )
    .await;
    // Nothing changes: nothing recorded.
    h.post_ok(
        &security,
        &json!({"default_security": "public", "include": [{"id": "JSMITH", "access_level": "read"}]}),
        StatusCode::OK,
    )
    .await;
    // A changed access level is reported as the member at its new level.
    h.post_ok(
        &security,
        &json!({"members": {"include": [{"id": "JSMITH", "type": "user", "access_level": "no_access"}]}}),
        StatusCode::OK,
    )
    .await;
    expect_data(
        h.patch(&url, &json!({"default_security": "private"})).await,
        StatusCode::OK,
    )
    .await;

    let body = read(&h, &[]).await;
    let events = &body["data"];
    assert_eq!(
        types(events),
        [
            "workspace_created",
            "workspace_updated",
            "security_changed",
            "members_removed",
            "members_added",
            "members_added",
            "workspace_updated",
            "security_changed",
        ]
    );
    for event in events.as_array().unwrap() {
        assert_eq!(event["object_type"], "workspace");
        assert_eq!(event["object_id"], id.as_str());
        assert!(event["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let ids: std::collections::HashSet<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 8, "event ids are unique");

    let created = &events[0]["details"];
    assert_eq!(created["name"], "Acme v Widget");
    assert_eq!(created["custom2"], "M-1");
    assert_eq!(created["owner"], SERVICE_USER);
    assert_eq!(events[1]["details"]["changed"], json!(["name"]));
    assert_eq!(
        events[2]["details"],
        json!({"default_security": "public", "previous": "private"})
    );
    assert_eq!(
        events[3]["details"],
        json!({"members": [{"id": SERVICE_USER, "type": "user", "access_level": "full_access"}]})
    );
    assert_eq!(
        events[4]["details"],
        json!({"members": [
            {"id": "JSMITH", "type": "user", "access_level": "read"},
            {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
        ]})
    );
    assert_eq!(
        events[5]["details"]["members"],
        json!([{"id": "JSMITH", "type": "user", "access_level": "no_access"}])
    );
    assert_eq!(events[6]["details"]["changed"], json!(["default_security"]));

    // The same events through the state API.
    let state_events = h.sandbox.state().events();
    assert_eq!(state_events.len(), 8);
    assert_eq!(state_events[4].event_type, ChangeEventType::MembersAdded);
    assert_eq!(&serde_json::to_value(&state_events).unwrap(), events);

    // Failed changes and templates record nothing.
    let bad = h
        .post(
            &security,
            &json!({"include": [{"id": "NOBODY", "access_level": "read"}]}),
        )
        .await;
    expect_envelope(bad, StatusCode::BAD_REQUEST).await;
    let template = h
        .post(
            &h.lib("/workspaces/ACTIVE!100/security"),
            &json!({"default_security": "public"}),
        )
        .await;
    expect_envelope(template, StatusCode::FORBIDDEN).await;
    assert_eq!(h.sandbox.state().events().len(), 8);
}

#[tokio::test]
async fn cursors_page_through_and_pick_up_new_events() {
    let h = Harness::start().await;
    for i in 0..5 {
        create(&h, &format!("ws {i}")).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut query = vec![("limit", "2")];
        if let Some(cursor) = cursor.as_deref() {
            query.push(("cursor", cursor));
        }
        let body = read(&h, &query).await;
        let page = body["data"].as_array().unwrap().clone();
        assert!(page.len() <= 2);
        cursor = Some(body["cursor"].as_str().expect("always a cursor").to_owned());
        if page.is_empty() {
            break;
        }
        seen.extend(page.into_iter().map(|e| e["object_id"].clone()));
    }
    assert_eq!(
        seen,
        (1000..1005)
            .map(|n| json!(format!("ACTIVE!{n}")))
            .collect::<Vec<_>>()
    );
    let end = cursor.unwrap();
    // Reading at the end changes nothing; the next change is there for the same cursor.
    let again = read(&h, &[("cursor", &end)]).await;
    assert_eq!(again["data"], json!([]));
    assert_eq!(again["cursor"], end.as_str());
    let id = create(&h, "later").await;
    let next = read(&h, &[("cursor", &end)]).await;
    assert_eq!(next["data"][0]["object_id"], id.as_str());
    assert_eq!(next["data"].as_array().unwrap().len(), 1);

    // A large limit is capped, not refused; zero or text is a 400.
    assert_eq!(
        read(&h, &[("limit", "5000")]).await["data"]
            .as_array()
            .unwrap()
            .len(),
        6
    );
    for limit in ["0", "many", "-1"] {
        expect_envelope(
            read_status(&h, &[("limit", limit)]).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_and_expired_cursors_answer_410() {
    let h = Harness::start_with(SandboxConfig {
        event_retention: 3,
        ..SandboxConfig::default()
    })
    .await;
    create(&h, "one").await;
    create(&h, "two").await;
    let after_first = read(&h, &[("limit", "1")]).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let after_second = read(&h, &[("limit", "2")]).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for name in ["three", "four", "five"] {
        create(&h, name).await;
    }
    // Retained: events 3..5. After event 1, event 2 is lost: gone. After event 2 nothing is.
    let error = expect_envelope(
        read_status(&h, &[("cursor", &after_first)]).await,
        StatusCode::GONE,
    )
    .await;
    assert_eq!(error["messages"][0]["field"], "cursor");
    let body = read(&h, &[("cursor", &after_second)]).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 3);
    // Without a cursor: from the oldest retained.
    let body = read(&h, &[]).await;
    assert_eq!(body["data"][0]["event_id"], "3");
    assert_eq!(body["data"][0]["object_id"], "ACTIVE!1002");
    assert_eq!(h.sandbox.state().events().len(), 3);
    let stats = h.stats().await;
    assert_eq!(stats["events_recorded"], 5);
    assert_eq!(stats["events_retained"], 3);

    let other = Harness::start().await;
    create(&other, "elsewhere").await;
    let foreign = read(&other, &[]).await["cursor"]
        .as_str()
        .unwrap()
        .to_owned();
    for cursor in [foreign.as_str(), "garbage", "0", "%00"] {
        expect_envelope(
            read_status(&h, &[("cursor", cursor)]).await,
            StatusCode::GONE,
        )
        .await;
    }
}

#[tokio::test]
async fn the_queue_is_forbidden_outside_nrtadmin() {
    let h = Harness::start().await;
    let state = h.sandbox.state();
    state.set_event_queue_forbidden(true);
    let error = expect_envelope(read_status(&h, &[]).await, StatusCode::FORBIDDEN).await;
    assert!(error["code_message"].as_str().unwrap().contains("NRTADMIN"));
    state.set_event_queue_forbidden(false);
    read(&h, &[]).await;

    h.put_faults(json!({"event_queue_forbidden": true})).await;
    expect_envelope(read_status(&h, &[]).await, StatusCode::FORBIDDEN).await;
    assert!(state.faults().event_queue_forbidden);
    h.put_faults(json!({})).await;

    // A real non-member: JSMITH, signed in through auto-approve.
    state.set_auto_approve(Some("JSMITH"));
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = "http://127.0.0.1:9/cb";
    let response = browser
        .get(format!("{}/auth/oauth2/authorize", h.base()))
        .query(&[
            ("response_type", "code"),
            ("client_id", imanage_sandbox::CLIENT_ID),
            ("redirect_uri", redirect),
        ])
        .send()
        .await
        .unwrap();
    let location = url::Url::parse(response.headers()["location"].to_str().unwrap()).unwrap();
    let code = location
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let grant: Value = h
        .token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", redirect),
            ("client_id", imanage_sandbox::CLIENT_ID),
            ("client_secret", imanage_sandbox::CLIENT_SECRET),
        ])
        .await
        .json()
        .await
        .unwrap();
    let jsmith = h
        .http
        .get(h.lib("/change-events"))
        .header("X-Auth-Token", grant["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    expect_envelope(jsmith, StatusCode::FORBIDDEN).await;
}

#[tokio::test]
async fn the_action_type_shape_names_events_by_id_and_overflows_old_cursors() {
    let h = Harness::start_with(SandboxConfig {
        event_queue_shape: QueueShape::ActionType,
        event_retention: 3,
        page_size: 2,
        ..SandboxConfig::default()
    })
    .await;
    let ws = create(&h, "one").await;
    let body = read(&h, &[]).await;
    assert_eq!(
        body,
        json!({"data": [{"id": 1, "action_type": "insert", "item_type": "container",
            "object_id": ws, "root_id": ws, "event_date": body["data"][0]["event_date"]}],
            "overflow": false})
    );
    h.post_ok(
        &h.lib(&format!("/workspaces/{ws}/security")),
        &json!({"include": [{"id": "LWONG", "type": "user", "access_level": "no_access"}]}),
        StatusCode::OK,
    )
    .await;
    let after_one = read(&h, &[("cursor", "1")]).await;
    let actions: Vec<&str> = after_one["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action_type"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"security_update"), "{after_one}");
    for name in ["two", "three", "four"] {
        create(&h, name).await;
    }
    // Event 2 is no longer kept: reading after event 1 overflows, from the oldest kept.
    let overflowed = read(&h, &[("cursor", "1"), ("limit", "100")]).await;
    assert_eq!(overflowed["overflow"], true);
    assert_eq!(
        overflowed["data"].as_array().unwrap().len(),
        2,
        "pages are capped at page_size"
    );
    expect_envelope(read_status(&h, &[("cursor", "99")]).await, StatusCode::GONE).await;
    let queues = h.get_ok(&h.lib("/change-events/queues")).await;
    assert_eq!(queues["results"][0]["name"], "default");
}

#[tokio::test]
async fn the_unknown_shape_answers_200_in_neither_known_shape() {
    let h = Harness::start_with(SandboxConfig {
        event_queue_shape: QueueShape::Unknown,
        ..SandboxConfig::default()
    })
    .await;
    create(&h, "one").await;
    let body = read(&h, &[]).await;
    assert!(
        body.get("cursor").is_none() && body.get("overflow").is_none(),
        "{body}"
    );
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert!(body["next_page"].is_string());
    expect_envelope(
        h.get(&h.lib("/change-events/queues")).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}
