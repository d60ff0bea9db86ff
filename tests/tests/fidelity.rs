//! iManage as it really shapes things, end to end through the real `.wasm` against a sandbox set
//! to behave like the stricter real deployments: request framing, security member shapes, the
//! change-event queue's shapes, typed custom fields, paging, and folder and document profiles.

use imanage_sandbox::{FolderKind, SandboxConfig};
use matterlink_e2e::imanage::Admin;
use matterlink_e2e::{call, fixture, Env};
use matterlink_host::{Args, Function};
use serde_json::json;

fn file_args(matter_id: &str, name: &str, content: Vec<u8>) -> Args {
    Args {
        matter_id: Some(matter_id.into()),
        name: Some(name.into()),
        content: Some(content),
        ..Args::default()
    }
}

/// A gateway that answers 411 to chunked bodies: sign-in, provisioning (JSON bodies) and an upload
/// larger than one 4 KiB write must all go through with `Content-Length`. Against the old client,
/// which framed every body chunked, the very first sign-in was refused.
#[tokio::test]
async fn every_body_carries_content_length() {
    let env = Env::start_with(SandboxConfig {
        refuse_chunked: true,
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .expect("provisioned through a chunk-refusing gateway");
    assert!(ws["id"].as_str().is_some());
    let content: Vec<u8> = (0..50_000).map(|i| (i % 251) as u8).collect();
    let doc = rt
        .call(
            Function::FileDocument,
            file_args("1042", "Invoice 7.pdf", content.clone()),
        )
        .await
        .unwrap()
        .expect("filed through a chunk-refusing gateway");
    let stored = env.state().document(doc.as_str().unwrap()).unwrap();
    assert_eq!(stored.content, content);
    assert_eq!(env.state().chunked_refusals(), 0);
}

fn branch_routes(env: &Env) -> matterlink_host::ConfigStore {
    let mut config = env.config();
    config.set(
        "library_routes",
        r#"[{"library": "BRANCH", "when": {"matter_type": "Conveyancing"},
             "templates": {"Conveyancing": "BRANCH!300"}}]"#,
    );
    config
}

/// The branch library answers security in the other public shape (`user_id`/`is_group`/`access`,
/// the members directly under `data`) and refuses posts in the typed one. The template's group
/// is copied as a group, and the team push writes back in the branch's shape; the main library
/// keeps the typed shape in the same run. Against the old client the template's members were
/// not read at all (the workspace came without the PROPERTY group), and the team push was
/// refused.
#[tokio::test]
async fn security_members_in_each_librarys_shape() {
    let env = Env::start_with(SandboxConfig {
        member_shapes: [("BRANCH".to_string(), imanage_sandbox::MemberShape::Flagged)].into(),
        ..SandboxConfig::default()
    })
    .await;
    let mut config = branch_routes(&env);
    config.set("push_team", "true");
    let rt = env.runtime_with(config);
    let mut conveyancing = fixture("matter-basic.json");
    conveyancing.id = "5001".into();
    conveyancing.matter_type = "Conveyancing".into();
    let ws = call(&rt, Function::OnMatterCreated, &conveyancing)
        .await
        .expect("provisioned in the flagged-shape library");
    let branch_ws = ws["id"].as_str().unwrap().to_string();
    assert!(branch_ws.starts_with("BRANCH!"));
    let members = |id: &str| -> Vec<(String, &'static str, &'static str)> {
        env.state()
            .workspace(id)
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
            .collect()
    };
    assert!(
        members(&branch_ws).contains(&("PROPERTY".into(), "group", "read")),
        "the template's group copied as a group: {:?}",
        members(&branch_ws)
    );

    let team: Vec<matterlink_host::domain::Member> = serde_json::from_value(serde_json::json!([
        {"id": "LITIGATION", "type": "group", "access_level": "read"},
        {"id": "APATEL", "type": "user", "access_level": "full_access"},
    ]))
    .unwrap();
    rt.call(
        Function::ApplyMatterTeam,
        Args {
            matter_id: Some("5001".into()),
            members: Some(team.clone()),
            ..Args::default()
        },
    )
    .await
    .unwrap()
    .expect("the team push writes in the branch's shape");
    let after = members(&branch_ws);
    assert!(
        after.contains(&("LITIGATION".into(), "group", "read")),
        "{after:?}"
    );
    assert!(
        after.contains(&("APATEL".into(), "user", "full_access")),
        "{after:?}"
    );
    assert!(!after.iter().any(|m| m.0 == "PROPERTY"), "{after:?}");

    // The main library, typed, in the same run.
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let main = members(ws["id"].as_str().unwrap());
    assert!(
        main.contains(&("LITIGATION".into(), "group", "read_write")),
        "{main:?}"
    );
}

