//! Binds `wasi:keyvalue@0.2.0-draft2` to a `Backend`.

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource, ResourceTable};

use super::{Backend, Bucket, Cas};
use crate::bindings::wasi::keyvalue::{atomics, batch, store};

/// What every store of one host shares: the backend and the labels the component may open.
pub struct KeyValueCtx {
    pub backend: Arc<dyn Backend>,
    pub stores: Vec<String>,
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

fn other(e: anyhow::Error) -> store::Error {
    // The backend's words (SQLite errors) name keys at most, never values.
    tracing::warn!(error = %e, "key-value backend error");
    store::Error::Other(e.to_string())
}

impl KeyValueView<'_> {
    fn bucket(&self, b: &Resource<Bucket>) -> Result<String, store::Error> {
        self.table
            .get(b)
            .map(|b| b.store.clone())
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

/// Keys per `list-keys` page.
const PAGE: usize = 1000;

impl store::Host for KeyValueView<'_> {
    async fn open(&mut self, identifier: String) -> Result<Resource<Bucket>, store::Error> {
        if !self.ctx.stores.contains(&identifier) {
            return Err(store::Error::NoSuchStore);
        }
        self.table
            .push(Bucket { store: identifier })
            .map_err(|e| store::Error::Other(e.to_string()))
    }
}

impl store::HostBucket for KeyValueView<'_> {
    async fn get(
        &mut self,
        b: Resource<Bucket>,
        key: String,
    ) -> Result<Option<Vec<u8>>, store::Error> {
        let s = self.bucket(&b)?;
        Ok(self
            .ctx
            .backend
            .get(&s, &key)
            .map_err(other)?
            .map(|v| v.value))
    }

    async fn set(
        &mut self,
        b: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), store::Error> {
        let s = self.bucket(&b)?;
        self.ctx.backend.set(&s, &key, &value).map_err(other)
    }

    async fn delete(&mut self, b: Resource<Bucket>, key: String) -> Result<(), store::Error> {
        let s = self.bucket(&b)?;
        self.ctx.backend.delete(&s, &key).map_err(other)
    }

    async fn exists(&mut self, b: Resource<Bucket>, key: String) -> Result<bool, store::Error> {
        let s = self.bucket(&b)?;
        self.ctx.backend.exists(&s, &key).map_err(other)
    }

    async fn list_keys(
        &mut self,
        b: Resource<Bucket>,
        cursor: Option<String>,
    ) -> Result<store::KeyResponse, store::Error> {
        let s = self.bucket(&b)?;
        let (keys, cursor) = self
            .ctx
            .backend
            .list_keys(&s, cursor.as_deref(), PAGE)
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
        let s = self.bucket(&b)?;
        self.ctx.backend.increment(&s, &key, delta).map_err(other)
    }

    async fn swap(&mut self, cas: Resource<Cas>, value: Vec<u8>) -> Result<(), atomics::CasError> {
        let c = self
            .table
            .get(&cas)
            .map_err(|e| atomics::CasError::StoreError(store::Error::Other(e.to_string())))?;
        let expected = c.seen.as_ref().map(|v| v.version);
        let swapped = self
            .ctx
            .backend
            .swap(&c.store, &c.key, expected, &value)
            .map_err(|e| atomics::CasError::StoreError(other(e)))?;
        if swapped {
            self.table
                .delete(cas)
                .map_err(|e| atomics::CasError::StoreError(store::Error::Other(e.to_string())))?;
            return Ok(());
        }
        // Hand back a fresh handle on the current value, so the guest can retry its update.
        let (store_name, key) = (c.store.clone(), c.key.clone());
        let seen = self
            .ctx
            .backend
            .get(&store_name, &key)
            .map_err(|e| atomics::CasError::StoreError(other(e)))?;
        let entry = self
            .table
            .get_mut(&cas)
            .map_err(|e| atomics::CasError::StoreError(store::Error::Other(e.to_string())))?;
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
        let s = self.bucket(&b)?;
        let seen = self.ctx.backend.get(&s, &key).map_err(other)?;
        self.table
            .push(Cas {
                store: s,
                key,
                seen,
            })
            .map_err(|e| store::Error::Other(e.to_string()))
    }

    async fn current(&mut self, cas: Resource<Cas>) -> Result<Option<Vec<u8>>, store::Error> {
        let c = self
            .table
            .get(&cas)
            .map_err(|e| store::Error::Other(e.to_string()))?;
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
        let s = self.bucket(&b)?;
        keys.into_iter()
            .map(|k| {
                let v = self.ctx.backend.get(&s, &k).map_err(other)?;
                Ok((k, v.map(|v| v.value)))
            })
            .collect()
    }

    async fn set_many(
        &mut self,
        b: Resource<Bucket>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), store::Error> {
        let s = self.bucket(&b)?;
        self.ctx.backend.set_many(&s, &key_values).map_err(other)
    }

    async fn delete_many(
        &mut self,
        b: Resource<Bucket>,
        keys: Vec<String>,
    ) -> Result<(), store::Error> {
        let s = self.bucket(&b)?;
        self.ctx.backend.delete_many(&s, &keys).map_err(other)
    }
}
