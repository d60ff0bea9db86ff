//! The whole matter lifecycle through the real component against the sandbox: naming, scope,
//! templates, owners, updates, closing and reopening with every close action.

use matterlink_e2e::{call, fixture, folder_paths, Env};
use matterlink_host::{Function, Matter};
use serde_json::Value;

fn custom(env: &Env, id: &str) -> Value {
    serde_json::to_value(&env.state().workspace(id).unwrap().custom).unwrap()
}

async fn created(rt: &matterlink_host::Runtime, m: &Matter) -> String {
    let ws = call(rt, Function::OnMatterCreated, m)
        .await
        .expect("provisioned");
    ws["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn map_metadata_checks_kinds_cleans_values_and_keeps_every_client() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("field_map", r#"{"Title": "custom17"}"#);
    let err = call(
        &env.runtime_with(config),
        Function::MapMetadata,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(
        err.message().contains("custom17") && err.message().contains("Title"),
        "{}",
        err.message()
    );

    let mut config = env.config();
    config.set("clients_field", "custom16");
    let rt = env.runtime_with(config);
    let mut m = fixture("matter-multi-client.json");
    m.title = format!("Purchase\u{0} of\t12 Harbour St {}", "é".repeat(300));
    let fields = call(&rt, Function::MapMetadata, &m).await.unwrap();
    let get = |name: &str| {
        fields
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == name)
            .map(|f| f["value"].as_str().unwrap().to_string())
    };
    assert_eq!(
        get("custom1").unwrap(),
        "C-201",
        "the first client is custom1"
    );
    assert_eq!(
        get("custom16").unwrap(),
        "C-201 Ngā Tāngata Trust; C-202 Ōtautahi Holdings; C-203 Société Générale de Test"
    );
    // The demo maps nothing to Title, so check cleaning where the title lands: the workspace name.
    let ws = call(&rt, Function::OnMatterCreated, &m).await.unwrap();
    let name = ws["name"].as_str().unwrap();
    assert_eq!(name.chars().count(), 254);
    assert!(name.starts_with("Purchase of 12 Harbour St éé"), "{name}");
    assert!(!name.chars().any(char::is_control));
}

#[tokio::test]
async fn auto_create_off_and_types_outside_the_allow_list_are_skipped_with_nothing_written() {
    let env = Env::start().await;
    let state = env.state();
    let mut off = env.config();
    off.set("auto_create", "false");
    let err = call(
        &env.runtime_with(off),
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "skipped");
    assert!(err.message().contains("auto_create"));

    let mut scoped = env.config();
    scoped.set("matter_types", r#"["Conveyancing"]"#);
    state.reset_request_count();
    let err = call(
        &env.runtime_with(scoped),
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "skipped");
    assert!(err.message().contains("Litigation"), "{}", err.message());
    assert_eq!(state.request_count(), 0);
    assert!(state.workspaces().is_empty());
    assert!(env.kv().get_json("link/matter/1042").is_none());
}

#[tokio::test]
async fn templates_by_type_owner_policies_and_folder_names() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("owner_policy", "current_user");
    config.set("root_folder", "Matter");
    config.set("document_folder", "Invoices");
    let rt = env.runtime_with(config);

    let mut m = fixture("matter-multi-client.json"); // Conveyancing → ACTIVE!200, no acting_user
    let err = call(&rt, Function::OnMatterCreated, &m).await.unwrap_err();
    assert_eq!(err.kind(), "invalid-matter");
    assert!(err.message().contains("acting_user"));
    assert!(env.state().workspaces().is_empty());

    m.acting_user = Some("APATEL".into());
    let id = created(&rt, &m).await;
    let ws = env.state().workspace(&id).unwrap();
    assert_eq!(ws.owner, "APATEL");
    assert_eq!(
        serde_json::to_value(&ws).unwrap()["default_security"],
        "public",
        "the template's security"
    );
    assert_eq!(
        folder_paths(&env.state(), &id),
        vec![
            "Contracts",
            "Correspondence",
            "Due Diligence",
            "Due Diligence/Searches",
            "Matter",
            "Matter/Invoices",
            "Settlement"
        ],
        "Board Minutes is optional and skipped"
    );
}

#[tokio::test]
async fn require_template_refuses_a_type_without_one() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("require_template", "true");
    let err = call(
        &env.runtime_with(config),
        Function::OnMatterCreated,
        &fixture("matter-legacy.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(err.message().contains("Probate"));
    assert!(env.state().workspaces().is_empty());
}

#[tokio::test]
async fn workspace_name_template_on_create_and_rename_and_refused_when_unknown() {
    let env = Env::start().await;
    let mut bad = env.config();
    bad.set("workspace_name", "{matter_id} {colour}");
    env.state().reset_request_count();
    let err = call(
        &env.runtime_with(bad),
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(err.message().contains("{colour}"));
    assert_eq!(
        env.state().request_count(),
        0,
        "refused at load, before any request"
    );

    let mut config = env.config();
    config.set("workspace_name", "{matter_id} - {title} ({client_name})");
    let rt = env.runtime_with(config);
    let mut m = fixture("matter-basic.json");
    let id = created(&rt, &m).await;
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "1042 - Smith v Jones (Acme Holdings Ltd)"
    );
    m.title = "Smith v Jones and Others".into();
    let ws = call(&rt, Function::OnMatterUpdated, &m).await.unwrap();
    assert_eq!(
        ws["name"],
        "1042 - Smith v Jones and Others (Acme Holdings Ltd)"
    );
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "1042 - Smith v Jones and Others (Acme Holdings Ltd)"
    );
}

#[tokio::test]
async fn updates_rename_keep_the_closed_prefix_and_sync_fields_only_when_asked() {
    let env = Env::start().await;
    let rt = env.runtime();
    let mut m = fixture("matter-basic.json");
    assert_eq!(
        call(&rt, Function::OnMatterUpdated, &m).await.unwrap(),
        Value::Null,
        "not linked: nothing to update"
    );
    let id = created(&rt, &m).await;

    m.title = "Smith v Jones (Appeal)".into();
    m.assigned_to = Some("MCHEN".into());
    call(&rt, Function::OnMatterUpdated, &m).await.unwrap();
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "Smith v Jones (Appeal)"
    );
    assert_eq!(
        custom(&env, &id)["custom14"],
        "JSMITH",
        "not synced without sync_fields_on_update"
    );
    let lookup = env
        .state()
        .custom_values("custom2")
        .into_iter()
        .find(|c| c.id == "1042")
        .unwrap();
    assert_eq!(
        lookup.description, "Smith v Jones (Appeal)",
        "the matter lookup follows the title"
    );

    call(&rt, Function::OnMatterClosed, &m).await.unwrap();
    m.title = "Smith v Jones (Final)".into();
    call(&rt, Function::OnMatterUpdated, &m).await.unwrap();
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "CLOSED - Smith v Jones (Final)"
    );

    let mut config = env.config();
    config.set("sync_fields_on_update", "true");
    let syncing = env.runtime_with(config);
    call(&syncing, Function::OnMatterUpdated, &m).await.unwrap();
    assert_eq!(custom(&env, &id)["custom14"], "MCHEN");
}

