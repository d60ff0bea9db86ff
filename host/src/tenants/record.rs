//! What is kept of one tenant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::config::ConfigStore;

use super::TenantName;

/// What joins a tenant's name and its registration's id in its namespace: a character no
/// tenant name may hold, so `{name}@{id}` is never another tenant's name, with or without an id.
const ID_SEPARATOR: char = '@';

/// A tenant's configuration: the same keys as the default tenant's `wasi:config`, with the
/// secrets (`config::is_secret`) kept apart so that nothing that shows a tenant can show them.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantRecord {
    /// Plain settings (`imanage_base_url`, `templates`, …).
    pub config: BTreeMap<String, String>,
    /// Secrets (`imanage_password`, `webhook_secret`, …); never printed.
    pub secrets: BTreeMap<String, String>,
    /// Goes up by one at every change, so that a running `serve` can tell its copy is old.
    pub revision: u64,
    /// Seconds since the epoch of the tenant's creation and last change.
    pub created_at: u64,
    /// As above.
    pub updated_at: u64,
    /// This registration's own id, fresh at every `tenant add` (see [`Self::namespace`]);
    /// `None` for a tenant added before registrations had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
}

// Secrets must not reach a log through `{:?}`.
impl std::fmt::Debug for TenantRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TenantRecord")
            .field("config", &self.config)
            .field("secrets", &self.secrets.keys().collect::<Vec<_>>())
            .field("revision", &self.revision)
            .field("registration", &self.registration)
            .finish()
    }
}

impl TenantRecord {
    /// The configuration its instances read: settings and secrets together.
    pub fn config_store(&self) -> ConfigStore {
        ConfigStore::from_values(
            self.config
                .iter()
                .chain(&self.secrets)
                .map(|(k, v)| (k.clone(), v.clone())),
        )
        // Keys were checked when they were stored.
        .unwrap_or_default()
    }

    /// The namespace of the tenant's key-value stores (`Stores::for_tenant`): its name and its
    /// registration's id. A request of a removed tenant still in flight may write after
    /// `tenant remove` cleared its keys; if the name is added again, the new registration's
    /// namespace is another, so it never finds them (and the `serve` that ran the request clears
    /// them once it has finished: `LiveTenants::refresh`). A tenant added before registrations
    /// had an id keeps the namespace of its name alone, where its data is.
    pub fn namespace(&self, name: &TenantName) -> String {
        match &self.registration {
            Some(id) => format!("{name}{ID_SEPARATOR}{id}"),
            None => name.to_string(),
        }
    }

    /// Sets `key`, as a secret when its name says it is one; an empty value unsets it.
    pub fn set(&mut self, key: &str, value: &str) {
        self.config.remove(key);
        self.secrets.remove(key);
        if value.is_empty() {
            return;
        }
        let to = if crate::config::is_secret(key) {
            &mut self.secrets
        } else {
            &mut self.config
        };
        to.insert(key.to_string(), value.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_kept_apart_and_never_debug_printed() {
        let mut r = TenantRecord::default();
        r.set("imanage_library", "ACTIVE");
        r.set("imanage_password", "hunter2-hunter2");
        r.set("webhook_secret", "s".repeat(40).as_str());
        assert_eq!(r.config.len(), 1);
        assert_eq!(r.secrets.len(), 2);
        let shown = format!("{r:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("sss"));
        let c = r.config_store();
        assert_eq!(c.get("imanage_password"), Some("hunter2-hunter2"));
        r.set("imanage_password", "");
        assert!(r.config_store().get("imanage_password").is_none());
    }

    #[test]
    fn a_registration_has_a_namespace_no_name_can_have() {
        let name = TenantName::parse("acme").unwrap();
        // A record from before registrations had an id: its data is under its name.
        let before: TenantRecord = serde_json::from_str(
            r#"{"config":{},"secrets":{},"revision":3,"created_at":1,"updated_at":2}"#,
        )
        .unwrap();
        assert_eq!(before.namespace(&name), "acme");
        assert!(!serde_json::to_string(&before)
            .unwrap()
            .contains("registration"));
        let now = TenantRecord {
            registration: Some("0f1e".into()),
            ..before
        };
        assert_eq!(now.namespace(&name), "acme@0f1e");
        assert!(TenantName::parse(&now.namespace(&name)).is_err());
        let again: TenantRecord =
            serde_json::from_str(&serde_json::to_string(&now).unwrap()).unwrap();
        assert_eq!(again.namespace(&name), "acme@0f1e");
    }
}
