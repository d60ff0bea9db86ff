//! The key-value backend on embedded SQLite in WAL mode: several `matterlink` processes (a
//! `serve` beside a `call`) may share one data directory, and compare-and-swap holds across
//! them because each swap is a single conditional statement. Spin's default store is SQLite too.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{anyhow, Context, Result};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use super::{Backend, Versioned};

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Sqlite {
    // One connection per process: rusqlite connections are not `Sync`, and the component's
    // operations are short, so a mutex costs less than a pool would.
    conn: Mutex<Connection>,
}

impl Sqlite {
    pub fn open(path: &Path) -> Result<Sqlite> {
        let conn = Connection::open(path)
            .with_context(|| format!("opening key-value database {}", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS kv (
                store   TEXT    NOT NULL,
                key     TEXT    NOT NULL,
                value   BLOB    NOT NULL,
                version INTEGER NOT NULL,
                PRIMARY KEY (store, key)
            ) WITHOUT ROWID;",
        )?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    /// An existing store opened for reading only (dry runs): every write fails, so nothing can
    /// reach the file by mistake, and nothing is created when the file is absent.
    pub fn open_read_only(path: &Path) -> Result<Sqlite> {
        use rusqlite::OpenFlags;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .with_context(|| format!("opening key-value database {} read-only", path.display()))?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<std::sync::MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| anyhow!("key-value connection poisoned"))
    }
}

const UPSERT: &str = "INSERT INTO kv (store, key, value, version) VALUES (?1, ?2, ?3, 1)
    ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, version = kv.version + 1";

impl Backend for Sqlite {
    // Statements are prepared once per connection (`prepare_cached`): parsing the SQL of every
    // key-value call again was a visible share of a backfill's CPU.
    fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare_cached("SELECT value, version FROM kv WHERE store = ?1 AND key = ?2")?;
        Ok(stmt
            .query_row(params![store, key], |r| {
                Ok(Versioned {
                    value: r.get(0)?,
                    version: r.get(1)?,
                })
            })
            .optional()?)
    }

    fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<()> {
        self.conn()?
            .prepare_cached(UPSERT)?
            .execute(params![store, key, value])?;
        Ok(())
    }

    fn delete(&self, store: &str, key: &str) -> Result<()> {
        self.conn()?
            .prepare_cached("DELETE FROM kv WHERE store = ?1 AND key = ?2")?
            .execute(params![store, key])?;
        Ok(())
    }

    fn exists(&self, store: &str, key: &str) -> Result<bool> {
        Ok(self
            .conn()?
            .query_row(
                "SELECT 1 FROM kv WHERE store = ?1 AND key = ?2",
                params![store, key],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>)> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT key FROM kv WHERE store = ?1 AND key > ?2 ORDER BY key LIMIT ?3")?;
        let keys = stmt
            .query_map(params![store, cursor.unwrap_or(""), limit as i64], |r| {
                r.get(0)
            })?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok((keys, next))
    }

    fn swap(&self, store: &str, key: &str, expected: Option<i64>, value: &[u8]) -> Result<bool> {
        let conn = self.conn()?;
        let changed = match expected {
            None => conn
                .prepare_cached(
                    "INSERT INTO kv (store, key, value, version) VALUES (?1, ?2, ?3, 1)
                     ON CONFLICT (store, key) DO NOTHING",
                )?
                .execute(params![store, key, value])?,
            Some(v) => conn
                .prepare_cached(
                    "UPDATE kv SET value = ?3, version = version + 1
                     WHERE store = ?1 AND key = ?2 AND version = ?4",
                )?
                .execute(params![store, key, value, v])?,
        };
        Ok(changed == 1)
    }

    fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64> {
        let mut conn = self.conn()?;
        // IMMEDIATE takes the write lock up front, so two processes cannot both read the old value.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<Vec<u8>> = tx
            .prepare_cached("SELECT value FROM kv WHERE store = ?1 AND key = ?2")?
            .query_row(params![store, key], |r| r.get(0))
            .optional()?;
        let current = match current {
            None => 0,
            Some(raw) => std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| anyhow!("value of {key:?} is not an integer"))?,
        };
        let next = current
            .checked_add(delta)
            .ok_or_else(|| anyhow!("increment of {key:?} overflows"))?;
        tx.prepare_cached(UPSERT)?
            .execute(params![store, key, next.to_string().as_bytes()])?;
        tx.commit()?;
        Ok(next)
    }

    fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (k, v) in entries {
            tx.execute(UPSERT, params![store, k, v])?;
        }
        tx.commit()?;
        Ok(())
    }

    fn delete_many(&self, store: &str, keys: &[String]) -> Result<()> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for k in keys {
            tx.execute(
                "DELETE FROM kv WHERE store = ?1 AND key = ?2",
                params![store, k],
            )?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_is_conditional_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let a = Sqlite::open(&path).unwrap();
        let b = Sqlite::open(&path).unwrap(); // a second "process" on the same file
        assert!(a.swap("default", "k", None, b"1").unwrap());
        assert!(!b.swap("default", "k", None, b"2").unwrap());
        let seen = b.get("default", "k").unwrap().unwrap();
        a.set("default", "k", b"3").unwrap();
        assert!(!b.swap("default", "k", Some(seen.version), b"4").unwrap());
        let seen = b.get("default", "k").unwrap().unwrap();
        assert!(b.swap("default", "k", Some(seen.version), b"5").unwrap());
        drop((a, b));
        let c = Sqlite::open(&path).unwrap();
        assert_eq!(c.get("default", "k").unwrap().unwrap().value, b"5");
    }

    #[test]
    fn increments_and_listing() {
        let dir = tempfile::tempdir().unwrap();
        let kv = Sqlite::open(&dir.path().join("kv.sqlite3")).unwrap();
        assert_eq!(kv.increment("s", "n", 1).unwrap(), 1);
        assert_eq!(kv.increment("s", "n", 5).unwrap(), 6);
        kv.set("s", "text", b"abc").unwrap();
        assert!(kv.increment("s", "text", 1).is_err());
        kv.set_many(
            "s",
            &[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())],
        )
        .unwrap();
        let (page, next) = kv.list_keys("s", None, 2).unwrap();
        assert_eq!(page, vec!["a", "b"]);
        let (rest, end) = kv.list_keys("s", next.as_deref(), 2).unwrap();
        assert_eq!(rest, vec!["n", "text"]);
        let (empty, none) = kv.list_keys("s", end.as_deref(), 2).unwrap();
        assert!(empty.is_empty() && none.is_none());
        kv.delete_many("s", &["a".into(), "n".into()]).unwrap();
        assert!(!kv.exists("s", "a").unwrap());
        assert!(kv.exists("s", "b").unwrap());
    }
}
