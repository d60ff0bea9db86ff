//! The tenants a running `serve` has loaded: each tenant's runtime is derived from the shared
//! one on its first request (the compiled component and the engine are shared; a tenant adds
//! only its configuration, allow-list and key-value view), and dropped or replaced when the
//! registry says it changed. A request holds its tenant's runtime for as long as it runs, so a
//! change never cuts a request in flight short.
//!
//! A request of a removed tenant may write after `tenant remove` cleared the tenant's keys. The
//! runtime of a tenant removed (or removed and added again, which gives it another namespace)
//! is therefore kept aside until no request holds it any more, and its namespace cleared then:
//! whatever this `serve` wrote for the tenant is gone with it.
//!
//! A name that is not a tenant's is kept as such until the registry's generation moves, so a
//! stream of requests to made-up names (`/t/{anything}/…` is open to anyone) costs the shared
//! store nothing.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::runtime::Runtime;

use super::registry::clear_all;
use super::{Registry, RegistryError, TenantName, TenantRecord};

/// How often a `serve` looks at the registry's generation for tenants added, changed or
/// removed by another process.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Names kept as not served, at most: `/t/{anything}/…` is open to anyone, and each name kept
/// costs its bytes. Past it, a name asked for reads the registry as every name did before.
const MAX_UNKNOWN: usize = 4096;

/// Names that no tenant this host can serve had at one generation of the registry: asked for
/// again, they are answered from here until the generation moves (`refresh` clears them), so
/// requests to names that are not tenants cost the shared store nothing.
#[derive(Default)]
struct Unknown {
    generation: i64,
    names: HashSet<TenantName>,
}

impl Unknown {
    /// Forgets every name once the registry has moved past the generation they were read at.
    fn advance_to(&mut self, generation: i64) {
        if generation > self.generation {
            self.generation = generation;
            self.names.clear();
        }
    }
}

/// What tells the record a runtime was made from from any other: its revision and its
/// namespace (`TenantRecord::namespace`), so that even the name removed and added again, whose
/// revision starts at 1 again, is told apart.
#[derive(Clone, PartialEq, Eq)]
struct MadeFrom {
    revision: u64,
    namespace: String,
}

impl MadeFrom {
    fn of(record: &TenantRecord, name: &TenantName) -> MadeFrom {
        MadeFrom {
            revision: record.revision,
            namespace: record.namespace(name),
        }
    }
}

struct Loaded {
    made_from: MadeFrom,
    /// The registry's generation before the record was read: a change after it shows as a
    /// higher generation, so `refresh` checks this tenant again.
    generation: i64,
    runtime: Arc<Runtime>,
}

/// The tenants of one `serve`.
pub struct LiveTenants {
    base: Arc<Runtime>,
    registry: Registry,
    loaded: RwLock<HashMap<TenantName, Loaded>>,
    /// Runtimes of namespaces no registration has any more, cleared once no request holds them.
    retired: std::sync::Mutex<Vec<(TenantName, Arc<Runtime>)>>,
    unknown: std::sync::Mutex<Unknown>,
}

impl LiveTenants {
    /// The tenants registered in `base`'s store, none loaded yet.
    pub fn new(base: Arc<Runtime>) -> LiveTenants {
        LiveTenants {
            registry: Registry::new(base.key_value()),
            base,
            loaded: RwLock::default(),
            retired: Default::default(),
            unknown: Default::default(),
        }
    }

