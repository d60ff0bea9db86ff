//! Connecting and staying connected, end to end: the real `.wasm` in the real host against the
//! sandbox, with the sandbox's and the component's clocks moved together instead of waiting.
//!
//! Covered: the OAuth code flow through the loopback listener; refresh ahead of expiry; a 401
//! answered by one refresh and one retry; ten concurrent calls at expiry sharing one refresh; an
//! expired or revoked refresh token answering `not-connected` everywhere until a reconnect; the
//! service account falling back to its password; library routes. (No secret in the most verbose
//! logs: `auth_logs.rs`.)

use std::time::Duration;

use imanage_sandbox::{Faults, SandboxConfig};
use matterlink_e2e::{advance, call, connect, connect_after_strays, fixture, oauth_config, Env};
use matterlink_host::{Args, Function, Runtime};
use serde_json::Value;

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);

/// A sandbox whose sign-in page approves at once as `user`.
async fn oauth_env(user: &str) -> Env {
    Env::start_with(SandboxConfig {
        auto_approve: Some(user.into()),
        ..SandboxConfig::default()
    })
    .await
}

async fn connected(env: &Env, rt: &Runtime) -> String {
    let (outcome, _) = connect(env, rt).await;
    outcome.expect("connected")
}

fn tokens(env: &Env) -> Value {
    env.kv().get_json("auth/tokens").expect("token record")
}

fn list_folders(id: &str) -> Args {
    Args {
        matter_id: Some(id.into()),
        ..Args::default()
    }
}

/// Anyone who can reach the loopback port could send `?error=…` to the callback: without this
/// sign-in's `state` it must not end the sign-in, which then completes as usual.
#[tokio::test]
async fn an_error_without_this_sign_ins_state_does_not_end_it() {
    let env = oauth_env("JSMITH").await;
    let rt = env.runtime_with(oauth_config(&env));
    let (outcome, _, statuses) = connect_after_strays(
        &env,
        &rt,
        &[
            "error=access_denied&error_description=forged",
            "error=access_denied&state=not-this-one",
            "code=stolen&state=not-this-one",
        ],
    )
    .await;
    assert_eq!(statuses, [400, 400, 400]);
    assert_eq!(outcome.expect("connected"), "JSMITH");
}

#[tokio::test]
async fn the_code_flow_connects_and_the_account_that_signed_in_owns_workspaces() {
    let env = oauth_env("JSMITH").await;
    let rt = env.runtime_with(oauth_config(&env));
    let matter = fixture("matter-basic.json");

    // Not connected yet: told what to do, nothing sent to iManage.
    env.state().reset_request_count();
    let err = call(&rt, Function::OnMatterCreated, &matter)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    assert!(
        err.message().contains("matterlink connect"),
        "{}",
        err.message()
    );
    assert_eq!(env.state().request_count(), 0);

    let (outcome, seen) = connect(&env, &rt).await;
    assert_eq!(outcome.unwrap(), "JSMITH");
    assert!(!seen.code.is_empty() && seen.verifier.len() >= 43);
    assert_eq!(env.state().token_grants("authorization_code"), 1);
    let record = tokens(&env);
    assert_eq!(record["origin"], "authorization_code");
    assert_eq!(record["access_lifetime_s"], 90 * 60);
    assert_eq!(record["refresh_lifetime_s"], 365 * 86_400);
    assert!(
        env.kv().get_json("auth/connect-pending").is_none(),
        "the verifier is gone once used"
    );
    assert_eq!(
        env.kv().get_json("conn/discovery").unwrap()["account"],
        "JSMITH"
    );

    // The connected account is the integration's account (owner_policy = service_account).
    let ws = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let stored = env.state().workspace(ws["id"].as_str().unwrap()).unwrap();
    assert_eq!(stored.owner, "JSMITH");
    assert_eq!(env.state().token_grants("password"), 0);

    // The answer to a sign-in that is not in progress changes nothing.
    let replay = rt
        .connect_complete(&seen.code, &seen.state, "http://127.0.0.1:1/callback")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(replay.kind(), "not-connected");
    assert_eq!(tokens(&env)["access_token"], record["access_token"]);
}

