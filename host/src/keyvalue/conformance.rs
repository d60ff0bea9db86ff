//! What every key-value backend must do, as one suite: each backend's tests call `run_all` with
//! a way to open connections to one fresh store (and, for a backend shared between processes,
//! `cas_across_processes`). host/tests/kv_conformance.rs runs it for SQLite and the overlay.
//!
//! Always compiled rather than behind a feature: it needs nothing the crate does not already
//! depend on, it is type-checked with every build so it cannot drift from `Backend`, and a
//! backend written outside this crate can run it without enabling anything.
//!
//! The checks panic on the first failure, as test code does. Run them on a multi-threaded tokio
//! runtime: the contention checks spawn tasks and only contend for real on several threads.

use std::collections::BTreeSet;
use std::future::Future;
use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;

use super::{counter, Backend, Error};

/// The store label the suite writes under; a second one checks that labels are separate.
pub const STORE: &str = "conformance";
const OTHER_STORE: &str = "conformance-other";
/// The counter `cas_across_processes` and its children share.
pub const SHARED_COUNTER: &str = "cas/across-processes";

/// Opens another connection to the one store under test, as another instance or process would.
/// For an in-memory backend, the same backend again.
#[async_trait]
pub trait Connect: Send + Sync {
    /// A new connection to the store under test.
    async fn connect(&self) -> Result<Arc<dyn Backend>, Error>;
}

#[async_trait]
impl<F, Fut> Connect for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<Arc<dyn Backend>, Error>> + Send,
{
    async fn connect(&self) -> Result<Arc<dyn Backend>, Error> {
        self().await
    }
}

async fn open(c: &dyn Connect) -> Arc<dyn Backend> {
    c.connect().await.expect("a connection to the store opens")
}

/// Every check that runs inside one process, in turn, on a store that starts empty.
pub async fn run_all(c: &dyn Connect) {
    basics(c).await;
    listing(c).await;
    listing_by_prefix(c).await;
    increments(c).await;
    concurrent_increments(c).await;
    compare_and_swap(c).await;
    compare_and_swap_under_contention(c).await;
    versions_never_go_back(c).await;
    tenant_views(c).await;
}

/// Tenants' views of one backend (`namespace::Namespaced`): whatever characters a key holds, no
/// key of one tenant is readable, listable or writable through another's view or the bare
/// backend, and clearing a tenant's labels leaves none of its keys and touches nobody else's.
pub async fn tenant_views(c: &dyn Connect) {
    use super::namespace::{clear, Namespaced};
    let kv = open(c).await;
    let a = Namespaced::new(kv.clone(), "a");
    // "a:" and "ab" begin like "a"; "" is nobody's view but a label's own.
    let b = Namespaced::new(kv.clone(), "ab");
    let keys = [
        "k",
        "../ab/k",
        "tenant/ab/conformance/k",
        "%2F..%2F",
        "*",
        "[a]?",
        "\\",
        " ",
        "ü/🙂",
        "__matterlink__/store/x",
    ];
    for k in keys {
        a.set(STORE, k, b"a").await.unwrap();
    }
    a.set(OTHER_STORE, "k", b"a").await.unwrap();
    for k in keys {
        assert_eq!(
            b.get(STORE, k).await.unwrap(),
            None,
            "{k:?} read across tenants"
        );
        assert!(!b.exists(STORE, k).await.unwrap());
        assert_eq!(
            kv.get(STORE, k).await.unwrap(),
            None,
            "{k:?} read from outside"
        );
    }
    assert!(
        list_all(&b, STORE, 3).await.is_empty(),
        "listed across tenants"
    );
    assert!(list_all(kv.as_ref(), STORE, 100).await.is_empty());
    let mut listed = list_all(&a, STORE, 3).await;
    listed.sort();
    let mut expected: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    expected.sort();
    assert_eq!(listed, expected, "a tenant lists its own keys, each once");
    // By prefix too: the bare backend's keys under `tenant/ab/…` are nobody's view's.
    let (in_b, _) = b.list_prefix(STORE, "tenant/", None, 100).await.unwrap();
    assert!(in_b.is_empty(), "listed across tenants: {in_b:?}");
    let (in_a, _) = a.list_prefix(STORE, "tenant/", None, 100).await.unwrap();
    assert_eq!(in_a, ["tenant/ab/conformance/k"]);
    // Writes through one view never land in another.
    b.set(STORE, "k", b"b").await.unwrap();
    b.increment(STORE, "n", 2).await.unwrap();
    b.delete_many(STORE, &["../ab/k".to_string()])
        .await
        .unwrap();
    assert_eq!(a.get(STORE, "k").await.unwrap().unwrap().value, b"a");
    assert!(a.exists(STORE, "../ab/k").await.unwrap());
    assert_eq!(a.get(STORE, "n").await.unwrap(), None);
    assert_eq!(clear(&a, STORE).await.unwrap(), keys.len());
    assert_eq!(clear(&a, OTHER_STORE).await.unwrap(), 1);
    assert!(list_all(&a, STORE, 100).await.is_empty());
    assert!(list_all(&a, OTHER_STORE, 100).await.is_empty());
    assert_eq!(b.get(STORE, "k").await.unwrap().unwrap().value, b"b");
    clear(&b, STORE).await.unwrap();
}