fn audit_of(env: &Env, action: &str) -> Vec<serde_json::Value> {
    let kv = env.kv();
    kv.keys()
        .iter()
        .filter(|k| k.starts_with("audit/record/"))
        .filter_map(|k| kv.get_json(k))
        .filter(|r| r["action"] == action)
        .collect()
}

/// New folders (the template's and matterlink's own, not tabs or search folders) carry the
/// workspace's client and matter, under the template folder's own profile; an upload carries
/// them too, asks to inherit the folder's profile, and what iManage warns of (here: the matter's
/// lookup value disabled) reaches the audit record. Against the old client the folders had no
/// profile, the document no custom1/custom2, and the warning was dropped.
#[tokio::test]
async fn folders_and_documents_carry_client_and_matter_and_warnings_reach_the_audit() {
    let env = Env::start().await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let ws_id = ws["id"].as_str().unwrap();
    let state = env.state();
    let folders: Vec<_> = state
        .folders_of(ws_id)
        .into_iter()
        .filter(|f| f.kind == FolderKind::Folder)
        .collect();
    assert!(folders.len() >= 6, "{folders:?}");
    for f in &folders {
        let profile = f
            .profile
            .as_ref()
            .unwrap_or_else(|| panic!("{} has a profile", f.name));
        assert_eq!(profile["custom1"], "C-100", "{}", f.name);
        assert_eq!(profile["custom2"], "1042", "{}", f.name);
    }
    // The template folder's own values stay beside them.
    let pleadings = folders.iter().find(|f| f.name == "Pleadings").unwrap();
    assert_eq!(pleadings.profile.as_ref().unwrap()["class"], "PLEAD");

    let doc = rt
        .call(
            Function::FileDocument,
            file_args("1042", "Invoice 1.pdf", b"%PDF".to_vec()),
        )
        .await
        .unwrap()
        .unwrap();
    let stored = state.document(doc.as_str().unwrap()).unwrap();
    assert_eq!(
        stored.custom.get("custom1").map(String::as_str),
        Some("C-100")
    );
    assert_eq!(
        stored.custom.get("custom2").map(String::as_str),
        Some("1042")
    );
    assert!(
        stored.inherited_profile,
        "the folder has a profile to inherit"
    );
    let audit = audit_of(&env, "file-document");
    assert!(
        !audit[0]["detail"].as_str().unwrap().contains("warned"),
        "{audit:?}"
    );

    // A records manager disables the matter's lookup value: iManage still stores the document
    // and warns; the warning is kept where `matterlink log` shows it.
    let admin = matterlink_e2e::imanage::Admin::sign_in(&env).await;
    admin
        .patch(
            "/customs/custom2/1042?parent_alias=C-100",
            serde_json::json!({"enabled": false}),
        )
        .await;
    rt.call(
        Function::FileDocument,
        file_args("1042", "Invoice 2.pdf", b"%PDF".to_vec()),
    )
    .await
    .unwrap()
    .expect("filed despite the warning");
    let audit = audit_of(&env, "file-document");
    let detail = audit[1]["detail"].as_str().unwrap();
    assert!(
        detail.contains("iManage warned: custom2: custom2 value 1042 is disabled"),
        "{detail}"
    );
}

