//! The key-value backend on embedded SQLite in WAL mode: several `matterlink` processes (a
//! `serve` beside a `call`) may share one data directory, and compare-and-swap holds across
//! them because each write is one transaction under SQLite's write lock. Spin's default store
//! is SQLite too.
//!
//! Versions are counted per key, above a floor kept per file (`kv_floor`): a write to a key
//! gives it its version plus one, a key made (or made again) gets the floor plus one, and a
//! delete raises the floor to the version it deleted (a trigger: see `migrate`). So a key
//! deleted and written again gets a version above any it had before, and a compare-and-swap
//! against a version seen before the delete fails. The floor is written only by deletes: an
//! earlier design drew every write's version from one sequence row, which made each write
//! update a second page, and that update was almost half of a counter's increment (22 µs
//! against 12 µs without it, measured in a loop over a store of 50,000 keys).
//!
//! The work runs inline in the async methods, not on `spawn_blocking`: each operation is one
//! short statement or transaction on a local file (microseconds), and a hop to the blocking
//! pool and back would cost more than the work itself, several times per call. No lock (the
//! connection mutex, SQLite's write lock) is ever held across an `.await`, so blocking in place
//! cannot deadlock; the one long wait is `BUSY_TIMEOUT` while another process holds the write
//! lock, which holds one worker thread exactly as long as it would hold the caller.
//! The same operations are public as blocking methods, for callers outside async code (the
//! benchmark's native baseline, tests reading the file as another process would).
//!
//! Checkpoints (copying the WAL's pages back into the database file) run on a thread of their
//! own with its own connection, never inside an operation: SQLite's automatic checkpoint runs in
//! whichever commit crosses 1,000 WAL pages and syncs the file twice, and it did so holding the
//! connection's mutex on a Tokio worker, stalling every other key-value call of the process for
//! as long as the disk took (a backfill crosses that mark every fifty or so matters).

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::{counter, Backend, Error, Versioned};

/// How long a writer waits for another process's write lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often the checkpointer copies the WAL into the database file. At the highest write
/// rates measured (a few thousand commits a second, two or three pages each) the WAL stays
/// within about the 1,000 pages SQLite's own automatic checkpoint allows.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(100);

/// Key-value data in one SQLite file (WAL), safe for several processes at once.
pub struct Sqlite {
    // One connection per process: rusqlite connections are not `Sync`, and the component's
    // operations are short, so a mutex costs less than a pool would.
    conn: Mutex<Connection>,
    /// Declared after `conn`, so dropped after it: the checkpointer's connection is then the
    /// last one, whose close checkpoints the WAL and removes it.
    _checkpointer: Option<Checkpointer>,
}

/// The thread that checkpoints the WAL of one file, until dropped: the sender that stops it and
/// the thread to join, taken together on drop.
struct Checkpointer(Option<(mpsc::Sender<()>, JoinHandle<()>)>);

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer, Error> {
        let conn = Connection::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("kv-checkpoint".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    stopped.recv_timeout(CHECKPOINT_EVERY)
                {
                    // PASSIVE neither waits for nor blocks readers and writers: it copies what
                    // no reader still needs, and the rest waits for the next round. It fails
                    // only while another connection (another process's) checkpoints.
                    if let Err(e) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    {
                        tracing::debug!(error = %e, "key-value checkpoint skipped");
                    }
                }
            })
            .map_err(|e| Error::Other(format!("starting the key-value checkpointer: {e}")))?;
        Ok(Checkpointer(Some((stop, thread))))
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        // Closing the channel ends the wait at once; joining lets a checkpoint under way finish,
        // so the file is whole and closed when the store is.
        if let Some((stop, thread)) = self.0.take() {
            drop(stop);
            let _ = thread.join();
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Error {
        match e.sqlite_error_code() {
            Some(ErrorCode::ReadOnly) => Error::AccessDenied(e.to_string()),
            _ => Error::other(e),
        }
    }
}

