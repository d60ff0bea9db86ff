//! An in-process `Platform` for native tests: key-value and config in memory, a clock that
//! tests move, and HTTP that fails unless a test scripts it.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::model::Result;
use crate::platform::{HttpRequest, HttpResponse, Platform, TransportError};

type Responder = Box<dyn Fn(&HttpRequest) -> HttpResponse>;

/// The `Platform` of native tests.
pub struct FakePlatform {
    /// The key-value store, for tests to look into and tamper with.
    pub kv: RefCell<BTreeMap<String, Vec<u8>>>,
    /// Answers requests when a test scripted them; otherwise every request fails.
    responder: RefCell<Option<Responder>>,
    config: RefCell<BTreeMap<String, String>>,
    clock: Cell<u64>,
    /// Requests seen, for assertions.
    pub sent: RefCell<Vec<HttpRequest>>,
    /// Every wait asked for, in milliseconds, for assertions on retry timing.
    pub slept: RefCell<Vec<u64>>,
    /// The requests of each `send_all`, as ranges of `sent`, for assertions on what was in
    /// flight together. (They are answered one after another here, in order.)
    pub batches: RefCell<Vec<std::ops::Range<usize>>>,
}

impl FakePlatform {
    /// A complete, valid configuration pointing at a loopback iManage.
    pub fn configured() -> FakePlatform {
        let config = [
            ("imanage_base_url", "http://127.0.0.1:9"),
            ("imanage_library", "ACTIVE"),
            ("imanage_client_id", "matterlink"),
            ("imanage_client_secret", "client-secret-value"),
            ("imanage_username", "svc"),
            ("imanage_password", "password-value"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        FakePlatform {
            kv: RefCell::default(),
            responder: RefCell::default(),
            config: RefCell::new(config),
            clock: Cell::new(1_800_000_000),
            sent: RefCell::default(),
            slept: RefCell::default(),
            batches: RefCell::default(),
        }
    }

    /// Sets a configuration value.
    pub fn set_config(&self, key: &str, value: &str) {
        self.config.borrow_mut().insert(key.into(), value.into());
    }

    /// Removes a configuration value.
    pub fn unset_config(&self, key: &str) {
        self.config.borrow_mut().remove(key);
    }

    /// Answer every request with `f`.
    pub fn respond_with(&self, f: impl Fn(&HttpRequest) -> HttpResponse + 'static) {
        *self.responder.borrow_mut() = Some(Box::new(f));
    }

    /// Moves the clock forward.
    pub fn advance(&self, seconds: u64) {
        self.clock.set(self.clock.get() + seconds);
    }
}

impl Platform for FakePlatform {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.sent.borrow_mut().push(request.clone());
        match self.responder.borrow().as_ref() {
            Some(respond) => Ok(respond(request)),
            None => Err(TransportError::Failed("no network in unit tests".into())),
        }
    }

    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        let start = self.sent.borrow().len();
        let answers = requests.iter().map(|r| self.send(r)).collect();
        self.batches
            .borrow_mut()
            .push(start..start + requests.len());
        answers
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self.kv.borrow().get(key).cloned())
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.kv.borrow_mut().insert(key.into(), value.to_vec());
        Ok(())
    }

    fn kv_delete(&self, key: &str) -> Result<()> {
        self.kv.borrow_mut().remove(key);
        Ok(())
    }

    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut kv = self.kv.borrow_mut();
        let current = kv
            .get(key)
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
            .unwrap_or(0);
        let next = current + delta;
        kv.insert(key.into(), next.to_string().into_bytes());
        Ok(next)
    }

    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        // Every key read anywhere must be declared, so spin.toml (checked against the list)
        // can never miss one.
        assert!(
            crate::settings::CONFIG_KEYS.contains(&key),
            "configuration key {key:?} is read but not in CONFIG_KEYS"
        );
        Ok(self.config.borrow().get(key).cloned())
    }

    fn now(&self) -> u64 {
        self.clock.get()
    }

    fn sleep_ms(&self, ms: u64) {
        self.slept.borrow_mut().push(ms);
        self.clock.set(self.clock.get() + ms / 1000);
    }

    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        let kv = self.kv.borrow();
        Ok(kv
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}

/// A [`FakePlatform`] whose key-value reads a test watches: `on_get` sees each key after the
/// read, and may count it or run something else in the middle of the caller's work (another
/// matter's, as a second process would). Everything else goes to the platform unchanged.
pub struct Watched<'a, F: Fn(&str)> {
    /// The platform every call goes to.
    pub inner: &'a FakePlatform,
    /// Called with each key read, after the read.
    pub on_get: F,
}

impl<F: Fn(&str)> Platform for Watched<'_, F> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.inner.send(request)
    }
    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let got = self.inner.kv_get(key);
        (self.on_get)(key);
        got
    }
    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        self.inner.kv_set(key, value)
    }
    fn kv_delete(&self, key: &str) -> Result<()> {
        self.inner.kv_delete(key)
    }
    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.inner.kv_increment(key, delta)
    }
    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        self.inner.config_raw(key)
    }
    fn now(&self) -> u64 {
        self.inner.now()
    }
    fn sleep_ms(&self, ms: u64) {
        self.inner.sleep_ms(ms)
    }
    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        self.inner.kv_keys(prefix)
    }
}