/// get, set, delete, exists, and the batch forms; labels keep their keys apart.
pub async fn basics(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    assert_eq!(kv.get(STORE, "b/k").await.unwrap(), None);
    assert!(!kv.exists(STORE, "b/k").await.unwrap());
    kv.delete(STORE, "b/k")
        .await
        .expect("deleting nothing is fine");

    kv.set(STORE, "b/k", b"one").await.unwrap();
    assert_eq!(
        other.get(STORE, "b/k").await.unwrap().unwrap().value,
        b"one",
        "a write is seen by another connection"
    );
    assert!(other.exists(STORE, "b/k").await.unwrap());
    kv.set(STORE, "b/k", b"two").await.unwrap();
    assert_eq!(
        other.get(STORE, "b/k").await.unwrap().unwrap().value,
        b"two"
    );

    // Values are bytes, not text: empty, NUL and invalid UTF-8 come back as written.
    let bytes: &[u8] = b"\x00\xff\xfe bytes \x00";
    kv.set(STORE, "b/bytes", bytes).await.unwrap();
    kv.set(STORE, "b/empty", b"").await.unwrap();
    assert_eq!(
        other.get(STORE, "b/bytes").await.unwrap().unwrap().value,
        bytes
    );
    let empty = other.get(STORE, "b/empty").await.unwrap();
    assert_eq!(
        empty.map(|v| v.value),
        Some(Vec::new()),
        "empty is not absent"
    );
    let big = vec![0xa5; 1 << 20];
    kv.set(STORE, "b/big", &big).await.unwrap();
    assert_eq!(other.get(STORE, "b/big").await.unwrap().unwrap().value, big);

    // The same key under another label is another entry.
    assert_eq!(kv.get(OTHER_STORE, "b/k").await.unwrap(), None);
    kv.set(OTHER_STORE, "b/k", b"elsewhere").await.unwrap();
    assert_eq!(kv.get(STORE, "b/k").await.unwrap().unwrap().value, b"two");
    other.delete(STORE, "b/k").await.unwrap();
    assert!(!kv.exists(STORE, "b/k").await.unwrap());
    assert_eq!(kv.get(STORE, "b/k").await.unwrap(), None);
    assert_eq!(
        kv.get(OTHER_STORE, "b/k").await.unwrap().unwrap().value,
        b"elsewhere"
    );

    let entries: Vec<(String, Vec<u8>)> = (0..5)
        .map(|i| (format!("b/many/{i}"), vec![b'0' + i]))
        .collect();
    kv.set_many(STORE, &entries).await.unwrap();
    for (k, v) in &entries {
        assert_eq!(&other.get(STORE, k).await.unwrap().unwrap().value, v);
    }
    let gone = vec!["b/many/1".to_string(), "b/many/3".into(), "b/absent".into()];
    other.delete_many(STORE, &gone).await.unwrap();
    for (k, _) in &entries {
        let expected = !gone.contains(k);
        assert_eq!(kv.exists(STORE, k).await.unwrap(), expected, "{k}");
    }

    let all: Vec<String> = [
        "b/bytes", "b/empty", "b/big", "b/many/0", "b/many/2", "b/many/4",
    ]
    .map(String::from)
    .into();
    kv.delete_many(STORE, &all).await.unwrap();
    kv.delete(OTHER_STORE, "b/k").await.unwrap();
    assert_eq!(
        list_all(kv.as_ref(), STORE, 1000).await,
        Vec::<String>::new()
    );
    assert_eq!(
        list_all(kv.as_ref(), OTHER_STORE, 1000).await,
        Vec::<String>::new()
    );
}

