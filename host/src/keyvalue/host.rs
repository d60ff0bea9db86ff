//! Binds `wasi:keyvalue@0.2.0-draft2` to the `Backend`s of `runtime_config`.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::runtime_config::Stores;
use super::wit::wasi::keyvalue::{atomics, batch, store};
use super::{Backend, Bucket, Cas, Error};

/// What every store of one host shares: the backends by label, and which the component may open.
pub struct KeyValueCtx {
    pub stores: Stores,
}

pub struct KeyValueView<'a> {
    pub ctx: &'a KeyValueCtx,
    pub table: &'a mut ResourceTable,
}

struct KeyValue;

impl HasData for KeyValue {
    type Data<'a> = KeyValueView<'a>;
}

pub fn add_to_linker<T: Send + 'static>(
    linker: &mut Linker<T>,
    view: fn(&mut T) -> KeyValueView<'_>,
) -> wasmtime::Result<()> {
    store::add_to_linker::<T, KeyValue>(linker, view)?;
    atomics::add_to_linker::<T, KeyValue>(linker, view)?;
    batch::add_to_linker::<T, KeyValue>(linker, view)?;
    Ok(())
}

impl From<Error> for store::Error {
    fn from(e: Error) -> store::Error {
        match e {
            Error::NoSuchStore(_) => store::Error::NoSuchStore,
            Error::AccessDenied(_) => store::Error::AccessDenied,
            e => store::Error::Other(e.to_string()),
        }
    }
}

fn other(e: Error) -> store::Error {
    // The backend's words (SQLite errors) name keys at most, never values.
    tracing::warn!(error = %e, "key-value backend error");
    e.into()
}

fn table_error(e: wasmtime::component::ResourceTableError) -> store::Error {
    store::Error::Other(e.to_string())
}

impl KeyValueView<'_> {
    /// The label and backend of an open bucket.
    fn bucket(&self, b: &Resource<Bucket>) -> Result<(String, Arc<dyn Backend>), store::Error> {
        self.table
            .get(b)
            .map(|b| (b.store.clone(), b.backend.clone()))
            .map_err(table_error)
    }
}

/// Keys per `list-keys` page.
const PAGE: usize = 1000;

impl store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        let Some(backend) = self.ctx.stores.for_component(&identifier) else {
            return Err(store::Error::NoSuchStore);
        };
        self.table
            .push(Bucket {
                store: identifier,
                backend,
            })
            .map_err(table_error)
    }
}

impl store::HostBucket for KeyValueView<'_> {
    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        Ok(kv.get(&s, &key).await.map_err(other)?.map(|v| v.value))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.set(&s, &key, &value).await.map_err(other)
    }

    async fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.delete(&s, &key).await.map_err(other)
    }

    async fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.exists(&s, &key).await.map_err(other)
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<store::KeyResponse, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        let (keys, cursor) = kv
            .list_keys(&s, cursor.as_deref(), PAGE)
            .await
            .map_err(other)?;
        Ok(store::KeyResponse { keys, cursor })
    }

    async fn drop(&mut self, b: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(b)?;
        Ok(())
    }
}

impl atomics::Host for KeyValueView<'_> {
    async fn increment(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        delta: i64,
    ) -> Result<i64, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.increment(&s, &key, delta).await.map_err(other)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let failed = |e: store::Error| atomics::CasError::StoreError(e);
        let c = self.table.get(&cas).map_err(|e| failed(table_error(e)))?;
        let (store_name, kv, key) = (c.store.clone(), c.backend.clone(), c.key.clone());
        let expected = c.seen.as_ref().map(|v| v.version);
        let swapped = kv
            .swap(&store_name, &key, expected, &value)
            .await
            .map_err(|e| failed(other(e)))?;
        if swapped {
            self.table.delete(cas).map_err(|e| failed(table_error(e)))?;
            return Ok(());
        }
        // Hand back a fresh handle on the current value, so the guest can retry its update.
        let seen = kv
            .get(&store_name, &key)
            .await
            .map_err(|e| failed(other(e)))?;
        let entry = self
            .table
            .get_mut(&cas)
            .map_err(|e| failed(table_error(e)))?;
        entry.seen = seen;
        Err(atomics::CasError::CasFailed(cas))
    }
}

impl atomics::HostCas for KeyValueView<'_> {
    async fn new(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> Result<Resource<Cas>, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        let seen = kv.get(&s, &key).await.map_err(other)?;
        self.table
            .push(Cas {
                store: s,
                backend: kv,
                key,
                seen,
            })
            .map_err(table_error)
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>, store::Error> {
        let c = self.table.get(&cas).map_err(table_error)?;
        Ok(c.seen.as_ref().map(|v| v.value.clone()))
    }

    async fn drop(&mut self, cas: Resource<Cas>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for KeyValueView<'_> {
    async fn get_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, store::Error> {
        let (s, kv) = self.bucket(&b)?;
        let mut found = Vec::with_capacity(keys.len());
        for k in keys {
            let v = kv.get(&s, &k).await.map_err(other)?;
            found.push((k, v.map(|v| v.value)));
        }
        Ok(found)
    }

    async fn set_many(
        &mut self,
        b: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.set_many(&s, &key_values).await.map_err(other)
    }

    async fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<(), store::Error> {
        let (s, kv) = self.bucket(&b)?;
        kv.delete_many(&s, &keys).await.map_err(other)
    }
}
