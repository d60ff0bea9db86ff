//! A copy-on-write key-value backend for dry runs: reads fall through to the real store (opened
//! read-only), writes stay in memory and vanish with the process. The component behaves as it
//! would for real (its own writes are visible to its later reads, compare-and-swap holds)
//! while nothing is persisted.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use async_trait::async_trait;
use tokio::sync::{Mutex, MutexGuard};

use super::{counter, Backend, Error, Versioned};

type Key = (String, String);

/// Writes made during the run.
#[derive(Default)]
struct Writes {
    /// `None` marks a deletion.
    entries: BTreeMap<Key, Option<Versioned>>,
    /// The highest version handed out or seen overwritten or deleted: every new version is
    /// above it, so no version comes back after a delete (the base's included).
    last_version: i64,
}

/// A dry run's store: reads fall through to the real store, writes stay in memory.
pub struct Overlay {
    /// The real store, read only; `None` when the data directory has none yet.
    base: Option<Arc<dyn Backend>>,
    /// An async lock: a swap reads the base and writes in one step, across the base's `.await`.
    writes: Mutex<Writes>,
}

impl Overlay {
    /// An overlay over `base` (read only), or over nothing.
    pub fn over(base: Option<Arc<dyn Backend>>) -> Overlay {
        Overlay {
            base,
            writes: Mutex::default(),
        }
    }

    async fn writes(&self) -> MutexGuard<'_, Writes> {
        self.writes.lock().await
    }

    /// The value as the run sees it, with the overlay lock held by the caller.
    async fn current(
        &self,
        writes: &Writes,
        store: &str,
        key: &str,
    ) -> Result<Option<Versioned>, Error> {
        match writes.entries.get(&(store.to_string(), key.to_string())) {
            Some(v) => Ok(v.clone()),
            None => match &self.base {
                Some(b) => b.get(store, key).await,
                None => Ok(None),
            },
        }
    }

    async fn put(
        &self,
        writes: &mut Writes,
        store: &str,
        key: &str,
        value: &[u8],
    ) -> Result<(), Error> {
        let seen = self
            .current(writes, store, key)
            .await?
            .map_or(0, |v| v.version);
        let version = writes.last_version.max(seen) + 1;
        writes.last_version = version;
        writes.entries.insert(
            (store.to_string(), key.to_string()),
            Some(Versioned {
                value: value.to_vec(),
                version,
            }),
        );
        Ok(())
    }

    async fn remove(&self, writes: &mut Writes, store: &str, key: &str) -> Result<(), Error> {
        if let Some(gone) = self.current(writes, store, key).await? {
            writes.last_version = writes.last_version.max(gone.version);
        }
        writes
            .entries
            .insert((store.to_string(), key.to_string()), None);
        Ok(())
    }
}

#[async_trait]
impl Backend for Overlay {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        let writes = self.writes().await;
        self.current(&writes, store, key).await
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        let mut writes = self.writes().await;
        self.put(&mut writes, store, key, value).await
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        let mut writes = self.writes().await;
        self.remove(&mut writes, store, key).await
    }

    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        Ok(self.get(store, key).await?.is_some())
    }

    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let writes = self.writes().await;
        let mut keys = BTreeSet::new();
        if let Some(base) = &self.base {
            let mut page_cursor: Option<String> = cursor.map(String::from);
            loop {
                let (page, next) = base.list_keys(store, page_cursor.as_deref(), 1000).await?;
                keys.extend(page);
                match next {
                    Some(n) => page_cursor = Some(n),
                    None => break,
                }
            }
        }
        for ((s, k), v) in writes.entries.iter() {
            if s != store || cursor.is_some_and(|c| k.as_str() <= c) {
                continue;
            }
            match v {
                Some(_) => keys.insert(k.clone()),
                None => keys.remove(k),
            };
        }
        let page: Vec<String> = keys.into_iter().take(limit).collect();
        let next = (page.len() == limit)
            .then(|| page.last().cloned())
            .flatten();
        Ok((page, next))
    }

    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        let mut writes = self.writes().await;
        let now = self.current(&writes, store, key).await?.map(|v| v.version);
        if now != expected {
            return Ok(false);
        }
        self.put(&mut writes, store, key, value).await?;
        Ok(true)
    }

    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        let mut writes = self.writes().await;
        let current = self.current(&writes, store, key).await?;
        let next = counter::add(key, current.as_ref().map(|v| v.value.as_slice()), delta)?;
        self.put(&mut writes, store, key, &counter::encode(next))
            .await?;
        Ok(next)
    }

    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        let mut writes = self.writes().await;
        for (k, v) in entries {
            self.put(&mut writes, store, k, v).await?;
        }
        Ok(())
    }

    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        let mut writes = self.writes().await;
        for k in keys {
            self.remove(&mut writes, store, k).await?;
        }
        Ok(())
    }
}

// What every backend must do is checked by `conformance` (host/tests/kv_conformance.rs); these
// are the overlay's own properties: what it shows of the store below, and what it keeps from it.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvalue::sqlite::Sqlite;

    fn over_file(path: &std::path::Path) -> Overlay {
        let base: Arc<dyn Backend> = Arc::new(Sqlite::open_read_only(path).unwrap());
        Overlay::over(Some(base))
    }

    #[tokio::test]
    async fn writes_are_seen_by_the_run_and_never_reach_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let real = Sqlite::open(&path).unwrap();
        real.set("default", "a", b"1").unwrap();
        real.set("default", "n", b"5").unwrap();
        drop(real);

        let o = over_file(&path);
        assert_eq!(o.get("default", "a").await.unwrap().unwrap().value, b"1");
        o.set("default", "b", b"2").await.unwrap();
        o.delete("default", "a").await.unwrap();
        assert_eq!(o.increment("default", "n", 1).await.unwrap(), 6);
        assert!(o.swap("default", "c", None, b"3").await.unwrap());
        assert!(!o.swap("default", "c", None, b"4").await.unwrap());
        let (keys, _) = o.list_keys("default", None, 10).await.unwrap();
        assert_eq!(keys, vec!["b", "c", "n"]);
        let (page, next) = o.list_keys("default", None, 2).await.unwrap();
        assert_eq!(page, vec!["b", "c"]);
        let (rest, _) = o.list_keys("default", next.as_deref(), 2).await.unwrap();
        assert_eq!(rest, vec!["n"]);

        let after = Sqlite::open(&path).unwrap();
        assert_eq!(after.get("default", "a").unwrap().unwrap().value, b"1");
        assert_eq!(after.get("default", "n").unwrap().unwrap().value, b"5");
        assert!(after.get("default", "b").unwrap().is_none());
    }

    #[tokio::test]
    async fn a_key_of_the_store_below_deleted_and_made_again_is_a_new_version() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let real = Sqlite::open(&path).unwrap();
        // Push the file's versions well above where the overlay's own would start.
        for _ in 0..20 {
            real.increment("default", "busy", 1).unwrap();
        }
        real.set("default", "k", b"v").unwrap();
        drop(real);

        let o = over_file(&path);
        let seen = o.get("default", "k").await.unwrap().unwrap();
        o.delete("default", "k").await.unwrap();
        o.set("default", "other", b"x").await.unwrap();
        o.set("default", "k", b"v").await.unwrap();
        let now = o.get("default", "k").await.unwrap().unwrap();
        assert!(now.version > seen.version, "{now:?} after {seen:?}");
        assert!(!o
            .swap("default", "k", Some(seen.version), b"w")
            .await
            .unwrap());
    }
}
