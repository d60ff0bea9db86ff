//! Ethical walls end to end: the change feed (each source, acknowledgement, restarts, the 403
//! fallback), the team push and the workspace import, through the real component in the real
//! host against the sandbox.

use imanage_sandbox::{QueueShape, SandboxConfig};
use matterlink_e2e::imanage::Admin;
use matterlink_e2e::{call, fixture, signed, unix_now, Env, Server, WEBHOOK_SECRET};
use matterlink_host::domain::Member as TeamMember;
use matterlink_host::{Args, ConfigStore, Function, Runtime};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn poll(rt: &Runtime, cursor: Option<&str>) -> Value {
    let args = Args {
        cursor: cursor.map(String::from),
        ..Args::default()
    };
    rt.call(Function::PollChanges, args)
        .await
        .expect("the host runs the call")
        .unwrap_or_else(|e| panic!("poll-changes failed: {e}"))
}

fn cursor(batch: &Value) -> String {
    batch["next_cursor"].as_str().unwrap().to_string()
}

/// The changes of a batch without the fields that vary by source or time.
fn summary(batch: &Value) -> Vec<Value> {
    batch["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            json!([
                c["matter_id"],
                c["kind"],
                c["trustee_id"],
                c["access_level"],
                c["previous_access_level"],
                c["default_security"],
                c["previous_default_security"]
            ])
        })
        .collect()
}

fn with(env: &Env, key: &str, value: &str) -> ConfigStore {
    let mut config = env.config();
    config.set(key, value);
    config
}

/// Provisions the basic matter and returns its workspace id.
async fn linked_workspace(env: &Env, rt: &Runtime) -> String {
    let ws = call(rt, Function::OnMatterCreated, &fixture("matter-basic.json"))
        .await
        .unwrap();
    assert!(env.state().workspace(ws["id"].as_str().unwrap()).is_some());
    ws["id"].as_str().unwrap().to_string()
}

/// The same story through each source: a wall goes up, a default security changes, the wall
/// comes down; an unlinked workspace changes too. Each change is reported once, in order.
async fn wall_story(source: &str, expected_source: &str) {
    wall_story_in(SandboxConfig::default(), source, expected_source).await;
}

async fn wall_story_in(config: SandboxConfig, source: &str, expected_source: &str) {
    let env = Env::start_with(config).await;
    let rt = env.runtime_with(with(&env, "change_source", source));
    let ws = linked_workspace(&env, &rt).await;
    let admin = Admin::sign_in(&env).await;
    let stranger = admin
        .create_workspace(json!({"name": "Not a matter", "default_security": "public"}))
        .await;

    let start = poll(&rt, None).await;
    assert_eq!(
        start["changes"],
        json!([]),
        "{source}: the feed starts empty"
    );
    assert_eq!(start["source"], expected_source, "{source}: {start}");

    admin.wall_off(&ws, "LWONG").await;
    admin.wall_off(&stranger, "LWONG").await;
    let first = poll(&rt, Some(&cursor(&start))).await;
    assert_eq!(first["source"], expected_source);
    assert_eq!(
        summary(&first),
        vec![json!([
            "1042",
            "added",
            "LWONG",
            "no_access",
            null,
            null,
            null
        ])],
        "{source}: {first}"
    );
    let change = &first["changes"][0];
    assert_eq!(change["workspace_id"], ws.as_str());
    assert_eq!(change["trustee_type"], "user");
    assert_eq!(
        change["occurred_at"].is_string(),
        expected_source == "event_queue",
        "only an event says when it happened: {change}"
    );

    // Not acknowledged yet: the same batch again, with the same ids, however asked.
    assert_eq!(poll(&rt, None).await, first, "{source}");
    assert_eq!(poll(&rt, Some(&cursor(&start))).await, first, "{source}");

    admin
        .security(&ws, json!({"default_security": "public"}))
        .await;
    admin.take_off(&ws, "LWONG").await;
    let second = poll(&rt, Some(&cursor(&first))).await;
    assert_eq!(
        summary(&second),
        vec![
            json!([
                "1042",
                "default_security_changed",
                null,
                null,
                null,
                "public",
                "private"
            ]),
            json!(["1042", "removed", "LWONG", null, "no_access", null, null]),
        ],
        "{source}: {second}"
    );
    assert_ne!(second["changes"][0]["id"], first["changes"][0]["id"]);

    let quiet = poll(&rt, Some(&cursor(&second))).await;
    assert_eq!(quiet["changes"], json!([]), "{source}: {quiet}");
    assert_eq!(
        poll(&rt, Some(&cursor(&quiet))).await["changes"],
        json!([]),
        "{source}: nothing is reported twice"
    );
}