/// Keys with characters a store might treat specially: separators, quoting, wildcards, SQL
/// and glob syntax, non-ASCII, whitespace, and the empty key.
pub const ODD_KEYS: &[&str] = &[
    "",
    " ",
    "a b",
    "a/b",
    "a:b",
    "a%2Fb",
    "%",
    "_",
    "*",
    "?",
    "[x]",
    "'",
    "\"quoted\"",
    "back\\slash",
    "tab\there",
    "new\nline",
    "dash-",
    "ä",
    "日本語",
    "🦀",
    "\u{7f}",
    "~",
];

/// Every key of `store`, paging `limit` at a time, checking each page's shape.
async fn list_all(kv: &dyn Backend, store: &str, limit: usize) -> Vec<String> {
    list_paged(&[kv], store, limit).await.0
}

/// Pages through `store`, taking each page from the next connection in turn (a cursor is
/// portable: the component may page with one instance and go on with another). The keys in the
/// order listed, and how many pages it took.
async fn list_paged(kvs: &[&dyn Backend], store: &str, limit: usize) -> (Vec<String>, usize) {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    for page_no in 0.. {
        let kv = kvs[page_no % kvs.len()];
        let (page, next) = kv.list_keys(store, cursor.as_deref(), limit).await.unwrap();
        assert!(
            page.len() <= limit,
            "page of {} over limit {limit}",
            page.len()
        );
        keys.extend(page);
        match next {
            Some(n) => cursor = Some(n),
            None => return (keys, page_no + 1),
        }
        assert!(page_no < 1_000_000, "listing never ends");
    }
    unreachable!()
}

/// list-keys over several pages with cursors: every key exactly once, whatever it contains.
pub async fn listing(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    let mut expected: BTreeSet<String> = ODD_KEYS.iter().map(|k| k.to_string()).collect();
    expected.extend((0..2500).map(|i| format!("page/{i:05}")));
    let entries: Vec<(String, Vec<u8>)> = expected
        .iter()
        .map(|k| (k.clone(), k.as_bytes().to_vec()))
        .collect();
    for chunk in entries.chunks(500) {
        kv.set_many(STORE, chunk).await.unwrap();
    }
    kv.set(OTHER_STORE, "page/not-here", b"x").await.unwrap();

    let limit = 100;
    let (listed, pages) = list_paged(&[kv.as_ref(), other.as_ref()], STORE, limit).await;
    let unique: BTreeSet<String> = listed.iter().cloned().collect();
    assert_eq!(unique.len(), listed.len(), "a key listed twice");
    assert_eq!(unique, expected, "listing differs from what was written");
    assert!(pages >= expected.len() / limit, "{pages} pages");
    for k in ODD_KEYS {
        assert_eq!(
            other.get(STORE, k).await.unwrap().map(|v| v.value),
            Some(k.as_bytes().to_vec()),
            "{k:?}"
        );
    }

    // After deleting every other key, the rest is listed, and nothing deleted is.
    let gone: Vec<String> = expected.iter().step_by(2).cloned().collect();
    for chunk in gone.chunks(500) {
        other.delete_many(STORE, chunk).await.unwrap();
    }
    let rest: BTreeSet<String> = expected
        .difference(&gone.into_iter().collect())
        .cloned()
        .collect();
    let listed: BTreeSet<String> = list_all(kv.as_ref(), STORE, 7).await.into_iter().collect();
    assert_eq!(listed, rest);

    let all: Vec<String> = rest.into_iter().collect();
    kv.delete_many(STORE, &all).await.unwrap();
    kv.delete(OTHER_STORE, "page/not-here").await.unwrap();
    assert_eq!(
        list_all(kv.as_ref(), STORE, limit).await,
        Vec::<String>::new()
    );
}