/// The tables, created when absent. `kv_floor` holds the version every new key is made above,
/// and a trigger raises it to the version of each row deleted, so no way of deleting (a batch,
/// a sweep, even a person at `sqlite3`) can let a key come back at a version it had.
///
/// A file from before the floor had one sequence row (`kv_version`) that every write stepped;
/// the floor starts at its value (or at the highest version, for a file older still), so
/// versions only go up from there. The old row stays, with a trigger that refuses to step it:
/// a matterlink from before the floor, still running on this file or started on it later,
/// would otherwise write versions below the ones this one counts per key, and a key's version
/// could come back. Its writes fail instead, with a message that says why.
fn migrate(conn: &mut Connection) -> Result<(), Error> {
    // IMMEDIATE: two processes opening a new file at once must not both seed the floor.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS kv (
            store   TEXT    NOT NULL,
            key     TEXT    NOT NULL,
            value   BLOB    NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (store, key)
        ) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS kv_floor (
            id    INTEGER PRIMARY KEY CHECK (id = 0),
            floor INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS kv_version (
            id   INTEGER PRIMARY KEY CHECK (id = 0),
            last INTEGER NOT NULL
        );",
    )?;
    // Once per file (MAX(version) scans the table).
    tx.execute(
        "INSERT INTO kv_floor (id, floor) SELECT 0, MAX(
            COALESCE((SELECT last FROM kv_version WHERE id = 0), 0),
            COALESCE((SELECT MAX(version) FROM kv), 0))
        WHERE NOT EXISTS (SELECT 1 FROM kv_floor)",
        [],
    )?;
    tx.execute_batch(
        "INSERT OR IGNORE INTO kv_version (id, last) SELECT 0, floor FROM kv_floor;
        CREATE TRIGGER IF NOT EXISTS kv_floor_raised AFTER DELETE ON kv
        WHEN OLD.version > (SELECT floor FROM kv_floor WHERE id = 0)
        BEGIN
            UPDATE kv_floor SET floor = OLD.version WHERE id = 0;
        END;
        CREATE TRIGGER IF NOT EXISTS kv_version_retired BEFORE UPDATE ON kv_version
        BEGIN
            SELECT RAISE(ABORT, 'this key-value file is kept by a newer matterlink: run that one');
        END;",
    )?;
    tx.commit()?;
    Ok(())
}

/// Writes a value: a new key at the floor plus one, an existing one at its version plus one.
/// One statement, so a plain `set` needs no transaction of its own.
const UPSERT: &str = "INSERT INTO kv (store, key, value, version)
    VALUES (?1, ?2, ?3, (SELECT floor + 1 FROM kv_floor WHERE id = 0))
    ON CONFLICT (store, key) DO UPDATE SET value = excluded.value, version = version + 1";

