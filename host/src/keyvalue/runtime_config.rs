//! Which backend serves which store label, as Spin's runtime configuration says it for its
//! key-value factor: a description (`RuntimeConfig`) the runtime builds once into the backends
//! (`Stores`). The labels a component may open are the ones described for it, and nothing else.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::overlay::Overlay;
use super::redis::{Redis, RedisUrl};
use super::sqlite::Sqlite;
use super::{Backend, Error};

/// The SQLite file of the key-value store, inside the data directory.
pub const KEY_VALUE_FILE: &str = "keyvalue.sqlite3";
/// The store label of the host's own records in the key-value backend (backfill progress);
/// the component may open only `default`.
pub const HOST_STORE: &str = "matterlink-host";

/// The label of the component's store.
pub const COMPONENT_STORE: &str = "default";

/// How to reach one backend. Labels with equal specs share one backend, and so one connection
/// and one view of the data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BackendSpec {
    /// A SQLite file, created when absent; several processes may share it.
    Sqlite {
        /// The file.
        path: PathBuf,
    },
    /// A backend the embedding platform opened itself (its own database), shared as it is.
    Supplied(Supplied),
    /// A dry run's store: writes kept in memory over the SQLite file at `base` opened
    /// read-only (or over nothing, when there is no such file yet).
    DryRunOverlay {
        /// The SQLite file read through.
        base: PathBuf,
    },
    /// Redis (or Valkey), shared by every process and by Spin, in Spin's key layout (see
    /// `keyvalue::redis`).
    Redis {
        /// The database; it shows without its password.
        url: RedisUrl,
        /// A tenant's prefix before every key, which the component never sees; empty for
        /// Spin's own layout.
        prefix: String,
    },
    /// A dry run's store over Redis: writes kept in memory over the database opened
    /// read-only.
    DryRunOverlayRedis {
        /// The database read through.
        url: RedisUrl,
        /// As for `Redis`.
        prefix: String,
    },
}

/// A backend an embedder supplies. Two specs are the same when they hold the same backend.
#[derive(Clone)]
pub struct Supplied(pub Arc<dyn Backend>);

impl PartialEq for Supplied {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for Supplied {}

impl std::fmt::Debug for Supplied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Supplied(..)")
    }
}

/// Who may open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The component (with `wasi:keyvalue/store.open`) and the host.
    Component,
    /// The host only: its own records, out of the component's reach.
    Host,
}

/// One store: its label, where it lives, and who may open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreSpec {
    /// The label `wasi:keyvalue/store.open` names.
    pub label: String,
    /// Where its data lives.
    pub backend: BackendSpec,
    /// Who may open it.
    pub access: Access,
}

/// The stores of one runtime, described.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuntimeConfig {
    stores: Vec<StoreSpec>,
}

impl RuntimeConfig {
    /// The stores of a data directory: the component's `default` and the host's
    /// `matterlink-host`, both in its `keyvalue.sqlite3`. A dry run reads that file and keeps
    /// its writes in memory, so it changes nothing there.
    pub fn for_data_dir(data_dir: &Path, dry_run: bool) -> RuntimeConfig {
        let path = data_dir.join(KEY_VALUE_FILE);
        let backend = if dry_run {
            BackendSpec::DryRunOverlay { base: path }
        } else {
            BackendSpec::Sqlite { path }
        };
        RuntimeConfig::default()
            .with_store(COMPONENT_STORE, backend.clone(), Access::Component)
            .with_store(HOST_STORE, backend, Access::Host)
    }

    /// The component's `default` and the host's `matterlink-host` in the Redis database at
    /// `url`, in Spin's layout (the component's keys bare, the host's under a prefix). A dry
    /// run reads the database and keeps its writes in memory, so it changes nothing there.
    pub fn for_redis(url: &RedisUrl, dry_run: bool) -> RuntimeConfig {
        let (url, prefix) = (url.clone(), String::new());
        let backend = if dry_run {
            BackendSpec::DryRunOverlayRedis { url, prefix }
        } else {
            BackendSpec::Redis { url, prefix }
        };
        RuntimeConfig::default()
            .with_store(COMPONENT_STORE, backend.clone(), Access::Component)
            .with_store(HOST_STORE, backend, Access::Host)
    }

