//! `wasi:config` for the component: values from an optional TOML file, overridden by
//! `MATTERLINK_<KEY>` environment variables, so that secrets never need to sit in a file.
//!
//! Both `wasi:config/store@0.2.0-draft-2024-09-27` (what Spin provides and the component
//! imports) and `@0.2.0-rc.1` (wasmtime's) are registered: their bodies are identical, but
//! pre-release versions never link to each other.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;
use wasmtime::component::{HasData, Linker};

use crate::bindings::wasi::config::store;

/// Environment variables of the host itself, not configuration of the component.
pub const HOST_ENV: &[&str] = &[
    "MATTERLINK_DATA_DIR",
    "MATTERLINK_CONFIG",
    "MATTERLINK_LOG",
    "MATTERLINK_COMPONENT",
    "MATTERLINK_STORE",
    "MATTERLINK_TENANT",
    "MATTERLINK_LOG_FORMAT",
];
const ENV_PREFIX: &str = "MATTERLINK_";

/// The component's configuration: flat snake_case keys with text values.
#[derive(Clone, Default)]
pub struct ConfigStore {
    values: BTreeMap<String, String>,
}

// Values may be secrets: show the keys only.
impl std::fmt::Debug for ConfigStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.values.keys()).finish()
    }
}

/// Whether a configuration key holds a secret (`imanage_password`, `webhook_secret`, …): the
/// component's own list, so that the host masks exactly what the component treats as secret.
/// Secrets are never printed back.
pub fn is_secret(key: &str) -> bool {
    matterlink_component::settings::SECRET_KEYS.contains(&key)
}

/// Whether `key` can be a configuration key: lower-case letters, digits and `_`.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl ConfigStore {
    /// The file (if any), then the environment on top.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<ConfigStore> {
        let mut store = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading config file {}", path.display()))?;
                ConfigStore::from_toml(&text)
                    .with_context(|| format!("in config file {}", path.display()))?
            }
            None => ConfigStore::default(),
        };
        for (name, value) in env {
            if HOST_ENV.contains(&name.as_str()) {
                continue;
            }
            if let Some(key) = name.strip_prefix(ENV_PREFIX) {
                let key = key.to_ascii_lowercase();
                if valid_key(&key) {
                    store.values.insert(key, value);
                }
            }
        }
        Ok(store)
    }

    /// A flat TOML table; tables and arrays become JSON text (`templates`, `field_map`).
    pub fn from_toml(text: &str) -> Result<ConfigStore> {
        let table: toml::Table = text.parse().context("not valid TOML")?;
        let mut values = BTreeMap::new();
        for (key, value) in table {
            if !valid_key(&key) {
                bail!("key {key:?} must be lower-case letters, digits and `_`");
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Datetime(d) => d.to_string(),
                other => serde_json::to_string(&other).context("converting to JSON")?,
            };
            values.insert(key, text);
        }
        Ok(ConfigStore { values })
    }

    /// The keys and values given, each key checked as `from_toml` checks it.
    pub fn from_values(values: impl IntoIterator<Item = (String, String)>) -> Result<ConfigStore> {
        let mut store = ConfigStore::default();
        for (key, value) in values {
            if !valid_key(&key) {
                bail!("key {key:?} must be lower-case letters, digits and `_`");
            }
            store.values.insert(key, value);
        }
        Ok(store)
    }

    /// Every key and value, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Sets one key (an embedding platform's own values, or a test's).
    pub fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_string(), value.into());
    }

    /// A key's value, `None` when unset.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }
}

/// The configuration as one store's `wasi:config` implementation sees it.
pub struct ConfigView<'a>(pub &'a ConfigStore);

struct Config;

impl HasData for Config {
    type Data<'a> = ConfigView<'a>;
}

impl store::Host for ConfigView<'_> {
    async fn get(&mut self, key: String) -> Result<Option<String>, store::Error> {
        Ok(self.0.get(&key).map(String::from))
    }

    async fn get_all(&mut self) -> Result<Vec<(String, String)>, store::Error> {
        Ok(self.0.values.clone().into_iter().collect())
    }
}

/// Registers `wasi:config` under both version names for stores whose data holds a
/// [`ConfigStore`]; `get` views it. Generic over the store's data so this capability does not
/// depend on the host's `State` (layers point down).
pub(crate) fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> ConfigView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, Config>(linker, get)?;
    let mut rc1 = linker.instance("wasi:config/store@0.2.0-rc.1")?;
    rc1.func_wrap("get", move |mut cx, (key,): (String,)| {
        let value: Result<Option<String>, store::Error> =
            Ok(get(cx.data_mut()).0.get(&key).map(String::from));
        Ok((value,))
    })?;
    rc1.func_wrap("get-all", move |mut cx, (): ()| {
        let all: Result<Vec<(String, String)>, store::Error> =
            Ok(get(cx.data_mut()).0.values.clone().into_iter().collect());
        Ok((all,))
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_wins_and_host_vars_are_not_config() {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(
            file.path(),
            "imanage_library = \"ACTIVE\"\nauto_create = true\n[templates]\nLitigation = \"ACTIVE!100\"\n",
        )
        .unwrap();
        let env = [
            (
                "MATTERLINK_IMANAGE_LIBRARY".to_string(),
                "OTHER".to_string(),
            ),
            (
                "MATTERLINK_IMANAGE_PASSWORD".to_string(),
                "s3cret".to_string(),
            ),
            ("MATTERLINK_DATA_DIR".to_string(), "/tmp/x".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ];
        let c = ConfigStore::load(Some(file.path()), env).unwrap();
        assert_eq!(c.get("imanage_library"), Some("OTHER"));
        assert_eq!(c.get("auto_create"), Some("true"));
        assert_eq!(c.get("templates"), Some(r#"{"Litigation":"ACTIVE!100"}"#));
        assert_eq!(c.get("imanage_password"), Some("s3cret"));
        assert_eq!(c.get("data_dir"), None);
        assert!(!format!("{c:?}").contains("s3cret"));
    }

    #[test]
    fn bad_files_are_refused() {
        assert!(ConfigStore::from_toml("not = [toml").is_err());
        assert!(ConfigStore::from_toml("\"Bad Key\" = 1").is_err());
    }
}
