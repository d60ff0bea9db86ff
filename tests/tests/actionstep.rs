//! Actionstep's REST hooks end to end: the real `.wasm` in `matterlink serve`'s code against the
//! iManage sandbox. Every delivery to the hook's token answers 200 — Actionstep switches a hook
//! off at any other answer — in every body shape seen, and what cannot be handled when it comes
//! is kept and replayed later, once.

use matterlink_e2e::{Env, Server, ACTIONSTEP_TOKEN, WEBHOOK_SECRET};
use matterlink_host::ConfigStore;
use reqwest::StatusCode;
use serde_json::{json, Value};

fn config(env: &Env) -> ConfigStore {
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    config.set("actionstep_token", ACTIONSTEP_TOKEN);
    config.set("actionstep_matter_types", r#"{"12": "Litigation"}"#);
    config
}

struct Hook {
    server: Server,
    url: String,
    client: reqwest::Client,
}

impl Hook {
    async fn start(env: &Env, config: ConfigStore) -> Hook {
        let server = Server::start(env.runtime_with(config)).await;
        let url = format!("{}/v1/actionstep/{ACTIONSTEP_TOKEN}", server.url);
        Hook {
            server,
            url,
            client: reqwest::Client::new(),
        }
    }

    /// Delivers `body`; every delivery here must be answered 200.
    async fn deliver(&self, body: impl Into<reqwest::Body>) -> Value {
        let r = self.client.post(&self.url).body(body).send().await.unwrap();
        let status = r.status();
        let answer: Value = r.json().await.unwrap();
        assert_eq!(status, StatusCode::OK, "{answer}");
        answer
    }
}

/// An action as Actionstep's GET shows it (the wiki's example), as one object.
fn action(id: u64, name: &str, status: &str, modified: &str) -> Value {
    json!({"id": id, "name": name, "reference": format!("REF-{id}"), "status": status,
        "isDeleted": "F", "modifiedTimestamp": modified,
        "links": {"actionType": "12", "assignedTo": "311", "primaryParticipants": ["5120"]}})
}

fn workspace_named(env: &Env, name: &str) -> Option<imanage_sandbox::Workspace> {
    env.state()
        .workspaces()
        .into_iter()
        .find(|w| w.name == name)
}

fn custom(w: &imanage_sandbox::Workspace, field: &str) -> Value {
    serde_json::to_value(&w.custom).unwrap()[field].clone()
}

#[tokio::test]
async fn every_body_shape_makes_the_same_workspace() {
    let env = Env::start().await;
    let hook = Hook::start(&env, config(&env)).await;
    let t = "2026-11-20T09:14:02+13:00";
    let array = json!({"actions": [action(2001, "Array v Shape", "Active", t)]});
    let object = json!({"actions": action(2002, "Object v Shape", "Active", t)});
    let json_api = json!({"data": {"type": "actions", "id": "2003",
        "attributes": {"name": "JsonApi v Shape", "reference": "REF-2003", "status": "Active",
            "isDeleted": "F", "modifiedTimestamp": t},
        "relationships": {
            "actionType": {"data": {"type": "actiontypes", "id": "12"}},
            "assignedTo": {"data": {"type": "participants", "id": "311"}},
            "primaryParticipants": {"data": [{"type": "participants", "id": "5120"}]}}}});
    for (body, name) in [
        (array, "Array v Shape"),
        (object, "Object v Shape"),
        (json_api, "JsonApi v Shape"),
    ] {
        let answer = hook.deliver(body.to_string()).await;
        assert_eq!(answer["results"][0]["type"], "matter.created", "{answer}");
        assert!(answer["held"].is_null(), "{answer}");
        let ws = workspace_named(&env, name).unwrap_or_else(|| panic!("no workspace {name}"));
        assert_eq!(
            custom(&ws, "custom3"),
            "Litigation",
            "{name}: type 12 mapped"
        );
        assert_eq!(custom(&ws, "custom1"), "5120", "{name}");
    }
    assert_eq!(env.state().workspaces().len(), 3);
    hook.server.stop().await;
}

#[tokio::test]
async fn a_hook_while_imanage_is_down_is_answered_200_and_replayed_later() {
    let env = Env::start().await;
    let hook = Hook::start(&env, config(&env)).await;
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let body = json!({"actions": [action(3001, "Down v Out", "Active", "2026-12-01T10:00:00Z")]});
    let answer = hook.deliver(body.to_string()).await;
    assert_eq!(
        answer["results"][0]["error"]["kind"], "unavailable",
        "{answer}"
    );
    env.state().set_faults(imanage_sandbox::Faults::default());
    assert!(workspace_named(&env, "Down v Out").is_none());

    let report = hook.server.runtime.replay_events().await.unwrap().unwrap();
    assert_eq!((report.replayed, report.succeeded), (1, 1), "{report:?}");
    assert!(workspace_named(&env, "Down v Out").is_some());
    // Actionstep's own retry of the same delivery changes nothing more.
    let again = hook.deliver(body.to_string()).await;
    assert_eq!(again["results"][0]["outcome"]["duplicate"], true, "{again}");
    assert_eq!(env.state().workspaces().len(), 1);
    hook.server.stop().await;
}

#[tokio::test]
async fn what_cannot_be_read_is_held_whole_and_replayed_once_it_can() {
    let env = Env::start().await;
    let mut wrong = config(&env);
    wrong.set("actionstep_matter_types", "{\"12\": ");
    let hook = Hook::start(&env, wrong).await;
    let body = json!({"actions": [action(4001, "Held v Whole", "Active", "2026-12-01T10:00:00Z")]})
        .to_string();

    // A wrong setting, an unknown shape, a body over the limit: 200, held, nothing made.
    let answer = hook.deliver(body.clone()).await;
    assert_eq!(answer["held"]["kind"], "not-configured", "{answer}");
    let unknown = hook.deliver(r#"{"resthook": "ActionCreated"}"#).await;
    assert_eq!(unknown["held"]["kind"], "malformed", "{unknown}");
    let huge = format!(
        "{{\"actions\": [{{\"name\": \"{}\"}}]}}",
        "x".repeat(1 << 20)
    );
    let too_large = hook.deliver(huge).await;
    assert_eq!(too_large["held"]["kind"], "too-large", "{too_large}");
    assert!(env.state().workspaces().is_empty());
    let held: Vec<String> = env
        .kv()
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("event/held/"))
        .collect();
    assert_eq!(held.len(), 3, "{held:?}");
    // An operator sees them in the metrics, by why they are held.
    let metrics = held_series(&hook.server.runtime).await;
    assert_eq!(metrics, ["malformed 1", "not-configured 1", "too-large 1"]);
    hook.server.stop().await;

    // Fixed, the replay reads the held body; the other two are still held, and said so.
    let fixed = env.runtime_with(config(&env));
    let report = fixed.replay_events().await.unwrap().unwrap();
    assert_eq!((report.replayed, report.succeeded), (3, 1), "{report:?}");
    let kinds: Vec<&str> = report.still_held.iter().map(|h| h.kind.as_str()).collect();
    assert_eq!(kinds, vec!["malformed", "too-large"]);
    assert!(report.still_held[1].truncated);
    let ws = workspace_named(&env, "Held v Whole").expect("made by the replay");
    assert_eq!(custom(&ws, "custom3"), "Litigation");
    // Replayed once: a second replay makes nothing more.
    fixed.replay_events().await.unwrap().unwrap();
    assert_eq!(env.state().workspaces().len(), 1);
    // The one handled is no longer counted; the two still held are.
    assert_eq!(held_series(&fixed).await, ["malformed 1", "too-large 1"]);
}

/// The held-deliveries gauge of the default tenant's Actionstep deliveries, as a scrape reads
/// it: `kind count` for each kind, sorted.
async fn held_series(runtime: &matterlink_host::Runtime) -> Vec<String> {
    let text = runtime.metrics().scrape(runtime).await.unwrap();
    let series =
        "matterlink_held_deliveries_waiting{tenant=\"default\",source=\"actionstep\",kind=\"";
    let mut counts: Vec<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix(series))
        .map(|rest| rest.replacen("\"} ", " ", 1))
        .collect();
    counts.sort();
    counts
}

