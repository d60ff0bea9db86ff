//! The component's domain logic compiled natively, on a native `Platform`: the baseline that the
//! `.wasm` in the host is measured against. Everything but the WebAssembly boundary is kept
//! alike, so the ratio is the cost of running as a component:
//! - key-value: the host's own SQLite backend, on its own file;
//! - HTTP: a blocking client keeping connections alive, as the host's pool does for the
//!   component (and without a timeout, the cheapest it can be);
//! - configuration: the same `ConfigStore` values.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use matterlink_component::model::{Error, Result};
use matterlink_component::platform::{HttpRequest, HttpResponse, Platform, TransportError};
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::ConfigStore;

const STORE: &str = "default";

pub struct NativePlatform {
    http: ureq::Agent,
    /// Called through its blocking methods, which the host's async `Backend` runs inline too:
    /// the same work per operation, without an executor the native platform does not have.
    kv: Sqlite,
    config: ConfigStore,
    /// Time spent to response heads and in key-value calls, for the per-event breakdown.
    http_nanos: AtomicU64,
    kv_nanos: AtomicU64,
}

impl NativePlatform {
    pub fn new(config: ConfigStore, data_dir: &Path) -> anyhow::Result<NativePlatform> {
        let http = ureq::Agent::config_builder()
            // iManage's statuses are the component's to interpret, as they are over wasi:http.
            .http_status_as_error(false)
            // No timeout: ureq enforces one with a resolver thread per request, which would
            // make the baseline slower than the plain client it stands for (the sandbox is
            // loopback and answers).
            .build()
            .into();
        Ok(NativePlatform {
            http,
            kv: Sqlite::open(&data_dir.join("native.sqlite3"))?,
            config,
            http_nanos: AtomicU64::new(0),
            kv_nanos: AtomicU64::new(0),
        })
    }

    pub fn http_time(&self) -> Duration {
        Duration::from_nanos(self.http_nanos.load(Ordering::Relaxed))
    }

    pub fn kv_time(&self) -> Duration {
        Duration::from_nanos(self.kv_nanos.load(Ordering::Relaxed))
    }

    fn kv<T>(&self, call: impl FnOnce(&Sqlite) -> T) -> T {
        timed(&self.kv_nanos, || call(&self.kv))
    }
}

fn timed<T>(into: &AtomicU64, call: impl FnOnce() -> T) -> T {
    let started = Instant::now();
    let out = call();
    into.fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    out
}

fn kv_error(e: matterlink_host::keyvalue::Error) -> Error {
    Error::Unavailable(format!("key-value: {e}"))
}

impl Platform for NativePlatform {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let mut builder = ureq::http::Request::builder()
            .method(req.method.as_str())
            .uri(&req.url);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        let failed = |e: &dyn std::fmt::Display| TransportError::Failed(e.to_string());
        let result = if req.body.is_empty() {
            let request = builder.body(()).map_err(|e| failed(&e))?;
            timed(&self.http_nanos, || self.http.run(request))
        } else {
            let request = builder.body(req.body.clone()).map_err(|e| failed(&e))?;
            timed(&self.http_nanos, || self.http.run(request))
        };
        let mut response = result.map_err(|e| failed(&e))?;
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(32 << 20)
            .read_to_vec()
            .map_err(|e| failed(&e))?;
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .kv(|kv| kv.get(STORE, key))
            .map_err(kv_error)?
            .map(|v| v.value))
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.kv(|kv| kv.set(STORE, key, value)).map_err(kv_error)
    }

    fn kv_delete(&self, key: &str) -> Result<()> {
        self.kv(|kv| kv.delete(STORE, key)).map_err(kv_error)
    }

    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.kv(|kv| kv.increment(STORE, key, delta))
            .map_err(kv_error)
    }

    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        // Pages through the store as the host's `list-keys` binding does, keeping the prefix.
        let mut keys = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (page, next) = self
                .kv(|kv| kv.list_keys(STORE, cursor.as_deref(), 1000))
                .map_err(kv_error)?;
            keys.extend(page.into_iter().filter(|k| k.starts_with(prefix)));
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(keys),
            }
        }
    }

    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        Ok(self.config.get(key).map(String::from))
    }

    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }
}
