//! Settings saved in the console: a key-value document (`keys::CONSOLE_SETTINGS`) of values for
//! the console's keys (`settings::CONSOLE_KEYS`), which win over `wasi:config` for every caller
//! of the component — webhooks, exports, the CLI — through [`Overlay`]. Each saved version is
//! also kept under its number (`keys::console_settings_version`), and saving writes an audit
//! record naming who changed which keys (never a value: one of them is a password).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::keys;
use crate::model::{Error, Result};
use crate::platform::{HttpRequest, HttpResponse, Platform, TransportError};
use crate::settings::{CONSOLE_KEYS, SECRET_KEYS};

/// One saved version of the console's settings.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Saved {
    /// 1 for the first save, one more for each save after it.
    pub version: u64,
    /// Key → value, for console keys only. A key that is absent takes the deployment's value;
    /// one saved as `""` is unset (the default), whatever the deployment says.
    pub values: BTreeMap<String, String>,
    /// Who saved it (the console user).
    pub saved_by: String,
    /// When, seconds since the Unix epoch.
    pub saved_at: u64,
}

// Hand-written: `values` may hold the service account's password.
impl std::fmt::Debug for Saved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Saved")
            .field("version", &self.version)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .field("saved_by", &self.saved_by)
            .field("saved_at", &self.saved_at)
            .finish()
    }
}

/// Whether the console may save `key`.
pub fn is_console_key(key: &str) -> bool {
    CONSOLE_KEYS.contains(&key)
}

/// The current saved settings, `None` when nothing was ever saved. A document that cannot be
/// read is `not-configured`: silently falling back to `wasi:config` would run the integration
/// on settings the administrator replaced.
pub fn load(p: &dyn Platform) -> Result<Option<Saved>> {
    match p.kv_get(keys::CONSOLE_SETTINGS)? {
        None => Ok(None),
        Some(raw) => serde_json::from_slice(&raw).map(Some).map_err(|e| {
            Error::NotConfigured(format!(
                "the settings saved in the console ({}) cannot be read: {e}",
                keys::CONSOLE_SETTINGS
            ))
        }),
    }
}

/// Saves `values` (console keys only; anything else is refused) as the next version, by `user`:
/// the version is kept under its number, becomes the current one, and the audit trail says who
/// changed which keys. Validating the values is the caller's (the set-up page loads the
/// settings over them first, see `Overlay::with`).
pub fn save(p: &dyn Platform, values: BTreeMap<String, String>, user: &str) -> Result<Saved> {
    if let Some(key) = values.keys().find(|k| !is_console_key(k)) {
        return Err(Error::Rejected(format!(
            "`{key}` cannot be saved in the console; it is set by the deployment"
        )));
    }
    let previous = load(p)?.unwrap_or_default();
    let saved = Saved {
        version: previous.version + 1,
        values,
        saved_by: user.to_string(),
        saved_at: p.now(),
    };
    let raw = serde_json::to_vec(&saved).unwrap_or_default();
    // The numbered copy first: the current document never names a version that is not kept.
    p.kv_set(&keys::console_settings_version(saved.version), &raw)?;
    p.kv_set(keys::CONSOLE_SETTINGS, &raw)?;
    let changed = changed_keys(&previous.values, &saved.values);
    crate::audit::record(
        p,
        "settings",
        "",
        "ok",
        format!(
            "{user} saved version {}: {}",
            saved.version,
            if changed.is_empty() {
                "nothing changed".to_string()
            } else {
                format!("changed {}", changed.join(", "))
            }
        ),
    )?;
    Ok(saved)
}

/// The keys whose saved value differs between two versions (added, removed or changed), by
/// name only; a secret's is marked so, since its value never appears anywhere.
pub fn changed_keys(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<String> {
    // Both maps are in key order: changed and removed keys, then added ones (no sort, which
    // would cost the component a sort routine of its own).
    let mut out = Vec::new();
    let mut name = |k: &String| {
        out.push(if SECRET_KEYS.contains(&k.as_str()) {
            format!("{k} (secret)")
        } else {
            k.clone()
        })
    };
    for (k, v) in before {
        if after.get(k) != Some(v) {
            name(k);
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            name(k);
        }
    }
    out
}

/// A platform whose configuration is the console's saved settings over the deployment's: for
/// a console key the saved document has, its value; otherwise `wasi:config`'s. Everything else
/// is the inner platform's.
///
/// The document is read once per `Overlay` (one per call in the component), at the first read
/// of a console key, and read again only after this platform wrote or deleted it — so a call
/// that saves and then reads sees what it saved, and no call pays more than one read.
pub struct Overlay<P: Platform> {
    inner: P,
    /// `None`: not read yet (or written since); `Some(None)`: nothing saved.
    doc: RefCell<Option<Rc<Option<Saved>>>>,
    /// Set by `with`: the document is fixed and never read from key-value.
    fixed: bool,
}

impl<P: Platform> Overlay<P> {
    /// The saved settings (as key-value holds them) over `inner`'s configuration.
    pub fn wrap(inner: P) -> Overlay<P> {
        Overlay {
            inner,
            doc: RefCell::new(None),
            fixed: false,
        }
    }

    /// `values` over the deployment's configuration, as if they were saved: what the set-up
    /// page validates a form with before saving it. `inner` may itself be an overlay: its
    /// deployment values are used, not what it has saved.
    pub fn with(inner: P, values: BTreeMap<String, String>) -> Overlay<P> {
        Overlay {
            inner,
            doc: RefCell::new(Some(Rc::new(Some(Saved {
                values,
                ..Saved::default()
            })))),
            fixed: true,
        }
    }

    /// The platform below.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    fn document(&self) -> Result<Rc<Option<Saved>>> {
        if let Some(doc) = self.doc.borrow().as_ref() {
            return Ok(doc.clone());
        }
        let doc = Rc::new(load(&self.inner)?);
        *self.doc.borrow_mut() = Some(doc.clone());
        Ok(doc)
    }

    fn touched(&self, key: &str) {
        if key == keys::CONSOLE_SETTINGS && !self.fixed {
            *self.doc.borrow_mut() = None;
        }
    }
}