    /// Adds (or replaces) the store `label`.
    pub fn with_store(
        mut self,
        label: impl Into<String>,
        backend: BackendSpec,
        access: Access,
    ) -> RuntimeConfig {
        let label = label.into();
        self.stores.retain(|s| s.label != label);
        self.stores.push(StoreSpec {
            label,
            backend,
            access,
        });
        self
    }

    /// The stores described.
    pub fn stores(&self) -> &[StoreSpec] {
        &self.stores
    }

    /// Opens every backend described, once per distinct spec.
    pub fn build(&self) -> Result<Stores, Error> {
        let mut opened: Vec<(&BackendSpec, Arc<dyn Backend>)> = Vec::new();
        let mut stores = BTreeMap::new();
        for spec in &self.stores {
            let backend = match opened.iter().find(|(s, _)| *s == &spec.backend) {
                Some((_, b)) => b.clone(),
                None => {
                    let b = open(&spec.backend)?;
                    opened.push((&spec.backend, b.clone()));
                    b
                }
            };
            stores.insert(spec.label.clone(), (backend, spec.access));
        }
        Ok(Stores { stores })
    }
}

fn open(spec: &BackendSpec) -> Result<Arc<dyn Backend>, Error> {
    Ok(match spec {
        BackendSpec::Sqlite { path } => Arc::new(Sqlite::open(path)?),
        BackendSpec::Supplied(Supplied(backend)) => backend.clone(),
        BackendSpec::DryRunOverlay { base } => {
            let base: Option<Arc<dyn Backend>> = if base.exists() {
                Some(Arc::new(Sqlite::open_read_only(base)?))
            } else {
                None
            };
            Arc::new(Overlay::over(base))
        }
        BackendSpec::Redis { url, prefix } => Arc::new(Redis::open(url, prefix)?),
        BackendSpec::DryRunOverlayRedis { url, prefix } => Arc::new(Overlay::over(Some(Arc::new(
            Redis::open_read_only(url, prefix)?,
        )))),
    })
}

/// The backends of a runtime, by label.
pub struct Stores {
    stores: BTreeMap<String, (Arc<dyn Backend>, Access)>,
}

impl Stores {
    /// The backend of `label`, for the host.
    pub fn get(&self, label: &str) -> Option<Arc<dyn Backend>> {
        self.stores.get(label).map(|(b, _)| b.clone())
    }

    /// The backend of `label` if the component may open it.
    pub fn for_component(&self, label: &str) -> Option<Arc<dyn Backend>> {
        match self.stores.get(label) {
            Some((b, Access::Component)) => Some(b.clone()),
            _ => None,
        }
    }

    /// The same stores as `tenant` sees them: each label kept under the tenant's own label in
    /// the same backend (see `namespace`), sharing its connection.
    pub fn for_tenant(&self, tenant: &str) -> Stores {
        let mut wrapped: Vec<(*const (), Arc<dyn Backend>)> = Vec::new();
        let stores = self
            .stores
            .iter()
            .map(|(label, (backend, access))| {
                // Labels sharing one backend share one view of it too.
                let at = Arc::as_ptr(backend) as *const ();
                let view = match wrapped.iter().find(|(p, _)| *p == at) {
                    Some((_, v)) => v.clone(),
                    None => {
                        let v: Arc<dyn Backend> =
                            Arc::new(super::namespace::Namespaced::new(backend.clone(), tenant));
                        wrapped.push((at, v.clone()));
                        v
                    }
                };
                (label.clone(), (view, *access))
            })
            .collect();
        Stores { stores }
    }

    /// Every label, for the host (a tenant's removal clears them all).
    pub fn labels(&self) -> Vec<&str> {
        self.stores.keys().map(String::as_str).collect()
    }

