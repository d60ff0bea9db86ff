//! The key-value conformance suite (`matterlink_host::keyvalue::conformance`) for each backend
//! this host has: SQLite, within one process and across processes on one file, and the dry
//! run's in-memory overlay.
//!
//! The processes are this test binary run again, filtered to `sqlite_cas_child`, with the
//! file's path in `CHILD_FILE`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use matterlink_host::keyvalue::conformance;
use matterlink_host::keyvalue::overlay::Overlay;
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::keyvalue::{Backend, Error};

const CHILD_FILE: &str = "MATTERLINK_KV_CONFORMANCE_FILE";
const CHILD_ROUNDS: &str = "MATTERLINK_KV_CONFORMANCE_ROUNDS";

/// Every connection a new `Sqlite` on `path`, as each process has its own.
fn sqlite_at(path: PathBuf) -> impl conformance::Connect {
    move || {
        let path = path.clone();
        async move { Ok(Arc::new(Sqlite::open(&path)?) as Arc<dyn Backend>) }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    conformance::run_all(&sqlite_at(dir.path().join("kv.sqlite3"))).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_cas_holds_across_processes() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kv.sqlite3");
    let connect = sqlite_at(file.clone());
    conformance::cas_across_processes(&connect, 4, 60, |rounds| child(&file, rounds)).await;
}

fn child(file: &Path, rounds: usize) -> Command {
    let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
    cmd.args([
        "sqlite_cas_child",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_FILE, file)
    .env(CHILD_ROUNDS, rounds.to_string());
    cmd
}

/// One child process of `sqlite_cas_holds_across_processes`. Ignored in ordinary runs; the
/// parent counts its increments, so a child that ran nothing fails the parent.
#[tokio::test]
#[ignore = "a child process of sqlite_cas_holds_across_processes"]
async fn sqlite_cas_child() {
    let (Ok(file), Ok(rounds)) = (std::env::var(CHILD_FILE), std::env::var(CHILD_ROUNDS)) else {
        eprintln!("sqlite_cas_child runs only as a child of sqlite_cas_holds_across_processes");
        return;
    };
    let kv = Sqlite::open(Path::new(&file)).unwrap();
    conformance::cas_child(&kv, rounds.parse().unwrap()).await;
}

/// The overlay of a dry run: every connection is the one in-memory overlay (it lives in one
/// process), here over a read-only store that holds other data.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlay_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kv.sqlite3");
    let real = Sqlite::open(&path).unwrap();
    real.set("default", "outside", b"kept").unwrap();
    real.set(conformance::STORE, "zz/below", b"from the file")
        .unwrap();
    real.delete(conformance::STORE, "zz/below").unwrap();
    let base: Arc<dyn Backend> = Arc::new(Sqlite::open_read_only(&path).unwrap());
    let overlay: Arc<dyn Backend> = Arc::new(Overlay::over(Some(base)));
    conformance::run_all(&move || {
        let o = overlay.clone();
        async move { Ok::<_, Error>(o) }
    })
    .await;
    assert!(real
        .list_keys(conformance::STORE, None, 10)
        .unwrap()
        .0
        .is_empty());
    assert_eq!(
        real.get("default", "outside").unwrap().unwrap().value,
        b"kept"
    );
}

/// The overlay of a dry run in a data directory without a store yet.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlay_over_nothing_conforms() {
    let overlay: Arc<dyn Backend> = Arc::new(Overlay::over(None));
    conformance::run_all(&move || {
        let o = overlay.clone();
        async move { Ok::<_, Error>(o) }
    })
    .await;
}
