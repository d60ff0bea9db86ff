//! spin.toml and the component agree: every key the component reads is a Spin variable mapped
//! into the component (secrets marked secret), the store and outbound host are declared, and
//! the build command is the cargo build.

use std::collections::BTreeSet;

use matterlink_component::settings::{CONFIG_KEYS, SECRET_KEYS};

fn manifest() -> toml::Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml");
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

#[test]
fn variables_are_exactly_the_keys_the_component_reads() {
    let m = manifest();
    let declared: BTreeSet<&str> = m["variables"]
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let read: BTreeSet<&str> = CONFIG_KEYS.iter().copied().collect();
    assert_eq!(declared, read, "[variables] vs CONFIG_KEYS");

    let component = m["component"]["matterlink"].as_table().unwrap();
    let mapped = component["variables"].as_table().unwrap();
    let mapped_keys: BTreeSet<&str> = mapped.keys().map(String::as_str).collect();
    assert_eq!(
        mapped_keys, read,
        "[component.matterlink.variables] vs CONFIG_KEYS"
    );
    for (k, v) in mapped {
        assert_eq!(
            v.as_str().unwrap(),
            format!("{{{{ {k} }}}}"),
            "{k} maps to its variable"
        );
    }
    for (k, v) in m["variables"].as_table().unwrap() {
        let secret = v
            .get("secret")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        assert_eq!(
            secret,
            SECRET_KEYS.contains(&k.as_str()),
            "{k}: secret = {secret}"
        );
    }
}

#[test]
fn store_outbound_host_trigger_and_build() {
    let m = manifest();
    assert_eq!(m["spin_manifest_version"].as_integer(), Some(2));
    let c = m["component"]["matterlink"].as_table().unwrap();
    assert_eq!(
        c["key_value_stores"].as_array().unwrap(),
        &vec![toml::Value::from("default")]
    );
    assert_eq!(
        c["allowed_outbound_hosts"].as_array().unwrap(),
        &vec![toml::Value::from("{{ imanage_base_url }}")]
    );
    let command = c["build"]["command"].as_str().unwrap();
    assert!(
        command.contains("cargo build")
            && command.contains("--target wasm32-wasip2")
            && command.contains("--release"),
        "{command}"
    );
    assert_eq!(
        c["source"].as_str().unwrap(),
        "target/wasm32-wasip2/release/matterlink_component.wasm"
    );
    let trigger = &m["trigger"]["http"].as_array().unwrap()[0];
    assert_eq!(trigger["component"].as_str(), Some("matterlink"));
    assert_eq!(trigger["route"].as_str(), Some("/..."));
}

/// The same `.wasm` serves the console under the real Spin: closed by default, the sign-in page
/// with its policy, the stylesheet compiled in, and "Sign in with iManage" sending the browser
/// to iManage with the console's own callback (the `Host` Spin passes as the request's
/// authority) as the redirect URI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spin_serves_the_console() {
    use matterlink_e2e::{spin, Env};
    let Some(spin_binary) = spin::binary("spin_serves_the_console") else {
        return;
    };
    let env = Env::start().await;
    let app = spin::App::new(spin_binary, None);
    let mut up = app.up(
        "spin",
        &[
            ("imanage_base_url", env.sandbox.base_url().as_str()),
            ("imanage_library", imanage_sandbox::LIBRARY),
            ("imanage_client_id", imanage_sandbox::CLIENT_ID),
            ("imanage_auth", "oauth"),
            ("webhook_secret", "spin-console-webhook-secret-0123456789"),
        ],
    );
    up.ready().await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| client.get(format!("{}{path}", up.url)).send();

    let r = get("/admin").await.unwrap();
    assert_eq!(r.status(), 303, "{}", up.log());
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        "/admin/signin?next=%2Fadmin"
    );

    let r = get("/admin/signin").await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-security-policy"].to_str().unwrap(),
        matterlink_component::console::page::CSP
    );
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // On loopback, the form's cookie is not Secure: Spin gave the component the Host.
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let html = r.text().await.unwrap();
    assert!(
        html.contains("matterlink admin password --stdin"),
        "no password is set yet: {html}"
    );
    assert!(html.contains("id=\"signin-imanage\""), "{html}");

    let r = get("/admin/assets/console.css").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/css"));
    assert!(!r.text().await.unwrap().is_empty());

    let r = get("/admin/signin/imanage").await.unwrap();
    assert_eq!(r.status(), 303, "{}", up.log());
    let location = url::Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
    assert!(location.as_str().starts_with(&format!(
        "{}/auth/oauth2/authorize?",
        env.sandbox.base_url()
    )));
    let redirect_uri = location
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        redirect_uri,
        Some(format!("{}/admin/oauth/callback", up.url))
    );
}