#[tokio::test]
async fn tokens_are_refreshed_ahead_of_expiry() {
    let env = Env::start().await;
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let state = env.state();
    assert_eq!(state.token_grants("password"), 1);
    let first = tokens(&env);

    // 80 of 90 minutes: the token is used as it is.
    advance(&env, &[&rt], 80 * MINUTE);
    rt.call(Function::ListFolders, list_folders("1042"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.token_grants("refresh_token"), 0);

    // 86 of 90: still valid at iManage, but within the margin, so it is refreshed first.
    advance(&env, &[&rt], 6 * MINUTE);
    rt.call(Function::ListFolders, list_folders("1042"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(state.token_grants("refresh_token"), 1);
    assert_eq!(state.token_grants("password"), 1, "no new sign-in");
    let second = tokens(&env);
    assert_ne!(second["access_token"], first["access_token"]);
    assert_ne!(
        second["refresh_token"], first["refresh_token"],
        "the rotated refresh token is kept"
    );
    assert_eq!(
        second["generation"],
        first["generation"].as_u64().unwrap() + 1
    );

    // And again 86 minutes on: the rotated refresh token works.
    advance(&env, &[&rt], 86 * MINUTE);
    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert_eq!(state.token_grants("refresh_token"), 2);
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries_once() {
    let env = oauth_env("sandbox-admin").await;
    let rt = env.runtime_with(oauth_config(&env));
    connected(&env, &rt).await;
    let matter = fixture("matter-basic.json");
    call(&rt, Function::OnMatterCreated, &matter).await.unwrap();

    // iManage forgets the access token early (revoked alone: its refresh token lives on).
    let access = tokens(&env)["access_token"].as_str().unwrap().to_string();
    let revoked = reqwest::Client::new()
        .post(format!("{}/auth/oauth2/revoke", env.sandbox.base_url()))
        .form(&[("token", access.as_str())])
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());

    let state = env.state();
    state.reset_request_count();
    let closed = call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert_eq!(closed["name"], "CLOSED - Smith v Jones");
    assert_eq!(state.token_grants("refresh_token"), 1);
    assert_ne!(tokens(&env)["access_token"], access.as_str());
    // The refused GET, the refresh, the retried GET, the PATCH: one retry, nothing more.
    assert_eq!(state.request_count(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn ten_concurrent_calls_at_expiry_share_one_refresh() {
    let env = oauth_env("sandbox-admin").await;
    // Two runtimes on one data directory: as two processes would share it.
    let a = env.runtime_with(oauth_config(&env));
    let b = env.runtime_with(oauth_config(&env));
    connected(&env, &a).await;
    call(&a, Function::OnMatterCreated, &fixture("matter-basic.json"))
        .await
        .unwrap();
    advance(&env, &[&a, &b], 91 * MINUTE);
    let state = env.state();
    assert_eq!(state.token_grants("refresh_token"), 0);
    // iManage answers slowly, so that every call arrives while the first one is refreshing.
    state.set_faults(Faults {
        latency_ms: 300,
        ..Faults::default()
    });

    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let calls: Vec<_> = (0..10)
        .map(|i| {
            let rt = if i % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move { rt.call(Function::ListFolders, list_folders("1042")).await })
        })
        .collect();
    for c in calls {
        let folders = c.await.unwrap().unwrap().expect("every call succeeds");
        assert!(!folders.as_array().unwrap().is_empty());
    }
    assert_eq!(
        state.token_grants("refresh_token"),
        1,
        "exactly one refresh"
    );
    assert_eq!(tokens(&env)["generation"], 2);
    assert!(
        env.kv().get_json("auth/renewal-claim").is_none(),
        "the claim is released"
    );
}

#[tokio::test]
async fn an_expired_refresh_token_answers_not_connected_everywhere_until_reconnected() {
    let env = oauth_env("sandbox-admin").await;
    let rt = env.runtime_with(oauth_config(&env));
    connected(&env, &rt).await;
    let matter = fixture("matter-basic.json");
    call(&rt, Function::OnMatterCreated, &matter).await.unwrap();

    // A year and a day without a call: the refresh token (365 days) has expired too.
    advance(&env, &[&rt], 366 * DAY);
    let mut renamed = matter.clone();
    renamed.title = "Smith v Jones (Appeal)".into();
    // The rename arrives as an event while disconnected: refused, and kept for replay.
    let update = matterlink_host::Event {
        id: "evt-rename".into(),
        kind: matterlink_host::EventType::Updated,
        matter: renamed.clone(),
    };
    let err = rt
        .call(Function::HandleEvent, update)
        .await
        .unwrap()
        .unwrap_err();
    let kept = env
        .kv()
        .get_json("event/dead/evt-rename")
        .expect("the event is kept");
    assert_eq!(kept["kind"], "not-connected");
    assert_eq!(err.kind(), "not-connected");
    assert!(
        err.message().contains("matterlink connect"),
        "{}",
        err.message()
    );
    assert!(err.message().contains("expired"), "{}", err.message());
    let record = tokens(&env);
    assert!(record["ended"].is_object(), "{record}");
    assert!(record["access_token"] == "" && record["refresh_token"].is_null());

    // Every function that needs iManage says the same, without asking iManage again.
    let state = env.state();
    state.reset_request_count();
    let mut other = fixture("matter-basic.json");
    other.id = "2001".into();
    for outcome in [
        call(&rt, Function::OnMatterCreated, &other).await,
        call(&rt, Function::OnMatterClosed, &matter).await,
        call(&rt, Function::OnMatterReopened, &matter).await,
        call(&rt, Function::ResolveLegacy, &other).await,
        rt.call(Function::ListFolders, list_folders("1042"))
            .await
            .unwrap(),
        rt.call(Function::CheckConnection, Args::default())
            .await
            .unwrap(),
    ] {
        let e = outcome.unwrap_err();
        assert_eq!(e.kind(), "not-connected", "{e}");
        assert!(e.message().contains("matterlink connect"), "{e}");
    }
    assert_eq!(state.request_count(), 0);
    assert_eq!(
        state.workspaces()[0].name,
        "Smith v Jones",
        "nothing changed"
    );

    // Reconnect; the update that failed goes through when it is replayed, as `matterlink
    // connect` does right after connecting.
    assert_eq!(connected(&env, &rt).await, "sandbox-admin");
    let report = rt
        .call(Function::ReplayEvents, Args::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (report["replayed"].as_u64(), report["succeeded"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(state.workspaces()[0].name, "Smith v Jones (Appeal)");
    assert!(env.kv().get_json("event/dead/evt-rename").is_none());
    assert!(env.kv().get_json("event/done/evt-rename").is_some());
}

#[tokio::test]
async fn revoked_tokens_end_an_oauth_connection_but_not_a_service_account() {
    let env = oauth_env("sandbox-admin").await;
    let oauth = env.runtime_with(oauth_config(&env));
    connected(&env, &oauth).await;
    let matter = fixture("matter-basic.json");
    call(&oauth, Function::OnMatterCreated, &matter)
        .await
        .unwrap();
    env.state().revoke_all_tokens();
    let err = call(&oauth, Function::OnMatterClosed, &matter)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    assert!(
        err.message().contains("matterlink connect"),
        "{}",
        err.message()
    );

    // A service account signs in again with its password when its refresh token is refused.
    let other = tempfile::tempdir().unwrap();
    let service = matterlink_e2e::runtime_at(other.path(), env.config(), None);
    let mut m2 = fixture("matter-basic.json");
    m2.id = "3001".into();
    call(&service, Function::OnMatterCreated, &m2)
        .await
        .unwrap();
    let grants = env.state().token_grants("password");
    env.state().revoke_all_tokens();
    advance(&env, &[&service], 91 * MINUTE);
    call(&service, Function::OnMatterClosed, &m2).await.unwrap();
    assert_eq!(env.state().token_grants("password"), grants + 1);
}

#[tokio::test]
async fn check_reports_the_connection_and_the_token_lifetimes_as_reported() {
    let env = oauth_env("sandbox-admin").await;
    let rt = env.runtime_with(oauth_config(&env));
    let before = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(before.kind(), "not-connected");
    assert!(
        before.message().contains("✗ connected") && before.message().contains("matterlink connect"),
        "{}",
        before.message()
    );
    connected(&env, &rt).await;
    let report = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap();
    let report = report.as_str().unwrap();
    for line in [
        "✓ configuration",
        "✓ token: access 90 minutes, refresh 365 days, as iManage reports them",
        "✓ connected: sandbox-admin (OAuth)",
        "✓ discovery: customer 1, libraries ACTIVE, BRANCH",
        "✓ library: ACTIVE is available to sandbox-admin",
        "✓ template Litigation: ACTIVE!100 exists",
    ] {
        assert!(report.contains(line), "{line} missing from:\n{report}");
    }
}

#[tokio::test]
async fn library_routes_send_matters_to_their_library_and_links_remember_it() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set(
        "library_routes",
        r#"[{"library": "BRANCH", "when": {"matter_type": "Conveyancing"},
             "templates": {"Conveyancing": "BRANCH!300"}}]"#,
    );
    let rt = env.runtime_with(config.clone());
    let mut conveyancing = fixture("matter-basic.json");
    conveyancing.id = "5001".into();
    conveyancing.matter_type = "Conveyancing".into();
    let ws = call(&rt, Function::OnMatterCreated, &conveyancing)
        .await
        .unwrap();
    let id = ws["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("BRANCH!"), "{ws}");
    assert_eq!(ws["library"], "BRANCH");
    assert_eq!(
        matterlink_e2e::folder_paths(&env.state(), &id),
        vec![
            "Client Documents",
            "Correspondence",
            "Correspondence/Filed",
            "Documents",
            "Documents/Generated Documents",
        ],
        "the BRANCH template's folders, its optional Archive skipped"
    );
    // Lookups live in the library the workspace is in.
    let state = env.state();
    assert_eq!(state.custom_values_in("BRANCH", "custom2")[0].id, "5001");
    assert!(state.custom_values("custom2").is_empty());
    assert_eq!(
        env.kv().get_json("link/matter/5001").unwrap()["workspace"]["library"],
        "BRANCH"
    );

    // Later calls go to the link's library, even once the routes no longer send it there.
    let rt = env.runtime_with(env.config());
    let closed = call(&rt, Function::OnMatterClosed, &conveyancing)
        .await
        .unwrap();
    assert_eq!(closed["name"], "CLOSED - Smith v Jones");
    assert_eq!(state.workspace(&id).unwrap().name, "CLOSED - Smith v Jones");
    let doc = rt
        .call(
            Function::FileDocument,
            Args {
                matter_id: Some("5001".into()),
                name: Some("invoice.pdf".into()),
                content: Some(b"%PDF-1.4 branch".to_vec()),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert!(doc.as_str().unwrap().starts_with("BRANCH!"), "{doc}");

    // Other matters stay in imanage_library with its templates.
    let rt = env.runtime_with(config);
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    assert_eq!(ws["library"], "ACTIVE");
    let report = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap();
    let report = report.as_str().unwrap();
    assert!(
        report.contains("✓ library BRANCH (library_routes): BRANCH is available"),
        "{report}"
    );
    assert!(
        report.contains("✓ template Conveyancing in BRANCH: BRANCH!300 exists"),
        "{report}"
    );
}

#[tokio::test]
async fn a_library_the_account_does_not_see_is_a_clear_error() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("imanage_library", "NOPE");
    config.set("templates", "{}");
    let err = call(
        &env.runtime_with(config),
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(
        err.message().contains("`imanage_library`")
            && err.message().contains("NOPE")
            && err.message().contains("ACTIVE, BRANCH"),
        "{}",
        err.message()
    );
    assert!(env.state().workspaces().is_empty());
}