async fn close_and_reopen(action: &str) -> (Env, String, Value, Value, Value) {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("close_action", action);
    let rt = env.runtime_with(config);
    let m = fixture("matter-basic.json");
    let id = created(&rt, &m).await;
    let before = serde_json::to_value(env.state().workspace(&id).unwrap()).unwrap();
    call(&rt, Function::OnMatterClosed, &m).await.unwrap();
    let closed = serde_json::to_value(env.state().workspace(&id).unwrap()).unwrap();
    // A retried close changes nothing more: the workspace is as the first close left it. The
    // clock moves on first, so that a write the retry made would show in `edit_date` too.
    env.state()
        .advance_clock(std::time::Duration::from_secs(60));
    let events = env.state().events().len();
    call(&rt, Function::OnMatterClosed, &m).await.unwrap();
    let retried = serde_json::to_value(env.state().workspace(&id).unwrap()).unwrap();
    assert_eq!(retried, closed, "a retried close changed the workspace");
    assert_eq!(
        env.state().events().len(),
        events,
        "a retried close made changes"
    );
    let audit = rt
        .call(Function::AuditLog, matterlink_host::Args::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (audit[0]["action"].as_str(), audit[0]["outcome"].as_str()),
        (Some("close"), Some("unchanged")),
        "{audit:?}"
    );
    call(&rt, Function::OnMatterReopened, &m).await.unwrap();
    call(&rt, Function::OnMatterReopened, &m).await.unwrap();
    let reopened = serde_json::to_value(env.state().workspace(&id).unwrap()).unwrap();
    (env, id, before, closed, reopened)
}

#[tokio::test]
async fn close_action_none_only_prefixes_and_reopen_removes_it() {
    let (_env, _id, before, closed, reopened) = close_and_reopen("none").await;
    assert_eq!(closed["name"], "CLOSED - Smith v Jones");
    assert_eq!(reopened["name"], before["name"]);
    assert_eq!(reopened["custom"], before["custom"]);
    assert_eq!(reopened["default_security"], before["default_security"]);
}

#[tokio::test]
async fn close_action_flag_sets_a_boolean_field_and_reopen_clears_it() {
    let (_env, _id, _before, closed, reopened) = close_and_reopen("flag:custom25").await;
    assert_eq!(closed["custom"]["custom25"], true);
    assert_eq!(closed["name"], "CLOSED - Smith v Jones");
    assert_eq!(reopened["custom"]["custom25"], false);
    assert_eq!(reopened["name"], "Smith v Jones");
}

#[tokio::test]
async fn close_action_view_sets_default_security_and_reopen_restores_it() {
    let (_env, _id, before, closed, reopened) = close_and_reopen("view").await;
    assert_eq!(before["default_security"], "private");
    assert_eq!(closed["default_security"], "view");
    assert_eq!(reopened["default_security"], "private");
}

#[tokio::test]
async fn close_action_disable_lookup_disables_the_matter_value_and_reopen_enables_it() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("close_action", "disable_lookup");
    let rt = env.runtime_with(config);
    let m = fixture("matter-basic.json");
    created(&rt, &m).await;
    let enabled = || {
        env.state()
            .custom_values("custom2")
            .into_iter()
            .find(|c| c.id == "1042")
            .unwrap()
            .enabled
    };
    assert!(enabled());
    call(&rt, Function::OnMatterClosed, &m).await.unwrap();
    assert!(!enabled());
    call(&rt, Function::OnMatterReopened, &m).await.unwrap();
    assert!(enabled());
}

#[tokio::test]
async fn a_title_that_already_carries_the_prefix_is_not_prefixed_again() {
    let env = Env::start().await;
    let rt = env.runtime();
    let mut m = fixture("matter-basic.json");
    m.title = "CLOSED - Smith v Jones".into();
    let id = created(&rt, &m).await;
    call(&rt, Function::OnMatterClosed, &m).await.unwrap();
    assert_eq!(
        env.state().workspace(&id).unwrap().name,
        "CLOSED - Smith v Jones"
    );
}