    /// The runtime of tenant `name`, loading it on first use; `None` when no such tenant is
    /// registered (or the name cannot be one, or its record cannot be run here).
    pub async fn get(&self, name: &str) -> Result<Option<Arc<Runtime>>, RegistryError> {
        let Ok(name) = TenantName::parse(name) else {
            return Ok(None);
        };
        if let Some(l) = self.loaded.read().expect("not poisoned").get(&name) {
            return Ok(Some(l.runtime.clone()));
        }
        if self.is_unknown(&name) {
            return Ok(None);
        }
        let generation = self.registry.generation().await?;
        let Some(record) = self.registry.get(&name).await? else {
            self.not_served(name, generation);
            return Ok(None);
        };
        let runtime = match self.base.for_tenant(&name, &record) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                // A record this host cannot run (say, a base URL the allow-list refuses) is
                // served as the component answers an unconfigured host, not as a crash; said
                // once per change of the registry, not at every request.
                tracing::error!(tenant = %name, error = %format!("{e:#}"), "loading a tenant failed");
                self.not_served(name, generation);
                return Ok(None);
            }
        };
        let mut loaded = self.loaded.write().expect("not poisoned");
        let entry = loaded.entry(name.clone()).or_insert(Loaded {
            made_from: MadeFrom::of(&record, &name),
            generation,
            runtime,
        });
        Ok(Some(entry.runtime.clone()))
    }

    fn is_unknown(&self, name: &TenantName) -> bool {
        self.unknown
            .lock()
            .expect("not poisoned")
            .names
            .contains(name)
    }

    /// Keeps `name` as not served at `generation`, the registry's generation read before its
    /// record was: only while that is the newest generation this host has seen, so a tenant
    /// added since is never hidden by an answer read before it.
    fn not_served(&self, name: TenantName, generation: i64) {
        let mut unknown = self.unknown.lock().expect("not poisoned");
        unknown.advance_to(generation);
        if generation == unknown.generation && unknown.names.len() < MAX_UNKNOWN {
            unknown.names.insert(name);
        }
    }

    /// How many tenants are loaded now.
    pub fn loaded(&self) -> usize {
        self.loaded.read().expect("not poisoned").len()
    }

    /// Drops every loaded tenant whose record changed or went since it was loaded; the next
    /// request loads it afresh. Cheap when nothing changed: one read of the generation.
    /// A tenant that failed to load is not cached, so fixing its record is enough. Clears the
    /// namespaces of removed tenants that no request uses any more (see the module's comment).
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        self.clear_retired().await;
        let generation = self.registry.generation().await?;
        self.unknown
            .lock()
            .expect("not poisoned")
            .advance_to(generation);
        let behind: Vec<(TenantName, MadeFrom)> = self
            .loaded
            .read()
            .expect("not poisoned")
            .iter()
            .filter(|(_, l)| l.generation < generation)
            .map(|(n, l)| (n.clone(), l.made_from.clone()))
            .collect();
        for (name, was) in behind {
            let current = self
                .registry
                .get(&name)
                .await?
                .map(|r| MadeFrom::of(&r, &name));
            let mut loaded = self.loaded.write().expect("not poisoned");
            // Unless another refresh got here first.
            let Some(entry) = loaded.get_mut(&name).filter(|l| l.made_from == was) else {
                continue;
            };
            if current.as_ref() == Some(&was) {
                entry.generation = generation;
                continue;
            }
            tracing::info!(tenant = %name, removed = current.is_none(), "tenant changed: reloading it");
            let Some(gone) = loaded.remove(&name) else {
                continue;
            };
            if current.map(|c| c.namespace) != Some(gone.made_from.namespace) {
                self.retired
                    .lock()
                    .expect("not poisoned")
                    .push((name, gone.runtime));
            }
        }
        Ok(())
    }

    /// Clears the namespace of each retired runtime that no request holds any more: nothing of
    /// this process can write there again. One the store fails to clear is kept for the next
    /// refresh; the failure is logged, and does not hold up the refresh's other work.
    async fn clear_retired(&self) {
        let idle: Vec<_> = {
            let mut retired = self.retired.lock().expect("not poisoned");
            let (idle, busy) = retired
                .drain(..)
                .partition(|(_, runtime)| !runtime.in_use());
            *retired = busy;
            idle
        };
        for (name, runtime) in idle {
            match clear_all(runtime.stores()).await {
                Ok(0) => {}
                Ok(deleted) => {
                    tracing::info!(tenant = %name, deleted, "removed tenant: keys its last requests wrote deleted")
                }
                Err(e) => {
                    tracing::warn!(tenant = %name, error = %e, "clearing a removed tenant's keys failed; trying again");
                    self.retired
                        .lock()
                        .expect("not poisoned")
                        .push((name, runtime));
                }
            }
        }
    }

    /// Refreshes every [`RELOAD_INTERVAL`] until dropped (run it as a task beside `serve`).
    pub async fn watch(self: Arc<Self>) {
        loop {
            if let Err(e) = self.refresh().await {
                tracing::warn!(error = %e, "reading the tenant registry failed");
            }
            tokio::time::sleep(RELOAD_INTERVAL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ConfigStore;
    use crate::keyvalue::runtime_config::COMPONENT_STORE;
    use crate::keyvalue::Backend;
    use crate::runtime::{RuntimeOptions, EMBEDDED_COMPONENT};
    use crate::tenants::TenantRecord;

    /// The keys of the tenant's component store as its runtime sees them.
    async fn keys(runtime: &Runtime) -> Vec<String> {
        store(runtime)
            .list_keys(COMPONENT_STORE, None, 100)
            .await
            .unwrap()
            .0
    }

    fn store(runtime: &Runtime) -> Arc<dyn Backend> {
        runtime.stores().get(COMPONENT_STORE).unwrap()
    }

    /// The host's own runtime on a store in `dir`.
    fn base(dir: &tempfile::TempDir) -> Arc<Runtime> {
        Arc::new(
            Runtime::new(RuntimeOptions {
                component: EMBEDDED_COMPONENT,
                data_dir: dir.path(),
                config: ConfigStore::default(),
                allowed_base_url: None,
            })
            .unwrap(),
        )
    }

    /// A name asked for that is not a tenant's is answered from memory until the registry's
    /// generation moves: a record written behind the registry's back (no generation step)
    /// stays unseen until then, while any other name is read as before. At most
    /// `MAX_UNKNOWN` names are kept.
    #[tokio::test]
    async fn names_that_are_not_tenants_cost_no_read_until_the_registry_moves() {
        let dir = tempfile::tempdir().unwrap();
        let base = base(&dir);
        let live = LiveTenants::new(base.clone());
        let store = base.key_value();
        let record = serde_json::to_vec(&TenantRecord::default()).unwrap();
        let behind_the_back = |name: &str| {
            let (store, record) = (store.clone(), record.clone());
            let key = super::super::registry::record_key(&TenantName::parse(name).unwrap());
            async move {
                store
                    .set(super::super::REGISTRY_STORE, &key, &record)
                    .await
                    .unwrap()
            }
        };

        assert!(live.get("ghost").await.unwrap().is_none());
        behind_the_back("ghost").await;
        assert!(
            live.get("ghost").await.unwrap().is_none(),
            "kept as unknown"
        );
        behind_the_back("other").await;
        assert!(live.get("other").await.unwrap().is_some(), "read as before");

        // Any change moves the generation; the next refresh forgets the names kept.
        Registry::new(store.clone())
            .create(&TenantName::parse("acme").unwrap(), TenantRecord::default())
            .await
            .unwrap();
        assert!(
            live.get("ghost").await.unwrap().is_none(),
            "until the refresh"
        );
        live.refresh().await.unwrap();
        assert!(live.get("ghost").await.unwrap().is_some());

        for i in 0..MAX_UNKNOWN {
            assert!(live.get(&format!("n{i}")).await.unwrap().is_none());
        }
        assert!(live.get("one-too-many").await.unwrap().is_none());
        behind_the_back("one-too-many").await;
        behind_the_back("n0").await;
        assert!(
            live.get("one-too-many").await.unwrap().is_some(),
            "not kept"
        );
        assert!(live.get("n0").await.unwrap().is_none(), "kept");
    }

    /// A request of a removed tenant that writes after `tenant remove` cleared its keys: the
    /// name added again never sees what it wrote, and the `serve` that ran it clears it once
    /// the request has finished. A tenant only changed keeps its data.
    #[tokio::test]
    async fn what_a_removed_tenants_last_request_wrote_is_never_inherited_and_is_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let base = base(&dir);
        let registry = Registry::new(base.key_value());
        let live = LiveTenants::new(base.clone());
        let acme = TenantName::parse("acme").unwrap();
        let first = registry
            .create(&acme, TenantRecord::default())
            .await
            .unwrap();
        let old = first.namespace(&acme);

        // A request in flight holds the runtime it started with.
        let in_flight = live.get("acme").await.unwrap().unwrap();
        store(&in_flight)
            .set(COMPONENT_STORE, "link/M-1", b"before")
            .await
            .unwrap();
        assert_eq!(registry.remove(&acme, base.stores()).await.unwrap(), 1);
        // It writes after the keys were cleared.
        store(&in_flight)
            .set(COMPONENT_STORE, "link/M-2", b"late")
            .await
            .unwrap();
        let second = registry
            .create(&acme, TenantRecord::default())
            .await
            .unwrap();
        assert_ne!(second.namespace(&acme), old);
        live.refresh().await.unwrap();

        let now = live.get("acme").await.unwrap().unwrap();
        assert!(
            keys(&now).await.is_empty(),
            "the new registration inherits nothing"
        );
        // Nothing is cleared under a request still running.
        live.refresh().await.unwrap();
        assert_eq!(keys(&in_flight).await, ["link/M-2"]);
        drop(in_flight);
        live.refresh().await.unwrap();
        let old_view = base.stores().for_tenant(&old);
        assert!(old_view
            .get(COMPONENT_STORE)
            .unwrap()
            .list_keys(COMPONENT_STORE, None, 100)
            .await
            .unwrap()
            .0
            .is_empty());

        // Changed, not removed: the namespace and its keys stay.
        store(&now)
            .set(COMPONENT_STORE, "link/M-3", b"kept")
            .await
            .unwrap();
        registry
            .update(&acme, |r| r.set("imanage_library", "OTHER"))
            .await
            .unwrap();
        live.refresh().await.unwrap();
        drop(now);
        live.refresh().await.unwrap();
        let reloaded = live.get("acme").await.unwrap().unwrap();
        assert_eq!(keys(&reloaded).await, ["link/M-3"]);
    }
}
