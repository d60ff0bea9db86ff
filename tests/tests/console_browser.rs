//! The console in a real browser (headless Chromium over WebDriver), served by `matterlink
//! serve`'s code path with the real `.wasm` against the sandbox: sign in with the password,
//! connect the integration through the sandbox's OAuth page, sign out, "Sign in with iManage"
//! as a member of NRTADMIN and as someone outside it. One test, one browser, steps in order;
//! a screenshot of each page under `target/browser-screenshots/`.
//!
//! Skipped, saying so, without chromium and chromedriver.

use matterlink_e2e::browser::Browser;
use matterlink_e2e::{oauth_config, Env, Server};
use serde_json::Value;

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
    let rt = env.runtime_with(oauth_config(&env));
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
    browser.screenshot("05-imanage-member.png").await;
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
    browser.screenshot("06-imanage-refused.png").await;
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
