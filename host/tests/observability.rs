//! What an operator watches, read the way their tools read it: `/metrics` parsed as the
//! Prometheus text format, every stderr line of `serve --log-format json` parsed as JSON, and
//! the `status` screen of the real binary. The numbers are checked against what the sandbox
//! itself counted, not against what the code under test says it did.

use std::collections::HashMap;
use std::process::Stdio;
use std::time::Duration;

use imanage_sandbox::{Faults, RateLimitBurst};
use matterlink_component::webhooks::signature;
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Child;

mod common;

use common::Setup;

const SECRET: &str = "observability-hook-secret-of-32-chars-or-more";
/// The Actionstep hook's token (its URL's last segment).
const ACTIONSTEP_TOKEN: &str = "observability-actionstep-token-0123456789";

/// A running `matterlink serve`: its webhook URL, its metrics URL if asked for, its stderr.
struct Server {
    child: Child,
    url: String,
    metrics: Option<String>,
}

async fn start(s: &Setup, extra: &[&str], metrics: bool) -> Server {
    let mut c = common::matterlink(&s.sandbox, s.data.path());
    c.env("MATTERLINK_WEBHOOK_SECRET", SECRET)
        .env("MATTERLINK_ACTIONSTEP_TOKEN", ACTIONSTEP_TOKEN)
        .args(["serve", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if metrics {
        c.args(["--metrics-addr", "127.0.0.1:0"]);
    }
    let mut child = c.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url_in = |line: Option<String>| {
        line.expect("serve prints its addresses")
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL")
            .to_string()
    };
    let url = url_in(lines.next_line().await.unwrap());
    let metrics = if metrics {
        Some(url_in(lines.next_line().await.unwrap()))
    } else {
        None
    };
    Server {
        child,
        url,
        metrics,
    }
}

impl Server {
    /// Stops it with SIGTERM and returns everything it wrote to stderr.
    async fn stop(mut self) -> String {
        let pid = self.child.id().unwrap() as libc::pid_t;
        // SAFETY: sending SIGTERM to our own child process, which is still running.
        assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
        let mut stderr = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .await
            .unwrap();
        let status = self.child.wait().await.unwrap();
        assert_eq!(status.code(), Some(0), "{stderr}");
        stderr
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A signed request, with `X-Request-Id` when given; the status, the body and the response's
/// request id.
async fn signed(
    method: reqwest::Method,
    url: &str,
    body: &[u8],
    request_id: Option<&str>,
) -> (u16, Value, String) {
    // A signature is accepted once: each request is signed at a second of its own (within the
    // five-minute window), so that a deliberate repeat is a delivery, not a replay.
    // Counted down from one fixed start: `now() - n` would sign two requests a second apart
    // with the same timestamp when the clock ticks between them.
    static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    static SIGNED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let age = SIGNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let ts = (*START.get_or_init(now) - age).to_string();
    let parsed = reqwest::Url::parse(url).unwrap();
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let sig = signature::sign(SECRET, &ts, method.as_str(), &target, body);
    let mut r = reqwest::Client::new()
        .request(method, url)
        .header(signature::TIMESTAMP_HEADER, &ts)
        .header(signature::SIGNATURE_HEADER, sig)
        .body(body.to_vec());
    if let Some(id) = request_id {
        r = r.header("x-request-id", id);
    }
    let response = r.send().await.unwrap();
    let status = response.status().as_u16();
    let id = response
        .headers()
        .get("x-request-id")
        .expect("every response carries its request id")
        .to_str()
        .unwrap()
        .to_string();
    (status, response.json().await.unwrap_or(Value::Null), id)
}

fn event(id: &str, matter_id: &str) -> Vec<u8> {
    json!({
        "id": id,
        "type": "matter.created",
        "matter": {
            "id": matter_id,
            "title": format!("Observed matter {matter_id}"),
            "matter_type": "Litigation",
            "clients": [{"id": "C-100", "name": "Acme Holdings Ltd"}],
        },
    })
    .to_string()
    .into_bytes()
}

/// Every iManage request answered 429, with no wait: the event fails after its retries.
fn all_throttled() -> Faults {
    Faults {
        rate_limit_burst: Some(RateLimitBurst {
            every: 0,
            count: 1,
            retry_after_secs: 0,
        }),
        ..Faults::default()
    }
}

/// One sample of the exposition: its name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// The exposition, parsed strictly: every line is `# HELP`, `# TYPE`, `# UNIT`, the final
/// `# EOF`, or `name{label="value",…} number`; anything else fails the test. Cross-checked with
/// the prometheus-parse crate, which must find every metric family this parser found.
fn parse_exposition(text: &str) -> Vec<Sample> {
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "OpenMetrics ends with # EOF");
    let mut samples = Vec::new();
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let kind = comment.split(' ').next().unwrap();
            assert!(["HELP", "TYPE", "UNIT"].contains(&kind), "bad line: {line}");
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("name and value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        let (name, labels) = match series.split_once('{') {
            None => (series, ""),
            Some((name, rest)) => (name, rest.strip_suffix('}').expect("closing brace")),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad name: {line}"
        );
        let mut map = HashMap::new();
        let mut rest = labels;
        while !rest.is_empty() {
            let (key, after) = rest.split_once("=\"").expect("label=\"value\"");
            // Values here never hold quotes or backslashes: ours come from fixed lists.
            let (val, after) = after.split_once('"').expect("closing quote");
            assert!(!val.contains('\\'), "{line}");
            map.insert(key.to_string(), val.to_string());
            rest = after.strip_prefix(',').unwrap_or(after);
        }
        samples.push(Sample {
            name: name.to_string(),
            labels: map,
            value,
        });
    }
    let crate_view =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
    for s in &samples {
        let family = s
            .name
            .trim_end_matches("_bucket")
            .trim_end_matches("_count")
            .trim_end_matches("_sum");
        assert!(
            crate_view
                .samples
                .iter()
                .any(|c| c.metric.starts_with(family)),
            "prometheus-parse does not see {}",
            s.name
        );
    }
    samples
}

async fn scrape(url: &str) -> Vec<Sample> {
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse_exposition(&response.text().await.unwrap())
}

/// The sum of `name`'s samples whose labels include every pair of `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

fn present(samples: &[Sample], name: &str) -> bool {
    samples.iter().any(|s| s.name == name)
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_events_imanage_requests_retries_and_failures() {
    let s = Setup::new().await;
    let server = start(&s, &[], true).await;
    let metrics = server.metrics.clone().unwrap();
    let events = format!("{}/v1/events", server.url);

    // Before anything: the series alerts rely on are there, at zero, for the default tenant.
    let before = scrape(&metrics).await;
    assert_eq!(value(&before, "matterlink_failed_events_waiting", &[]), 0.0);
    assert_eq!(
        value(
            &before,
            "matterlink_held_deliveries_waiting",
            &[("kind", "none")]
        ),
        0.0
    );
    assert!(present(&before, "matterlink_held_deliveries_waiting"));
    assert_eq!(
        value(&before, "matterlink_http_requests_in_flight_limit", &[]),
        192.0
    );
    assert_eq!(value(&before, "matterlink_token_connected", &[]), 0.0);

    // One provisioned, the same one again (a duplicate), and one failing against 429s.
    let (status, body, _) = signed(reqwest::Method::POST, &events, &event("E1", "M-1"), None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = signed(reqwest::Method::POST, &events, &event("E1", "M-1"), None).await;
    assert_eq!((status, &body["duplicate"]), (200, &json!(true)));
    s.sandbox.state().set_faults(all_throttled());
    let (status, body, _) = signed(reqwest::Method::POST, &events, &event("E2", "M-2"), None).await;
    assert_eq!(
        (status, body["error"]["kind"].as_str()),
        (503, Some("unavailable")),
        "{body}"
    );
    s.sandbox.state().set_faults(Faults::default());
    // A poll of the change feed, to see its time and its unacknowledged batch.
    let (status, batch, _) = signed(
        reqwest::Method::GET,
        &format!("{}/v1/changes", server.url),
        b"",
        None,
    )
    .await;
    let stats = s.sandbox.state().stats();

    let m = scrape(&metrics).await;
    for sample in &m {
        assert_eq!(
            sample.labels.get("tenant").map(String::as_str),
            Some("default"),
            "{sample:?}"
        );
        for v in sample.labels.values() {
            assert!(
                !v.contains("M-") && !v.contains('!'),
                "an id in a label: {sample:?}"
            );
        }
    }
    let events_total = |outcome| {
        value(
            &m,
            "matterlink_events_total",
            &[("type", "matter.created"), ("outcome", outcome)],
        )
    };
    assert_eq!(events_total("ok"), 1.0);
    assert_eq!(events_total("duplicate"), 1.0);
    assert_eq!(events_total("unavailable"), 1.0);
    assert_eq!(value(&m, "matterlink_events_total", &[]), 3.0);
    assert_eq!(
        value(
            &m,
            "matterlink_http_requests_total",
            &[("route", "events"), ("status", "200")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &m,
            "matterlink_http_requests_total",
            &[("route", "events"), ("status", "503")]
        ),
        1.0
    );

    // iManage, as the sandbox counted it.
    assert_eq!(
        value(&m, "matterlink_imanage_requests_total", &[]),
        stats.requests as f64,
        "every request the sandbox saw is counted once"
    );
    assert_eq!(
        value(
            &m,
            "matterlink_imanage_requests_total",
            &[("operation", "create_workspace"), ("status", "201")]
        ),
        1.0
    );
    let throttled = stats.faults.rate_limited as f64;
    assert!(throttled >= 2.0, "the failing event met 429s: {stats:?}");
    assert_eq!(
        value(&m, "matterlink_imanage_throttled_total", &[]),
        throttled
    );
    assert_eq!(
        value(
            &m,
            "matterlink_imanage_requests_total",
            &[("status", "429")]
        ),
        throttled
    );
    // Each 429 but the first of each operation was answered to a repeat of the same request.
    let retries = value(&m, "matterlink_imanage_retries_total", &[]);
    // Folders made one after another in one workspace are POSTs to one URL, not retries.
    assert!(
        value(
            &m,
            "matterlink_imanage_requests_total",
            &[("operation", "create_folder")]
        ) > 1.0
    );
    assert_eq!(
        value(
            &m,
            "matterlink_imanage_retries_total",
            &[("operation", "create_folder")]
        ),
        0.0
    );
    assert!(
        retries >= throttled - 2.0 && retries > 0.0,
        "{retries} of {throttled}"
    );
    assert_eq!(
        value(&m, "matterlink_imanage_request_duration_seconds_count", &[]),
        stats.requests as f64
    );
    let grants: u64 = stats.token_grants.values().sum();
    assert!(grants >= 1);
    assert_eq!(
        value(&m, "matterlink_token_refreshes_total", &[]),
        grants as f64
    );

    // Read from the stores at scrape time.
    assert_eq!(
        value(
            &m,
            "matterlink_failed_events_waiting",
            &[("kind", "unavailable")]
        ),
        1.0
    );
    let oldest = value(&m, "matterlink_failed_events_oldest_timestamp_seconds", &[]);
    assert!(oldest > 0.0 && oldest <= now() as f64);
    assert_eq!(value(&m, "matterlink_token_connected", &[]), 1.0);
    assert!(
        value(
            &m,
            "matterlink_token_expiry_timestamp_seconds",
            &[("token", "access")]
        ) > now() as f64
    );
    if status == 200 {
        let delivered = batch["changes"].as_array().map_or(0, Vec::len);
        assert!(present(&m, "matterlink_feed_last_poll_timestamp_seconds"));
        assert_eq!(
            value(&m, "matterlink_feed_unacknowledged_changes", &[]),
            delivered as f64
        );
    } else {
        panic!("the change feed poll failed: {status} {batch}");
    }

    // Nothing is held once every answer is in.
    let mut settled = m;
    for _ in 0..50 {
        if value(&settled, "matterlink_instances_in_use", &[]) == 0.0
            && value(&settled, "matterlink_http_requests_in_flight", &[]) == 0.0
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        settled = scrape(&metrics).await;
    }
    assert_eq!(value(&settled, "matterlink_instances_in_use", &[]), 0.0);
    assert_eq!(
        value(&settled, "matterlink_http_requests_in_flight", &[]),
        0.0
    );

    // The metrics listener answers nothing else, and the webhook listener has no /metrics.
    let other = reqwest::get(metrics.replace("/metrics", "/v1/health"))
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let webhooks = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap();
    assert_eq!(webhooks.status(), 404);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn json_logs_follow_one_request_id_to_imanage_and_the_audit_record() {
    let s = Setup::new().await;
    let server = start(&s, &["--log-format", "json", "--log", "info"], false).await;
    let events = format!("{}/v1/events", server.url);

    let (status, _, echoed) = signed(
        reqwest::Method::POST,
        &events,
        &event("E-LOG", "M-LOG"),
        Some("obs-req-1"),
    )
    .await;
    assert_eq!((status, echoed.as_str()), (200, "obs-req-1"));
    // No id, and an unusable one: each gets a fresh one of 32 hex digits.
    let (_, _, made) = signed(
        reqwest::Method::GET,
        &format!("{}/v1/health", server.url),
        b"",
        None,
    )
    .await;
    let (_, _, replaced) = signed(
        reqwest::Method::GET,
        &format!("{}/v1/health", server.url),
        b"",
        Some("has spaces in it"),
    )
    .await;
    for id in [&made, &replaced] {
        assert_eq!(id.len(), 32, "{id}");
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
    }
    assert_ne!(made, replaced);

    // The audit record names the request.
    let (status, audit, _) = signed(
        reqwest::Method::GET,
        &format!("{}/v1/audit?matter=M-LOG", server.url),
        b"",
        None,
    )
    .await;
    assert_eq!(status, 200, "{audit}");
    let record = &audit[0];
    assert_eq!(record["action"], "provision", "{audit}");
    assert_eq!(record["request_id"], "obs-req-1", "{audit}");

    let stderr = server.stop().await;
    let lines: Vec<Value> = stderr
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    let in_request = |line: &Value, id: &str| {
        line["spans"]
            .as_array()
            .is_some_and(|spans| spans.iter().any(|s| s["request_id"] == id))
    };
    let ours: Vec<&Value> = lines
        .iter()
        .filter(|l| in_request(l, "obs-req-1"))
        .collect();
    let messages: Vec<&str> = ours
        .iter()
        .filter_map(|l| l["fields"]["message"].as_str())
        .collect();
    let imanage: Vec<&&Value> = ours
        .iter()
        .filter(|l| l["fields"]["message"] == "imanage request")
        .collect();
    assert!(
        imanage
            .iter()
            .any(|l| l["fields"]["operation"] == "create_workspace" && l["fields"]["status"] == 201),
        "{messages:?}"
    );
    let event_line = ours
        .iter()
        .find(|l| l["fields"]["message"] == "event")
        .expect("the event's line");
    assert_eq!(event_line["fields"]["event_id"], "E-LOG");
    assert_eq!(event_line["fields"]["outcome"], "ok");
    assert!(ours
        .iter()
        .any(|l| l["fields"]["message"] == "request" && l["fields"]["status"] == 200));
    // The other requests' lines are theirs, not ours.
    assert!(lines.iter().any(|l| in_request(l, &made)));
    // Secrets never reach the log.
    for secret in [
        SECRET,
        imanage_sandbox::CLIENT_SECRET,
        imanage_sandbox::SERVICE_PASSWORD,
    ] {
        assert!(!stderr.contains(secret), "a secret in the log");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn status_shows_the_pool_failed_events_feed_and_token_without_the_token() {
    let s = Setup::new().await;
    let status = |metrics_url: Option<String>| {
        let mut c = common::matterlink(&s.sandbox, s.data.path());
        c.arg("status");
        if let Some(url) = metrics_url {
            c.args(["--metrics-url", &url]);
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        async move {
            let out = c.output().await.unwrap();
            let stdout = String::from_utf8(out.stdout).unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            );
            // One row per subject, `Subject   text`.
            stdout
                .lines()
                .skip(2)
                .map(|l| {
                    let (what, text) = l.split_at(15.min(l.len()));
                    (what.trim().to_string(), text.trim().to_string())
                })
                .collect::<HashMap<String, String>>()
        }
    };

    let server = start(&s, &[], true).await;
    let events = format!("{}/v1/events", server.url);
    let (code, _, _) = signed(reqwest::Method::POST, &events, &event("E-OK", "M-OK"), None).await;
    assert_eq!(code, 200);
    s.sandbox.state().set_faults(all_throttled());
    let (code, _, _) = signed(
        reqwest::Method::POST,
        &events,
        &event("E-BAD", "M-BAD"),
        None,
    )
    .await;
    assert_eq!(code, 503);
    s.sandbox.state().set_faults(Faults::default());
    // An Actionstep delivery of no known shape: answered 200, and held.
    let held = reqwest::Client::new()
        .post(format!("{}/v1/actionstep/{ACTIONSTEP_TOKEN}", server.url))
        .body(r#"{"resthook": "ActionCreated"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 200);
    let held: Value = held.json().await.unwrap();
    assert_eq!(held["held"]["kind"], "malformed", "{held}");
    let m = scrape(server.metrics.as_deref().unwrap()).await;
    assert_eq!(
        value(
            &m,
            "matterlink_held_deliveries_waiting",
            &[("source", "actionstep"), ("kind", "malformed")]
        ),
        1.0
    );
    assert_eq!(value(&m, "matterlink_held_deliveries_waiting", &[]), 1.0);

    let screen = status(server.metrics.clone()).await;
    let pool = &screen["Instance pool"];
    assert!(
        pool.contains("of 192 requests in flight") && pool.contains("instances in use"),
        "{pool}"
    );
    let failed = &screen["Failed events"];
    assert!(
        failed.starts_with("1 waiting (1 unavailable)") && failed.contains("event E-BAD"),
        "{failed}"
    );
    assert!(
        screen["Change feed"].contains("no poll since this server started")
            && screen["Change feed"].ends_with("0 changes unacknowledged"),
        "{screen:?}"
    );
    let held = &screen["Held deliveries"];
    assert!(
        held.starts_with("1 kept (1 malformed)") && held.contains("(actionstep: "),
        "{held}"
    );
    // `replay --list` shows it under the failed event, as the replay would run it.
    let out = common::matterlink(&s.sandbox, s.data.path())
        .args(["replay", "--list"])
        .output()
        .await
        .unwrap();
    let listed = String::from_utf8(out.stdout).unwrap();
    let (failed, held) = listed.split_once("HELD DELIVERY").expect("a held section");
    assert!(
        failed.contains("E-BAD") && !failed.contains("actionstep"),
        "{listed}"
    );
    let held: Vec<&str> = held.lines().skip(1).collect();
    assert_eq!(held.len(), 1, "{listed}");
    assert!(
        held[0].starts_with("actionstep-") && held[0].contains(" malformed: "),
        "{listed}"
    );
    let token = &screen["Token"];
    assert!(
        token.starts_with("access token expires in ") && token.ends_with("(service account)"),
        "{token}"
    );
    server.stop().await;

    // Without a server to ask, it says so and still shows what is stored.
    let screen = status(None).await;
    assert!(
        screen["Instance pool"].starts_with("not serving"),
        "{screen:?}"
    );
    assert!(screen["Failed events"].starts_with("1 waiting"));

    // The stored access token appears nowhere on the screen.
    let file = s.data.path().join(matterlink_host::runtime::KEY_VALUE_FILE);
    let kv = matterlink_host::keyvalue::sqlite::Sqlite::open(&file).unwrap();
    let raw = kv.get("default", "auth/tokens").unwrap().unwrap().value;
    let tokens: Value = serde_json::from_slice(&raw).unwrap();
    let access = tokens["access_token"].as_str().unwrap();
    assert!(access.len() > 8);
    let all: String = screen.values().cloned().collect();
    assert!(!all.contains(access));
}
