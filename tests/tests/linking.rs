//! Legacy matters: resolve-legacy by Matter ID then File Reference, and link-workspace with a
//! pasted link in every form, refusing the ones that cannot be this matter's workspace.

use matterlink_e2e::{call, fixture, runtime_at, Env};
use matterlink_host::{Args, Function, Matter};
use serde_json::json;

/// Provisions `m` through another installation (its own store), as if it predated this one.
async fn existing_workspace(env: &Env, m: &Matter) -> String {
    let other = tempfile::tempdir().unwrap();
    let rt = runtime_at(other.path(), env.config(), None);
    let ws = call(&rt, Function::OnMatterCreated, m).await.unwrap();
    ws["id"].as_str().unwrap().to_string()
}

fn link_args(m: &Matter, url: &str) -> Args {
    Args {
        matter: Some(m.clone()),
        url: Some(url.to_string()),
        ..Args::default()
    }
}

#[tokio::test]
async fn resolve_legacy_falls_back_to_file_reference_and_reports_several() {
    let env = Env::start().await;
    let mut first = fixture("matter-legacy.json");
    first.id = "70001".into();
    let ws1 = existing_workspace(&env, &first).await;

    let rt = env.runtime();
    let mut legacy = fixture("matter-legacy.json"); // id 88231: no workspace carries it
    let linked = call(&rt, Function::ResolveLegacy, &legacy).await.unwrap();
    assert_eq!(
        linked["kind"], "linked",
        "found by File Reference OLD-1999-0713: {linked}"
    );
    assert_eq!(linked["workspace"]["id"], ws1.as_str());

    let mut second = fixture("matter-legacy.json");
    second.id = "70002".into();
    let ws2 = existing_workspace(&env, &second).await;
    legacy.id = "88232".into();
    let several = call(&rt, Function::ResolveLegacy, &legacy).await.unwrap();
    assert_eq!(several["kind"], "several");
    let mut ids: Vec<_> = several["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(ids, {
        let mut v = vec![ws1.clone(), ws2];
        v.sort();
        v
    });
    assert!(
        env.kv().get_json("link/matter/88232").is_none(),
        "nothing stored for several"
    );
}

#[tokio::test]
async fn link_workspace_accepts_every_link_form() {
    let env = Env::start().await;
    let base = env.sandbox.base_url();
    let mut ids = Vec::new();
    for n in 0..4 {
        let mut m = fixture("matter-legacy.json");
        m.id = format!("6000{n}");
        ids.push(existing_workspace(&env, &m).await);
    }
    let folder = env
        .state()
        .folders_of(&ids[3])
        .into_iter()
        .find(|f| f.name == "Generated Documents")
        .unwrap();
    let urls = [
        format!("{base}/work/link/w/{}", ids[0]),
        format!(
            "{base}/work/web/r/libraries/ACTIVE/workspaces/{}?p=1",
            ids[1]
        ),
        format!(
            " <{base}/work/web/r/libraries/active/workspaces/{}> ",
            ids[2].replace('!', "%21")
        ),
        format!(
            "{base}/work/web/r/libraries/ACTIVE/folders/{}?p=1&selectedItem=x",
            folder.id
        ),
    ];
    let rt = env.runtime();
    for (n, url) in urls.iter().enumerate() {
        let mut m = fixture("matter-legacy.json");
        m.id = format!("6000{n}");
        let ws = rt
            .call(Function::LinkWorkspace, link_args(&m, url))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(ws["id"], ids[n].as_str(), "{url}");
        let link = env.kv().get_json(&format!("link/matter/{}", m.id)).unwrap();
        assert_eq!(link["how"], "pasted");
    }
}

#[tokio::test]
async fn link_workspace_refuses_what_cannot_be_this_matters_workspace() {
    let env = Env::start().await;
    let base = env.sandbox.base_url();
    let mut taken = fixture("matter-legacy.json");
    taken.id = "50001".into();
    let ws = existing_workspace(&env, &taken).await;
    let rt = env.runtime();
    // Link it to 50001 here first, so that pasting it for another matter is a conflict.
    rt.call(
        Function::LinkWorkspace,
        link_args(&taken, &format!("{base}/work/link/w/{ws}")),
    )
    .await
    .unwrap()
    .unwrap();

    let m = fixture("matter-legacy.json");
    let cases = [
        (
            format!("https://evil.example/work/link/w/{ws}"),
            "evil.example",
        ),
        (format!("{base}/work/link/w/OTHERLIB!1000"), "OTHERLIB"),
        (format!("{base}/work/link/d/{ws}.1"), "document"),
        ("not a link at all".to_string(), "link"),
        (
            format!("{base}/work/link/w/ACTIVE!999999"),
            "does not exist",
        ),
        (format!("{base}/work/link/w/{ws}"), "50001"),
        (format!("{base}/work/link/w/ACTIVE!100"), "template"),
    ];
    for (url, says) in cases {
        let err = rt
            .call(Function::LinkWorkspace, link_args(&m, &url))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid-url", "{url}: {err}");
        assert!(
            err.message().contains(says),
            "{url}: {:?} should mention {says:?}",
            err.message()
        );
    }
    assert!(
        env.kv().get_json("link/matter/88231").is_none(),
        "nothing linked"
    );
    assert_eq!(
        env.kv().get_json(&format!("link/workspace/{ws}")),
        Some(json!("50001"))
    );
}

/// The legacy workspaces `matterlink sandbox` starts with, against the fixtures the README
/// walks through: one found by Matter ID, one by File Reference, two to pick from, and the
/// pick linked; new workspaces still start at ACTIVE!1000.
#[tokio::test]
async fn the_seeded_legacy_workspaces_match_their_fixtures() {
    let env = Env::start().await;
    env.state().seed_legacy_workspaces();
    let rt = env.runtime();
    let by_id = call(&rt, Function::ResolveLegacy, &fixture("matter-legacy.json"))
        .await
        .unwrap();
    assert_eq!(
        (by_id["kind"].as_str(), by_id["workspace"]["id"].as_str()),
        (Some("linked"), Some("ACTIVE!501")),
        "{by_id}"
    );
    let by_reference = call(
        &rt,
        Function::ResolveLegacy,
        &fixture("matter-legacy-by-reference.json"),
    )
    .await
    .unwrap();
    assert_eq!(
        (
            by_reference["kind"].as_str(),
            by_reference["workspace"]["id"].as_str()
        ),
        (Some("linked"), Some("ACTIVE!502")),
        "{by_reference}"
    );
    let several_matter = fixture("matter-legacy-several.json");
    let several = call(&rt, Function::ResolveLegacy, &several_matter)
        .await
        .unwrap();
    assert_eq!(several["kind"], "several", "{several}");
    let ids: Vec<&str> = several["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ACTIVE!503", "ACTIVE!504"]);
    let url = format!("{}/work/link/w/ACTIVE!504", env.sandbox.base_url());
    let linked = rt
        .call(Function::LinkWorkspace, link_args(&several_matter, &url))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(linked["id"], "ACTIVE!504");
    assert_eq!(
        env.kv().get_json("link/matter/88233").unwrap()["workspace"]["id"],
        "ACTIVE!504"
    );
    let created = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    assert_eq!(created["id"], "ACTIVE!1000");
}