impl<P: Platform> Platform for Overlay<P> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.inner.send(request)
    }

    // Forwarded, not left to the default: that would send the platform's batches in turn.
    fn send_all(&self, requests: &[HttpRequest]) -> Vec<Result<HttpResponse, TransportError>> {
        self.inner.send_all(requests)
    }

    fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.inner.kv_get(key)
    }

    fn kv_set(&self, key: &str, value: &[u8]) -> Result<()> {
        let result = self.inner.kv_set(key, value);
        self.touched(key);
        result
    }

    fn kv_delete(&self, key: &str) -> Result<()> {
        let result = self.inner.kv_delete(key);
        self.touched(key);
        result
    }

    fn kv_increment(&self, key: &str, delta: i64) -> Result<i64> {
        self.inner.kv_increment(key, delta)
    }

    fn config_raw(&self, key: &str) -> Result<Option<String>> {
        if is_console_key(key) {
            if let Some(saved) = self.document()?.as_ref() {
                if let Some(value) = saved.values.get(key) {
                    return Ok(Some(value.clone()));
                }
            }
        }
        self.inner.config_deployed(key)
    }

    fn config_deployed(&self, key: &str) -> Result<Option<String>> {
        self.inner.config_deployed(key)
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

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::settings::Settings;
    use crate::testing::{FakePlatform, Watched};

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn saved_values_win_for_console_keys_only() {
        let p = FakePlatform::configured();
        p.set_config("close_prefix", "ARCHIVED");
        save(&p, values(&[("close_prefix", "CLOSED -")]), "admin").unwrap();
        let o = Overlay::wrap(&p);
        assert_eq!(
            o.config("close_prefix").unwrap().as_deref(),
            Some("CLOSED -")
        );
        assert_eq!(
            o.config_deployed("close_prefix").unwrap().as_deref(),
            Some("ARCHIVED")
        );
        // Not saved: the deployment's value.
        assert_eq!(
            o.config("imanage_library").unwrap().as_deref(),
            Some("ACTIVE")
        );
        assert_eq!(Settings::load(&o).unwrap().close_prefix, "CLOSED -");
        // Saved as empty: unset, whatever the deployment says.
        save(&p, values(&[("close_prefix", "")]), "admin").unwrap();
        let o = Overlay::wrap(&p);
        assert_eq!(o.config("close_prefix").unwrap(), None);
        assert_eq!(Settings::load(&o).unwrap().close_prefix, "CLOSED");
    }

    #[test]
    fn deployment_facts_and_secrets_cannot_be_saved_or_overridden() {
        let p = FakePlatform::configured();
        for key in [
            "imanage_base_url",
            "imanage_client_secret",
            "webhook_secret",
            "imanage_client_id",
            "event_deadline_seconds",
        ] {
            assert!(!is_console_key(key), "{key}");
            let err = save(&p, values(&[(key, "http://127.0.0.1:1")]), "admin").unwrap_err();
            assert!(matches!(err, Error::Rejected(_)), "{key}: {err:?}");
        }
        assert_eq!(p.kv_get(keys::CONSOLE_SETTINGS).unwrap(), None);
        // Even a document written behind the console's back overrides no deployment key.
        let forged = Saved {
            version: 1,
            values: values(&[
                ("imanage_base_url", "http://127.0.0.1:1"),
                ("webhook_secret", "x"),
            ]),
            ..Saved::default()
        };
        p.kv_set(
            keys::CONSOLE_SETTINGS,
            &serde_json::to_vec(&forged).unwrap(),
        )
        .unwrap();
        let o = Overlay::wrap(&p);
        assert_eq!(
            o.config("imanage_base_url").unwrap().as_deref(),
            Some("http://127.0.0.1:9")
        );
        assert_eq!(o.config("webhook_secret").unwrap(), None);
        // Every console key is one the component reads, and the only secret among them is the
        // service account's password (entered write-only).
        for key in CONSOLE_KEYS {
            assert!(crate::settings::CONFIG_KEYS.contains(key), "{key}");
        }
        let secrets: Vec<_> = CONSOLE_KEYS
            .iter()
            .filter(|k| SECRET_KEYS.contains(k))
            .collect();
        assert_eq!(secrets, [&"imanage_password"]);
    }

    #[test]
    fn one_read_per_call_and_another_only_after_a_save() {
        // Counts reads of the saved document, to hold the overlay to one read per call.
        let (p, doc_reads) = (FakePlatform::configured(), Cell::new(0));
        let c = Watched {
            inner: &p,
            on_get: |key: &str| {
                if key == keys::CONSOLE_SETTINGS {
                    doc_reads.set(doc_reads.get() + 1);
                }
            },
        };
        save(&p, values(&[("root_folder", "Matter")]), "admin").unwrap();
        let o = Overlay::wrap(&c);
        for _ in 0..3 {
            Settings::load(&o).unwrap();
        }
        assert_eq!(doc_reads.get(), 1, "the document is read once per call");
        // A key the console cannot save never needs the document.
        let fresh = Overlay::wrap(&c);
        fresh.config("imanage_base_url").unwrap();
        assert_eq!(doc_reads.get(), 1);
        // Saving through the overlay drops what it cached: the next read sees the new version.
        save(&o, values(&[("root_folder", "Files")]), "admin").unwrap();
        assert_eq!(Settings::load(&o).unwrap().root_folder, "Files");
        // save read it once (the previous version), the load once more after the write.
        assert_eq!(doc_reads.get(), 3);
        Settings::load(&o).unwrap();
        assert_eq!(doc_reads.get(), 3);
        o.kv_delete(keys::CONSOLE_SETTINGS).unwrap();
        assert_eq!(Settings::load(&o).unwrap().root_folder, "Documents");
    }

    #[test]
    fn versions_are_kept_and_audited_without_values() {
        let p = FakePlatform::configured();
        save(
            &p,
            values(&[
                ("close_prefix", "X"),
                ("imanage_password", "hunter2-secret"),
            ]),
            "admin",
        )
        .unwrap();
        let second = save(
            &p,
            values(&[
                ("close_prefix", "Y"),
                ("imanage_password", "hunter2-secret"),
            ]),
            "jsmith",
        )
        .unwrap();
        assert_eq!(second.version, 2);
        assert_eq!(load(&p).unwrap().unwrap(), second);
        let first: Saved = serde_json::from_slice(
            &p.kv_get(&keys::console_settings_version(1))
                .unwrap()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(first.values["close_prefix"], "X");
        assert_eq!(first.saved_by, "admin");
        let trail = crate::audit::read(&p, &crate::audit::Query::default()).unwrap();
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[0].action, "settings");
        assert_eq!(
            trail[0].detail,
            "jsmith saved version 2: changed close_prefix"
        );
        assert!(
            trail[1].detail.contains("imanage_password (secret)"),
            "{}",
            trail[1].detail
        );
        for r in &trail {
            assert!(!r.detail.contains("hunter2"), "{}", r.detail);
        }
        assert!(!format!("{second:?}").contains("hunter2"));
    }

    #[test]
    fn a_candidate_overlays_the_deployment_not_the_saved_version() {
        let p = FakePlatform::configured();
        p.set_config("root_folder", "Deployed");
        save(&p, values(&[("root_folder", "Saved")]), "admin").unwrap();
        let current = Overlay::wrap(&p);
        let candidate = Overlay::with(&current, BTreeMap::new());
        assert_eq!(
            candidate.config("root_folder").unwrap().as_deref(),
            Some("Deployed")
        );
        let candidate = Overlay::with(&current, values(&[("root_folder", "Typed")]));
        assert_eq!(Settings::load(&candidate).unwrap().root_folder, "Typed");
        // A fixed candidate is never replaced by what key-value holds.
        candidate.kv_set(keys::CONSOLE_SETTINGS, b"{}").ok();
        assert_eq!(
            candidate.config("root_folder").unwrap().as_deref(),
            Some("Typed")
        );
    }

    #[test]
    fn requests_sent_together_stay_together_through_the_overlay() {
        let p = FakePlatform::configured();
        p.respond_with(|_| crate::platform::HttpResponse {
            status: 200,
            headers: vec![],
            body: b"{}".to_vec(),
        });
        let request = |url: &str| HttpRequest {
            method: crate::platform::Method::Get,
            url: url.into(),
            headers: vec![],
            body: vec![],
            timeout_ms: 1000,
        };
        let overlay = Overlay::wrap(&p);
        let answers = overlay.send_all(&[request("http://a/1"), request("http://a/2")]);
        assert_eq!(answers.len(), 2);
        // One batch of two at the platform, not two sends in turn.
        assert_eq!(*p.batches.borrow(), vec![0..2]);
    }
}
