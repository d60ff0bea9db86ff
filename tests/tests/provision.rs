//! on-matter-created end to end: the real `.wasm` in the real host against the sandbox over
//! loopback HTTP.

use matterlink_e2e::{call, fixture, folder_paths, runtime_at, Env};
use matterlink_host::Function;
use serde_json::json;

#[tokio::test]
async fn provisions_workspace_profile_folders_security_and_link() {
    let env = Env::start().await;
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    let ws = call(&rt, Function::OnMatterCreated, &matter)
        .await
        .expect("provisioned");
    let id = ws["id"].as_str().unwrap().to_string();
    assert_eq!(ws["name"], "Smith v Jones");
    assert_eq!(ws["library"], "ACTIVE");
    assert_eq!(
        ws["url"],
        format!("{}/work/link/w/{id}", env.sandbox.base_url())
    );

    let state = env.state();
    let stored = state
        .workspace(&id)
        .expect("workspace exists in the sandbox");
    assert_eq!(stored.name, "Smith v Jones");
    assert_eq!(stored.owner, "sandbox-admin");
    let custom = serde_json::to_value(&stored.custom).unwrap();
    assert_eq!(custom["custom1"], "C-100");
    assert_eq!(custom["custom2"], "1042");
    assert_eq!(custom["custom3"], "Litigation");
    assert_eq!(
        custom["custom13"], "LIT-2026-0042",
        "File Reference per field_map"
    );
    assert_eq!(custom["custom14"], "JSMITH", "Assigned To per field_map");

    let client = state
        .custom_values("custom1")
        .into_iter()
        .find(|c| c.id == "C-100")
        .unwrap();
    assert_eq!(client.description, "Acme Holdings Ltd");
    let m = state
        .custom_values("custom2")
        .into_iter()
        .find(|c| c.id == "1042")
        .unwrap();
    assert_eq!(m.description, "Smith v Jones");
    assert_eq!(m.parent.as_deref(), Some("C-100"));

    // The Litigation template's tree (its Court tab and Orders search folder too) without its
    // optional Billing folder, then root/document. Kinds: tests/tests/templates.rs.
    assert_eq!(
        folder_paths(&state, &id),
        vec![
            "Correspondence",
            "Court",
            "Court/Hearings",
            "Documents",
            "Documents/Generated Documents",
            "Evidence",
            "Orders",
            "Pleadings",
            "Pleadings/Drafts",
            "Pleadings/Filed",
        ]
    );
    // Security as the template defines it.
    let security = serde_json::to_value(&stored).unwrap();
    assert_eq!(security["default_security"], "private");
    let members = security["members"].as_array().unwrap();
    assert!(
        members
            .iter()
            .any(|m| m["id"] == "LITIGATION" && m["access_level"] == "read_write"),
        "{members:?}"
    );
    assert!(
        members
            .iter()
            .any(|m| m["id"] == "JSMITH" && m["access_level"] == "full_access"),
        "{members:?}"
    );

    let link = env
        .kv()
        .get_json("link/matter/1042")
        .expect("link stored in key-value");
    assert_eq!(link["workspace"]["id"], id.as_str());
    assert_eq!(link["how"], "created");
    let docs = state
        .folders_of(&id)
        .into_iter()
        .find(|f| f.name == "Generated Documents")
        .unwrap();
    assert_eq!(link["document_folder_id"], docs.id.as_str());
    assert_eq!(
        env.kv().get_json(&format!("link/workspace/{id}")),
        Some(json!("1042"))
    );
}

#[tokio::test]
async fn a_second_call_returns_the_same_workspace_and_creates_nothing() {
    let env = Env::start().await;
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    let first = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let state = env.state();
    state.reset_request_count();
    let second = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        state.request_count(),
        0,
        "an already linked matter needs no iManage call"
    );
    assert_eq!(state.workspaces().len(), 1);
}

#[tokio::test]
async fn the_link_survives_a_restart_of_the_host() {
    let env = Env::start().await;
    let matter = fixture("matter-basic.json");
    let first = {
        let rt = env.runtime();
        call(&rt, Function::OnMatterCreated, &matter).await.unwrap()
    };
    let state = env.state();
    state.reset_request_count();
    let rt = env.runtime(); // a new process on the same data directory
    let again = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(state.request_count(), 0);
    assert_eq!(state.workspaces().len(), 1);
}

#[tokio::test]
async fn a_matter_without_client_is_refused_and_nothing_is_written() {
    let env = Env::start().await;
    let rt = env.runtime();
    let state = env.state();
    state.reset_request_count();
    let err = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-no-client.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "invalid-matter");
    assert!(err.message().contains("no client"), "{}", err.message());
    assert_eq!(state.request_count(), 0, "iManage was not called");
    assert!(state.workspaces().is_empty());
    assert!(
        env.kv().keys().is_empty(),
        "key-value untouched: {:?}",
        env.kv().keys()
    );
}