    /// The labels the component may open.
    pub fn component_labels(&self) -> Vec<&str> {
        self.stores
            .iter()
            .filter(|(_, (_, a))| *a == Access::Component)
            .map(|(l, _)| l.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_data_dir_has_one_file_for_both_labels_and_the_component_sees_one() {
        let dir = tempfile::tempdir().unwrap();
        let stores = RuntimeConfig::for_data_dir(dir.path(), false)
            .build()
            .unwrap();
        assert_eq!(stores.component_labels(), vec![COMPONENT_STORE]);
        assert!(stores.for_component(HOST_STORE).is_none());
        assert!(stores.for_component("other").is_none());
        let host = stores.get(HOST_STORE).unwrap();
        let component = stores.for_component(COMPONENT_STORE).unwrap();
        assert!(Arc::ptr_eq(&host, &component), "one connection per file");
        host.set(HOST_STORE, "k", b"1").await.unwrap();
        let file = Sqlite::open(&dir.path().join(KEY_VALUE_FILE)).unwrap();
        assert_eq!(file.get(HOST_STORE, "k").unwrap().unwrap().value, b"1");
    }

    #[tokio::test]
    async fn a_dry_run_reads_the_file_writes_nothing_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let fresh = RuntimeConfig::for_data_dir(dir.path(), true)
            .build()
            .unwrap();
        let kv = fresh.for_component(COMPONENT_STORE).unwrap();
        kv.set(COMPONENT_STORE, "k", b"planned").await.unwrap();
        assert!(!dir.path().join(KEY_VALUE_FILE).exists());

        let file = Sqlite::open(&dir.path().join(KEY_VALUE_FILE)).unwrap();
        file.set(COMPONENT_STORE, "k", b"real").unwrap();
        let stores = RuntimeConfig::for_data_dir(dir.path(), true)
            .build()
            .unwrap();
        let kv = stores.for_component(COMPONENT_STORE).unwrap();
        assert_eq!(
            kv.get(COMPONENT_STORE, "k").await.unwrap().unwrap().value,
            b"real"
        );
        kv.set(COMPONENT_STORE, "k", b"planned").await.unwrap();
        // The host's records in a dry run share the overlay with the component's.
        let host = stores.get(HOST_STORE).unwrap();
        assert!(Arc::ptr_eq(&host, &kv));
        assert_eq!(
            file.get(COMPONENT_STORE, "k").unwrap().unwrap().value,
            b"real"
        );
    }

    #[test]
    fn redis_stores_build_without_a_server_and_hide_the_password() {
        let url = RedisUrl::parse("redis://:s3cret@127.0.0.1:1/0").unwrap();
        for dry_run in [false, true] {
            let config = RuntimeConfig::for_redis(&url, dry_run);
            assert!(!format!("{config:?}").contains("s3cret"));
            // Connections are made on first use: no server is needed to build.
            let stores = config.build().unwrap();
            assert_eq!(stores.component_labels(), vec![COMPONENT_STORE]);
            let host = stores.get(HOST_STORE).unwrap();
            let component = stores.for_component(COMPONENT_STORE).unwrap();
            assert!(
                Arc::ptr_eq(&host, &component),
                "one connection per database"
            );
        }
    }

    #[test]
    fn labels_are_configurable() {
        let dir = tempfile::tempdir().unwrap();
        let config = RuntimeConfig::for_data_dir(dir.path(), false).with_store(
            "archive",
            BackendSpec::Sqlite {
                path: dir.path().join("archive.sqlite3"),
            },
            Access::Component,
        );
        let stores = config.build().unwrap();
        assert_eq!(stores.component_labels(), vec!["archive", "default"]);
        let archive = stores.for_component("archive").unwrap();
        let default = stores.for_component("default").unwrap();
        assert!(!Arc::ptr_eq(&archive, &default));
        assert!(dir.path().join("archive.sqlite3").exists());
    }
}