#[tokio::test]
async fn templates_and_deleted_actions_never_get_a_workspace() {
    let env = Env::start().await;
    let hook = Hook::start(&env, config(&env)).await;
    let t = "2026-12-01T10:00:00Z";
    let template = json!({"actions": action(5001, "Precedent: Conveyance", "Template", t)});
    let mut deleted = action(5002, "Deleted v Gone", "Active", t);
    deleted["isDeleted"] = json!("T");
    for body in [template, json!({"actions": [deleted]})] {
        let answer = hook.deliver(body.to_string()).await;
        assert!(
            answer["results"][0]["outcome"]["skipped"].is_string(),
            "{answer}"
        );
        assert!(answer["held"].is_null(), "{answer}");
    }
    assert!(env.state().workspaces().is_empty());
    let kept: Vec<String> = env
        .kv()
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("event/") || k.starts_with("link/") || k.starts_with("claim/"))
        .collect();
    assert!(kept.is_empty(), "nothing kept for them: {kept:?}");
    hook.server.stop().await;
}

#[tokio::test]
async fn closing_reopening_and_inactive_as_configured() {
    let env = Env::start().await;
    let mut closed_config = config(&env);
    closed_config.set("actionstep_inactive", "closed");
    let hook = Hook::start(&env, closed_config).await;
    let deliver = |status: &str, modified: &str| {
        json!({"actions": [action(6001, "Open v Shut", status, modified)]}).to_string()
    };
    let created = hook
        .deliver(deliver("Active", "2026-12-01T10:00:00Z"))
        .await;
    assert_eq!(created["results"][0]["type"], "matter.created", "{created}");
    let id = created["results"][0]["outcome"]["workspace"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let closed = hook
        .deliver(deliver("Closed", "2026-12-02T10:00:00Z"))
        .await;
    assert_eq!(closed["results"][0]["type"], "matter.closed", "{closed}");
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "CLOSED - Open v Shut"
    );
    let reopened = hook
        .deliver(deliver("Active", "2026-12-03T10:00:00Z"))
        .await;
    assert_eq!(
        reopened["results"][0]["type"], "matter.reopened",
        "{reopened}"
    );
    assert_eq!(env.state().workspace(&id).unwrap().name, "Open v Shut");
    // `actionstep_inactive = closed`: an inactive action closes like a closed one.
    let inactive = hook
        .deliver(deliver("Inactive", "2026-12-04T10:00:00Z"))
        .await;
    assert_eq!(
        inactive["results"][0]["type"], "matter.closed",
        "{inactive}"
    );
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "CLOSED - Open v Shut"
    );
    hook.server.stop().await;

    // By default an inactive action is followed like an active one.
    let default = Hook::start(&env, config(&env)).await;
    let answer = default
        .deliver(
            json!({"actions": action(6002, "Quiet v Still", "Inactive", "2026-12-05T10:00:00Z")})
                .to_string(),
        )
        .await;
    assert_eq!(answer["results"][0]["type"], "matter.created", "{answer}");
    assert!(workspace_named(&env, "Quiet v Still").is_some());
    default.server.stop().await;
}

