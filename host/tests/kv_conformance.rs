//! The key-value conformance suite (`matterlink_host::keyvalue::conformance`) for each backend
//! this host has: SQLite, within one process and across processes on one file; the dry run's
//! in-memory overlay; and Redis, on a private `redis-server` (skipped when none is installed),
//! within one process, across processes, under a tenant prefix, and beside a writer that keeps
//! Spin's layout and knows nothing of versions.
//!
//! The processes are this test binary run again, filtered to `sqlite_cas_child` (the file's
//! path in `CHILD_FILE`) or `redis_cas_child` (the server's URL in `CHILD_REDIS`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use matterlink_host::keyvalue::conformance;
use matterlink_host::keyvalue::overlay::Overlay;
use matterlink_host::keyvalue::redis::{Redis, RedisUrl};
use matterlink_host::keyvalue::sqlite::Sqlite;
use matterlink_host::keyvalue::{Backend, Error};

#[path = "common/redis.rs"]
mod redis_server;
use redis_server::RedisServer;

const CHILD_FILE: &str = "MATTERLINK_KV_CONFORMANCE_FILE";
const CHILD_REDIS: &str = "MATTERLINK_KV_CONFORMANCE_REDIS";
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

/// Every connection a new `Redis` backend (its own connection), as each process has its own.
fn redis_at(url: &str, prefix: &str) -> impl conformance::Connect {
    let (url, prefix) = (RedisUrl::parse(url).unwrap(), prefix.to_string());
    move || {
        let (url, prefix) = (url.clone(), prefix.clone());
        async move { Ok(Arc::new(Redis::open(&url, &prefix)?) as Arc<dyn Backend>) }
    }
}

/// A raw connection to the server, as Spin (or an operator) would use it.
async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn all_redis_keys(server: &RedisServer) -> Vec<String> {
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut raw(server).await)
        .await
        .unwrap();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_conforms() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    conformance::run_all(&redis_at(&server.url(), "")).await;
    // What the suite leaves is matterlink's bookkeeping only: the sequence and empty (so
    // absent) version hashes.
    assert_eq!(all_redis_keys(&server).await, ["__matterlink__/sequence"]);
}