impl Sqlite {
    /// Opens (creating and migrating when needed) the file at `path` for reading and writing.
    pub fn open(path: &Path) -> Result<Sqlite, Error> {
        let opening = |e: rusqlite::Error| {
            Error::Other(format!(
                "opening key-value database {}: {e}",
                path.display()
            ))
        };
        // Tokens live here: the file (and so SQLite's -wal and -shm beside it) is 0600 before
        // the first byte is written.
        crate::private_fs::make_private_file(path)
            .map_err(|e| Error::Other(format!("restricting {}: {e}", path.display())))?;
        let mut conn = Connection::open(path).map_err(opening)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(opening)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(opening)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(opening)?;
        // The checkpointer does it (see the module's comment). Durability is unchanged: in WAL
        // mode with `synchronous = NORMAL` a commit is never synced, only a checkpoint is.
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .map_err(opening)?;
        migrate(&mut conn)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            _checkpointer: Some(Checkpointer::start(path)?),
        })
    }

    /// An existing store opened for reading only (dry runs): every write fails with
    /// `AccessDenied`, so nothing can reach the file by mistake, and nothing is created when
    /// the file is absent.
    pub fn open_read_only(path: &Path) -> Result<Sqlite, Error> {
        use rusqlite::OpenFlags;
        let opening = |e: rusqlite::Error| {
            Error::Other(format!(
                "opening key-value database {} read-only: {e}",
                path.display()
            ))
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(opening)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(opening)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            // Nothing is written through this connection.
            _checkpointer: None,
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>, Error> {
        self.conn
            .lock()
            .map_err(|_| Error::other("key-value connection poisoned"))
    }

    // The blocking operations, which `Backend` runs inline. Statements are prepared once per
    // connection (`prepare_cached`): parsing the SQL of every key-value call again was a visible
    // share of a backfill's CPU.

    /// Blocking [`Backend::get`].
    pub fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
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

    /// Blocking [`Backend::set`].
    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.conn()?
            .prepare_cached(UPSERT)?
            .execute(params![store, key, value])?;
        Ok(())
    }

    /// Blocking [`Backend::delete`].
    pub fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        // The floor follows by trigger (see `migrate`).
        self.conn()?
            .prepare_cached("DELETE FROM kv WHERE store = ?1 AND key = ?2")?
            .execute(params![store, key])?;
        Ok(())
    }

    /// Blocking [`Backend::exists`].
    pub fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        Ok(self
            .conn()?
            .prepare_cached("SELECT 1 FROM kv WHERE store = ?1 AND key = ?2")?
            .query_row(params![store, key], |_| Ok(()))
            .optional()?
            .is_some())
    }

    /// Blocking [`Backend::list_keys`]: every key has the empty prefix.
    pub fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        self.list_prefix(store, "", cursor, limit)
    }

    /// Blocking [`Backend::list_prefix`]: seeks to `prefix` in key order and stops at the first
    /// key past it, so the cost is the keys listed, not the store's size.
    pub fn list_prefix(
        &self,
        store: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let conn = self.conn()?;
        // From the prefix itself (it may be a key; `''` for all), or after the cursor, which is
        // a key listed. Two statements rather than `?2 IS NULL OR key > ?2`, which would keep
        // SQLite from seeking.
        let (from, sql) = match cursor {
            None => (
                prefix,
                "SELECT key FROM kv WHERE store = ?1 AND key >= ?2 ORDER BY key LIMIT ?3",
            ),
            Some(after) => (
                after,
                "SELECT key FROM kv WHERE store = ?1 AND key > ?2 ORDER BY key LIMIT ?3",
            ),
        };
        let rows = conn
            .prepare_cached(sql)?
            .query_map(params![store, from, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let keys: Vec<String> = rows
            .into_iter()
            .take_while(|k| k.starts_with(prefix))
            .collect();
        // A full page of the prefix's keys may have more after it; anything short of that
        // (the store ended, or a key past the prefix came) is the end.
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok((keys, next))
    }

    /// Blocking [`Backend::swap`].
    pub fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        // Each a single statement: the check and the write are one step under the write lock.
        let conn = self.conn()?;
        let changed = match expected {
            None => conn
                .prepare_cached(
                    "INSERT INTO kv (store, key, value, version)
                     VALUES (?1, ?2, ?3, (SELECT floor + 1 FROM kv_floor WHERE id = 0))
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

    /// Blocking [`Backend::increment`].
    pub fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        let mut conn = self.conn()?;
        // IMMEDIATE takes the write lock up front, so two processes cannot both read the old value.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<Vec<u8>> = tx
            .prepare_cached("SELECT value FROM kv WHERE store = ?1 AND key = ?2")?
            .query_row(params![store, key], |r| r.get(0))
            .optional()?;
        let next = counter::add(key, current.as_deref(), delta)?;
        tx.prepare_cached(UPSERT)?
            .execute(params![store, key, counter::encode(next)])?;
        tx.commit()?;
        Ok(next)
    }

    /// Blocking [`Backend::set_many`].
    pub fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for (k, v) in entries {
            tx.prepare_cached(UPSERT)?.execute(params![store, k, v])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Blocking [`Backend::delete_many`].
    pub fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for k in keys {
            tx.prepare_cached("DELETE FROM kv WHERE store = ?1 AND key = ?2")?
                .execute(params![store, k])?;
        }
        tx.commit()?;
        Ok(())
    }
}

#[async_trait]
impl Backend for Sqlite {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        Sqlite::get(self, store, key)
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        Sqlite::set(self, store, key, value)
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        Sqlite::delete(self, store, key)
    }

    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        Sqlite::exists(self, store, key)
    }

    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        Sqlite::list_keys(self, store, cursor, limit)
    }

    async fn list_prefix(
        &self,
        store: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        Sqlite::list_prefix(self, store, prefix, cursor, limit)
    }

    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        Sqlite::swap(self, store, key, expected, value)
    }

    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        Sqlite::increment(self, store, key, delta)
    }

    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        Sqlite::set_many(self, store, entries)
    }

    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        Sqlite::delete_many(self, store, keys)
    }
}

