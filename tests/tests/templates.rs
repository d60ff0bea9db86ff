//! Templates as iManage shapes them, end to end: the real `.wasm` provisions from the sandbox's
//! Litigation template (`ACTIVE!100`), which holds an optional folder marked only in its
//! name-value pairs, an email folder, a folder with a profile inheriting the workspace's values, a
//! folder with its own security, a tab with a folder in it and a search folder. And My Matters.

use imanage_sandbox::{AccessLevel, DefaultSecurity, Folder, FolderKind, ViewType};
use matterlink_e2e::imanage::Admin;
use matterlink_e2e::{call, fixture, folder_paths, Env};
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::runtime::KEY_VALUE_FILE;
use matterlink_host::Function;
use reqwest::Method;
use serde_json::{json, Value};

fn by_name<'f>(folders: &'f [Folder], name: &str) -> &'f Folder {
    folders
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("{name} was made: {folders:?}"))
}

#[tokio::test]
async fn every_part_of_the_template_is_copied_as_what_it_is() {
    let env = Env::start().await;
    let admin = Admin::sign_in(&env).await;
    // The template's Billing folder is optional only by its name-value pairs, as in iManage.
    let (_, billing) = admin.send(Method::GET, "/folders/ACTIVE!106", None).await;
    assert!(billing["data"].get("optional").is_none(), "{billing}");
    let (_, pairs) = admin
        .send(Method::GET, "/folders/ACTIVE!106/name-value-pairs", None)
        .await;
    assert_eq!(
        pairs,
        json!({"data": [{"name": "IMCC_IsOptional", "value": "true"}]})
    );

    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .expect("provisioned");
    let id = ws["id"].as_str().unwrap();
    let state = env.state();
    assert_eq!(
        folder_paths(&state, id),
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
        ],
        "everything but the optional Billing"
    );
    let folders = state.folders_of(id);

    let court = by_name(&folders, "Court");
    assert_eq!(court.kind, FolderKind::Tab);
    assert_eq!(court.parent_id, id);
    let hearings = by_name(&folders, "Hearings");
    assert_eq!(hearings.kind, FolderKind::Folder);
    assert_eq!(
        hearings.parent_id, court.id,
        "the tab's folder is in the tab"
    );

    let orders = by_name(&folders, "Orders");
    assert_eq!(orders.kind, FolderKind::SearchFolder);
    assert_eq!(
        orders.searchprofile,
        Some(json!({"class": "ORDER", "custom2": "1042"})),
        "the search is this matter's"
    );

    assert_eq!(
        by_name(&folders, "Correspondence").view_type,
        ViewType::Email
    );
    assert_eq!(by_name(&folders, "Filed").view_type, ViewType::Document);

    // Class and subclass from the template folder's name-value pairs, custom1/custom2 from
    // the workspace through `%workspace_value%`.
    assert_eq!(
        by_name(&folders, "Pleadings").profile,
        Some(json!({"class": "PLEAD", "subclass": "COURT", "custom1": "C-100", "custom2": "1042"}))
    );

    let evidence = by_name(&folders, "Evidence");
    assert_eq!(evidence.default_security, DefaultSecurity::Private);
    let members: Vec<(&str, AccessLevel)> = evidence
        .members
        .iter()
        .map(|m| (m.id.as_str(), m.access_level))
        .collect();
    assert_eq!(
        members,
        vec![
            ("JSMITH", AccessLevel::FullAccess),
            ("MCHEN", AccessLevel::Read)
        ]
    );
    assert_eq!(
        by_name(&folders, "Pleadings").default_security,
        DefaultSecurity::Inherit,
        "folders without their own security inherit"
    );
    assert!(by_name(&folders, "Pleadings").members.is_empty());

    let stored = state.workspace(id).unwrap();
    assert_eq!(
        serde_json::to_value(&stored.name_value_pairs).unwrap(),
        json!({"PracticeArea": "Litigation", "RetentionYears": "7", "TemplateId": "ACTIVE!100"})
    );
    assert!(
        state.my_matters("JSMITH").is_empty(),
        "My Matters is off unless configured"
    );

    // Documents are filed into the document folder as before.
    let link = env.kv().get_json("link/matter/1042").unwrap();
    assert_eq!(
        link["document_folder_id"],
        by_name(&folders, "Generated Documents").id.as_str()
    );
}