/// list-prefix: exactly the keys starting with the prefix, each once over pages of any size,
/// beside keys that sort just before, just after and between them.
pub async fn listing_by_prefix(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    let prefix = "event/dead/";
    let inside: BTreeSet<String> = (0..25)
        .map(|i| format!("{prefix}{i:03}"))
        .chain([prefix.to_string(), format!("{prefix}日本語")])
        .collect();
    let outside = [
        "event/dead",
        "event/dead.",
        "event/dead0",
        "event/deae/1",
        "event/",
        "a",
        "zzz",
        "日本語",
    ];
    let entries: Vec<(String, Vec<u8>)> = inside
        .iter()
        .map(String::as_str)
        .chain(outside)
        .map(|k| (k.to_string(), b"x".to_vec()))
        .collect();
    kv.set_many(STORE, &entries).await.unwrap();
    kv.set(OTHER_STORE, &format!("{prefix}elsewhere"), b"x")
        .await
        .unwrap();

    for limit in [1, 4, 1000] {
        let mut listed = Vec::new();
        let mut cursor: Option<String> = None;
        for page_no in 0.. {
            // A cursor is portable between connections, as for list-keys.
            let at = if page_no % 2 == 0 { &kv } else { &other };
            let (page, next) = at
                .list_prefix(STORE, prefix, cursor.as_deref(), limit)
                .await
                .unwrap();
            assert!(page.len() <= limit, "page of {} over {limit}", page.len());
            listed.extend(page);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
            assert!(page_no < 100_000, "listing never ends");
        }
        let unique: BTreeSet<String> = listed.iter().cloned().collect();
        assert_eq!(unique.len(), listed.len(), "a key listed twice: {listed:?}");
        assert_eq!(unique, inside, "limit {limit}");
    }
    let (none, _) = kv.list_prefix(STORE, "nothing/", None, 10).await.unwrap();
    assert!(none.is_empty(), "{none:?}");

    let all: Vec<String> = entries.into_iter().map(|(k, _)| k).collect();
    kv.delete_many(STORE, &all).await.unwrap();
    kv.delete(OTHER_STORE, &format!("{prefix}elsewhere"))
        .await
        .unwrap();
}

/// increment: from absent, by negative deltas, the stored format, and what is not a counter.
pub async fn increments(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    assert_eq!(
        kv.increment(STORE, "i/n", 5).await.unwrap(),
        5,
        "absent is 0"
    );
    assert_eq!(other.increment(STORE, "i/n", -8).await.unwrap(), -3);
    assert_eq!(kv.increment(STORE, "i/n", 0).await.unwrap(), -3);
    assert_eq!(
        other.get(STORE, "i/n").await.unwrap().unwrap().value,
        counter::encode(-3),
        "a counter reads back in the one counter format"
    );
    assert_eq!(kv.increment(STORE, "i/down", -1).await.unwrap(), -1);

    kv.set(STORE, "i/set", &counter::encode(41)).await.unwrap();
    assert_eq!(kv.increment(STORE, "i/set", 1).await.unwrap(), 42);

    kv.set(STORE, "i/text", b"abc").await.unwrap();
    assert_eq!(
        kv.increment(STORE, "i/text", 1).await,
        Err(Error::NotACounter {
            key: "i/text".into()
        })
    );
    assert_eq!(
        kv.get(STORE, "i/text").await.unwrap().unwrap().value,
        b"abc"
    );

    kv.set(STORE, "i/max", &counter::encode(i64::MAX))
        .await
        .unwrap();
    assert_eq!(
        kv.increment(STORE, "i/max", 1).await,
        Err(Error::Overflow {
            key: "i/max".into()
        })
    );
    assert_eq!(
        kv.increment(STORE, "i/max", -1).await.unwrap(),
        i64::MAX - 1
    );

    for k in ["i/n", "i/down", "i/set", "i/text", "i/max"] {
        kv.delete(STORE, k).await.unwrap();
    }
}