/// Typed custom fields: a status a matter system sends as a flag goes out as a JSON boolean and
/// a priority as a number (the sandbox, like iManage, refuses `"true"` and `"2"`), and a map
/// that can never fit its field's kind is refused when the configuration loads. Against the old
/// client the values went out as strings, and the sandbox refused the workspace.
#[tokio::test]
async fn typed_fields_go_out_with_their_kind() {
    let env = Env::start().await;
    let mut config = env.config();
    config.set(
        "field_map",
        r#"{"File Reference": "custom13", "Status": "custom25", "Priority": "custom17"}"#,
    );
    let rt = env.runtime_with(config);
    let mut m = fixture("matter-basic.json");
    m.status = Some("true".into());
    m.priority = Some("2".into());
    let ws = call(&rt, Function::OnMatterCreated, &m)
        .await
        .expect("typed values accepted");
    let stored = env.state().workspace(ws["id"].as_str().unwrap()).unwrap();
    assert_eq!(stored.custom["custom25"], serde_json::json!(true));
    assert_eq!(stored.custom["custom17"], serde_json::json!(2));

    let mut bad = env.config();
    bad.set("field_map", r#"{"Title": "custom26"}"#);
    let err = env
        .runtime_with(bad)
        .call(
            Function::MapMetadata,
            Args {
                matter: Some(fixture("matter-basic.json")),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "not-configured", "{err:?}");
    assert!(err.message().contains("custom26"), "{err:?}");
}

/// Lists answered two items a page: the template's folders, tabs and search folders (several
/// pages each) are all copied and list-folders sees every folder and tab of the workspace.
/// Against the old client, which read the first page only, the workspace got two of the
/// template's folders.
#[tokio::test]
async fn lists_are_read_page_by_page() {
    let env = Env::start_with(SandboxConfig {
        page_size: 2,
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let ws_id = ws["id"].as_str().unwrap();
    let paths = matterlink_e2e::folder_paths(&env.state(), ws_id);
    for want in [
        "Correspondence",
        "Pleadings/Filed",
        "Pleadings/Drafts",
        "Evidence",
        "Court/Hearings",
        "Orders",
    ] {
        assert!(paths.iter().any(|p| p == want), "{want} in {paths:?}");
    }
    // Search folders have their own listing; list-folders shows folders and tabs.
    let searches = env
        .state()
        .folders_of(ws_id)
        .iter()
        .filter(|f| f.kind == FolderKind::SearchFolder)
        .count();
    assert_eq!(searches, 1);
    let listed = rt
        .call(
            Function::ListFolders,
            Args {
                matter_id: Some("1042".into()),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        listed.as_array().unwrap().len(),
        paths.len() - searches,
        "{listed}"
    );
}

/// A template folder's own security in the flagged shape (the main library answering
/// `user_id`/`is_group`/`access`, members directly under `data`): read as members and written
/// back in that shape, so Evidence keeps its two members. The template half's reader took raw
/// entries from `data.members` only, which this answer has not: Evidence would get none.
#[tokio::test]
async fn template_folder_security_in_the_librarys_shape() {
    let env = Env::start_with(SandboxConfig {
        member_shapes: [("ACTIVE".to_string(), imanage_sandbox::MemberShape::Flagged)].into(),
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .expect("provisioned in the flagged-shape library");
    let state = env.state();
    let ws_id = ws["id"].as_str().unwrap();
    let evidence = state
        .folders_of(ws_id)
        .into_iter()
        .find(|f| f.name == "Evidence")
        .unwrap();
    let members: Vec<(String, &str, &str)> = evidence
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
    assert!(
        members.contains(&("JSMITH".into(), "user", "full_access"))
            && members.contains(&("MCHEN".into(), "user", "read")),
        "{members:?}"
    );
    let workspace = state.workspace(ws_id).unwrap();
    assert!(
        workspace
            .members
            .iter()
            .any(|m| m.id == "LITIGATION" && m.member_type.as_str() == "group"),
        "the template's group copied as a group"
    );
}

/// Every list matterlink reads, answered one item a page: the library's templates (the check
/// finds the second one), the template's security and a template folder's own security (every
/// member copied), the workspace search (every candidate of a legacy matter), a folder's
/// documents (the upload committed before a failure is found on the third page, not filed
/// again), and the change feed's security reads (per-workspace security, the Sync API crawls):
/// a wall that is the workspace's fourth member is reported. Against a client that took one page
/// for the whole list, each of these saw only the first item.
#[tokio::test]
async fn every_list_read_pages_until_done() {
    let env = Env::start_with(SandboxConfig {
        page_size: 1,
        ..SandboxConfig::default()
    })
    .await;
    let state = env.state();
    let rt = env.runtime();

    // Templates: ACTIVE!200 is on the second page.
    let report = rt
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .expect("the check passes");
    let report = report.as_str().unwrap();
    assert!(
        report.contains("✓ template Litigation: ACTIVE!100 exists")
            && report.contains("✓ template Conveyancing: ACTIVE!200 exists"),
        "{report}"
    );

    // Security members: the template's two, and Evidence's own two, one a page.
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let ws_id = ws["id"].as_str().unwrap();
    let members = |members: &[imanage_sandbox::SecurityMember]| -> Vec<String> {
        members
            .iter()
            .map(|m| format!("{}:{}", m.id, m.access_level.as_str()))
            .collect()
    };
    let on_workspace = members(&state.workspace(ws_id).unwrap().members);
    for want in ["LITIGATION:read_write", "JSMITH:full_access"] {
        assert!(
            on_workspace.iter().any(|m| m == want),
            "{want} in {on_workspace:?}"
        );
    }
    let evidence = state
        .folders_of(ws_id)
        .into_iter()
        .find(|f| f.name == "Evidence")
        .unwrap();
    assert_eq!(
        members(&evidence.members),
        ["JSMITH:full_access", "MCHEN:read"]
    );

    // Workspaces: three carry the legacy matter's file reference.
    let admin = Admin::sign_in(&env).await;
    let mut candidates = Vec::new();
    for n in 0..3 {
        candidates.push(
            admin
                .create_workspace(json!({"name": format!("Old file {n}"), "custom13": "REF-PAGED"}))
                .await,
        );
    }
    let mut legacy = fixture("matter-legacy.json");
    legacy.file_reference = Some("REF-PAGED".into());
    let several = call(&rt, Function::ResolveLegacy, &legacy).await.unwrap();
    assert_eq!(several["kind"], "several", "{several}");
    let found: Vec<&str> = several["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(found, candidates);

    // Documents: two filed, then an upload committed and failed: the retry's search of the
    // folder must reach the third page to find it.
    for name in ["Invoice 1.pdf", "Invoice 2.pdf"] {
        rt.call(Function::FileDocument, file_args("1042", name, vec![1; 10]))
            .await
            .unwrap()
            .unwrap();
    }
    state.set_faults(imanage_sandbox::Faults {
        commit_then_fail_rate: 1.0,
        seed: Some(1),
        ..Default::default()
    });
    let filed = rt
        .call(
            Function::FileDocument,
            file_args("1042", "Invoice 3.pdf", vec![3; 30]),
        )
        .await
        .unwrap();
    let faults = state.stats().faults;
    state.set_faults(imanage_sandbox::Faults::default());
    assert!(
        faults.commit_then_fail >= 1,
        "the upload failed after its commit"
    );
    let doc = state
        .document(filed.expect("found on the third page").as_str().unwrap())
        .unwrap();
    assert_eq!(state.documents_in(&doc.folder_id).len(), 3, "filed once");

    // The change feed: the workspace has three members; a wall is the fourth, on page four.
    for (source, trustee) in [("polling", "LWONG"), ("sync", "APATEL")] {
        let mut config = env.config();
        config.set("change_source", source);
        let feed = env.runtime_with(config);
        let start = feed
            .call(Function::PollChanges, Args::default())
            .await
            .unwrap()
            .unwrap();
        admin.wall_off(ws_id, trustee).await;
        let batch = feed
            .call(
                Function::PollChanges,
                Args {
                    cursor: start["next_cursor"].as_str().map(String::from),
                    ..Args::default()
                },
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(batch["source"], source);
        let walled: Vec<(&str, &str)> = batch["changes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["trustee_id"].as_str().unwrap(),
                    c["access_level"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(walled, [(trustee, "no_access")], "{source}: {batch}");
        // Acknowledged, so that the next source starts from here.
        feed.call(
            Function::PollChanges,
            Args {
                cursor: batch["next_cursor"].as_str().map(String::from),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    }
}