#[tokio::test]
async fn a_wall_added_then_removed_is_reported_once_each_from_the_event_queue() {
    wall_story("auto", "event_queue").await;
}

/// The queue in the action-type shape (an open-source connector's design notes), two events a
/// page: each `security_update` on the workspace is a re-read of its security, compared with the
/// snapshot, so the wall, the default security and the lifted wall come back as the same
/// changes, each once; the unlinked workspace's updates are passed over.
#[tokio::test]
async fn the_same_story_from_an_action_type_queue() {
    let config = SandboxConfig {
        event_queue_shape: QueueShape::ActionType,
        page_size: 2,
        ..SandboxConfig::default()
    };
    wall_story_in(config, "auto", "event_queue").await;
}

#[tokio::test]
async fn the_same_story_through_the_sync_api() {
    wall_story("sync", "sync").await;
}

#[tokio::test]
async fn the_same_story_by_polling_each_workspace() {
    wall_story("polling", "polling").await;
}

#[tokio::test]
async fn the_cursor_survives_a_host_restart() {
    let env = Env::start().await;
    let admin = Admin::sign_in(&env).await;
    let (ws, start) = {
        let rt = env.runtime();
        let ws = linked_workspace(&env, &rt).await;
        (ws, poll(&rt, None).await)
    };
    admin.wall_off(&ws, "APATEL").await;
    let batch = {
        let rt = env.runtime();
        poll(&rt, Some(&cursor(&start))).await
    };
    assert_eq!(summary(&batch).len(), 1);

    // A new host on the same data: the unacknowledged batch comes again, unchanged.
    let rt = env.runtime();
    assert_eq!(poll(&rt, None).await, batch);
    drop(rt);

    admin.take_off(&ws, "APATEL").await;
    let rt = env.runtime();
    let next = poll(&rt, Some(&cursor(&batch))).await;
    assert_eq!(
        summary(&next),
        vec![json!([
            "1042",
            "removed",
            "APATEL",
            null,
            "no_access",
            null,
            null
        ])]
    );
    drop(rt);
    let rt = env.runtime();
    let after = poll(&rt, Some(&cursor(&next))).await;
    assert_eq!(after["changes"], json!([]));
    // An old cursor acknowledges nothing more and repeats nothing.
    assert_eq!(poll(&rt, Some(&cursor(&batch))).await["changes"], json!([]));
    assert!(env.kv().get_json("feed/state").is_some());

    let err = rt
        .call(
            Function::PollChanges,
            Args {
                cursor: Some("elsewhere.3".into()),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "rejected");
}

#[tokio::test]
async fn a_403_from_the_event_queue_falls_back_and_says_so() {
    let env = Env::start().await;
    let state = env.state();
    let rt = env.runtime();
    let ws = linked_workspace(&env, &rt).await;
    let admin = Admin::sign_in(&env).await;
    state.set_event_queue_forbidden(true);

    let report = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .expect("a working fallback passes the check");
    let report = report.as_str().unwrap();
    assert!(
        report.contains("⚠ change feed: event queue refused (403: service account not in NRTADMIN")
            && report.contains("falling back to Sync API crawl"),
        "{report}"
    );

    let start = poll(&rt, None).await;
    assert_eq!(start["source"], "sync");
    assert!(
        start["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("event queue refused (403: service account not in NRTADMIN"),
        "{start}"
    );
    admin.wall_off(&ws, "MCHEN").await;
    let walled = poll(&rt, Some(&cursor(&start))).await;
    assert_eq!(walled["source"], "sync");
    assert_eq!(
        summary(&walled),
        vec![json!([
            "1042",
            "added",
            "MCHEN",
            "no_access",
            null,
            null,
            null
        ])]
    );

    // Required explicitly, the refused queue is a failure, not a fallback.
    let strict = env.runtime_with(with(&env, "change_source", "event_queue"));
    let err = strict
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    assert!(err.message().contains("✗ change feed"), "{}", err.message());

    // Back in NRTADMIN: the queue again, having compared what happened meanwhile, and the wall
    // already reported is not reported again.
    state.set_event_queue_forbidden(false);
    admin.take_off(&ws, "MCHEN").await;
    let back = poll(&rt, Some(&cursor(&walled))).await;
    assert_eq!(back["source"], "event_queue", "{back}");
    assert_eq!(
        summary(&back),
        vec![json!([
            "1042",
            "removed",
            "MCHEN",
            null,
            "no_access",
            null,
            null
        ])],
        "{back}"
    );
    admin.wall_off(&ws, "MCHEN").await;
    let queued = poll(&rt, Some(&cursor(&back))).await;
    assert_eq!(queued["source"], "event_queue");
    assert_eq!(
        summary(&queued),
        vec![json!([
            "1042",
            "added",
            "MCHEN",
            "no_access",
            null,
            null,
            null
        ])],
        "{queued}"
    );
    assert!(queued["changes"][0]["occurred_at"].is_string());
}

#[tokio::test]
async fn import_workspaces_maps_fields_back() {
    let env = Env::start().await;
    // Made by another installation (its own store): in iManage, linked to nothing here.
    let other = tempfile::tempdir().unwrap();
    let elsewhere = matterlink_e2e::runtime_at(other.path(), env.config(), None);
    let legacy = fixture("matter-legacy.json");
    let made = call(&elsewhere, Function::OnMatterCreated, &legacy)
        .await
        .unwrap();
    let rt = env.runtime();
    let linked = linked_workspace(&env, &rt).await;
    let admin = Admin::sign_in(&env).await;
    let bare = admin
        .create_workspace(json!({"name": "Board minutes 2026"}))
        .await;

    let page = rt
        .call(Function::ImportWorkspaces, Args::default())
        .await
        .unwrap()
        .unwrap();
    let items = page["workspaces"].as_array().unwrap();
    let ids: Vec<&str> = items
        .iter()
        .map(|w| w["workspace"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![made["id"].as_str().unwrap(), bare.as_str()]);
    assert!(
        !ids.contains(&linked.as_str()),
        "linked workspaces are left out"
    );
    assert_eq!(page["next_cursor"], Value::Null);

    // The demo's field_map: File Reference → custom13, Assigned To → custom14, Status → custom15.
    let mut expected = serde_json::to_value(&legacy).unwrap();
    expected["acting_user"] = Value::Null;
    expected["priority"] = Value::Null; // not mapped, so not in iManage
    assert_eq!(items[0]["matter"], expected);
    assert!(items[0]["profile"]
        .as_array()
        .unwrap()
        .contains(&json!({"name": "custom13", "value": "OLD-1999-0713"})));
    assert_eq!(items[0]["workspace"], made);

    assert_eq!(items[1]["matter"]["id"], "");
    assert_eq!(items[1]["matter"]["title"], "Board minutes 2026");
    assert_eq!(items[1]["matter"]["clients"], json!([]));
}

fn member(id: &str, trustee_type: &str, level: &str) -> TeamMember {
    serde_json::from_value(json!({"id": id, "type": trustee_type, "access_level": level})).unwrap()
}

#[tokio::test]
async fn apply_matter_team_is_opt_in_idempotent_and_audited() {
    let env = Env::start().await;
    let state = env.state();
    let off = env.runtime();
    let ws = linked_workspace(&env, &off).await;
    let team = vec![
        member("JSMITH", "user", "full_access"),
        member("apatel", "user", "read"),
        member("LWONG", "user", "no_access"),
    ];
    let args = || Args {
        matter_id: Some("1042".into()),
        members: Some(team.clone()),
        ..Args::default()
    };
    let err = off
        .call(Function::ApplyMatterTeam, args())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "skipped");

    let rt = env.runtime_with(with(&env, "push_team", "true"));
    let feed_start = poll(&rt, None).await;
    let done = rt
        .call(Function::ApplyMatterTeam, args())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done["unchanged"], false);
    assert_eq!(
        done["removed"],
        json!([{"id": "LITIGATION", "trustee_type": "group", "access_level": "read_write"}])
    );
    let members: Vec<(String, &str, &str)> = state
        .workspace(&ws)
        .unwrap()
        .members
        .iter()
        .map(|m| {
            (
                m.id.clone(),
                m.member_type.as_str(),
                m.access_level.as_str(),
            )
        })
        .collect();
    // The service account (the owner provisioning made) is never removed: matterlink keeps
    // the access it needs.
    assert_eq!(
        members,
        vec![
            ("sandbox-admin".to_string(), "user", "full_access"),
            ("JSMITH".to_string(), "user", "full_access"),
            ("APATEL".to_string(), "user", "read"),
            ("LWONG".to_string(), "user", "no_access"),
        ]
    );

    // The same team again: one read, nothing written.
    state.reset_request_count();
    let events_before = state.events().len();
    let again = rt
        .call(Function::ApplyMatterTeam, args())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again["unchanged"], true);
    assert_eq!(again["included"], json!([]));
    assert_eq!(state.request_count(), 1);
    assert_eq!(state.events().len(), events_before);

    let audit: Vec<Value> = env
        .kv()
        .keys()
        .iter()
        .filter(|k| k.starts_with("audit/record/"))
        .filter_map(|k| env.kv().get_json(k))
        .filter(|r| r["action"] == "apply-team")
        .collect();
    assert_eq!(audit.len(), 2);
    assert_eq!(audit[0]["outcome"], "ok");
    assert_eq!(audit[1]["outcome"], "unchanged");

    // The feed reports the push like any other change to the workspace.
    let echoed = poll(&rt, Some(&cursor(&feed_start))).await;
    let kinds: Vec<Value> = summary(&echoed).iter().map(|c| c[1].clone()).collect();
    assert_eq!(
        kinds,
        vec![json!("removed"), json!("added"), json!("added")]
    );
}

#[tokio::test]
async fn changes_over_http_are_signed() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    let rt = env.runtime_with(config.clone());
    let ws = linked_workspace(&env, &rt).await;
    let s = Server::start(env.runtime_with(config)).await;
    let c = reqwest::Client::new();
    let url = format!("{}/v1/changes", s.url);

    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let get = |target: String| {
        let c = c.clone();
        async move {
            let r = signed(&c, Method::GET, &target, Vec::new(), unix_now())
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Value>().await.unwrap())
        }
    };
    let (st, start) = get(url.clone()).await;
    assert_eq!(st, StatusCode::OK, "{start}");
    Admin::sign_in(&env).await.wall_off(&ws, "LWONG").await;
    let (st, batch) = get(format!("{url}?cursor={}", cursor(&start))).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(batch["source"], "event_queue");
    assert_eq!(batch["changes"][0]["kind"], "added");
    assert_eq!(batch["changes"][0]["access_level"], "no_access");
    assert_eq!(batch["changes"][0]["matter_id"], "1042");
    let (st, err) = get(format!("{url}?cursor=nope.9")).await;
    assert_eq!(
        (st, err["error"]["kind"].as_str()),
        (StatusCode::CONFLICT, Some("rejected"))
    );
    s.stop().await;
}