// What every backend must do is checked by `conformance` (host/tests/kv_conformance.rs); these
// are the SQLite-only properties.
#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn the_files_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        // An existing file left world-readable (by an older version, or by hand) is closed too.
        std::fs::write(&path, b"").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        // Kept open: SQLite removes the -wal file when the last connection closes.
        let kv = Sqlite::open(&path).unwrap();
        kv.set("s", "k", b"token").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        let wal = dir.path().join("kv.sqlite3-wal");
        assert!(
            wal.exists(),
            "WAL mode keeps a -wal file beside the database"
        );
        assert_eq!(mode(&wal), 0o600);
    }

    #[test]
    fn the_wal_is_checkpointed_beside_the_writes_and_removed_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let kv = Sqlite::open(&path).unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        let before = size();
        // Far below the 1,000 pages at which SQLite's own checkpoint would run (and it is off
        // on the writing connection): only the checkpointer moves these into the file.
        for i in 0..50 {
            kv.set("s", &format!("k{i}"), &[b'v'; 3000]).unwrap();
        }
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while size() <= before && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            size() > before,
            "the database file stayed at {before} bytes while the store sat idle"
        );
        drop(kv);
        assert!(
            !dir.path().join("kv.sqlite3-wal").exists(),
            "closing the store left its WAL behind"
        );
        let again = Sqlite::open(&path).unwrap();
        assert_eq!(again.get("s", "k49").unwrap().unwrap().value, [b'v'; 3000]);
    }

    #[test]
    fn read_only_refuses_writes_and_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        assert!(Sqlite::open_read_only(&path).is_err());
        assert!(!path.exists(), "a read-only open created the file");

        Sqlite::open(&path).unwrap().set("s", "k", b"1").unwrap();
        let ro = Sqlite::open_read_only(&path).unwrap();
        assert_eq!(ro.get("s", "k").unwrap().unwrap().value, b"1");
        assert!(matches!(
            ro.set("s", "k", b"2"),
            Err(Error::AccessDenied(_))
        ));
        assert!(matches!(ro.delete("s", "k"), Err(Error::AccessDenied(_))));
        assert!(matches!(
            ro.increment("s", "n", 1),
            Err(Error::AccessDenied(_))
        ));
        assert_eq!(ro.get("s", "k").unwrap().unwrap().value, b"1");
    }

    #[test]
    fn values_and_versions_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let kv = Sqlite::open(&path).unwrap();
        kv.set("s", "k", b"v").unwrap();
        let seen = kv.get("s", "k").unwrap().unwrap();
        kv.delete("s", "k").unwrap();
        drop(kv);
        // The sequence is in the file, not the connection.
        let kv = Sqlite::open(&path).unwrap();
        kv.set("s", "k", b"v").unwrap();
        let now = kv.get("s", "k").unwrap().unwrap();
        assert_eq!(now.value, b"v");
        assert!(now.version > seen.version, "{now:?} after {seen:?}");
    }

    /// The data table as every earlier release created it.
    const EARLIER_KV: &str = "PRAGMA journal_mode = WAL;
        CREATE TABLE kv (
            store   TEXT    NOT NULL,
            key     TEXT    NOT NULL,
            value   BLOB    NOT NULL,
            version INTEGER NOT NULL,
            PRIMARY KEY (store, key)
        ) WITHOUT ROWID;";

    #[test]
    fn a_file_from_before_the_version_sequence_keeps_its_data_and_counts_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        {
            // The table as earlier releases created it, versions counted per key.
            let old = Connection::open(&path).unwrap();
            old.execute_batch(&format!(
                "{EARLIER_KV}
                 INSERT INTO kv VALUES ('default', 'a', x'31', 7), ('default', 'n', x'3432', 2);"
            ))
            .unwrap();
        }
        let kv = Sqlite::open(&path).unwrap();
        let a = kv.get("default", "a").unwrap().unwrap();
        assert_eq!((a.value.as_slice(), a.version), (&b"1"[..], 7));
        assert_eq!(kv.increment("default", "n", 1).unwrap(), 43);
        // Under the old scheme 'a' made again would be version 1 again: now above 7.
        kv.delete("default", "a").unwrap();
        assert!(kv.swap("default", "a", None, b"2").unwrap());
        let again = kv.get("default", "a").unwrap().unwrap();
        assert!(again.version > 7, "{again:?}");
        assert!(!kv.swap("default", "a", Some(7), b"3").unwrap());
        // A second process opening the migrated file does not seed the floor again (from the
        // highest version left, which would be below the one just deleted).
        kv.delete("default", "a").unwrap();
        let other = Sqlite::open(&path).unwrap();
        assert!(other.swap("default", "a", None, b"4").unwrap());
        assert!(other.get("default", "a").unwrap().unwrap().version > again.version);
    }

    /// The store as the release before the floor left it: one sequence row stepped by every
    /// write, versions above the row never.
    fn sequence_file(path: &Path) -> Connection {
        let old = Connection::open(path).unwrap();
        old.execute_batch(&format!(
            "{EARLIER_KV}
             CREATE TABLE kv_version (
                id   INTEGER PRIMARY KEY CHECK (id = 0),
                last INTEGER NOT NULL
             );
             INSERT INTO kv VALUES ('default', 'a', x'31', 40);
             -- 'gone' had version 50, the last handed out, and was deleted.
             INSERT INTO kv_version VALUES (0, 50);"
        ))
        .unwrap();
        old
    }

    #[test]
    fn a_file_from_the_sequence_keeps_its_versions_and_refuses_an_older_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        // Kept open, as a process of the older release still running on the file would be.
        let older = sequence_file(&path);
        let kv = Sqlite::open(&path).unwrap();
        // A key the older release deleted at 50 is made again above it.
        kv.set("default", "gone", b"x").unwrap();
        assert!(kv.get("default", "gone").unwrap().unwrap().version > 50);
        // A key it kept counts on from its own version.
        kv.set("default", "a", b"2").unwrap();
        assert_eq!(kv.get("default", "a").unwrap().unwrap().version, 41);
        // The older release's write steps the sequence first: refused, and nothing changes.
        let refused = older
            .query_row(
                "UPDATE kv_version SET last = last + 1 WHERE id = 0 RETURNING last",
                [],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_err();
        assert!(
            refused.to_string().contains("kept by a newer matterlink"),
            "{refused}"
        );
        assert_eq!(kv.get("default", "a").unwrap().unwrap().value, b"2");
        // Opening the file again changes neither the floor nor the guard.
        drop(kv);
        let kv = Sqlite::open(&path).unwrap();
        kv.set("default", "new", b"y").unwrap();
        assert!(kv.get("default", "new").unwrap().unwrap().version > 50);
        assert!(older
            .execute("UPDATE kv_version SET last = last + 1 WHERE id = 0", [])
            .is_err());
    }

    #[test]
    fn a_row_deleted_by_hand_raises_the_floor_too() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kv.sqlite3");
        let kv = Sqlite::open(&path).unwrap();
        for _ in 0..10 {
            kv.set("default", "k", b"v").unwrap();
        }
        let seen = kv.get("default", "k").unwrap().unwrap();
        // A person at `sqlite3`, not the backend.
        Connection::open(&path)
            .unwrap()
            .execute("DELETE FROM kv WHERE key = 'k'", [])
            .unwrap();
        assert!(kv.swap("default", "k", None, b"v").unwrap());
        let now = kv.get("default", "k").unwrap().unwrap();
        assert!(now.version > seen.version, "{now:?} after {seen:?}");
        assert!(!kv.swap("default", "k", Some(seen.version), b"w").unwrap());
    }
}
