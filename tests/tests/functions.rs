//! The other foundation functions through the real component: map-metadata, on-matter-closed,
//! resolve-legacy.

use matterlink_e2e::{call, fixture, Env};
use matterlink_host::Function;
use serde_json::json;

#[tokio::test]
async fn map_metadata_maps_without_calling_imanage() {
    let env = Env::start().await;
    let rt = env.runtime();
    let state = env.state();
    state.reset_request_count();
    let fields = call(&rt, Function::MapMetadata, &fixture("matter-basic.json"))
        .await
        .unwrap();
    assert_eq!(
        fields,
        json!([
            {"name": "custom1", "value": "C-100"},
            {"name": "custom2", "value": "1042"},
            {"name": "custom3", "value": "Litigation"},
            {"name": "custom13", "value": "LIT-2026-0042"},
            {"name": "custom14", "value": "JSMITH"},
            {"name": "custom15", "value": "Active"},
        ])
    );
    assert_eq!(state.request_count(), 0);
    assert!(env.kv().keys().is_empty());
}

#[tokio::test]
async fn closing_prefixes_the_title_once() {
    let env = Env::start().await;
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    let err = call(&rt, Function::OnMatterClosed, &matter)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not-linked");

    let ws = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let id = ws["id"].as_str().unwrap();
    let closed = call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert_eq!(closed["name"], "CLOSED - Smith v Jones");
    assert_eq!(
        env.state().workspace(id).unwrap().name,
        "CLOSED - Smith v Jones"
    );
    // A retried close changes nothing.
    let again = call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert_eq!(again["name"], "CLOSED - Smith v Jones");
    assert_eq!(
        env.state().workspace(id).unwrap().name,
        "CLOSED - Smith v Jones"
    );
}

#[tokio::test]
async fn resolve_legacy_links_by_matter_id_and_reports_none() {
    let env = Env::start().await;
    let legacy = fixture("matter-legacy.json");
    // The workspace predates this installation: made by another one with its own store.
    let other = tempfile::tempdir().unwrap();
    let before = matterlink_e2e::runtime_at(other.path(), env.config(), None);
    let existing = call(&before, Function::OnMatterCreated, &legacy)
        .await
        .unwrap();

    let rt = env.runtime();
    let found = call(&rt, Function::ResolveLegacy, &legacy).await.unwrap();
    assert_eq!(found, json!({"kind": "linked", "workspace": existing}));
    let link = env.kv().get_json("link/matter/88231").expect("link stored");
    assert_eq!(link["how"], "legacy");

    let mut unknown = legacy.clone();
    unknown.id = "99999".into();
    unknown.file_reference = Some("NO-SUCH-REF".into());
    let none = call(&rt, Function::ResolveLegacy, &unknown).await.unwrap();
    assert_eq!(none, json!({"kind": "none"}));
    assert!(
        env.kv().get_json("link/matter/99999").is_none(),
        "nothing stored for none"
    );
}
