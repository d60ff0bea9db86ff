//! One tenant's view of a shared backend: every store label `L` it names is kept under the label
//! `tenant/{tenant}/L` of the backend beneath, so no key of one tenant can be read, listed or
//! written through another's view, whatever characters the key holds.
//!
//! Isolation rests on the label, never on the key: every backend keeps labels apart (the
//! conformance suite checks it), and tenant names cannot hold `/` (they are validated like
//! matter ids), so `tenant/a/L` is never a prefix of, or equal to, `tenant/b/L`. Nothing of this
//! reaches the component: it opens `default` as always.

use std::sync::Arc;

use async_trait::async_trait;

use super::{Backend, Error, Versioned};

/// The prefix of every label a tenant's view maps to.
pub const TENANT_LABELS: &str = "tenant/";

/// The label under which `tenant`'s store `label` lives in the backend.
pub fn tenant_label(tenant: &str, label: &str) -> String {
    format!("{TENANT_LABELS}{tenant}/{label}")
}

/// A backend seen through one tenant's labels.
pub struct Namespaced {
    inner: Arc<dyn Backend>,
    tenant: String,
}

impl Namespaced {
    /// `inner` as `tenant` sees it.
    pub fn new(inner: Arc<dyn Backend>, tenant: &str) -> Namespaced {
        Namespaced {
            inner,
            tenant: tenant.to_string(),
        }
    }

    fn label(&self, store: &str) -> String {
        tenant_label(&self.tenant, store)
    }
}

#[async_trait]
impl Backend for Namespaced {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        self.inner.get(&self.label(store), key).await
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.inner.set(&self.label(store), key, value).await
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        self.inner.delete(&self.label(store), key).await
    }

    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        self.inner.exists(&self.label(store), key).await
    }

    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        self.inner
            .list_keys(&self.label(store), cursor, limit)
            .await
    }

    async fn list_prefix(
        &self,
        store: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        self.inner
            .list_prefix(&self.label(store), prefix, cursor, limit)
            .await
    }

    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        self.inner
            .swap(&self.label(store), key, expected, value)
            .await
    }

    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        self.inner.increment(&self.label(store), key, delta).await
    }

    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        self.inner.set_many(&self.label(store), entries).await
    }

    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        self.inner.delete_many(&self.label(store), keys).await
    }
}

/// Deletes every key of `store` in `backend`, page by page; how many were deleted.
pub async fn clear(backend: &dyn Backend, store: &str) -> Result<usize, Error> {
    const PAGE: usize = 500;
    let mut deleted = 0;
    loop {
        // Always from the start: the keys of the page before are gone, so a cursor into them
        // could skip keys on a backend whose cursor is positional.
        let (keys, _) = backend.list_keys(store, None, PAGE).await?;
        if keys.is_empty() {
            return Ok(deleted);
        }
        backend.delete_many(store, &keys).await?;
        deleted += keys.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvalue::overlay::Overlay;

    #[tokio::test]
    async fn tenants_never_see_each_others_keys_whatever_the_key() {
        let shared: Arc<dyn Backend> = Arc::new(Overlay::over(None));
        let a = Namespaced::new(shared.clone(), "a");
        let ab = Namespaced::new(shared.clone(), "ab");
        // Keys that try to climb out of their label.
        let keys = ["k", "../b/default/k", "tenant/ab/default/k", "", "%2F", "*"];
        for k in keys {
            a.set("default", k, b"a").await.unwrap();
        }
        for k in keys {
            assert_eq!(ab.get("default", k).await.unwrap(), None, "{k:?}");
            assert!(!ab.exists("default", k).await.unwrap());
            assert_eq!(shared.get("default", k).await.unwrap(), None);
        }
        assert!(ab
            .list_keys("default", None, 100)
            .await
            .unwrap()
            .0
            .is_empty());
        ab.increment("default", "k", 5).await.unwrap();
        assert_eq!(a.get("default", "k").await.unwrap().unwrap().value, b"a");
        assert_eq!(clear(&a, "default").await.unwrap(), keys.len());
        assert!(a
            .list_keys("default", None, 100)
            .await
            .unwrap()
            .0
            .is_empty());
        assert!(ab.exists("default", "k").await.unwrap());
    }
}
