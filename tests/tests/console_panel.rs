//! The matter panel through `matterlink serve` with the real `.wasm` against the sandbox: sign in
//! with the password, a matter provisioned by a signed event shows its workspace and folders,
//! a PDF uploaded through the panel's multipart form lands in the sandbox's folder (once, however
//! often the form is sent), a legacy matter with two candidate workspaces is linked by picking
//! one, and a pasted link of a foreign host is refused beside the box with the CLI's reason.

use imanage_sandbox::FolderKind;
use matterlink_e2e::console::{input_value, multipart, text_of, unescape, url_encoded, Console};
use matterlink_e2e::{fixture, post_event, Env, Server, WEBHOOK_SECRET};
use matterlink_host::{Args, Function};
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

/// Keeps a page's HTML under `$PANEL_PAGES_DIR` when it is set, to look at (with the console's
/// stylesheet copied beside it, it renders as served).
fn keep(name: &str, html: &str) {
    if let Some(dir) = std::env::var_os("PANEL_PAGES_DIR") {
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let html = html.replace("href=\"/admin/assets/console.css\"", "href=\"console.css\"");
        std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_panel_shows_files_resolves_and_refuses_through_serve() {
    let env = Env::start().await;
    env.state().seed_legacy_workspaces();
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    let rt = env.runtime_with(config.clone());
    rt.set_admin_password(PASSWORD).await.unwrap().unwrap();
    let server = Server::start(rt).await;
    let mut browser = Console::new(&server.url);

    // Closed without a session.
    let closed = browser.get("/admin/matters/1042").await;
    assert_eq!(closed.status, 303);
    assert!(closed.location.unwrap().contains("/admin/signin?next="));
    browser.sign_in(PASSWORD).await;

    // A matter provisioned by a signed event.
    let matter = fixture("matter-basic.json");
    let event = json!({"id": "evt-1", "type": "matter.created", "matter": matter});
    let answer = post_event(&server.url, &event).await;
    assert!(
        answer.status().is_success(),
        "{}",
        answer.text().await.unwrap()
    );
    let link = env.kv().get_json("link/matter/1042").expect("linked");
    let workspace_id = link["workspace"]["id"].as_str().unwrap().to_string();
    let document_folder = link["document_folder_id"].as_str().unwrap().to_string();

    let panel = browser.get("/admin/matters/1042").await;
    assert_eq!(panel.status, 200, "{}", panel.html);
    keep("workspace", &panel.html);
    assert_eq!(text_of(&panel.html, "workspace-name"), "Smith v Jones");
    let folders = &panel.html[panel.html.find("id=\"folders\"").unwrap()..];
    let folders = &folders[..folders.find("</ul>\n").unwrap_or(folders.len())];
    // Every folder and tab iManage lists for the workspace (saved searches are listed apart).
    let listed: Vec<String> = env
        .state()
        .folders_of(&workspace_id)
        .iter()
        .filter(|f| f.kind != FolderKind::SearchFolder)
        .map(|f| f.name.clone())
        .collect();
    assert!(listed.len() > 3, "{listed:?}");
    assert!(
        folders.contains("<ul><li><span class=\"folder\">Generated Documents"),
        "nested: {folders}"
    );
    for name in listed {
        assert!(
            folders.contains(&format!(">{name}</span>")),
            "{name} in {folders}"
        );
    }
    assert!(panel.html.contains(&format!(
        "href=\"{}/work/link/w/{workspace_id}\"",
        env.sandbox.base_url()
    )));
    assert!(!text_of(&panel.html, "workspace-owner").is_empty());
    assert!(panel
        .html
        .contains(&format!("<option value=\"{document_folder}\" selected>")));
    let csp = panel.headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");

    // Upload a PDF through the form, twice (a double submission): filed once.
    let pdf = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/claim.pdf")).unwrap();
    let csrf = input_value(&panel.html, "csrf");
    let key = input_value(&panel.html, "key");
    let body = multipart(
        "----panel-e2e",
        &[("csrf", &csrf), ("key", &key), ("folder", &document_folder)],
        ("file", "Statement of claim.pdf", "application/pdf", &pdf),
    );
    let first = browser
        .post_multipart(
            "/admin/matters/1042/documents",
            body.clone(),
            "----panel-e2e",
        )
        .await;
    assert_eq!(first.status, 303, "{}", first.html);
    let again = browser
        .post_multipart("/admin/matters/1042/documents", body, "----panel-e2e")
        .await;
    assert_eq!(again.status, 303, "{}", again.html);
    assert_eq!(first.location, again.location);
    let in_folder = env.state().documents_in(&document_folder);
    assert_eq!(in_folder.len(), 1, "filed once");
    assert_eq!(in_folder[0].name, "Statement of claim");
    assert_eq!(in_folder[0].size, pdf.len() as u64);
    let after = browser.get(first.location.as_deref().unwrap()).await;
    assert_eq!(
        unescape(&text_of(&after.html, "upload-notice")),
        format!(
            "Filed “Statement of claim.pdf” as document {}.",
            in_folder[0].id
        )
    );
    keep("uploaded", &after.html);
    assert!(
        after.html.contains(">Statement of claim.pdf</span>"),
        "{}",
        after.html
    );
    // Without the session's token, nothing is filed.
    let forged = multipart(
        "b",
        &[
            ("csrf", "forged"),
            ("key", "other"),
            ("folder", &document_folder),
        ],
        ("file", "x.pdf", "application/pdf", b"%PDF-1.4"),
    );
    let refused = browser
        .post_multipart("/admin/matters/1042/documents", forged, "b")
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(env.state().documents_in(&document_folder).len(), 1);

    // A legacy matter matching two workspaces: pick the second.
    let legacy = fixture("matter-legacy-several.json");
    let query = url_encoded(&[
        ("client_id", "C-300"),
        ("client_name", "Ngata Trust"),
        ("title", &legacy.title),
        ("file_reference", legacy.file_reference.as_deref().unwrap()),
        ("matter_type", &legacy.matter_type),
    ]);
    let resolve = browser.get(&format!("/admin/matters/88233?{query}")).await;
    assert_eq!(resolve.status, 200, "{}", resolve.html);
    keep("candidates", &resolve.html);
    assert!(resolve.html.contains("Ngata Trust dispute (volume 1)"));
    assert!(resolve.html.contains("id=\"link-1\"") && resolve.html.contains("id=\"link-2\""));
    assert!(env.kv().get_json("link/matter/88233").is_none());
    // The second candidate's form, as the browser would send it.
    let form = &resolve.html[..resolve.html.find("id=\"link-2\"").unwrap()];
    let form = &form[form.rfind("<form").unwrap()..];
    let fields: Vec<(String, String)> = form
        .split("<input type=\"hidden\" name=\"")
        .skip(1)
        .map(|s| {
            let (k, rest) = s.split_once("\" value=\"").unwrap();
            (k.to_string(), unescape(&rest[..rest.find('"').unwrap()]))
        })
        .collect();
    let fields: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let picked = browser
        .post_form("/admin/matters/88233/link", &fields)
        .await;
    assert_eq!(picked.status, 303, "{}", picked.html);
    assert_eq!(
        env.kv().get_json("link/matter/88233").unwrap()["workspace"]["id"],
        "ACTIVE!504"
    );
    let linked = browser.get(picked.location.as_deref().unwrap()).await;
    keep("linked", &linked.html);
    keep("index", &browser.get("/admin/matters").await.html);
    assert_eq!(
        text_of(&linked.html, "workspace-name"),
        "Ngata Trust dispute (volume 2)"
    );

    // A foreign host's link pasted for a matter nothing matches: refused beside the box with
    // the reason the CLI gives, and kept.
    let lost = browser
        .get("/admin/matters/88299?title=Lost%20matter&file_reference=NOPE-1")
        .await;
    assert!(lost.html.contains("id=\"link-url\""));
    assert!(text_of(&lost.html, "resolve-result").contains("No workspace"));
    let pasted = "https://imanage.example.org/work/link/w/ACTIVE!501";
    let csrf = input_value(&lost.html, "csrf");
    let refused = browser
        .post_form(
            "/admin/matters/88299/link",
            &[("csrf", &csrf), ("title", "Lost matter"), ("url", pasted)],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    keep("refused", &refused.html);
    let cli = env
        .runtime_with(config)
        .call(
            Function::LinkWorkspace,
            Args {
                matter: Some({
                    let mut m = fixture("matter-legacy.json");
                    m.id = "88299".into();
                    m.title = "Lost matter".into();
                    m
                }),
                url: Some(pasted.into()),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap_err();
    let shown = unescape(&text_of(&refused.html, "link-url-error"));
    assert_eq!(shown, cli.message(), "the CLI's reason");
    assert!(shown.contains("imanage.example.org"), "{shown}");
    assert!(refused.html.contains(&format!("value=\"{pasted}\"")));
    assert!(env.kv().get_json("link/matter/88299").is_none());
    server.stop().await;
}