/// A tenant's prefix (with glob characters, which listing must match literally) keeps its keys
/// apart from the bare keys and from another tenant's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_conforms_under_a_tenant_prefix() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = RedisUrl::parse(&server.url()).unwrap();
    let bare = Redis::open(&url, "").unwrap();
    let other_tenant = Redis::open(&url, "t[1]").unwrap();
    bare.set(conformance::STORE, "page/00001", b"bare")
        .await
        .unwrap();
    other_tenant
        .set(conformance::STORE, "page/00002", b"other")
        .await
        .unwrap();
    conformance::run_all(&redis_at(&server.url(), "t*")).await;
    let keys = all_redis_keys(&server).await;
    assert!(keys
        .iter()
        .all(|k| !k.starts_with("t*") || k.starts_with("t*__matterlink__/")));
    assert_eq!(
        bare.list_keys(conformance::STORE, None, 10)
            .await
            .unwrap()
            .0,
        ["page/00001"]
    );
    assert_eq!(
        other_tenant
            .list_keys(conformance::STORE, None, 10)
            .await
            .unwrap()
            .0,
        ["page/00002"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_cas_holds_across_processes() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let connect = redis_at(&server.url(), "");
    conformance::cas_across_processes(&connect, 4, 60, |rounds| {
        let mut cmd = Command::new(std::env::current_exe().expect("test binary path"));
        cmd.args([
            "redis_cas_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_REDIS, server.url())
        .env(CHILD_ROUNDS, rounds.to_string());
        cmd
    })
    .await;
}

/// One child process of `redis_cas_holds_across_processes`.
#[tokio::test]
#[ignore = "a child process of redis_cas_holds_across_processes"]
async fn redis_cas_child() {
    let (Ok(url), Ok(rounds)) = (std::env::var(CHILD_REDIS), std::env::var(CHILD_ROUNDS)) else {
        eprintln!("redis_cas_child runs only as a child of redis_cas_holds_across_processes");
        return;
    };
    let kv = Redis::open(&RedisUrl::parse(&url).unwrap(), "").unwrap();
    conformance::cas_child(&kv, rounds.parse().unwrap()).await;
}

/// The component's store `default` is Spin's layout: the bare key holds the raw bytes, and a
/// writer that knows nothing of versions (Spin: SET, INCRBY, DEL) is seen by compare-and-swap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_default_store_shares_spins_layout() {
    use redis::AsyncCommands;
    let Some(server) = RedisServer::start() else {
        return;
    };
    let kv = Redis::open(&RedisUrl::parse(&server.url()).unwrap(), "").unwrap();
    let mut spin = raw(&server).await;

    // Ours, read the way Spin reads.
    kv.set("default", "link/matter/1", b"\x00raw")
        .await
        .unwrap();
    let got: Vec<u8> = spin.get("link/matter/1").await.unwrap();
    assert_eq!(got, b"\x00raw");
    assert_eq!(kv.increment("default", "count", 5).await.unwrap(), 5);
    let n: i64 = spin.incr("count", 1).await.unwrap();
    assert_eq!(n, 6, "a counter is INCRBY's decimal text");
    assert_eq!(kv.increment("default", "count", 1).await.unwrap(), 7);

    // Spin's, read by us: a key it made gets a version, and swaps from it.
    let () = spin.set("spin/made", b"s1").await.unwrap();
    let seen = kv.get("default", "spin/made").await.unwrap().unwrap();
    assert_eq!(seen.value, b"s1");
    assert_eq!(
        kv.get("default", "spin/made")
            .await
            .unwrap()
            .unwrap()
            .version,
        seen.version,
        "reading again does not move the version"
    );

    // A Spin write of other bytes after our read: the swap from before it fails.
    let () = spin.set("spin/made", b"s2").await.unwrap();
    assert!(!kv
        .swap("default", "spin/made", Some(seen.version), b"ours")
        .await
        .unwrap());
    let now = kv.get("default", "spin/made").await.unwrap().unwrap();
    assert_eq!(now.value, b"s2");
    assert!(now.version > seen.version);
    assert!(kv
        .swap("default", "spin/made", Some(now.version), b"ours")
        .await
        .unwrap());

    // The same for Spin's increment, and for its delete and a re-create with other bytes.
    kv.set("default", "c", b"1").await.unwrap();
    let seen = kv.get("default", "c").await.unwrap().unwrap();
    let _: i64 = spin.incr("c", 1).await.unwrap();
    assert!(!kv
        .swap("default", "c", Some(seen.version), b"9")
        .await
        .unwrap());
    let seen = kv.get("default", "c").await.unwrap().unwrap();
    let _: i64 = spin.del("c").await.unwrap();
    assert!(!kv
        .swap("default", "c", Some(seen.version), b"9")
        .await
        .unwrap());
    let () = spin.set("c", b"other").await.unwrap();
    assert!(!kv
        .swap("default", "c", Some(seen.version), b"9")
        .await
        .unwrap());
    assert_eq!(
        kv.get("default", "c").await.unwrap().unwrap().value,
        b"other"
    );

    // What the module docs say does not hold: Spin writing back the very bytes there is not
    // seen, and the swap lands on bytes equal to those read.
    let seen = kv.get("default", "c").await.unwrap().unwrap();
    let () = spin.set("c", b"other").await.unwrap();
    assert!(kv
        .swap("default", "c", Some(seen.version), b"9")
        .await
        .unwrap());

    // Spin's own compare-and-swap (WATCH, GET, MULTI/SET/EXEC) sees our write in between.
    let mut watcher = raw(&server).await;
    redis::cmd("WATCH")
        .arg("c")
        .query_async::<()>(&mut watcher)
        .await
        .unwrap();
    let _: Vec<u8> = watcher.get("c").await.unwrap();
    kv.set("default", "c", b"ours").await.unwrap();
    let exec: Option<((),)> = redis::pipe()
        .atomic()
        .set("c", "spin")
        .query_async(&mut watcher)
        .await
        .unwrap();
    assert_eq!(exec, None, "EXEC aborted by our write");

    // Listing `default` shows the component's keys only: not the bookkeeping, not the host's.
    kv.set("matterlink-host", "backfill/x", b"h").await.unwrap();
    let mut listed = kv.list_keys("default", None, 100).await.unwrap().0;
    listed.sort();
    assert_eq!(listed, ["c", "count", "link/matter/1", "spin/made"]);
    assert_eq!(
        kv.list_keys("matterlink-host", None, 100).await.unwrap().0,
        ["backfill/x"]
    );
    assert!(matches!(
        kv.set("default", "__matterlink__/sequence", b"0").await,
        Err(Error::AccessDenied(_))
    ));
}

/// The dry run's overlay over Redis: reads come from the database, nothing is written to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_dry_run_overlay_conforms_and_writes_nothing() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let url = RedisUrl::parse(&server.url()).unwrap();
    let real = Redis::open(&url, "").unwrap();
    real.set("default", "outside", b"kept").await.unwrap();
    real.set(conformance::STORE, "zz/below", b"below")
        .await
        .unwrap();
    let before = all_redis_keys(&server).await;
    let base: Arc<dyn Backend> = Arc::new(Redis::open_read_only(&url, "").unwrap());
    assert!(matches!(
        base.set("default", "k", b"v").await,
        Err(Error::AccessDenied(_))
    ));
    let overlay: Arc<dyn Backend> = Arc::new(Overlay::over(Some(base)));
    assert_eq!(
        overlay
            .get(conformance::STORE, "zz/below")
            .await
            .unwrap()
            .unwrap()
            .value,
        b"below"
    );
    overlay
        .delete(conformance::STORE, "zz/below")
        .await
        .unwrap();
    conformance::run_all(&move || {
        let o = overlay.clone();
        async move { Ok::<_, Error>(o) }
    })
    .await;
    assert_eq!(all_redis_keys(&server).await, before);
    assert_eq!(
        real.get(conformance::STORE, "zz/below")
            .await
            .unwrap()
            .unwrap()
            .value,
        b"below"
    );
}

/// A server that is not there: the error says where, without the password.
#[tokio::test]
async fn redis_errors_never_show_the_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = RedisUrl::parse(&format!("redis://:s3cret@127.0.0.1:{port}/0")).unwrap();
    let kv = Redis::open(&url, "").unwrap();
    let e = kv.get("default", "k").await.unwrap_err().to_string();
    assert!(e.contains(&format!("127.0.0.1:{port}")), "{e}");
    assert!(!e.contains("s3cret"), "{e}");
}
