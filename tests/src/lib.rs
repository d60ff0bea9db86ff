//! Shared helpers for the end-to-end tests: a sandbox on a loopback port, a host runtime
//! configured against it with its own data directory, and readers for what both hold.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use imanage_sandbox::{Sandbox, SandboxConfig, SharedState};
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::runtime::KEY_VALUE_FILE;
use matterlink_host::{
    ConfigStore, Function, Matter, Outcome, Runtime, RuntimeOptions, EMBEDDED_COMPONENT,
};
use serde_json::Value;

pub struct Env {
    pub sandbox: Sandbox,
    pub data: tempfile::TempDir,
}

impl Env {
    pub async fn start() -> Env {
        Env::start_with(SandboxConfig::default()).await
    }

    /// A sandbox with other token lifetimes, faults or auto-approve.
    pub async fn start_with(config: SandboxConfig) -> Env {
        Env {
            sandbox: Sandbox::start(SocketAddr::from(([127, 0, 0, 1], 0)), config)
                .await
                .expect("sandbox starts"),
            data: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn state(&self) -> SharedState {
        self.sandbox.state()
    }

    /// The configuration `matterlink demo` uses, against this sandbox.
    pub fn config(&self) -> ConfigStore {
        matterlink_host::demo::sandbox_config(&self.sandbox.base_url())
    }

    pub fn runtime(&self) -> Runtime {
        self.runtime_with(self.config())
    }

    pub fn runtime_with(&self, config: ConfigStore) -> Runtime {
        runtime_at(self.data.path(), config, None)
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The key-value store as another process would see it.
    pub fn kv(&self) -> Kv {
        Kv(Sqlite::open(&self.data.path().join(KEY_VALUE_FILE)).expect("key-value opens"))
    }
}

pub fn runtime_at(
    data_dir: &Path,
    config: ConfigStore,
    allowed_base_url: Option<String>,
) -> Runtime {
    Runtime::new(RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir,
        config,
        allowed_base_url,
    })
    .expect("runtime loads the component")
}

/// Reads the SQLite file with its own connection, as another process would, through the
/// backend's blocking methods: the tests' assertions stay plain synchronous code.
pub struct Kv(Sqlite);

impl Kv {
    pub fn get_json(&self, key: &str) -> Option<Value> {
        self.0
            .get("default", key)
            .expect("read")
            .map(|v| serde_json::from_slice(&v.value).expect("JSON value"))
    }

    /// Writes a JSON value, as another process (or one that crashed half-way) would have left it.
    pub fn set_json(&self, key: &str, value: &Value) {
        let raw = serde_json::to_vec(value).expect("JSON");
        self.0.set("default", key, &raw).expect("write");
    }

    /// Every key and value, to compare before and after.
    pub fn snapshot(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        self.keys()
            .into_iter()
            .map(|k| {
                let v = self
                    .0
                    .get("default", &k)
                    .expect("read")
                    .map(|v| v.value)
                    .unwrap_or_default();
                (k, v)
            })
            .collect()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut all = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .0
                .list_keys("default", cursor.as_deref(), 1000)
                .expect("list");
            all.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => return all,
            }
        }
    }
}

pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub fn fixture(name: &str) -> Matter {
    let text = std::fs::read_to_string(fixtures_dir().join(name)).expect("fixture exists");
    serde_json::from_str(&text).expect("fixture is a matter")
}

pub async fn call(rt: &Runtime, f: Function, m: &Matter) -> Outcome {
    rt.call(f, m.clone()).await.expect("the host runs the call")
}

/// Folder paths of a workspace in the sandbox, e.g. `Pleadings/Filed`, sorted.
pub fn folder_paths(state: &SharedState, workspace_id: &str) -> Vec<String> {
    let folders = state.folders_of(workspace_id);
    let mut paths: Vec<String> = folders
        .iter()
        .map(|f| {
            let mut path = vec![f.name.clone()];
            let mut parent = f.parent_id.clone();
            while let Some(p) = folders.iter().find(|x| x.id == parent) {
                path.insert(0, p.name.clone());
                parent = p.parent_id.clone();
            }
            path.join("/")
        })
        .collect();
    paths.sort();
    paths
}

/// Interfaces the component may import (ARCHITECTURE.md, "Portability"): what Spin ≥ 3.1
/// and the bundled host both provide. Anything else fails the portability test.
pub fn import_allowed(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:keyvalue/batch@0.2.0-draft2",
        "wasi:config/store@0.2.0-draft-2024-09-27",
    ];
    // Semver-compatible 0.2.x interfaces: http plus the pieces Rust's std pulls in.
    const FAMILIES: &[&str] = &[
        "wasi:http/outgoing-handler",
        "wasi:http/types",
        "wasi:io/",
        "wasi:clocks/",
        "wasi:random/",
        "wasi:cli/environment",
        "wasi:cli/exit",
        "wasi:cli/stdin",
        "wasi:cli/stdout",
        "wasi:cli/stderr",
        "wasi:cli/terminal-",
        "wasi:filesystem/",
    ];
    if EXACT.contains(&name) {
        return true;
    }
    let Some((interface, version)) = name.split_once('@') else {
        return false;
    };
    version.starts_with("0.2.")
        && !version.contains('-')
        && FAMILIES.iter().any(|f| interface.starts_with(f))
}