#[tokio::test]
async fn the_sandbox_refuses_what_imanage_would() {
    let env = Env::start().await;
    let admin = Admin::sign_in(&env).await;
    let ws = admin
        .create_workspace(json!({"name": "By hand", "default_security": "public"}))
        .await;
    let (status, tab) = admin
        .send(
            Method::POST,
            &format!("/workspaces/{ws}/tabs"),
            Some(json!({"name": "Court"})),
        )
        .await;
    assert_eq!(status, 201, "{tab}");
    let (status, _) = admin
        .send(
            Method::POST,
            &format!("/workspaces/{ws}/search-folders"),
            Some(json!({"name": "Orders"})),
        )
        .await;
    assert_eq!(status, 400, "a search folder needs its search");
    let (status, search) = admin
        .send(
            Method::POST,
            &format!("/workspaces/{ws}/search-folders"),
            Some(json!({"name": "Orders", "searchprofile": {"class": "ORDER"}})),
        )
        .await;
    assert_eq!(status, 201, "{search}");
    let search_id = search["data"]["id"].as_str().unwrap();
    let (status, _) = admin
        .send(
            Method::POST,
            &format!("/folders/{search_id}/subfolders"),
            Some(json!({"name": "Inside"})),
        )
        .await;
    assert_eq!(status, 400, "a search folder holds no folders");
    let (status, _) = admin
        .send(
            Method::POST,
            &format!("/workspaces/{ws}/folders"),
            Some(json!({"name": "Pleadings", "profile": {"custom1": "%workspace_value%"}})),
        )
        .await;
    assert_eq!(status, 400, "the placeholder is the copier's to resolve");
    let (status, _) = admin
        .send(
            Method::POST,
            "/workspaces/ACTIVE!100/tabs",
            Some(json!({"name": "More"})),
        )
        .await;
    assert_eq!(status, 403, "templates stay as they are");
    // A folder listing shows folders and tabs; search folders have their own listing.
    let (_, listed) = admin
        .send(Method::GET, &format!("/folders?container_id={ws}"), None)
        .await;
    let kinds: Vec<&str> = listed["data"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["wstype"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["tab"]);
    let (status, _) = admin
        .send(
            Method::POST,
            "/users/NOBODY/my-matters",
            Some(json!({"id": ws})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = admin
        .send(
            Method::POST,
            "/users/JSMITH/my-matters",
            Some(json!({"id": "ACTIVE!100"})),
        )
        .await;
    assert_eq!(status, 400, "a template is no matter");
}

#[tokio::test]
async fn a_template_cached_in_the_old_shape_is_read_again() {
    let env = Env::start().await;
    let rt = env.runtime();
    // What an earlier matterlink cached: every folder flat, Billing not optional, no tabs.
    let old = json!({"id": "ACTIVE!100", "default_security": "private", "members": [],
    "folders": [
        {"id": "ACTIVE!101", "name": "Correspondence", "parent_id": "ACTIVE!100", "optional": false},
        {"id": "ACTIVE!106", "name": "Billing", "parent_id": "ACTIVE!100", "optional": false},
    ]});
    Sqlite::open(&env.data_dir().join(KEY_VALUE_FILE))
        .unwrap()
        .set(
            "default",
            "cache/template/ACTIVE/ACTIVE!100",
            old.to_string().as_bytes(),
        )
        .unwrap();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let paths = folder_paths(&env.state(), ws["id"].as_str().unwrap());
    assert!(!paths.contains(&"Billing".to_string()), "{paths:?}");
    assert!(paths.contains(&"Court/Hearings".to_string()), "{paths:?}");
    let cached: Value = env
        .kv()
        .get_json("cache/template/ACTIVE/ACTIVE!100")
        .unwrap();
    // 3: members parsed, with the shape the library wrote them in (2 kept raw entries).
    assert_eq!(cached["shape"], 3, "the cache holds the new shape");
    assert_eq!(cached["member_shape"], "typed");
    assert!(cached["members"].as_array().is_some_and(|m| !m.is_empty()));
    let kinds: Vec<&str> = cached["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.contains(&"tab") && kinds.contains(&"search_folder"));
}

#[tokio::test]
async fn my_matters_for_owner_and_lawyer_taken_off_on_close_when_configured() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("my_matters", "true");
    config.set("my_matters_on_close", "remove");
    let rt = env.runtime_with(config);
    let matter = fixture("matter-basic.json");
    let ws = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    let id = ws["id"].as_str().unwrap();
    let state = env.state();
    // The owner (the service account, by owner_policy) and the assigned lawyer.
    assert_eq!(state.my_matters(imanage_sandbox::SERVICE_USER), vec![id]);
    assert_eq!(state.my_matters("JSMITH"), vec![id]);
    assert!(state.my_matters("MCHEN").is_empty());

    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert!(state.my_matters(imanage_sandbox::SERVICE_USER).is_empty());
    assert!(state.my_matters("JSMITH").is_empty());
    // A retried close changes nothing more.
    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();

    call(&rt, Function::OnMatterReopened, &matter)
        .await
        .unwrap();
    assert_eq!(
        state.my_matters("JSMITH"),
        vec![id],
        "reopening puts it back"
    );
    assert_eq!(state.my_matters(imanage_sandbox::SERVICE_USER), vec![id]);
}

#[tokio::test]
async fn my_matters_stay_on_close_by_default() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set("my_matters", "true");
    let rt = env.runtime_with(config);
    let matter = fixture("matter-basic.json");
    let ws = call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    assert_eq!(
        env.state().my_matters("JSMITH"),
        vec![ws["id"].as_str().unwrap()]
    );
}
