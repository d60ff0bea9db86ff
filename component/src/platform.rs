//! The capabilities the domain logic needs from whatever runs it.
//!
//! In the `.wasm` these are bound to `wasi:http`, `wasi:keyvalue` and `wasi:config`
//! (see the `wasi` adapter); native tests and benchmarks supply in-process implementations.

use crate::model::Result;

/// The HTTP methods matterlink sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PATCH`.
    Patch,
    /// `DELETE`.
    Delete,
}

impl Method {
    /// The method as HTTP spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

/// An HTTP request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    /// Header names and values.
    pub headers: Vec<(String, String)>,
    /// The body, empty for none.
    pub body: Vec<u8>,
    /// How long to wait for the first byte of the answer (and between later bytes).
    pub timeout_ms: u64,
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header names (as the server sent them) and values.
    pub headers: Vec<(String, String)>,
    /// The whole body.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first value of header `name`, compared without case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Why a request produced no response at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportError {
    /// The host refused the destination (outbound allow-list).
    Denied(String),
    /// Connection refused or reset, DNS failure, timeout: worth retrying.
    Failed(String),
}

/// What the domain logic needs from whatever runs it: HTTP, key-value, configuration and a clock.
pub trait Platform {
    /// Sends one request; an HTTP error status is a response, not an error.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;

    /// Sends every request, with as many in flight at once as the platform can, and answers in
    /// the order of `requests`. Nothing decides here how many go at once: callers hand over
    /// only requests that may run together, as many as they allow (see
    /// `transport::send_all_with_retries`). By default one after another, which every platform
    /// can do; the WASI adapter waits on all of them together.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        requests.iter().map(|r| self.send(r)).collect()
    }

    /// The value under `key`, `None` when absent.
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    /// Sets `key` to `value`.
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()>;
    /// Removes `key`; removing an absent key is not an error.
    fn kv_delete(&self, key: &str) -> Result<()>;
    /// Atomically adds `delta` and returns the new value, across every process sharing the store.
    ///
    /// There is deliberately no compare-and-swap: Spin's Redis store reports a successful swap as
    /// failed (and an aborted one as done), so whatever must be exclusive is built on this
    /// (Redis `INCR`) instead — see `claim`.
    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64>;

    /// A configuration value, `None` when unset. An empty or whitespace-only value is unset:
    /// Spin hands every declared variable to the component, with `""` for one defaulted to
    /// nothing, so "empty" is how a Spin deployment says "not set". Every configuration read
    /// goes through here; platforms implement `config_raw` and leave this alone.
    fn config(&self, key: &str) -> Result<Option<String>> {
        Ok(self.config_raw(key)?.filter(|v| !v.trim().is_empty()))
    }

    /// The configuration value as the platform holds it, `None` when it holds none. Read it
    /// through `config`.
    fn config_raw(&self, key: &str) -> Result<Option<String>>;

    /// The configuration value as the deployment gives it, ignoring what the console saved
    /// (`saved_settings::Overlay`): what the set-up page shows as "set by the deployment", and
    /// what a value saved in the console falls back to. Platforms without an overlay hold only
    /// the deployment's values, hence the default.
    fn config_deployed(&self, key: &str) -> Result<Option<String>> {
        self.config_raw(key)
    }

    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
    /// Waits `ms` milliseconds.
    fn sleep_ms(&self, ms: u64);

    /// Every key that starts with `prefix`, in no particular order.
    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>>;
}

/// A borrowed platform is one: wrappers such as `saved_settings::Overlay` can then layer over a
/// `&dyn Platform` as well as over an owned one.
impl<T: Platform + ?Sized> Platform for &T {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        (**self).send(request)
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        (**self).send_all(requests)
    }
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        (**self).kv_get(key)
    }
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        (**self).kv_set(key, value)
    }
    fn kv_delete(&self, key: &str) -> Result<()> {
        (**self).kv_delete(key)
    }
    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        (**self).kv_increment(key, delta)
    }
    fn config(&self, key: &str) -> Result<Option<String>> {
        (**self).config(key)
    }
    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        (**self).config_raw(key)
    }
    fn config_deployed(&self, key: &str) -> Result<Option<String>> {
        (**self).config_deployed(key)
    }
    fn now(&self) -> u64 {
        (**self).now()
    }
    fn sleep_ms(&self, ms: u64) {
        (**self).sleep_ms(ms)
    }
    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        (**self).kv_keys(prefix)
    }
}
