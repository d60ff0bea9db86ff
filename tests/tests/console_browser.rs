//! The console in a real browser (headless Chromium over WebDriver), served by `matterlink
//! serve`'s code path with the real `.wasm` against the sandbox, the way a firm's administrator
//! uses it: sign in with the password; connect the integration through the sandbox's OAuth
//! page; choose library BRANCH then ACTIVE; map File Reference to a boolean field (refused
//! beside the field) then to a text field; add Conveyancing → `ACTIVE!200`; save; see every
//! check ✓; send a matter event and see its workspace and folders in the panel; upload a PDF;
//! resolve a legacy matter with two candidates by picking one; paste a foreign host's link and
//! see the refusal; replay a failed event from the operations page; upload a backfill's CSV and
//! let the page's script run its steps to the end. Then sign out, "Sign in
//! with iManage" as a member of NRTADMIN, and as someone outside it. One test, one browser,
//! steps in order; a screenshot of each page under `target/browser-screenshots/`.
//!
//! Skipped, saying so, without chromium and chromedriver.

use matterlink_e2e::browser::Browser;
use matterlink_e2e::{fixture, oauth_config, post_event, Env, Server, WEBHOOK_SECRET};
use serde_json::{json, Value};

const PASSWORD: &str = "a long console password";

/// Console sessions in key-value, as (user, via).
fn sessions(env: &Env) -> Vec<(String, String)> {
    let kv = env.kv();
    kv.keys()
        .into_iter()
        .filter(|k| k.starts_with("console/session/"))
        .filter_map(|k| kv.get_json(&k))
        .map(|s: Value| {
            (
                s["user"].as_str().unwrap_or_default().to_string(),
                s["via"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_in_a_browser_signs_in_connects_and_admits_only_administrators() {
    let Some(browser) = Browser::start("the_console_in_a_browser").await else {
        return;
    };
    let env = Env::start().await;
    let mut config = oauth_config(&env);
    config.set("webhook_secret", WEBHOOK_SECRET);
    // Nothing mapped by the deployment: the administrator maps Conveyancing and File Reference
    // in the console (File Reference onto custom13, where the firm's older workspaces keep it).
    config.set("templates", "");
    config.set("field_map", "");
    let rt = env.runtime_with(config);
    rt.instance()
        .await
        .unwrap()
        .set_admin_password(PASSWORD)
        .await
        .unwrap()
        .expect("the password is set");
    let server = Server::start(rt).await;
    let base = format!("{}/admin", server.url);

    // Closed: the console sends the browser to sign in.
    browser.goto(&base).await;
    browser.wait_for_url("/admin/signin?next=").await;
    assert!(browser.has("signin-imanage").await, "iManage is configured");
    browser.screenshot("01-signin.png").await;

    // The password.
    browser.fill("password", PASSWORD).await;
    browser.click("signin-submit").await;
    // The sign-in page's address contains the console's: wait until the browser has left it.
    browser.wait_to_leave("/admin/signin").await;
    browser.wait_for_url(&base).await;
    let text = browser.page_text().await;
    assert!(text.contains("Signed in as admin"), "{text}");
    browser.screenshot("02-setup.png").await;

    // Connect: the set-up page's button when it is there, else its address.
    assert!(
        env.kv().get_json("auth/tokens").is_none(),
        "not connected yet"
    );
    if browser.has("connect-imanage").await {
        browser.click("connect-imanage").await;
    } else {
        browser.goto(&format!("{base}/oauth/connect")).await;
    }
    // The sandbox's own sign-in page, as an administrator sees iManage's.
    browser.wait_for_url("/auth/oauth2/authorize").await;
    browser
        .fill_css("input[name=username]", imanage_sandbox::SERVICE_USER)
        .await;
    browser
        .fill_css("input[name=password]", imanage_sandbox::SERVICE_PASSWORD)
        .await;
    browser.screenshot("03-imanage-sign-in.png").await;
    browser.click_css("button[type=submit]").await;
    // Back through the console's callback, on to the set-up page, still signed in.
    browser.wait_for_url("/admin?connected=1").await;
    let text = browser.page_text().await;
    assert!(text.contains("Signed in as admin"), "{text}");
    browser.screenshot("04-connected.png").await;
    let tokens = env
        .kv()
        .get_json("auth/tokens")
        .expect("the integration's tokens");
    let report = server
        .runtime
        .instance()
        .await
        .unwrap()
        .check_connection()
        .await
        .unwrap()
        .expect("the connection checks out");
    assert!(report.contains(imanage_sandbox::SERVICE_USER), "{report}");

    set_up(&browser, &env).await;
    provision_and_file(&browser, &env, &server.url, &base).await;
    resolve_and_refuse(&browser, &env, &base).await;
    replay_from_operations(&browser, &env, &server.url, &base).await;
    backfill_from_operations(&browser, &env, &base).await;

    // Sign out; then "Sign in with iManage" as a member of NRTADMIN (the service account is).
    browser.click("signout").await;
    browser.wait_for_url("/admin/signin").await;
    assert!(
        sessions(&env).is_empty(),
        "signed out: {:?}",
        sessions(&env)
    );
    browser.click("signin-imanage").await;
    browser.wait_for_url("/auth/oauth2/authorize").await;
    browser
        .fill_css("input[name=username]", imanage_sandbox::SERVICE_USER)
        .await;
    browser
        .fill_css("input[name=password]", imanage_sandbox::SERVICE_PASSWORD)
        .await;
    browser.click_css("button[type=submit]").await;
    let at = browser.wait_for_url("/admin").await;
    // The continue page moves on by itself to the page the sign-in began from.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while browser.url().await.contains("/oauth/callback") {
        assert!(std::time::Instant::now() < deadline, "stuck at {at}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let text = browser.page_text().await;
    assert!(
        text.contains(&format!("Signed in as {}", imanage_sandbox::SERVICE_USER)),
        "{text}"
    );
    assert!(
        !browser.url().await.contains("signin"),
        "{}",
        browser.url().await
    );
    browser.screenshot("15-imanage-member.png").await;
    assert_eq!(
        sessions(&env),
        vec![(
            imanage_sandbox::SERVICE_USER.to_string(),
            "imanage".to_string()
        )]
    );
    // The person's sign-in left the integration's connection as it was.
    assert_eq!(env.kv().get_json("auth/tokens"), Some(tokens));

    // Sign out; someone outside NRTADMIN (the sandbox approves JSMITH at once) is refused.
    browser.click("signout").await;
    browser.wait_for_url("/admin/signin").await;
    env.state().set_auto_approve(Some("JSMITH"));
    browser.click("signin-imanage").await;
    browser.wait_for_url("/admin/oauth/callback").await;
    let text = browser.page_text().await;
    assert!(
        text.contains("JSMITH is not in the administrators' group NRTADMIN"),
        "{text}"
    );
    browser.screenshot("16-imanage-refused.png").await;
    assert!(sessions(&env).is_empty(), "{:?}", sessions(&env));
    // And the console stays closed to that browser.
    browser.goto(&base).await;
    browser.wait_for_url("/admin/signin?next=").await;

    let kv = env.kv();
    let audit: Vec<Value> = kv
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("audit/record/"))
        .filter_map(|k| kv.get_json(&k))
        .filter(|r| r["action"] == "console-signin")
        .collect();
    let outcomes: Vec<&str> = audit.iter().filter_map(|r| r["outcome"].as_str()).collect();
    assert_eq!(outcomes, ["ok", "rejected"], "{audit:?}");
    browser.close().await;
    server.stop().await;
}

/// The set-up page: library BRANCH then ACTIVE, a field refused beside itself then one that
/// fits, Conveyancing → ACTIVE!200, saved, and every check ✓.
async fn set_up(browser: &Browser, env: &Env) {
    // Choosing a library shows its templates (the script submits the choice; nothing is saved).
    browser
        .select("library", imanage_sandbox::BRANCH_LIBRARY)
        .await;
    wait_for_option(browser, "new-template", imanage_sandbox::BRANCH_TEMPLATE).await;
    browser.screenshot("05-library-branch.png").await;
    browser.select("library", imanage_sandbox::LIBRARY).await;
    wait_for_option(browser, "new-template", imanage_sandbox::PROPERTY_TEMPLATE).await;
    assert!(
        env.kv().get_json("console/settings").is_none(),
        "nothing saved yet"
    );

    // File Reference onto a boolean field: refused beside the field, nothing saved.
    browser.select("map-file_reference", "custom25").await;
    browser.click("save-settings").await;
    let refusal = browser
        .wait_for_text("map-file_reference-error", "Boolean")
        .await;
    assert!(refusal.contains("File Reference"), "{refusal}");
    browser.screenshot("06-field-refused.png").await;
    assert!(
        env.kv().get_json("console/settings").is_none(),
        "a refused form saves nothing"
    );

    // A text field fits; Conveyancing gets the property template; save.
    browser.select("map-file_reference", "custom13").await;
    browser.fill("new-matter-type", "Conveyancing").await;
    browser
        .select("new-template", imanage_sandbox::PROPERTY_TEMPLATE)
        .await;
    browser.click("add-template").await;
    assert!(
        browser
            .wait_for_text("template-map", "Conveyancing")
            .await
            .contains("Conveyancing"),
        "the row is added before saving"
    );
    browser.click("save-settings").await;
    browser.wait_for_url("saved=").await;
    browser.wait_for_text("saved-notice", "").await;
    let saved = env.kv().get_json("console/settings").expect("saved");
    let values = &saved["values"];
    let templates: Value = serde_json::from_str(values["templates"].as_str().unwrap()).unwrap();
    assert_eq!(
        templates["Conveyancing"],
        imanage_sandbox::PROPERTY_TEMPLATE,
        "{saved}"
    );
    let field_map: Value = serde_json::from_str(values["field_map"].as_str().unwrap()).unwrap();
    assert_eq!(field_map["File Reference"], "custom13", "{saved}");

    // Verify, on demand: every check ✓.
    browser.click("verify").await;
    let checks = browser.wait_for_text("checks", "✓").await;
    assert!(!checks.contains('✗'), "{checks}");
    let source = browser.source().await;
    assert!(!source.contains("class=\"check bad\""), "{checks}");
    browser.screenshot("07-saved-and-verified.png").await;
}

/// Waits until the drop-down `id` offers `value` (after the page reloaded for a library).
async fn wait_for_option(browser: &Browser, id: &str, value: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let source = browser.source().await;
        let select = source
            .split(&format!("id=\"{id}\""))
            .nth(1)
            .and_then(|s| s.split("</select>").next())
            .unwrap_or_default();
        if select.contains(&format!("value=\"{value}\"")) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "#{id} never offered {value}: {select}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A matter event (Conveyancing, so the template saved above) → its workspace and folders in
/// the panel; a PDF uploaded into it lands in the workspace's folder once.
async fn provision_and_file(browser: &Browser, env: &Env, server: &str, base: &str) {
    let mut matter = fixture("matter-basic.json");
    matter.id = "M-BROWSER-1".into();
    matter.matter_type = "Conveyancing".into();
    let event = json!({"id": "evt-browser-1", "type": "matter.created", "matter": matter});
    let r = post_event(server, &event).await;
    assert!(r.status().is_success(), "{}", r.text().await.unwrap());
    let link = env
        .kv()
        .get_json("link/matter/M-BROWSER-1")
        .expect("linked");
    let workspace = link["workspace"]["id"].as_str().unwrap().to_string();

    browser.goto(&format!("{base}/matters/M-BROWSER-1")).await;
    let name = browser.wait_for_text("workspace-name", "").await;
    assert_eq!(name, matter.title);
    // The property template's folders (ACTIVE!201, "Contracts", among them) are in the tree.
    let tree = browser.text("folders").await;
    assert!(tree.contains("Contracts"), "{tree}");
    browser.screenshot("08-panel.png").await;

    let dir = tempfile::tempdir().unwrap();
    let pdf = dir.path().join("Invoice INV-1001.pdf");
    std::fs::write(&pdf, b"%PDF-1.4\n% matterlink browser test\n%%EOF\n").unwrap();
    browser.attach("upload-file", &pdf).await;
    browser.click("upload-submit").await;
    let notice = browser.wait_for_text("upload-notice", "Filed").await;
    assert!(notice.contains("Invoice INV-1001"), "{notice}");
    browser.screenshot("09-uploaded.png").await;
    // Filed once, into one of the workspace's folders in the sandbox, and listed in the panel.
    let state = env.state();
    let filed: Vec<_> = state
        .folders_of(&workspace)
        .iter()
        .flat_map(|f| state.documents_in(&f.id))
        .collect();
    assert_eq!(filed.len(), 1, "{notice}: {filed:?}");
    let documents = browser.text("documents").await;
    assert!(
        documents.contains("Invoice INV-1001"),
        "{notice} / {documents}"
    );
}

/// A legacy matter matching two workspaces: the second is picked and linked; a foreign host's
/// link pasted for another is refused beside the box with the CLI's reason.
async fn resolve_and_refuse(browser: &Browser, env: &Env, base: &str) {
    // Workspaces made before the integration, two of them for this matter.
    env.state().seed_legacy_workspaces();
    let legacy = fixture("matter-legacy-several.json");
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("client_id", &legacy.clients[0].id)
        .append_pair("client_name", &legacy.clients[0].name)
        .append_pair("title", &legacy.title)
        .append_pair("file_reference", legacy.file_reference.as_deref().unwrap())
        .append_pair("matter_type", &legacy.matter_type)
        .finish();
    browser
        .goto(&format!("{base}/matters/{}?{query}", legacy.id))
        .await;
    browser.wait_for_text("link-2", "").await;
    browser.screenshot("10-candidates.png").await;
    assert!(env
        .kv()
        .get_json(&format!("link/matter/{}", legacy.id))
        .is_none());
    browser.click("link-2").await;
    browser.wait_for_text("link-notice", "").await;
    let linked = env
        .kv()
        .get_json(&format!("link/matter/{}", legacy.id))
        .expect("picked and linked");
    let name = browser.text("workspace-name").await;
    assert!(name.ends_with("(volume 2)"), "{name} / {linked}");
    browser.screenshot("11-linked.png").await;

    browser
        .goto(&format!(
            "{base}/matters/88299?title=Lost%20matter&file_reference=NOPE-1"
        ))
        .await;
    let pasted = "https://imanage.example.org/work/link/w/ACTIVE!501";
    browser.fill("link-url", pasted).await;
    browser.click("link-submit").await;
    let refusal = browser.wait_for_text("link-url-error", "").await;
    assert!(refusal.contains("imanage.example.org"), "{refusal}");
    assert!(env.kv().get_json("link/matter/88299").is_none());
    browser.screenshot("12-link-refused.png").await;
}

/// An event that failed while iManage was down, replayed from the operations page once it is
/// back: its workspace is made and the failed event is gone.
async fn replay_from_operations(browser: &Browser, env: &Env, server: &str, base: &str) {
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let mut matter = fixture("matter-basic.json");
    matter.id = "M-BROWSER-2".into();
    let event = json!({"id": "evt-browser-2", "type": "matter.created", "matter": matter});
    let r = post_event(server, &event).await;
    assert_eq!(r.status(), reqwest::StatusCode::SERVICE_UNAVAILABLE);
    env.state().set_faults(imanage_sandbox::Faults::default());

    browser.goto(&format!("{base}/ops/failed")).await;
    browser.wait_for_text("replay-evt-browser-2", "").await;
    browser.screenshot("13-failed-events.png").await;
    browser.click("replay-evt-browser-2").await;
    let notice = browser.wait_for_text("replay-notice", "went through").await;
    assert!(notice.contains("evt-browser-2"), "{notice}");
    assert!(env.kv().get_json("event/dead/evt-browser-2").is_none());
    assert!(
        env.kv().get_json("link/matter/M-BROWSER-2").is_some(),
        "{notice}"
    );
}

/// A backfill started from the operations page with `tests/fixtures/matters.csv`: the job's page
/// runs its steps by itself (the script posts each next step; nobody clicks Continue) and
/// reloads when the job is finished, offering the report: Okafor linked to the legacy
/// workspace carrying its Matter ID, the other matter needing a URL.
async fn backfill_from_operations(browser: &Browser, env: &Env, base: &str) {
    let csv = matterlink_e2e::fixtures_dir().join("matters.csv");
    browser.goto(&format!("{base}/ops/backfill")).await;
    browser.attach("backfill-file", &csv).await;
    browser.click("backfill-start").await;
    browser.wait_for_url("/ops/backfill/").await;
    browser.wait_for_text("backfill-report", "report").await;
    let progress = browser.text("backfill-progress").await;
    assert!(progress.contains("2 / 2"), "{progress}");
    assert!(progress.contains("finished"), "{progress}");
    let count = |name: &str| {
        progress
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|n| n.trim().to_string())
    };
    assert_eq!(count("Linked").as_deref(), Some("1"), "{progress}");
    assert_eq!(
        count("No workspace (needs a URL)").as_deref(),
        Some("1"),
        "{progress}"
    );
    browser.screenshot("14-backfill-finished.png").await;
    let linked = env
        .kv()
        .get_json("link/matter/88231")
        .expect("Okafor linked");
    assert_eq!(
        linked["workspace"]["id"].as_str(),
        Some("ACTIVE!501"),
        "the workspace carrying its Matter ID: {linked}"
    );
    assert!(env.kv().get_json("link/matter/2001").is_none());
}