/// Spawns `tasks` tasks, each with its own connection, each running `work` `rounds` times;
/// what every round returned.
async fn contend<T, F, Fut>(c: &dyn Connect, tasks: usize, rounds: usize, work: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(Arc<dyn Backend>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = T> + Send,
{
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (kv, work) = (open(c).await, work.clone());
        handles.push(tokio::spawn(async move {
            let mut out = Vec::with_capacity(rounds);
            for _ in 0..rounds {
                out.push(work(kv.clone()).await);
                // Let the other tasks in between rounds, on a single thread too.
                tokio::task::yield_now().await;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await.expect("a contending task panicked"));
    }
    all
}

/// Concurrent increments from several connections sum exactly, each seeing its own new value.
pub async fn concurrent_increments(c: &dyn Connect) {
    let (tasks, rounds) = (8, 50);
    let seen = contend(c, tasks, rounds, |kv| async move {
        kv.increment(STORE, "i/shared", 1).await.unwrap()
    })
    .await;
    let total = (tasks * rounds) as i64;
    let distinct: BTreeSet<i64> = seen.iter().copied().collect();
    assert_eq!(
        distinct,
        (1..=total).collect::<BTreeSet<_>>(),
        "two increments saw the same value"
    );
    let kv = open(c).await;
    assert_eq!(kv.increment(STORE, "i/shared", 0).await.unwrap(), total);
    kv.delete(STORE, "i/shared").await.unwrap();
}

/// swap: creating only if absent, and only from the version seen.
pub async fn compare_and_swap(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    assert!(
        kv.swap(STORE, "s/k", None, b"1").await.unwrap(),
        "create when absent"
    );
    assert!(
        !other.swap(STORE, "s/k", None, b"2").await.unwrap(),
        "already there"
    );
    let seen = other.get(STORE, "s/k").await.unwrap().unwrap();
    assert_eq!(seen.value, b"1");

    kv.set(STORE, "s/k", b"3").await.unwrap();
    assert!(
        !other
            .swap(STORE, "s/k", Some(seen.version), b"4")
            .await
            .unwrap(),
        "swap from a version overwritten since"
    );
    assert_eq!(kv.get(STORE, "s/k").await.unwrap().unwrap().value, b"3");

    // Written back to the same bytes is still a change.
    let seen = other.get(STORE, "s/k").await.unwrap().unwrap();
    kv.set(STORE, "s/k", b"3").await.unwrap();
    let now = kv.get(STORE, "s/k").await.unwrap().unwrap();
    assert!(now.version > seen.version, "{now:?} after {seen:?}");
    assert!(!other
        .swap(STORE, "s/k", Some(seen.version), b"5")
        .await
        .unwrap());

    assert!(other
        .swap(STORE, "s/k", Some(now.version), b"6")
        .await
        .unwrap());
    assert_eq!(kv.get(STORE, "s/k").await.unwrap().unwrap().value, b"6");
    assert!(
        !other
            .swap(STORE, "s/k", Some(now.version), b"7")
            .await
            .unwrap(),
        "a version swaps once"
    );

    assert!(!kv
        .swap(STORE, "s/absent", Some(now.version), b"x")
        .await
        .unwrap());
    assert!(!kv.exists(STORE, "s/absent").await.unwrap());
    kv.delete(STORE, "s/k").await.unwrap();
}

/// One compare-and-swap increment of `key`, retried until it lands; the attempts it took.
pub async fn cas_increment(kv: &dyn Backend, key: &str) -> usize {
    for attempt in 1.. {
        let seen = kv.get(STORE, key).await.unwrap();
        let n = match &seen {
            None => 0,
            Some(v) => counter::decode(key, &v.value).unwrap(),
        };
        let expected = seen.map(|v| v.version);
        if kv
            .swap(STORE, key, expected, &counter::encode(n + 1))
            .await
            .unwrap()
        {
            return attempt;
        }
        tokio::task::yield_now().await;
    }
    unreachable!()
}

/// N tasks, each on its own connection, each looping compare-and-swap increments: no update
/// is lost, so the count is exact.
pub async fn compare_and_swap_under_contention(c: &dyn Connect) {
    let (tasks, rounds) = (8, 40);
    let attempts = contend(c, tasks, rounds, |kv| async move {
        cas_increment(kv.as_ref(), "s/contended").await
    })
    .await;
    let kv = open(c).await;
    let total = kv.get(STORE, "s/contended").await.unwrap().unwrap();
    assert_eq!(
        counter::decode("s/contended", &total.value).unwrap(),
        (tasks * rounds) as i64,
        "lost updates ({} attempts for {} increments)",
        attempts.iter().sum::<usize>(),
        tasks * rounds
    );
    kv.delete(STORE, "s/contended").await.unwrap();
}

/// A key deleted and made again has a version above any it had: a swap against a version seen
/// before the delete fails, even when the value made again is the same (no ABA).
pub async fn versions_never_go_back(c: &dyn Connect) {
    let (kv, other) = (open(c).await, open(c).await);
    // Each way of making the key again: set, swap-create, increment, set_many.
    for remake in 0..4 {
        // Written several times first, so its version is well above a key made afresh (a
        // backend may count versions per key).
        for _ in 0..5 {
            kv.set(STORE, "v/k", b"7").await.unwrap();
        }
        let seen = kv.get(STORE, "v/k").await.unwrap().unwrap();
        if remake % 2 == 0 {
            other.delete(STORE, "v/k").await.unwrap();
        } else {
            other.delete_many(STORE, &["v/k".into()]).await.unwrap();
        }
        match remake {
            0 => other.set(STORE, "v/k", b"7").await.unwrap(),
            1 => assert!(other.swap(STORE, "v/k", None, b"7").await.unwrap()),
            2 => assert_eq!(other.increment(STORE, "v/k", 7).await.unwrap(), 7),
            _ => other
                .set_many(STORE, &[("v/k".into(), b"7".to_vec())])
                .await
                .unwrap(),
        }
        let now = kv.get(STORE, "v/k").await.unwrap().unwrap();
        assert_eq!(now.value, b"7");
        assert!(
            now.version > seen.version,
            "made again ({remake}) at version {} after {}",
            now.version,
            seen.version
        );
        assert!(
            !kv.swap(STORE, "v/k", Some(seen.version), b"8")
                .await
                .unwrap(),
            "swap from before a delete succeeded ({remake})"
        );
        // Also from a connection opened after it all.
        let late = open(c).await;
        assert!(!late
            .swap(STORE, "v/k", Some(seen.version), b"8")
            .await
            .unwrap());
        assert_eq!(late.get(STORE, "v/k").await.unwrap().unwrap().value, b"7");
    }
    // A version seen before a delete does not come back to another key's benefit either:
    // after many writes elsewhere, the key made again is still above it.
    kv.set(STORE, "v/k", b"x").await.unwrap();
    let seen = kv.get(STORE, "v/k").await.unwrap().unwrap();
    kv.delete(STORE, "v/k").await.unwrap();
    for i in 0..20 {
        other
            .set(STORE, &format!("v/busy/{i}"), b"y")
            .await
            .unwrap();
    }
    assert!(kv.swap(STORE, "v/k", None, b"x").await.unwrap());
    assert!(kv.get(STORE, "v/k").await.unwrap().unwrap().version > seen.version);

    let mut all: Vec<String> = (0..20).map(|i| format!("v/busy/{i}")).collect();
    all.push("v/k".into());
    kv.delete_many(STORE, &all).await.unwrap();
}

/// What a child process of `cas_across_processes` runs: `rounds` compare-and-swap increments
/// of the shared counter.
pub async fn cas_child(kv: &dyn Backend, rounds: usize) {
    for _ in 0..rounds {
        cas_increment(kv, SHARED_COUNTER).await;
    }
}

/// Compare-and-swap under contention from several processes: `processes` children, each made
/// by `child(rounds)` and running `cas_child` with `rounds` on its own connection to this
/// store, while this process does the same from two tasks. The count must come out exact.
pub async fn cas_across_processes(
    c: &dyn Connect,
    processes: usize,
    rounds: usize,
    child: impl Fn(usize) -> Command,
) {
    let kv = open(c).await;
    kv.delete(STORE, SHARED_COUNTER).await.unwrap();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            let mut cmd = child(rounds);
            cmd.stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().expect("child process starts")
        })
        .collect();
    let here = contend(c, 2, rounds, |kv| async move {
        cas_increment(kv.as_ref(), SHARED_COUNTER).await
    })
    .await;
    for child in children {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .expect("child process runs");
        assert!(
            out.status.success(),
            "child process failed: {}\n{}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let total = kv.get(STORE, SHARED_COUNTER).await.unwrap().unwrap();
    assert_eq!(
        counter::decode(SHARED_COUNTER, &total.value).unwrap(),
        ((processes + 2) * rounds) as i64,
        "lost updates across processes ({} increments here)",
        here.len()
    );
    kv.delete(STORE, SHARED_COUNTER).await.unwrap();
}