#[tokio::test]
async fn a_type_without_template_gets_root_and_document_folders() {
    let env = Env::start().await;
    let rt = env.runtime();
    let mut matter = fixture("matter-legacy.json"); // Probate: no template configured
    matter.id = "5001".into();
    let ws = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let id = ws["id"].as_str().unwrap();
    assert_eq!(
        folder_paths(&env.state(), id),
        vec!["Documents", "Documents/Generated Documents"]
    );
}

#[tokio::test]
async fn concurrent_deliveries_from_two_processes_create_one_workspace() {
    let env = Env::start().await;
    // Two runtimes on one data directory stand for two `matterlink` processes.
    let a = std::sync::Arc::new(env.runtime());
    let b = std::sync::Arc::new(runtime_at(env.data_dir(), env.config(), None));
    let matter = fixture("matter-basic.json");
    let mut tasks = Vec::new();
    for i in 0..8 {
        let rt = if i % 2 == 0 { a.clone() } else { b.clone() };
        let m = matter.clone();
        tasks.push(tokio::spawn(async move {
            rt.call(Function::OnMatterCreated, m).await.unwrap()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        let ws = t.await.unwrap().expect("every delivery gets the workspace");
        ids.push(ws["id"].as_str().unwrap().to_string());
    }
    ids.dedup();
    assert_eq!(
        ids.len(),
        1,
        "all deliveries answered with one workspace: {ids:?}"
    );
    assert_eq!(env.state().workspaces().len(), 1);
}

#[tokio::test]
async fn a_matter_of_a_known_client_costs_its_writes_and_nothing_more() {
    let env = Env::start().await;
    let rt = env.runtime();
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let mut next = fixture("matter-basic.json");
    next.id = "1043".into();
    next.title = "Smith v Jones (No 2)".into();
    let state = env.state();
    state.reset_request_count();
    let ws = call(&rt, Function::OnMatterCreated, &next).await.unwrap();
    let folders = state.folders_of(ws["id"].as_str().unwrap()).len() as u64;
    assert_eq!(folders, 10);
    // The matter's custom2 value, the workspace, the template's members and name-value pairs,
    // one per folder, tab and search folder, and the Evidence folder's own members: the
    // client's and type's values are remembered, and a workspace for a matter whose value was
    // only just made cannot exist, so nothing is looked up.
    assert_eq!(state.request_count(), 1 + 1 + 1 + 1 + folders + 1);

    // A legacy matter's value exists already: then its workspace is looked for, and adopted.
    let mut legacy = fixture("matter-basic.json");
    legacy.id = "1044".into();
    let other = tempfile::tempdir().unwrap();
    let first = call(
        &runtime_at(other.path(), env.config(), None),
        Function::OnMatterCreated,
        &legacy,
    )
    .await
    .unwrap();
    let again = call(&rt, Function::OnMatterCreated, &legacy).await.unwrap();
    assert_eq!(again["id"], first["id"], "adopted, not created twice");
    assert_eq!(
        env.kv().get_json("link/matter/1044").unwrap()["how"],
        "adopted"
    );
}

/// A provisioning that made its workspace and then failed (here the template's security write;
/// a crash at that point is the same) is finished by the next attempt (a retry or a replay): the
/// workspace it finds is its own, so it gets the template's security and name-value pairs, not
/// only the missing folders.
#[tokio::test]
async fn a_workspace_left_half_made_gets_its_template_security_on_replay() {
    let env = Env::start().await;
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    env.state().set_faults(imanage_sandbox::Faults {
        fail_path_suffix: Some("/security".into()),
        ..Default::default()
    });
    let failed = call(&rt, Function::OnMatterCreated, &matter).await;
    assert!(failed.is_err(), "the security write failed: {failed:?}");
    let state = env.state();
    let made = state.workspaces();
    assert_eq!(made.len(), 1, "the workspace was made before the failure");
    let id = made[0].id.clone();
    let members = |state: &imanage_sandbox::SharedState| {
        let stored = serde_json::to_value(state.workspace(&id).unwrap()).unwrap();
        stored["members"].clone()
    };
    assert!(
        !members(&state).to_string().contains("LITIGATION"),
        "no template security yet: {}",
        members(&state)
    );

    env.state().set_faults(imanage_sandbox::Faults::default());
    let again = call(&rt, Function::OnMatterCreated, &matter)
        .await
        .expect("the retry finishes it");
    assert_eq!(again["id"], id.as_str(), "finished, not made again");
    assert_eq!(state.workspaces().len(), 1);
    let members = members(&state);
    assert!(
        members
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "LITIGATION" && m["access_level"] == "read_write"),
        "the template's security: {members}"
    );
    assert_eq!(
        folder_paths(&state, &id).len(),
        10,
        "{:?}",
        folder_paths(&state, &id)
    );
}
