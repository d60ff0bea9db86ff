//! A copy-on-write key-value backend for dry runs: reads fall through to the real store (opened
//! read-only), writes stay in memory and vanish with the process. The component behaves as it
//! would for real (its own writes are visible to its later reads, compare-and-swap holds)
//! while nothing is persisted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use anyhow::{anyhow, Result};

use super::{Backend, Versioned};

type Key = (String, String);

pub struct Overlay {
    /// The real store, read only; `None` when the data directory has none yet.
    base: Option<Arc<dyn Backend>>,
    /// Writes made during the run; `None` marks a deletion.
    writes: Mutex<BTreeMap<Key, Option<Versioned>>>,
}

impl Overlay {
    pub fn over(base: Option<Arc<dyn Backend>>) -> Overlay {
        Overlay {
            base,
            writes: Mutex::default(),
        }
    }

    fn writes(&self) -> Result<MutexGuard<'_, BTreeMap<Key, Option<Versioned>>>> {
        self.writes
            .lock()
            .map_err(|_| anyhow!("dry-run key-value overlay poisoned"))
    }

    /// The value as the run sees it, with the overlay lock held by the caller.
    fn current(
        &self,
        writes: &BTreeMap<Key, Option<Versioned>>,
        store: &str,
        key: &str,
    ) -> Result<Option<Versioned>> {
        match writes.get(&(store.to_string(), key.to_string())) {
            Some(v) => Ok(v.clone()),
            None => match &self.base {
                Some(b) => b.get(store, key),
                None => Ok(None),
            },
        }
    }

    fn put(
        &self,
        writes: &mut BTreeMap<Key, Option<Versioned>>,
        store: &str,
        key: &str,
        value: &[u8],
    ) -> Result<()> {
        let version = self
            .current(writes, store, key)?
            .map_or(1, |v| v.version + 1);
        writes.insert(
            (store.to_string(), key.to_string()),
            Some(Versioned {
                value: value.to_vec(),
                version,
            }),
        );
        Ok(())
    }
}

impl Backend for Overlay {
    fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>> {
        let writes = self.writes()?;
        self.current(&writes, store, key)
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()> {
        let mut writes = self.writes()?;
        self.put(&mut writes, store, key, value)
    }

    fn delete(&self, store: &str, key: &str) -> Result<()> {
        self.writes()?
            .insert((store.to_string(), key.to_string()), None);
        Ok(())
    }

    fn exists(&self, store: &str, key: &str) -> Result<bool> {
        Ok(self.get(store, key)?.is_some())
    }

    fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)> {
        let writes = self.writes()?;
        let mut keys = std::collections::BTreeSet::new();
        if let Some(base) = &self.base {
            let mut page_cursor: Option<String> = cursor.map(String::from);
            loop {
                let (page, next) = base.list_keys(store, page_cursor.as_deref(), 1000)?;
                keys.extend(page);
                match next {
                    Some(n) => page_cursor = Some(n),
                    None => break,
                }
            }
        }
        for ((s, k), v) in writes.iter() {
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

    fn swap(&self, store: &str, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool> {
        let mut writes = self.writes()?;
        let now = self.current(&writes, store, key)?.map(|v| v.version);
        if now != expected {
            return Ok(false);
        }
        self.put(&mut writes, store, key, value)?;
        Ok(true)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64> {
        let mut writes = self.writes()?;
        let current = match self.current(&writes, store, key)? {
            None => 0,
            Some(v) => std::str::from_utf8(&v.value)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| anyhow!("value of {key:?} is not an integer"))?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| anyhow!("increment of {key:?} overflows"))?;
        self.put(&mut writes, store, key, next.to_string().as_bytes())?;
        Ok(next)
    }

    fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let mut writes = self.writes()?;
        for (k, v) in entries {
            self.put(&mut writes, store, k, v)?;
        }
        Ok(())
    }

    fn delete_many(&self, store: &str, keys: &[String]) -> Result<()> {
        let mut writes = self.writes()?;
        for k in keys {
            writes.insert((store.to_string(), k.clone()), None);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyvalue::sqlite::Sqlite;

    #[test]
    fn writes_are_seen_by_the_run_and_never_reach_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let real = Sqlite::open(&path).unwrap();
        real.set("default", "a", b"1").unwrap();
        real.set("default", "n", b"5").unwrap();
        drop(real);

        let base: Arc<dyn Backend> = Arc::new(Sqlite::open_read_only(&path).unwrap());
        let o = Overlay::over(Some(base));
        assert_eq!(o.get("default", "a").unwrap().unwrap().value, b"1");
        o.set("default", "b", b"2").unwrap();
        o.delete("default", "a").unwrap();
        assert_eq!(o.increment("default", "n", 1).unwrap(), 6);
        assert!(o.swap("default", "c", None, b"3").unwrap());
        assert!(!o.swap("default", "c", None, b"4").unwrap());
        let (keys, _) = o.list_keys("default", None, 10).unwrap();
        assert_eq!(keys, vec!["b", "c", "n"]);
        let (page, next) = o.list_keys("default", None, 2).unwrap();
        assert_eq!(page, vec!["b", "c"]);
        let (rest, _) = o.list_keys("default", next.as_deref(), 2).unwrap();
        assert_eq!(rest, vec!["n"]);

        let after = Sqlite::open(&path).unwrap();
        assert_eq!(after.get("default", "a").unwrap().unwrap().value, b"1");
        assert_eq!(after.get("default", "n").unwrap().unwrap().value, b"5");
        assert!(after.get("default", "b").unwrap().is_none());
    }

    #[test]
    fn without_a_store_everything_starts_empty() {
        let o = Overlay::over(None);
        assert!(o.get("default", "x").unwrap().is_none());
        assert_eq!(o.increment("default", "seq", 1).unwrap(), 1);
    }
}
