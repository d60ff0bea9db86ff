//! The tenants, in the shared key-value backend under a label only the host opens, so that
//! every `matterlink` process on the same store (one SQLite file, or one Redis) sees the same
//! tenants, and a change made by `matterlink tenant …` reaches a running `serve` without a
//! restart (it watches the generation counter, see `live`).

use std::sync::Arc;

use crate::keyvalue::namespace;
use crate::keyvalue::runtime_config::Stores;
use crate::keyvalue::Backend;

use super::{TenantName, TenantRecord};

/// The host-only label of the registry. The component can never open it: it is not among the
/// labels any runtime hands the component.
pub const REGISTRY_STORE: &str = "matterlink-tenants";
/// Goes up at every change of any tenant.
const GENERATION: &str = "generation";
const RECORD_PREFIX: &str = "tenant/";
/// Attempts of an update racing another.
const ROUNDS: usize = 8;

/// What went wrong with the registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// `tenant add` of a name already taken.
    #[error("tenant {0} already exists")]
    Exists(TenantName),
    /// A tenant that is not registered.
    #[error("no tenant {0}")]
    Unknown(TenantName),
    /// The store failed (its words name keys at most, never values).
    #[error("the tenant registry: {0}")]
    Store(#[from] crate::keyvalue::Error),
    /// A record that is not a tenant record (written by something else).
    #[error("the record of tenant {0} is damaged")]
    Damaged(TenantName),
    /// Changed by someone else at every attempt.
    #[error("tenant {0} kept changing while it was being updated; try again")]
    Contended(TenantName),
    /// The system's random source failed: a registration needs a fresh id.
    #[error("reading the system's random source for tenant {0}'s registration id")]
    Random(TenantName),
}

/// The tenants in one backend.
#[derive(Clone)]
pub struct Registry {
    backend: Arc<dyn Backend>,
}

/// Where `name`'s record is in [`REGISTRY_STORE`].
pub(super) fn record_key(name: &TenantName) -> String {
    format!("{RECORD_PREFIX}{name}")
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

impl Registry {
    /// The registry kept in `backend` (the host's store of a runtime: `Runtime::key_value`).
    pub fn new(backend: Arc<dyn Backend>) -> Registry {
        Registry { backend }
    }

    /// The tenant's record and its version in the store.
    async fn load(&self, name: &TenantName) -> Result<Option<(TenantRecord, i64)>, RegistryError> {
        let Some(v) = self.backend.get(REGISTRY_STORE, &record_key(name)).await? else {
            return Ok(None);
        };
        let record =
            serde_json::from_slice(&v.value).map_err(|_| RegistryError::Damaged(name.clone()))?;
        Ok(Some((record, v.version)))
    }

    /// The tenant's record, `None` when no such tenant is registered.
    pub async fn get(&self, name: &TenantName) -> Result<Option<TenantRecord>, RegistryError> {
        Ok(self.load(name).await?.map(|(r, _)| r))
    }

    /// Every tenant, by name.
    pub async fn list(&self) -> Result<Vec<(TenantName, TenantRecord)>, RegistryError> {
        let mut out = Vec::new();
        for name in self.names().await? {
            // One removed since the listing is simply not there.
            if let Some(record) = self.get(&name).await? {
                out.push((name, record));
            }
        }
        Ok(out)
    }

    /// The names of every tenant, sorted, without reading their records: what a reader of
    /// each tenant's own state (a `/metrics` scrape) needs.
    pub async fn names(&self) -> Result<Vec<TenantName>, RegistryError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let (keys, next) = self
                .backend
                .list_prefix(REGISTRY_STORE, RECORD_PREFIX, cursor.as_deref(), 500)
                .await?;
            out.extend(keys.iter().filter_map(|key| {
                key.strip_prefix(RECORD_PREFIX)
                    .and_then(|n| TenantName::parse(n).ok())
            }));
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        out.sort();
        Ok(out)
    }

    /// Registers a new tenant, with a registration id of its own (`TenantRecord::namespace`);
    /// refused when the name is taken (by compare-and-swap on an absent key: the registry lives
    /// in our own backends, never in Spin's store).
    pub async fn create(
        &self,
        name: &TenantName,
        mut record: TenantRecord,
    ) -> Result<TenantRecord, RegistryError> {
        // 128 random bits: no registration of any name, before or after, gets the same.
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|_| RegistryError::Random(name.clone()))?;
        record.registration = Some(id.iter().map(|b| format!("{b:02x}")).collect());
        let at = now();
        record.revision = 1;
        record.created_at = at;
        record.updated_at = at;
        let raw = serde_json::to_vec(&record).expect("a record serialises");
        if !self
            .backend
            .swap(REGISTRY_STORE, &record_key(name), None, &raw)
            .await?
        {
            return Err(RegistryError::Exists(name.clone()));
        }
        self.bump().await?;
        Ok(record)
    }

    /// Changes a tenant's record with `change`, which may run more than once when another
    /// process changes the same tenant at the same time.
    pub async fn update(
        &self,
        name: &TenantName,
        mut change: impl FnMut(&mut TenantRecord),
    ) -> Result<TenantRecord, RegistryError> {
        for _ in 0..ROUNDS {
            let Some((mut record, version)) = self.load(name).await? else {
                return Err(RegistryError::Unknown(name.clone()));
            };
            change(&mut record);
            record.revision += 1;
            record.updated_at = now();
            let raw = serde_json::to_vec(&record).expect("a record serialises");
            if self
                .backend
                .swap(REGISTRY_STORE, &record_key(name), Some(version), &raw)
                .await?
            {
                self.bump().await?;
                return Ok(record);
            }
        }
        Err(RegistryError::Contended(name.clone()))
    }

    /// Unregisters a tenant, then deletes every key of its namespace in `data` (the stores of
    /// the runtime it ran in; `Stores::for_tenant` is applied here). The record goes first, so
    /// that no process loads the tenant again while its data is being deleted. How many keys
    /// were deleted. A request in flight in a `serve` may still write after this; that
    /// `serve` clears the namespace again once the request has finished
    /// (`LiveTenants::refresh`), and the name added again has another namespace meanwhile.
    pub async fn remove(&self, name: &TenantName, data: &Stores) -> Result<usize, RegistryError> {
        let Some((record, _)) = self.load(name).await? else {
            return Err(RegistryError::Unknown(name.clone()));
        };
        self.backend
            .delete(REGISTRY_STORE, &record_key(name))
            .await?;
        self.bump().await?;
        Ok(clear_all(&data.for_tenant(&record.namespace(name))).await?)
    }

    /// The generation: changes whenever any tenant does.
    pub async fn generation(&self) -> Result<i64, RegistryError> {
        Ok(self
            .backend
            .increment(REGISTRY_STORE, GENERATION, 0)
            .await?)
    }

    async fn bump(&self) -> Result<(), RegistryError> {
        self.backend
            .increment(REGISTRY_STORE, GENERATION, 1)
            .await?;
        Ok(())
    }
}

/// Deletes every key of every label of `stores` (a tenant's view: `Stores::for_tenant`); how
/// many were deleted.
pub async fn clear_all(stores: &Stores) -> Result<usize, crate::keyvalue::Error> {
    let mut deleted = 0;
    for label in stores.labels() {
        if let Some(backend) = stores.get(label) {
            deleted += namespace::clear(backend.as_ref(), label).await?;
        }
    }
    Ok(deleted)
}
