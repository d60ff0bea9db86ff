//! The HTTP routes: any method, target, headers and body must get a response, never a panic.
//! Half the inputs are signed correctly, so that the fuzzer gets past authentication into every
//! route; the platform is in memory and iManage never answers.
#![no_main]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use matterlink_component::model::{Error, Result};
use matterlink_component::platform::{HttpRequest, HttpResponse, Platform, TransportError};
use matterlink_component::webhooks::{self, signature, Request};

const SECRET: &str = "fuzz-webhook-secret-0123456789abcdef";

/// Key-value and configuration in memory; HTTP always fails; a clock fixed but for sleeps.
struct Memory {
    kv: RefCell<BTreeMap<String, Vec<u8>>>,
    clock: Cell<u64>,
}

impl Platform for Memory {
    fn send(&self, _: &HttpRequest) -> std::result::Result<HttpResponse, TransportError> {
        Err(TransportError::Failed("no network while fuzzing".into()))
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
    fn kv_compare_and_swap(&self, key: &str, expected: Option<&[u8]>, new: &[u8]) -> Result<bool> {
        let mut kv = self.kv.borrow_mut();
        if kv.get(key).map(Vec::as_slice) != expected {
            return Ok(false);
        }
        kv.insert(key.into(), new.to_vec());
        Ok(true)
    }
    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        let mut kv = self.kv.borrow_mut();
        let n = kv
            .get(key)
            .and_then(|v| std::str::from_utf8(v).ok()?.parse::<i64>().ok())
            .unwrap_or(0)
            .checked_add(delta)
            .ok_or_else(|| Error::Unavailable("overflow".into()))?;
        kv.insert(key.into(), n.to_string().into_bytes());
        Ok(n)
    }
    fn config(&self, key: &str) -> Result<Option<String>> {
        Ok(match key {
            "imanage_base_url" => Some("http://127.0.0.1:9".into()),
            "imanage_library" => Some("ACTIVE".into()),
            "imanage_client_id" => Some("matterlink".into()),
            "imanage_client_secret" => Some("client-secret".into()),
            "imanage_username" => Some("svc".into()),
            "imanage_password" => Some("password".into()),
            "imanage_timeout_seconds" | "event_deadline_seconds" => Some("1".into()),
            "webhook_secret" => Some(SECRET.into()),
            "actionstep_token" => Some("fuzz-actionstep-token-0123456789abcdef".into()),
            _ => None,
        })
    }
    fn now(&self) -> u64 {
        self.clock.get()
    }
    fn sleep_ms(&self, ms: u64) {
        self.clock.set(self.clock.get() + ms.div_ceil(1000));
    }
    fn kv_keys(&self, prefix: &str) -> Result<Vec<String>> {
        Ok(self
            .kv
            .borrow()
            .keys()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect())
    }
}

fuzz_target!(|data: &[u8]| {
    // flags, then method, target, headers ("name: value" lines) and body separated by 0xFF.
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(4, |&b| b == 0xff);
    let text = |b: Option<&[u8]>| String::from_utf8_lossy(b.unwrap_or_default()).into_owned();
    let method = text(parts.next());
    let target = text(parts.next());
    let mut headers: Vec<(String, String)> = text(parts.next())
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let body = parts.next().unwrap_or_default().to_vec();
    let p = Memory {
        kv: RefCell::default(),
        clock: Cell::new(1_800_000_000),
    };
    if flags & 1 == 1 {
        let ts = p.now().to_string();
        let sig = signature::sign(SECRET, &ts, &method, &target, &body);
        headers.push((signature::TIMESTAMP_HEADER.into(), ts));
        headers.push((signature::SIGNATURE_HEADER.into(), sig));
    }
    let request = Request {
        method,
        target,
        headers,
        body,
        body_too_large: flags & 2 == 2,
    };
    let answer = webhooks::handle(&p, &request);
    assert!((100..600).contains(&answer.status));
    if answer.status >= 400 {
        assert!(answer.body["error"]["kind"].is_string(), "{}", answer.body);
    }
});
