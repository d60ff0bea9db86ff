//! The capabilities the domain logic needs from whatever runs it.
//!
//! In the `.wasm` these are bound to `wasi:http`, `wasi:keyvalue` and `wasi:config`
//! (see `bindings.rs`); native tests and benchmarks supply in-process implementations.

use crate::model::Result;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    /// Absolute URL.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// How long to wait for the first byte of the answer (and between later bytes).
    pub timeout_ms: u64,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
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

pub trait Platform {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError>;

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>>;
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()>;
    fn kv_delete(&self, key: &str) -> Result<()>;
    /// Sets `key` to `new` only if its current value is `expected` (`None` = absent), atomically
    /// across every process sharing the store. Returns whether the swap happened.
    fn kv_compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool>;
    /// Atomically adds `delta` and returns the new value.
    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64>;

    /// A configuration value, `None` when unset.
    fn config(&self, key: &str) -> Result<Option<String>>;

    /// Seconds since the Unix epoch.
    fn now(&self) -> u64;
    fn sleep_ms(&self, ms: u64);

    /// Every key that starts with `prefix`, in no particular order.
    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>>;
}