/// The hostile Actionstep corpus (tests/hostile/actionstep/): every body answered 200 — held
/// for replay or skipped, never an error that would switch the hook off — and none makes a
/// workspace, reaches iManage, or leaves anything in key-value but held deliveries.
#[tokio::test]
async fn the_hostile_corpus_is_answered_200_held_and_makes_nothing() {
    let env = Env::start().await;
    let hook = Hook::start(&env, config(&env)).await;
    let dir = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/hostile/actionstep"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 60, "{} cases", files.len());
    let state = env.state();
    state.reset_request_count();
    let mut held = 0;
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        let answer = hook.deliver(std::fs::read(path).unwrap()).await;
        let results = answer["results"].as_array().unwrap();
        let skipped =
            !results.is_empty() && results.iter().all(|r| r["outcome"]["skipped"].is_string());
        assert!(answer["held"].is_object() || skipped, "{name}: {answer}");
        if answer["held"].is_object() {
            held += 1;
            assert!(answer["held"]["reason"].is_string(), "{name}: {answer}");
        }
    }
    assert!(
        state.workspaces().is_empty(),
        "a hostile body made a workspace"
    );
    assert_eq!(state.request_count(), 0, "a hostile body reached iManage");
    let stray: Vec<String> = env
        .kv()
        .keys()
        .into_iter()
        .filter(|k| !k.starts_with("event/held"))
        .collect();
    assert!(stray.is_empty(), "kept besides held deliveries: {stray:?}");
    let report = hook.server.runtime.replay_events().await.unwrap().unwrap();
    assert_eq!(
        report.still_held.len(),
        held,
        "each is held once, and still"
    );
    assert!(state.workspaces().is_empty());
    hook.server.stop().await;
}

