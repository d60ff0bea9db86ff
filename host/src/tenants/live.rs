//! The tenants a running `serve` has loaded: each tenant's runtime is derived from the shared
//! one on its first request (the compiled component and the engine are shared; a tenant adds
//! only its configuration, allow-list and key-value view), and dropped or replaced when the
//! registry says it changed. A request holds its tenant's runtime for as long as it runs, so a
//! change never cuts a request in flight short.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::runtime::Runtime;

use super::{Registry, RegistryError, TenantName};

/// How often a `serve` looks at the registry's generation for tenants added, changed or
/// removed by another process.
pub const RELOAD_INTERVAL: Duration = Duration::from_secs(1);

struct Loaded {
    revision: u64,
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
}

impl LiveTenants {
    /// The tenants registered in `base`'s store, none loaded yet.
    pub fn new(base: Arc<Runtime>) -> LiveTenants {
        LiveTenants {
            registry: Registry::new(base.key_value()),
            base,
            loaded: RwLock::default(),
        }
    }

    /// The runtime of tenant `name`, loading it on first use; `None` when no such tenant is
    /// registered (or the name cannot be one).
    pub async fn get(&self, name: &str) -> Result<Option<Arc<Runtime>>, RegistryError> {
        let Ok(name) = TenantName::parse(name) else {
            return Ok(None);
        };
        if let Some(l) = self.loaded.read().expect("not poisoned").get(&name) {
            return Ok(Some(l.runtime.clone()));
        }
        let generation = self.registry.generation().await?;
        let Some(record) = self.registry.get(&name).await? else {
            return Ok(None);
        };
        let runtime = match self.base.for_tenant(&name, &record) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                // A record this host cannot run (say, a base URL the allow-list refuses) is
                // served as the component answers an unconfigured host, not as a crash.
                tracing::error!(tenant = %name, error = %format!("{e:#}"), "loading a tenant failed");
                return Ok(None);
            }
        };
        let mut loaded = self.loaded.write().expect("not poisoned");
        let entry = loaded.entry(name).or_insert(Loaded {
            revision: record.revision,
            generation,
            runtime,
        });
        Ok(Some(entry.runtime.clone()))
    }

    /// How many tenants are loaded now.
    pub fn loaded(&self) -> usize {
        self.loaded.read().expect("not poisoned").len()
    }

    /// Drops every loaded tenant whose record changed or went since it was loaded; the next
    /// request loads it afresh. Cheap when nothing changed: one read of the generation.
    /// A tenant that failed to load is not cached, so fixing its record is enough.
    pub async fn refresh(&self) -> Result<(), RegistryError> {
        let generation = self.registry.generation().await?;
        let behind: Vec<(TenantName, u64)> = self
            .loaded
            .read()
            .expect("not poisoned")
            .iter()
            .filter(|(_, l)| l.generation < generation)
            .map(|(n, l)| (n.clone(), l.revision))
            .collect();
        for (name, revision) in behind {
            let current = self.registry.get(&name).await?;
            let mut loaded = self.loaded.write().expect("not poisoned");
            let Some(entry) = loaded.get_mut(&name).filter(|l| l.revision == revision) else {
                continue;
            };
            if current.as_ref().map(|r| r.revision) == Some(revision) {
                entry.generation = generation;
            } else {
                tracing::info!(tenant = %name, removed = current.is_none(), "tenant changed: reloading it");
                loaded.remove(&name);
            }
        }
        Ok(())
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
