//! What on-matter-created logs: a refused destination named, and no secret at the most verbose
//! level.
//!
//! In a test binary of their own on purpose, like `auth_logs.rs`: `tracing::subscriber::
//! set_default` captures this thread's events only, and tracing caches a callsite's interest as
//! "never" when a thread without a subscriber reaches it first, which would leave a capture
//! empty when other tests of the binary run beside it. So these tests also take turns
//! (`ONE_AT_A_TIME`): while one captures, no other thread of the process reaches the host.

use matterlink_e2e::{call, fixture, runtime_at, Env};
use matterlink_host::Function;

/// Held for the whole of each test.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

#[tokio::test]
async fn outgoing_requests_to_other_hosts_are_refused_and_seen_by_the_component() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let env = Env::start().await;
    // The platform pins a different destination than the configured base URL.
    let rt = runtime_at(
        env.data_dir(),
        env.config(),
        Some("https://firm.cloudimanage.com".into()),
    );
    let state = env.state();
    state.reset_request_count();
    let logs = matterlink_e2e::LogCapture::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let err = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap_err();
    assert_eq!(err.kind(), "not-configured", "{}", err.message());
    assert!(err.message().contains("refused"), "{}", err.message());
    assert_eq!(state.request_count(), 0, "nothing reached the sandbox");
    let logged = logs.text();
    assert!(logged.contains("refused outgoing request"), "{logged}");
    assert!(
        logged.contains("127.0.0.1"),
        "the refused authority is named: {logged}"
    );
}

#[tokio::test]
async fn the_most_verbose_logs_carry_no_secret() {
    let _turn = ONE_AT_A_TIME.lock().await;
    let env = Env::start().await;
    let logs = matterlink_e2e::LogCapture::default();
    let _guard = tracing::subscriber::set_default(logs.subscriber());
    let rt = env.runtime();
    let matter = fixture("matter-basic.json");
    call(&rt, Function::OnMatterCreated, &matter).await.unwrap();
    call(&rt, Function::OnMatterClosed, &matter).await.unwrap();
    let logged = logs.text();
    // The capture must hold the requests that carried the secrets (the sign-in, the token on
    // every API call); a capture that missed them would let any secret through unseen.
    for request in [
        "outgoing request",
        "/auth/oauth2/token",
        "/workspaces",
        "/customs/custom2",
    ] {
        assert!(
            logged.contains(request),
            "the capture lacks {request:?}, so it proves nothing: {logged:?}"
        );
    }
    for secret in [
        imanage_sandbox::SERVICE_PASSWORD,
        imanage_sandbox::CLIENT_SECRET,
    ] {
        assert!(!logged.contains(secret), "a secret reached the log");
    }
    let token = env.kv().get_json("auth/tokens").expect("token cached");
    let token = token["access_token"].as_str().unwrap();
    assert!(!logged.contains(token), "the access token reached the log");
}