/// Actions made in the Actionstep emulator, delivered by its hooks in each body shape, reach
/// iManage; a template does not; a delivery while iManage is down is answered 200 and replayed;
/// and the emulator never had a reason to switch a hook off.
#[tokio::test]
async fn actions_made_in_the_emulator_reach_imanage_and_no_hook_is_switched_off() {
    use imanage_sandbox::actionstep::{seed, HookShape};
    let env = Env::start().await;
    let hook = Hook::start(&env, config(&env)).await;
    let emulator = env.sandbox.actionstep();
    for event in ["ActionCreated", "ActionUpdated"] {
        emulator.subscribe(event, &hook.url);
    }
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/admin{path}", env.sandbox.actionstep_url());
    let create = |name: &str, status: &str| {
        http.post(admin("/actions")).json(&json!({
            "name": name, "actionType": seed::LITIGATION, "assignedTo": seed::JANE_SMITH,
            "clients": [seed::ZOE], "status": status}))
    };
    let answered_200 = |answer: &Value| {
        let deliveries = answer["deliveries"].as_array().unwrap();
        !deliveries.is_empty() && deliveries.iter().all(|d| d["status"] == 200)
    };

    let mut last_id = 0;
    for (shape, name) in [
        (HookShape::Array, "Brontë v Array"),
        (HookShape::Object, "Brontë v Object"),
        (HookShape::JsonApi, "Brontë v JsonApi"),
    ] {
        emulator.set_hook_shape(shape);
        let answer: Value = create(name, "Active")
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(answered_200(&answer), "{answer}");
        last_id = answer["action"]["id"].as_u64().unwrap();
        let ws = workspace_named(&env, name).unwrap_or_else(|| panic!("{shape:?}: no workspace"));
        assert_eq!(custom(&ws, "custom3"), "Litigation", "{shape:?}");
        assert_eq!(custom(&ws, "custom1"), seed::ZOE.to_string(), "{shape:?}");
    }

    emulator.set_hook_shape(HookShape::Array);
    let template: Value = create("Precedent: Litigation", "Template")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answered_200(&template), "{template}");
    assert!(workspace_named(&env, "Precedent: Litigation").is_none());

    // Closed in Actionstep: the workspace closes.
    // The last one made, delivered as JSON:API.
    let closed: Value = http
        .patch(admin(&format!("/actions/{last_id}")))
        .json(&json!({"status": "Closed"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(answered_200(&closed), "{closed}");
    assert!(workspace_named(&env, "CLOSED - Brontë v JsonApi").is_some());

    // iManage down: Actionstep still gets 200; the replay makes the workspace.
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let down: Value = create("Brontë v Outage", "Active")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    env.state().set_faults(imanage_sandbox::Faults::default());
    assert!(answered_200(&down), "{down}");
    assert!(workspace_named(&env, "Brontë v Outage").is_none());
    let report = hook.server.runtime.replay_events().await.unwrap().unwrap();
    assert_eq!(report.succeeded, 1, "{report:?}");
    assert!(workspace_named(&env, "Brontë v Outage").is_some());

    assert!(
        emulator.switched_off_hooks().is_empty(),
        "a hook was switched off"
    );
    assert!(emulator.hooks().iter().all(|h| h.status == "Active"));
    assert!(emulator.deliveries().len() >= 6);
    hook.server.stop().await;
}

/// Configuration for Actionstep's API through the emulator, names looked up for real.
fn api_config(env: &Env) -> ConfigStore {
    use imanage_sandbox::actionstep::{seed, CLIENT_ID, CLIENT_SECRET};
    let base = env.sandbox.actionstep_url();
    let mut c = config(env);
    // No id map: the action types' own names pick the templates.
    c.set("actionstep_matter_types", "");
    c.set("actionstep_client_id", CLIENT_ID);
    c.set("actionstep_client_secret", CLIENT_SECRET);
    c.set(
        "actionstep_authorize_url",
        format!("{base}/api/oauth/authorize"),
    );
    c.set("actionstep_token_url", format!("{base}/api/oauth/token"));
    c.set("actionstep_api_base", format!("{base}/api/"));
    c.set(
        "actionstep_client_participant_type",
        seed::CLIENT_TYPE.to_string(),
    );
    c
}

/// `matterlink connect --actionstep` as the host library runs it, with a browser that follows
/// the emulator's redirect to the loopback listener.
async fn connect_actionstep(rt: &matterlink_host::Runtime) -> Result<String, String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    matterlink_host::connect::run_for(
        matterlink_host::connect::Service::Actionstep,
        rt,
        listener,
        std::time::Duration::from_secs(60),
        |request| {
            let url = request.authorize_url.clone();
            tokio::spawn(async move {
                let page = reqwest::get(&url).await.expect("the sign-in page answers");
                assert!(page.status().is_success(), "{}", page.status());
            });
        },
    )
    .await
    .expect("the host runs the sign-in")
    .map_err(|e| e.to_string())
}

/// The value of lookup field `field` with id `id`, as iManage describes it.
fn lookup_description(env: &Env, field: &str, id: &str) -> Option<String> {
    env.state()
        .custom_values(field)
        .into_iter()
        .find(|v| v.id == id)
        .map(|v| v.description)
}

#[tokio::test]
async fn connected_to_actionstep_workspaces_get_real_names() {
    use imanage_sandbox::actionstep::seed;
    let env = Env::start().await;
    let config = api_config(&env);
    let rt = env.runtime_with(config.clone());
    // Before connecting, a hook waits (held) instead of writing a placeholder.
    let hook = Hook::start(&env, config.clone()).await;
    let emulator = env.sandbox.actionstep();
    for event in ["ActionCreated", "ActionUpdated"] {
        emulator.subscribe(event, &hook.url);
    }
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/admin{path}", env.sandbox.actionstep_url());
    let early: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Müller Lease Review", "actionType": seed::CONVEYANCING,
            "assignedTo": seed::LI_WONG, "clients": [seed::MULLER]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(early["deliveries"][0]["status"], 200, "{early}");
    assert!(workspace_named(&env, "Müller Lease Review").is_none());
    assert!(
        env.state()
            .custom_values("custom1")
            .iter()
            .all(|v| !v.description.contains("Actionstep participant")),
        "no placeholder reached iManage"
    );

    let connected = connect_actionstep(&rt).await.expect("connected");
    assert!(connected.contains("sandboxlaw"), "{connected}");
    let check = rt.check_connection().await.unwrap();
    let report = match &check {
        Ok(r) => r.clone(),
        Err(e) => e.to_string(),
    };
    assert!(
        report.contains("✓ actionstep: connected to sandboxlaw"),
        "{report}"
    );

    // The delivery held while disconnected goes through with real names on replay.
    let replay = rt.replay_events().await.unwrap().unwrap();
    assert!(replay.still_held.is_empty(), "{replay:?}");
    let early_ws = workspace_named(&env, "Müller Lease Review").expect("replayed");
    assert_eq!(
        lookup_description(&env, "custom1", &seed::MULLER.to_string()).as_deref(),
        Some("Müller & Söhne GmbH")
    );
    assert_eq!(custom(&early_ws, "custom3"), "Conveyancing");

    // Created in Actionstep now: the client's real name, the type's template, the lawyer.
    let created: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Brontë v Café", "actionType": seed::LITIGATION,
            "assignedTo": seed::JANE_SMITH, "clients": [seed::ZOE]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(created["deliveries"][0]["status"], 200, "{created}");
    let ws = workspace_named(&env, "Brontë v Café").expect("a workspace");
    assert_eq!(custom(&ws, "custom1"), seed::ZOE.to_string());
    assert_eq!(
        lookup_description(&env, "custom1", &seed::ZOE.to_string()).as_deref(),
        Some("Zoë Brontë-O'Connor")
    );
    assert_eq!(custom(&ws, "custom3"), "Litigation", "the type's name");
    assert_eq!(
        ws.name_value_pairs.get("TemplateId").map(String::as_str),
        Some("ACTIVE!100"),
        "the Litigation template, chosen by the type's name"
    );
    assert_eq!(
        custom(&ws, "custom14"),
        "Jane Smith",
        "the assigned lawyer's name"
    );

    // Actionstep down: the delivery is still answered 200, held, and replayed later.
    emulator.set_down(true);
    let down: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Ngāta Estate", "actionType": seed::LITIGATION,
            "assignedTo": seed::JANE_SMITH, "clients": [seed::CAFE]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(down["deliveries"][0]["status"], 200, "{down}");
    assert!(workspace_named(&env, "Ngāta Estate").is_none());
    emulator.set_down(false);
    let replay = rt.replay_events().await.unwrap().unwrap();
    assert!(replay.still_held.is_empty(), "{replay:?}");
    assert!(workspace_named(&env, "Ngāta Estate").is_some());
    assert_eq!(
        lookup_description(&env, "custom1", &seed::CAFE.to_string()).as_deref(),
        Some("Société Générale de Café SA")
    );
    // Two hours on, the access token has expired: the next lookup refreshes it first (once).
    let generation =
        |env: &Env| env.kv().get_json("actionstep/tokens").unwrap()["generation"].clone();
    let before = generation(&env);
    matterlink_e2e::advance(
        &env,
        &[&rt, &hook.server.runtime],
        std::time::Duration::from_secs(2 * 3600),
    );
    let later: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Wong Family Trust", "actionType": seed::CONVEYANCING,
            "assignedTo": seed::LI_WONG, "clients": [seed::AROHA]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(later["deliveries"][0]["status"], 200, "{later}");
    assert!(
        workspace_named(&env, "Wong Family Trust").is_some(),
        "{later}"
    );
    assert_eq!(
        generation(&env),
        json!(before.as_u64().unwrap() + 1),
        "one refresh"
    );
    assert!(emulator.switched_off_hooks().is_empty());
    hook.server.stop().await;
}

/// A client added to or removed from an action in Actionstep keeps the workspace's all-clients
/// field current, when `sync_fields_on_update` is on.
#[tokio::test]
async fn client_participants_added_and_removed_keep_the_clients_field_current() {
    use imanage_sandbox::actionstep::seed;
    let env = Env::start().await;
    let mut config = api_config(&env);
    config.set("clients_field", "custom16");
    config.set("sync_fields_on_update", "true");
    let rt = env.runtime_with(config.clone());
    connect_actionstep(&rt).await.expect("connected");
    let hook = Hook::start(&env, config).await;
    let emulator = env.sandbox.actionstep();
    for event in [
        "ActionCreated",
        "ActionUpdated",
        "ActionParticipantAdded",
        "ActionParticipantDeleted",
    ] {
        emulator.subscribe(event, &hook.url);
    }
    let http = reqwest::Client::new();
    let admin = |path: &str| format!("{}/admin{path}", env.sandbox.actionstep_url());
    let created: Value = http
        .post(admin("/actions"))
        .json(
            &json!({"name": "Ngāta Whānau Trust", "actionType": seed::CONVEYANCING,
            "assignedTo": seed::LI_WONG, "clients": [seed::AROHA]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["action"]["id"].as_u64().unwrap();
    let clients_field = |env: &Env| {
        custom(
            &workspace_named(env, "Ngāta Whānau Trust").unwrap(),
            "custom16",
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    };
    assert!(
        clients_field(&env).contains("Aroha Ngāta"),
        "{}",
        clients_field(&env)
    );
    assert!(!clients_field(&env).contains("Müller"));

    let participants = admin(&format!("/actions/{id}/participants"));
    for shape in [
        imanage_sandbox::actionstep::HookShape::Array,
        imanage_sandbox::actionstep::HookShape::JsonApi,
    ] {
        emulator.set_hook_shape(shape);
        let added: Value = http
            .post(&participants)
            .json(&json!({"participant": seed::MULLER}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(added["deliveries"][0]["status"], 200, "{added}");
        let field = clients_field(&env);
        assert!(
            field.contains("Aroha Ngāta") && field.contains("Müller & Söhne GmbH"),
            "{field}"
        );
        let removed: Value = http
            .delete(&participants)
            .json(&json!({"participant": seed::MULLER}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(removed["deliveries"][0]["status"], 200, "{removed}");
        let field = clients_field(&env);
        assert!(
            field.contains("Aroha Ngāta") && !field.contains("Müller"),
            "{field}"
        );
    }
    assert!(emulator.switched_off_hooks().is_empty());
    hook.server.stop().await;
}

/// `check`'s report, passing or not.
async fn check(rt: &matterlink_host::Runtime) -> String {
    match rt.check_connection().await.unwrap() {
        Ok(r) => r,
        Err(e) => e.to_string(),
    }
}

/// `matterlink actionstep hooks install` registers every event through the Actionstep API;
/// actions then arrive by themselves; `check` sees the hooks, and says so when they are gone or
/// switched off; the token never shows.
#[tokio::test]
async fn hooks_installed_by_matterlink_deliver_and_check_watches_them() {
    use imanage_sandbox::actionstep::seed;
    let env = Env::start().await;
    let mut config = api_config(&env);
    // The owner is the iManage user with the assigned lawyer's email.
    config.set("owner_policy", "current_user");
    let rt = env.runtime_with(config.clone());
    connect_actionstep(&rt).await.expect("connected");
    let hook = Hook::start(&env, config).await;
    let emulator = env.sandbox.actionstep();
    let public = hook.server.url.clone();
    let before = check(&rt).await;
    assert!(
        before.contains("✗ actionstep hooks: missing: ActionCreated"),
        "{before}"
    );

    let installed = rt.actionstep_hooks_install(&public).await.unwrap().unwrap();
    let events: Vec<&str> = installed.iter().map(|h| h.event_name.as_str()).collect();
    assert_eq!(
        events,
        vec![
            "ActionCreated",
            "ActionUpdated",
            "ActionParticipantAdded",
            "ActionParticipantDeleted"
        ]
    );
    for h in &installed {
        assert!(h.ours && h.active(), "{h:?}");
        assert!(!h.target_url.contains(ACTIONSTEP_TOKEN), "{h:?}");
        assert!(h.target_url.ends_with("/v1/actionstep/<redacted>"), "{h:?}");
    }
    // In Actionstep, the hooks point at the token route.
    assert!(emulator
        .hooks()
        .iter()
        .all(|h| h.target_url == hook.url && h.status == "Active"));
    // Installing again changes nothing.
    rt.actionstep_hooks_install(&public).await.unwrap().unwrap();
    assert_eq!(emulator.hooks().len(), 4);
    let after = check(&rt).await;
    assert!(after.contains("✓ actionstep hooks:"), "{after}");
    assert!(!after.contains(ACTIONSTEP_TOKEN));

    // An action made in Actionstep arrives by itself, with its client's real name.
    let http = reqwest::Client::new();
    let made: Value = http
        .post(format!("{}/admin/actions", env.sandbox.actionstep_url()))
        .json(
            &json!({"name": "Café Lease", "actionType": seed::CONVEYANCING,
            "assignedTo": seed::LI_WONG, "clients": [seed::CAFE]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(made["deliveries"][0]["status"], 200, "{made}");
    let lease = workspace_named(&env, "Café Lease").expect("a workspace");
    assert_eq!(lease.owner, "LWONG", "Li Wong, by her email");
    assert_eq!(custom(&lease, "custom14"), "Li Wong");
    assert_eq!(
        lookup_description(&env, "custom1", &seed::CAFE.to_string()).as_deref(),
        Some("Société Générale de Café SA")
    );

    // A hook Actionstep switched off is reported, and installing again restores it.
    hook.server.stop().await;
    let unanswered: Value = http
        .post(format!("{}/admin/actions", env.sandbox.actionstep_url()))
        .json(
            &json!({"name": "Nobody Home", "actionType": seed::LITIGATION, "clients": [seed::ZOE]}),
        )
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        unanswered["deliveries"][0]["consequence"], "disabled",
        "{unanswered}"
    );
    let reported = check(&rt).await;
    assert!(
        reported.contains("switched off by Actionstep") && reported.contains("ActionCreated"),
        "{reported}"
    );
    let restored = rt.actionstep_hooks_install(&public).await.unwrap().unwrap();
    assert!(restored.iter().all(|h| h.active()), "{restored:?}");
    assert_eq!(emulator.hooks().len(), 4);

    let removed = rt.actionstep_hooks_remove().await.unwrap().unwrap();
    assert_eq!(removed.len(), 4);
    assert!(emulator.hooks().is_empty());
}