/// A queue answering 200 in neither known shape is not an empty queue: `auto` falls back to the
/// Sync API exactly as for a 403 and says why, in the batch and in check-connection; a feed that
/// must read the queue fails instead of reporting nothing.
#[tokio::test]
async fn a_queue_answer_in_no_known_shape_falls_back_and_says_so() {
    let env = Env::start_with(SandboxConfig {
        event_queue_shape: QueueShape::Unknown,
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = linked_workspace(&env, &rt).await;
    let admin = Admin::sign_in(&env).await;

    let report = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .expect("a working fallback passes the check");
    let report = report.as_str().unwrap();
    assert!(
        report.contains(
            "⚠ change feed: the event queue answered in a shape matterlink does not understand (a 200 without a cursor"
        ) && report.contains("falling back to Sync API crawl"),
        "{report}"
    );

    let start = poll(&rt, None).await;
    assert_eq!(start["source"], "sync", "{start}");
    assert!(
        start["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("the event queue answered in a shape matterlink does not understand"),
        "{start}"
    );
    admin.wall_off(&ws, "LWONG").await;
    let walled = poll(&rt, Some(&cursor(&start))).await;
    assert_eq!(walled["source"], "sync");
    assert_eq!(
        summary(&walled),
        vec![json!([
            "1042",
            "added",
            "LWONG",
            "no_access",
            null,
            null,
            null
        ])]
    );

    let strict = env.runtime_with(with(&env, "change_source", "event_queue"));
    let err = strict
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    assert!(err.message().contains("✗ change feed"), "{}", err.message());
    // (Acknowledging the batch, so that the poll reads rather than deliver it again.)
    let err = strict
        .call(
            Function::PollChanges,
            Args {
                cursor: Some(cursor(&walled)),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected", "{}", err.message());
}

/// The action-type queue overflows (events after the feed's position were dropped): treated as
/// a lost cursor, the feed takes the queue's position anew and compares every linked workspace
/// with its snapshot, so the wall whose event was dropped is still reported; the batch and the
/// feed's record say why. Afterwards the queue is read as before.
#[tokio::test]
async fn an_overflowing_queue_recovers_through_the_snapshots() {
    let env = Env::start_with(SandboxConfig {
        event_queue_shape: QueueShape::ActionType,
        event_retention: 3,
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = linked_workspace(&env, &rt).await;
    let admin = Admin::sign_in(&env).await;
    let check = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap();
    assert!(
        check
            .as_str()
            .unwrap()
            .contains("✓ change feed: event queue (action-type events; named queues: default)"),
        "{check}"
    );
    let start = poll(&rt, None).await;
    assert_eq!(start["source"], "event_queue");

    admin.wall_off(&ws, "APATEL").await;
    for n in 0..4 {
        admin
            .create_workspace(json!({"name": format!("Busy {n}")}))
            .await;
    }
    let recovered = poll(&rt, Some(&cursor(&start))).await;
    assert_eq!(recovered["source"], "event_queue", "{recovered}");
    assert_eq!(
        summary(&recovered),
        vec![json!([
            "1042",
            "added",
            "APATEL",
            "no_access",
            null,
            null,
            null
        ])],
        "{recovered}"
    );
    let note = recovered["notes"][0].as_str().unwrap();
    assert!(note.contains("the queue overflowed"), "{recovered}");
    let state = env.kv().get_json("feed/state").unwrap();
    assert!(
        state["last_restart"]["why"]
            .as_str()
            .is_some_and(|why| why.contains("the queue overflowed")),
        "{state}"
    );

    admin.take_off(&ws, "APATEL").await;
    let next = poll(&rt, Some(&cursor(&recovered))).await;
    assert_eq!(
        summary(&next),
        vec![json!([
            "1042",
            "removed",
            "APATEL",
            null,
            "no_access",
            null,
            null
        ])],
        "{next}"
    );
    assert!(
        next["changes"][0]["occurred_at"].is_string(),
        "read from the queue: {next}"
    );
}
