//! Spin hands every declared variable to the component, `""` for one whose default is empty.
//! With spin.toml's defaults only, the Actionstep hook must treat those as unset rather than
//! answer 500 not-configured ("`actionstep_matter_types` must be a JSON object: EOF while
//! parsing").

use std::time::Duration;

use matterlink_e2e::{spin, Env};

/// As long as a real hook token would be (32 characters or more).
const ACTIONSTEP_TOKEN: &str = "spin-variables-actionstep-token-0123456789";
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actionstep_hook_works_with_spin_toml_defaults() {
    let Some(spin_binary) = spin::binary("the_actionstep_hook_works_with_spin_toml_defaults")
    else {
        return;
    };
    let env = Env::start().await;
    let base = env.sandbox.base_url();
    let app = spin::App::new(spin_binary, None);
    // The required variables (those without a default) and the hook's token; nothing else.
    let mut up = app.up(
        "spin",
        &[
            ("imanage_base_url", base.as_str()),
            ("imanage_library", imanage_sandbox::LIBRARY),
            ("imanage_client_id", imanage_sandbox::CLIENT_ID),
            ("webhook_secret", "spin-variables-webhook-secret-0123456789"),
            ("actionstep_token", ACTIONSTEP_TOKEN),
        ],
    );
    up.ready().await;
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/actionstep-action-created.json"
    ))
    .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/v1/actionstep/{ACTIONSTEP_TOKEN}", up.url))
        .body(body)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .expect("the hook answers");
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap_or(Value::Null);
    // No service account is configured (its defaults are empty), so the event itself may fail
    // and be kept for replay; the hook must still take it, which is what Actionstep needs.
    assert_eq!(status, 200, "{answer}\n{}", up.log());
    assert_ne!(answer["error"]["kind"], "not-configured", "{answer}");
    assert!(answer["results"].is_array(), "{answer}");
}
