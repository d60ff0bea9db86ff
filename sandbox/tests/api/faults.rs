//! Fault and latency injection, each knob observed over HTTP: what "exactly once under faults" is
//! tested against.

use std::time::{Duration, Instant};

use imanage_sandbox::{Faults, RateLimitBurst, Sandbox, SandboxConfig};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_envelope, Harness};

async fn create_workspace(h: &Harness, name: &str) -> Result<reqwest::Response, reqwest::Error> {
    h.http
        .post(h.lib("/workspaces"))
        .header("X-Auth-Token", &h.token)
        .json(&json!({ "name": name }))
        .send()
        .await
}

#[tokio::test]
async fn error_rate_one_fails_every_request_without_doing_the_work() {
    let h = Harness::start().await;
    let answered = h.put_faults(json!({"error_rate": 1.0})).await;
    assert_eq!(answered["error_rate"], 1.0);
    for i in 0..6 {
        let response = create_workspace(&h, &format!("ws {i}")).await.unwrap();
        let status = response.status();
        assert!(
            [500, 502, 503].contains(&status.as_u16()),
            "{status} is not an injected error"
        );
        let error = expect_envelope(response, status).await;
        assert_eq!(error["messages"][0]["code"], "InjectedFault");
    }
    assert!(
        h.sandbox.state().workspaces().is_empty(),
        "no work was done"
    );
    let discovery = h.get(&format!("{}/api", h.base())).await;
    assert!(discovery.status().is_server_error());
    let token = h.password_grant("sandbox-admin", "sandbox-password").await;
    assert!(token.status().is_server_error(), "the token endpoint too");

    // The admin namespace is never faulted, so faults can always be turned off.
    let stats = h.stats().await;
    assert_eq!(stats["faults"]["errors"], 8);
    h.put_faults(json!({})).await;
    assert_eq!(
        create_workspace(&h, "after").await.unwrap().status(),
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn commit_then_fail_does_the_work_and_then_fails() {
    let h = Harness::start().await;
    h.put_faults(json!({"commit_then_fail_rate": 1.0, "seed": 3}))
        .await;
    let (mut errors, mut drops) = (0, 0);
    for i in 0..8 {
        match create_workspace(&h, &format!("ws {i}")).await {
            Ok(response) => {
                expect_envelope(response, StatusCode::INTERNAL_SERVER_ERROR).await;
                errors += 1;
            }
            Err(err) => {
                assert!(!err.is_timeout(), "{err}");
                drops += 1;
            }
        }
    }
    // Every request created its workspace, exactly once (no client-side retry either).
    let names: Vec<String> = h
        .sandbox
        .state()
        .workspaces()
        .into_iter()
        .map(|w| w.name)
        .collect();
    assert_eq!(names, (0..8).map(|i| format!("ws {i}")).collect::<Vec<_>>());
    assert!(errors > 0 && drops > 0, "{errors} errors, {drops} drops");
    assert_eq!(h.stats().await["faults"]["commit_then_fail"], 8);

    // Creates of other kinds too; reads are not creates.
    let custom = h
        .http
        .post(h.lib("/customs/custom1"))
        .header("X-Auth-Token", &h.token)
        .json(&json!({"id": "C1", "description": "x"}))
        .send()
        .await;
    assert!(custom.is_err() || custom.unwrap().status() == StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(h.sandbox.state().custom_values("custom1").len(), 1);
    let listing = h.get(&h.lib("/workspaces")).await;
    assert_eq!(listing.status(), StatusCode::OK);
}

#[tokio::test]
async fn rate_limit_bursts_answer_429_with_retry_after() {
    let h = Harness::start().await;
    h.put_faults(json!({"rate_limit_burst": {"every": 2, "count": 1, "retry_after_secs": 7}}))
        .await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let response = create_workspace(&h, &format!("ws {i}")).await.unwrap();
        statuses.push(response.status().as_u16());
        if response.status() == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(response.headers()["retry-after"], "7");
            expect_envelope(response, StatusCode::TOO_MANY_REQUESTS).await;
        }
    }
    assert_eq!(statuses, [201, 201, 429, 201, 201, 429]);
    assert_eq!(h.sandbox.state().workspaces().len(), 4);
    assert_eq!(h.stats().await["faults"]["rate_limited"], 2);
}

#[tokio::test]
async fn timeouts_hang_then_answer_504_without_the_work() {
    let h = Harness::start().await;
    h.put_faults(json!({"timeout_rate": 1.0, "timeout_ms": 50}))
        .await;
    let response = create_workspace(&h, "late").await.unwrap();
    expect_envelope(response, StatusCode::GATEWAY_TIMEOUT).await;

    // With the default hang, the client's own timeout fires first.
    h.put_faults(json!({"timeout_rate": 1.0})).await;
    let impatient = h
        .http
        .get(format!("{}/api", h.base()))
        .header("X-Auth-Token", &h.token)
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(impatient.unwrap_err().is_timeout());
    assert!(h.sandbox.state().workspaces().is_empty());
    assert_eq!(h.stats().await["faults"]["timeouts"], 2);
}

#[tokio::test]
async fn dropped_connections_give_the_client_no_answer() {
    let h = Harness::start().await;
    h.put_faults(json!({"drop_rate": 1.0})).await;
    let err = create_workspace(&h, "lost").await.unwrap_err();
    assert!(!err.is_timeout() && !err.is_status(), "{err:?}");
    let err = h
        .http
        .get(format!("{}/api", h.base()))
        .header("X-Auth-Token", &h.token)
        .send()
        .await
        .unwrap_err();
    assert!(!err.is_timeout(), "{err:?}");
    assert!(h.sandbox.state().workspaces().is_empty());
    assert_eq!(h.stats().await["faults"]["dropped"], 2);
}

#[tokio::test]
async fn latency_is_added_to_api_requests() {
    let h = Harness::start().await;
    // 150 ms is slept mostly on Tokio's timer, 1 ms only on a blocking thread.
    for ms in [150, 1] {
        h.put_faults(json!({"latency_ms": ms})).await;
        let started = Instant::now();
        let response = h.get(&format!("{}/api", h.base())).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(started.elapsed() >= Duration::from_millis(ms), "{ms} ms");
    }
}

#[tokio::test]
async fn a_seed_makes_random_faults_repeatable() {
    let h = Harness::start().await;
    let run = || async {
        h.put_faults(json!({"error_rate": 0.5, "seed": 42})).await;
        let mut statuses = Vec::new();
        for _ in 0..20 {
            statuses.push(h.get(&format!("{}/api", h.base())).await.status().as_u16());
        }
        statuses
    };
    let first = run().await;
    let second = run().await;
    assert_eq!(first, second);
    let failed = first.iter().filter(|s| **s != 200).count();
    assert!(failed > 0 && failed < 20, "{first:?}");
}

#[tokio::test]
async fn the_admin_api_validates_and_reports() {
    let h = Harness::start().await;
    let get = h.http.get(h.admin("/faults")).send().await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let defaults: Value = get.json().await.unwrap();
    assert_eq!(
        defaults,
        serde_json::to_value(Faults::default()).unwrap(),
        "no token needed, and everything off"
    );
    assert_eq!(defaults["timeout_ms"], 30_000);

    for bad in [
        json!({"error_rate": 2.0}),
        json!({"drop_rate": -0.5}),
        json!({"eror_rate": 0.1}),
        json!({"rate_limit_burst": {"every": "x"}}),
        json!([1]),
    ] {
        let response = h
            .http
            .put(h.admin("/faults"))
            .json(&bad)
            .send()
            .await
            .unwrap();
        expect_envelope(response, StatusCode::BAD_REQUEST).await;
    }
    assert_eq!(h.sandbox.state().faults(), Faults::default());

    // The state API and the admin API are one setting.
    let burst = RateLimitBurst {
        every: 5,
        count: 2,
        retry_after_secs: 3,
    };
    h.sandbox.state().set_faults(Faults {
        rate_limit_burst: Some(burst),
        ..Faults::default()
    });
    let shown: Value = h
        .http
        .get(h.admin("/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shown["rate_limit_burst"]["every"], 5);

    // Counters: admin calls are not requests; reset zeroes them all.
    h.sandbox.state().set_faults(Faults::default());
    let reset = h
        .http
        .post(h.admin("/reset-counters"))
        .send()
        .await
        .unwrap();
    let zero: Value = reset.json().await.unwrap();
    assert_eq!(zero["requests"], 0);
    assert_eq!(zero["token_grants"], json!({}));
    h.get(&format!("{}/api", h.base())).await;
    h.get(&format!("{}/nowhere", h.base())).await;
    let stats = h.stats().await;
    assert_eq!(stats["requests"], 2);
    assert_eq!(h.sandbox.state().stats().requests, 2);
    assert_eq!(
        stats["faults"],
        json!({"errors": 0, "rate_limited": 0, "timeouts": 0, "dropped": 0, "commit_then_fail": 0})
    );
}

#[tokio::test]
async fn initial_faults_come_from_the_config() {
    let faults = Faults {
        error_rate: 1.0,
        ..Faults::default()
    };
    let sandbox = Sandbox::start(
        "127.0.0.1:0".parse().unwrap(),
        SandboxConfig {
            faults: faults.clone(),
            ..SandboxConfig::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(sandbox.state().faults(), faults);
    let response = reqwest::get(format!("{}/api", sandbox.base_url()))
        .await
        .unwrap();
    assert!(response.status().is_server_error());
    sandbox.shutdown().await;
}
