//! The adapter between WIT and the domain logic (wasm only): `Platform` on top of the WASI
//! imports, and the exports converting WIT records to domain types and back. No decisions are
//! made here; what can be decided without WASI lives in `http_parts`, which native tests cover.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::model::Result;
use crate::platform::{HttpRequest, HttpResponse, Platform, TransportError};
use crate::saved_settings::Overlay;

/// The generated bindings, in their own module so that their `exports` does not collide with
/// ours.
mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        generate_all,
    });
}

mod config;
mod convert;
mod exports;
mod http;
mod incoming;
mod keyvalue;

use exports::Component;
bindings::export!(Component with_types_in bindings);

/// The capabilities of one export call: a fresh one per call, so nothing outlives the call. The
/// settings saved in the console lie over `wasi:config` for every export and request alike
/// (`saved_settings::Overlay`, which decides; this adapter only wires it in).
type WasiPlatform = Overlay<Imports>;

impl Overlay<Imports> {
    fn new() -> Self {
        Overlay::wrap(Imports {
            kv: keyvalue::Store::new(),
        })
    }
}

/// The WASI imports as a `Platform`.
struct Imports {
    kv: keyvalue::Store,
}

impl Platform for Imports {
    fn send(&self, req: &HttpRequest) -> Result<HttpResponse, TransportError> {
        http::send(req)
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        http::send_all(requests)
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.kv.get(key)
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.kv.set(key, value)
    }

    fn kv_delete(&self, key: &str) -> Result<()> {
        self.kv.delete(key)
    }

    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.kv.increment(key, delta)
    }

    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        config::get(key)
    }

    // The clock and sleeping come from std, which wasm32-wasip2 builds on `wasi:clocks`.
    fn now(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    }

    fn sleep_ms(&self, ms: u64) {
        std::thread::sleep(Duration::from_millis(ms));
    }

    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.kv.keys(prefix)
    }
}