pub fn component_imports_and_exports() -> (Vec<String>, Vec<String>) {
    let engine = wasmtime::Engine::default();
    let component = wasmtime::component::Component::new(&engine, EMBEDDED_COMPONENT)
        .expect("component compiles");
    let ty = component.component_type();
    let imports = ty.imports(&engine).map(|(n, _)| n.to_string()).collect();
    let exports = ty.exports(&engine).map(|(n, _)| n.to_string()).collect();
    (imports, exports)
}

/// Collects everything the host logs, at every level, for assertions on log content: what
/// `matterlink --log trace` would write (the WASI bindings' call traces silenced, as there).
#[derive(Clone, Default)]
pub struct LogCapture(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    pub fn subscriber(&self) -> impl tracing::Subscriber + Send + Sync {
        let sink = self.clone();
        tracing_subscriber::fmt()
            .with_env_filter(matterlink_host::logging::filter("trace"))
            .with_ansi(false)
            .with_writer(move || sink.clone())
            .finish()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `matterlink serve`'s code path on a loopback port, stopped when dropped.
pub struct Server {
    pub url: String,
    /// The runtime it serves, to look at (e.g. `instances_in_use`) while it runs.
    pub runtime: std::sync::Arc<Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

impl Server {
    pub async fn start(runtime: Runtime) -> Server {
        Server::start_with(runtime, matterlink_host::serve::ServeOptions::default()).await
    }

    /// With other deadlines and limits, e.g. short ones for a test.
    pub async fn start_with(
        runtime: Runtime,
        options: matterlink_host::serve::ServeOptions,
    ) -> Server {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let runtime = std::sync::Arc::new(runtime);
        let task = tokio::spawn(matterlink_host::serve::serve_with(
            runtime.clone(),
            listener,
            options,
            async {
                let _ = stopped.await;
            },
        ));
        Server {
            url,
            runtime,
            stop: Some(stop),
            task: Some(task),
        }
    }

    /// `host:port`, for raw TCP clients.
    pub fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.expect("server task").expect("server stops cleanly");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

// Both at least 32 characters, as the component requires of shared secrets.
pub const WEBHOOK_SECRET: &str = "test-webhook-secret-0123456789abcdef";
pub const ACTIONSTEP_TOKEN: &str = "test-actionstep-token-0123456789abcdef";

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A request signed as a caller holding `webhook_secret` would sign it, at time `at`: the
/// HMAC of `{at}.{METHOD}.{path-with-query}.{body}`, the path and query as reqwest will put them
/// on the request line.
pub fn signed(
    client: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Vec<u8>,
    at: u64,
) -> reqwest::RequestBuilder {
    use matterlink_component::webhooks::signature;
    let parsed = reqwest::Url::parse(url).expect("an absolute URL");
    let target = match parsed.query() {
        Some(q) => format!("{}?{q}", parsed.path()),
        None => parsed.path().to_string(),
    };
    let ts = at.to_string();
    let sig = signature::sign(WEBHOOK_SECRET, &ts, method.as_str(), &target, &body);
    client
        .request(method, parsed)
        .header(signature::TIMESTAMP_HEADER, ts)
        .header(signature::SIGNATURE_HEADER, sig)
        .body(body)
}

/// Delivers `event` to `server`'s `/v1/events`, signed now, as the matter system would.
pub async fn post_event(server: &str, event: &serde_json::Value) -> reqwest::Response {
    signed(
        &reqwest::Client::new(),
        reqwest::Method::POST,
        &format!("{server}/v1/events"),
        serde_json::to_vec(event).unwrap(),
        unix_now(),
    )
    .send()
    .await
    .unwrap()
}

/// Every key and value of a snapshot but the memory of used webhook signatures, which every
/// accepted signed request adds to (`webhooks::replay`): what a refused request must not change.
pub fn without_signatures(
    mut kv: std::collections::BTreeMap<String, Vec<u8>>,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    kv.retain(|k, _| !k.starts_with("webhook/"));
    kv
}

/// The demo configuration for an OAuth integration: no service account, tokens from `connect`.
pub fn oauth_config(env: &Env) -> ConfigStore {
    let mut c = env.config();
    c.set("imanage_auth", "oauth");
    c.set("imanage_username", "");
    c.set("imanage_password", "");
    c
}

/// Moves time forward for iManage and for the component together, as if `by` had passed.
pub fn advance(env: &Env, runtimes: &[&Runtime], by: std::time::Duration) {
    env.state().advance_clock(by);
    for rt in runtimes {
        rt.advance_clock(by);
    }
}

/// What a browser sign-in handed around, for tests that look for it where it must not be.
#[derive(Debug, Default, Clone)]
pub struct SignIn {
    pub code: String,
    pub state: String,
    /// The PKCE verifier as the component kept it in key-value while the sign-in was open.
    pub verifier: String,
}

/// `matterlink connect` as the host library runs it: the loopback listener, iManage's sign-in
/// page (the sandbox must auto-approve), the redirect followed by hand to the listener. Returns
/// the outcome and what the browser carried.
pub async fn connect(env: &Env, rt: &Runtime) -> (Result<String, matterlink_host::Error>, SignIn) {
    let (outcome, seen, _) = connect_after_strays(env, rt, &[]).await;
    (outcome, seen)
}

/// `connect`, with requests to the callback address carrying each of `strays` as its query
/// before the browser's answer arrives; also returns the status each stray got.
pub async fn connect_after_strays(
    env: &Env,
    rt: &Runtime,
    strays: &[&str],
) -> (Result<String, matterlink_host::Error>, SignIn, Vec<u16>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let callback = format!(
        "http://{}{}",
        listener.local_addr().unwrap(),
        matterlink_host::connect::CALLBACK_PATH
    );
    let strays: Vec<String> = strays.iter().map(|q| format!("{callback}?{q}")).collect();
    let kv_path = env.data_dir().join(KEY_VALUE_FILE);
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel::<(SignIn, Vec<u16>)>();
    let outcome = matterlink_host::connect::run(
        rt,
        listener,
        std::time::Duration::from_secs(60),
        move |request| {
            let url = request.authorize_url.clone();
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                for stray in strays {
                    let r = reqwest::get(&stray).await.expect("the listener answers");
                    statuses.push(r.status().as_u16());
                }
                let seen = browser(&url, &kv_path).await;
                let _ = seen_tx.send((seen, statuses));
            });
        },
    )
    .await
    .expect("the host runs the sign-in");
    let (seen, statuses) = seen_rx.await.unwrap_or_default();
    (outcome, seen, statuses)
}

/// A browser: opens iManage's sign-in page, and follows its redirect to the loopback listener.
async fn browser(authorize_url: &str, kv_path: &Path) -> SignIn {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    let answer = http.get(authorize_url).send().await.expect("sign-in page");
    assert_eq!(answer.status(), 302, "the sandbox approves at once");
    let location = answer.headers()["location"]
        .to_str()
        .expect("ascii location")
        .to_string();
    let url = url::Url::parse(&location).expect("redirect URL");
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let pending = Kv(Sqlite::open(kv_path).expect("key-value opens"))
        .get_json("auth/connect-pending")
        .unwrap_or_default();
    let seen = SignIn {
        code: query("code"),
        state: query("state"),
        verifier: pending["verifier"].as_str().unwrap_or_default().to_string(),
    };
    let page = http.get(location).send().await.expect("loopback callback");
    assert!(page.status().is_success(), "{}", page.status());
    seen
}
pub mod imanage;
pub mod serve_attack;

/// One HTTP/1.1 exchange with exact bytes, for what a client library would not send (a body
/// announced but never sent, a request line that is not UTF-8): writes `request`, then reads one
/// response (its status and body) within `within`, or panics saying it did not come.
pub async fn raw_exchange(
    url: &str,
    request: &[u8],
    within: std::time::Duration,
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // The server may answer and close before taking all of it: that is an answer too.
    let _ = stream.write_all(request).await;
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                let status: u16 = head
                    .split_whitespace()
                    .nth(1)
                    .and_then(|s| s.parse().ok())
                    .expect("a status line");
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok());
                let body = &buf[end + 4..];
                if length.is_some_and(|n| body.len() >= n) {
                    return (status, body[..length.unwrap()].to_vec());
                }
                if head.contains("transfer-encoding: chunked") {
                    if let Some(whole) = dechunk(body) {
                        return (status, whole);
                    }
                }
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => {
                    let end = buf
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .expect("a complete response head before the connection closed");
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    let status = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .expect("a status line");
                    return (status, buf[end + 4..].to_vec());
                }
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read)
        .await
        .unwrap_or_else(|_| panic!("no answer within {within:?}"))
}

/// A chunked body decoded, once its last chunk arrived.
fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size = usize::from_str_radix(
            std::str::from_utf8(&raw[..line_end])
                .ok()?
                .split(';')
                .next()?
                .trim(),
            16,
        )
        .ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if raw.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

/// The bytes of a request signed with `WEBHOOK_SECRET` now, `target` exactly as given.
pub fn raw_signed(method: &str, target: &[u8], body: &[u8]) -> Vec<u8> {
    use matterlink_component::webhooks::signature;
    let ts = unix_now().to_string();
    let sig = signature::sign(
        WEBHOOK_SECRET,
        &ts,
        method,
        &String::from_utf8_lossy(target),
        body,
    );
    let mut r = format!("{method} ").into_bytes();
    r.extend_from_slice(target);
    r.extend_from_slice(
        format!(
            " HTTP/1.1\r\nhost: localhost\r\n{}: {ts}\r\n{}: {sig}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            signature::TIMESTAMP_HEADER,
            signature::SIGNATURE_HEADER,
            body.len()
        )
        .as_bytes(),
    );
    r.extend_from_slice(body);
    r
}
pub mod browser;
pub mod console;
pub mod spin;
