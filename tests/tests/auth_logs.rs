//! No secret in the most verbose logs of a whole OAuth run.
//!
//! Alone in its test binary on purpose: `tracing::subscriber::set_default` captures this thread's
//! events only, and with a single scoped subscriber tracing caches a callsite's interest as
//! "never" when another test's thread reaches it first, which would leave this capture empty.

use std::time::Duration;

use imanage_sandbox::{SandboxConfig, CLIENT_SECRET, SERVICE_PASSWORD};
use matterlink_e2e::{advance, call, connect, fixture, oauth_config, Env};
use matterlink_host::{Args, Function};
use serde_json::Value;

fn tokens(env: &Env) -> Value {
    env.kv().get_json("auth/tokens").expect("token record")
}

/// Everything logged at the most verbose level through a whole OAuth run — connect, provision,
/// refresh ahead, 401 and retry, close — holds no password, client secret, token, code or verifier.
#[tokio::test]
async fn the_most_verbose_logs_of_a_whole_oauth_run_carry_no_secret() {
    let logs = matterlink_e2e::LogCapture::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let env = Env::start_with(SandboxConfig {
        auto_approve: Some("sandbox-admin".into()),
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime_with(oauth_config(&env));
    let mut secrets: Vec<String> = vec![SERVICE_PASSWORD.into(), CLIENT_SECRET.into()];
    let keep = |secrets: &mut Vec<String>, env: &Env| {
        let t = tokens(env);
        for key in ["access_token", "refresh_token"] {
            if let Some(s) = t[key].as_str().filter(|s| !s.is_empty()) {
                secrets.push(s.to_string());
            }
        }
    };

    let (outcome, seen) = connect(&env, &rt).await;
    outcome.unwrap();
    secrets.extend([seen.code.clone(), seen.verifier.clone()]);
    keep(&mut secrets, &env);
    let matter = fixture("matter-basic.json");
    call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    advance(&env, &[&rt], Duration::from_secs(87 * 60));
    let folders = Args {
        matter_id: Some("1042".into()),
        ..Args::default()
    };
    rt.call(Function::ListFolders, folders)
        .await
        .unwrap()
        .unwrap();
    keep(&mut secrets, &env);
    env.state().revoke_all_tokens();
    let err = call(&rt, Function::OnMatterClosed, &matter)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    connect(&env, &rt).await.0.unwrap();
    keep(&mut secrets, &env);
    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    rt.call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .unwrap();

    let logged = logs.text();
    assert!(
        logged.contains("outgoing request"),
        "trace logging captured the run"
    );
    assert!(secrets.len() >= 8, "{}", secrets.len());
    for secret in &secrets {
        assert!(!secret.is_empty());
        assert!(
            !logged.contains(secret.as_str()),
            "a secret reached the log"
        );
        assert!(
            !err.message().contains(secret.as_str()),
            "a secret reached an error"
        );
    }
}
