//! The shared key-value backend on Redis (or Valkey), laid out as Spin's own Redis key-value
//! store lays it out, so that Spin (with its `default` store on the same database) and any
//! number of `matterlink` processes share one state.
//!
//! # Key layout
//!
//! With tenant prefix `T` (empty unless the embedder sets one; the component never sees it):
//!
//! | what | Redis key | Redis type |
//! |---|---|---|
//! | key `k` of the component's store `default` | `T` `k` (bare, as Spin keeps it) | string: the value's raw bytes |
//! | key `k` of any other label `L` (the host's `matterlink-host`) | `T__matterlink__/store/L/k` | string: the raw bytes |
//! | the versions of label `L` | `T__matterlink__/versions/L` | hash: key → `"<version>:<sha1 hex of the value>"` |
//! | the version sequence | `T__matterlink__/sequence` | string: a counter (`INCR`) |
//!
//! In `L`, `%` and `/` are written `%25` and `%2F`, so no label's keys run into another's.
//! Counters (`increment`) are `INCRBY`, so they are decimal text, as `counter` stores them and
//! as Spin's `increment` does. Under `default`, a key starting with `__matterlink__/` is refused
//! (it would mix with the bookkeeping); `list_keys` never shows the bookkeeping, and lists a
//! label's keys only: `SCAN` with the label's prefix (glob characters escaped) as its pattern.
//!
//! # Versions and compare-and-swap
//!
//! The value stays the raw bytes under the component's key, so its version lives beside it, in
//! the label's versions hash, with the SHA-1 of the bytes it was written with. Every write path
//! (`set`, `set_many`, `swap`, `increment`, and `delete`/`delete_many`, which drop the entry) is
//! one Lua script, so the value and its version change together. A version comes from one
//! sequence per tenant, so a key deleted and made again is above any version it had.
//!
//! The version of a key, as `get` and `swap` see it, is the recorded one only if the SHA-1 of
//! the bytes under the key still matches the recorded one. Otherwise someone who knows nothing
//! of versions (Spin) wrote the key since: the script then records a fresh version for the bytes
//! there now ("adopts" the write) and hands that out. `swap` runs the same check inside its
//! script, so it succeeds only when the key holds bytes with the recorded digest *and* the
//! recorded version is the one the caller saw.
//!
//! What holds when Spin writes the same keys:
//! - any Spin write (`set`, `increment`, `delete`) that leaves *different* bytes (or none) under
//!   the key makes a later `swap` against a version seen before it fail;
//! - a Spin write that leaves the *same* bytes as before (a `set` of identical bytes, or a
//!   delete and a re-create with identical bytes) is invisible to our versions: a `swap` against
//!   the older version still succeeds, onto bytes equal to those the caller read;
//! - Spin's own compare-and-swap (`WATCH` the key, `MULTI`/`SET`/`EXEC`) sees every write we make,
//!   because each of our writes touches the key itself; adopting a write touches only the hash,
//!   never a key Spin watches;
//! - Spin's `get_keys` (`KEYS *`) also lists the bookkeeping keys above and other labels' keys;
//!   the component under Spin filters the keys it lists by its own prefixes, so they are harmless.
//!
//! `list_keys`' cursor is `SCAN`'s, plus any keys a `SCAN` step returned beyond the page's limit:
//! every key present throughout a listing is listed once, as `SCAN` guarantees; while Redis is
//! shrinking its table during the listing, `SCAN` (and so this) may list a key twice. Only
//! `default` is listed with `SCAN`; any other label (a tenant's, the host's), whose keys only
//! matterlink writes, is listed with `HSCAN` of its versions hash, whose fields are its keys, so
//! a listing costs what the label holds, not what the database holds.
//! Keys that are not UTF-8 (which no `wasi:keyvalue` user can write) are not listed.
//!
//! Connections: one `ConnectionManager` (multiplexed, reconnecting) per backend, made on first
//! use inside the caller's tokio runtime, so building a runtime needs no server. Versions are
//! exact up to `i64::MAX`: they are kept as decimal text, never as Lua numbers. Not supported:
//! Redis Cluster (a script's keys would span slots) and TLS (`rediss://`: the client's rustls
//! feature would add its certificate loader to the tree; no loopback or private-network
//! deployment needs it).

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::Script;
use tokio::sync::OnceCell;

use super::runtime_config::COMPONENT_STORE;
use super::{counter, Backend, Error, Versioned};

/// Where matterlink keeps its bookkeeping and other labels' keys, under the tenant prefix.
pub const RESERVED_PREFIX: &str = "__matterlink__/";

/// A first connection (or a reconnection) that takes longer than this fails the call.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(5);
/// A command (a batch script of hundreds of keys, a 1 MiB value) that takes longer than this
/// fails; the client's default (500 ms) is too short for a loaded machine.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);
/// Reconnection attempts before a call fails.
const RECONNECT_RETRIES: usize = 3;
/// The fewest keys one `SCAN` step asks for: small pages still move through a large database.
const MIN_SCAN_COUNT: usize = 16;

/// A `redis://` URL. It may hold a password, so it shows (`Display`, `Debug`) as scheme, host,
/// port and database only; the URL itself is handed only to the client.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// `redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]` or `redis+unix:///PATH[?db=N&pass=P]`.
    /// The error never repeats the URL.
    pub fn parse(url: &str) -> Result<RedisUrl, Error> {
        let parsed = url::Url::parse(url)
            .map_err(|_| Error::Other("the store is not a valid redis:// URL".into()))?;
        match parsed.scheme() {
            "redis" | "redis+unix" | "unix" => {}
            "rediss" => {
                return Err(Error::Other(
                    "rediss:// (TLS) is not supported by this build; use redis://".into(),
                ))
            }
            _ => {
                return Err(Error::Other(
                    "the store must be a redis:// or redis+unix:// URL".into(),
                ))
            }
        }
        // The client's own parse, so a URL it refuses fails here and not at the first call.
        redis::Client::open(url)
            .map_err(|_| Error::Other("the store is not a valid redis:// URL".into()))?;
        Ok(RedisUrl(url.to_string()))
    }

    /// The URL as given, password included: for the client only, never for a message.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Ok(u) = url::Url::parse(&self.0) else {
            return f.write_str("redis://…");
        };
        write!(f, "{}://", u.scheme())?;
        if !u.username().is_empty() || u.password().is_some() {
            f.write_str("***@")?;
        }
        f.write_str(u.host_str().unwrap_or(""))?;
        if let Some(port) = u.port() {
            write!(f, ":{port}")?;
        }
        f.write_str(u.path())?;
        // The query of a unix-socket URL may carry `pass=`.
        if u.query().is_some() {
            f.write_str("?…")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisUrl({self})")
    }
}

/// Key-value data in Redis, in Spin's layout (see the module docs).
pub struct Redis {
    client: redis::Client,
    url: RedisUrl,
    prefix: String,
    read_only: bool,
    conn: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.url)
            .field("prefix", &self.prefix)
            .field("read_only", &self.read_only)
            .finish()
    }
}

// The scripts. KEYS[1] is the label's versions hash, KEYS[2] the tenant's sequence, and the
// value keys follow; ARGV carries the component's keys (the hash's fields) and the values.
// `stamp` records a fresh version for bytes just written; `recorded` is the version recorded
// for exactly these bytes, or nil when they were written by someone who keeps no versions.
const PRELUDE: &str = r"
local function stamp(field, value)
  redis.call('INCR', KEYS[2])
  local v = redis.call('GET', KEYS[2])
  redis.call('HSET', KEYS[1], field, v .. ':' .. redis.sha1hex(value))
  return v
end
local function recorded(field, value)
  local meta = redis.call('HGET', KEYS[1], field)
  if meta then
    local v, digest = string.match(meta, '^(%d+):(%x+)$')
    if digest == redis.sha1hex(value) then return v end
  end
  return nil
end
";

fn script(body: &str) -> Script {
    Script::new(&format!("{PRELUDE}{body}"))
}

/// The value and its version, adopting a write made without one. ARGV: field.
static GET: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local value = redis.call('GET', KEYS[3])
if not value then return false end
return {value, recorded(ARGV[1], value) or stamp(ARGV[1], value)}
",
    )
});

/// `GET` without writing (a dry run's base): the recorded version, or the sequence's value
/// for the caller to go above. ARGV: field.
static GET_READ_ONLY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local value = redis.call('GET', KEYS[3])
if not value then return false end
return {value, recorded(ARGV[1], value) or '', redis.call('GET', KEYS[2]) or '0'}
",
    )
});

/// Writes every value key. ARGV: field, value, field, value, ...
static SET_MANY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for i = 3, #KEYS do
  local field, value = ARGV[2 * i - 5], ARGV[2 * i - 4]
  redis.call('SET', KEYS[i], value)
  stamp(field, value)
end
return 1
",
    )
});

/// Deletes every value key and its version. ARGV: the fields, in order.
static DELETE_MANY: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
for i = 3, #KEYS do
  redis.call('DEL', KEYS[i])
  redis.call('HDEL', KEYS[1], ARGV[i - 2])
end
return 1
",
    )
});

/// Compare-and-swap. ARGV: field, the version expected ('' for absent), the new value.
static SWAP: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local value = redis.call('GET', KEYS[3])
if ARGV[2] == '' then
  if value then return 0 end
else
  if not value then return 0 end
  if (recorded(ARGV[1], value) or stamp(ARGV[1], value)) ~= ARGV[2] then return 0 end
end
redis.call('SET', KEYS[3], ARGV[3])
stamp(ARGV[1], ARGV[3])
return 1
",
    )
});

/// `INCRBY`, as Spin increments, then the new bytes' version. ARGV: field, delta.
static INCREMENT: LazyLock<Script> = LazyLock::new(|| {
    script(
        r"
local r = redis.pcall('INCRBY', KEYS[3], ARGV[2])
if type(r) == 'table' and r.err then
  if string.find(r.err, 'overflow', 1, true) then return {'overflow'} end
  if string.find(r.err, 'not an integer', 1, true) or string.find(r.err, 'WRONGTYPE', 1, true) then
    return {'not-a-counter'}
  end
  return redis.error_reply(r.err)
end
local value = redis.call('GET', KEYS[3])
stamp(ARGV[1], value)
return {'ok', value}
",
    )
});

/// Where a listing is: the next `SCAN` cursor (`None`: the scan is over) and the keys a step
/// returned beyond the last page's limit, listed first on the next page.
#[derive(serde::Serialize, serde::Deserialize)]
struct ListCursor {
    scan: Option<u64>,
    rest: Vec<String>,
}

impl Redis {
    /// A backend on the database at `url`, its keys under `prefix` (empty: Spin's layout).
    /// Connects on first use, not here.
    pub fn open(url: &RedisUrl, prefix: &str) -> Result<Redis, Error> {
        let client = redis::Client::open(url.expose())
            .map_err(|_| Error::Other(format!("the store URL {url} is not valid")))?;
        Ok(Redis {
            client,
            url: url.clone(),
            prefix: prefix.to_string(),
            read_only: false,
            conn: OnceCell::new(),
        })
    }

    /// The same database for reading only (a dry run's base): every write fails with
    /// `AccessDenied`, reads record nothing, and `list_keys` pages in key order with the last
    /// key as its cursor, as the dry run's overlay pages its base.
    pub fn open_read_only(url: &RedisUrl, prefix: &str) -> Result<Redis, Error> {
        Ok(Redis {
            read_only: true,
            ..Redis::open(url, prefix)?
        })
    }

    async fn conn(&self) -> Result<ConnectionManager, Error> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECTION_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(RECONNECT_RETRIES);
        self.conn
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(|e| self.failed("connecting", e))
    }

    /// A client error as ours: the masked URL and the client's text, which names neither
    /// the password nor any value.
    fn failed(&self, what: &str, e: redis::RedisError) -> Error {
        Error::Other(format!("Redis at {}: {what}: {e}", self.url))
    }

    fn writable(&self) -> Result<(), Error> {
        if self.read_only {
            return Err(Error::AccessDenied(format!(
                "the Redis store at {} is open read-only",
                self.url
            )));
        }
        Ok(())
    }

    /// The prefix of every key of `store` in Redis.
    fn namespace(&self, store: &str) -> String {
        if store == COMPONENT_STORE {
            self.prefix.clone()
        } else {
            format!(
                "{}{RESERVED_PREFIX}store/{}/",
                self.prefix,
                escape_label(store)
            )
        }
    }

    /// The Redis key of `key` in `store`; a key that would fall among the bookkeeping is refused.
    fn data_key(&self, store: &str, key: &str) -> Result<String, Error> {
        if store == COMPONENT_STORE && key.starts_with(RESERVED_PREFIX) {
            return Err(Error::AccessDenied(format!(
                "key {key:?} is reserved for matterlink's bookkeeping"
            )));
        }
        Ok(format!("{}{key}", self.namespace(store)))
    }

    fn versions_key(&self, store: &str) -> String {
        format!(
            "{}{RESERVED_PREFIX}versions/{}",
            self.prefix,
            escape_label(store)
        )
    }

    fn sequence_key(&self) -> String {
        format!("{}{RESERVED_PREFIX}sequence", self.prefix)
    }

    /// A script invocation with the bookkeeping keys of `store` and the value keys of `keys`.
    fn invocation<'a>(
        &self,
        script: &'a Script,
        store: &str,
        keys: impl IntoIterator<Item = &'a str>,
    ) -> Result<redis::ScriptInvocation<'a>, Error> {
        let mut inv = script.key(self.versions_key(store));
        inv.key(self.sequence_key());
        for k in keys {
            inv.key(self.data_key(store, k)?);
        }
        Ok(inv)
    }

    /// One step of listing `store`'s keys: the next cursor (0: done) and the keys, unprefixed.
    ///
    /// `default` is shared with Spin, which writes its keys bare and keeps no versions, so only
    /// `SCAN` over the database finds them all. Every key of any other label (a tenant's, the
    /// host's) is written and deleted by the scripts above, which set or drop its field in the
    /// label's versions hash in the same step, so the hash's fields are exactly the label's keys
    /// and `HSCAN` of the hash lists them at the cost of what the label holds. (`SCAN` walks every
    /// key of every tenant: a `/metrics` scrape of a thousand tenants, listing each one's failed
    /// events, took seconds.)
    async fn scan_step(
        &self,
        conn: &mut ConnectionManager,
        store: &str,
        prefix: &str,
        at: u64,
        count: usize,
    ) -> Result<(u64, Vec<String>), Error> {
        let shared = store == COMPONENT_STORE;
        let (mut cmd, namespace) = if shared {
            (redis::cmd("SCAN"), self.namespace(store))
        } else {
            let mut cmd = redis::cmd("HSCAN");
            cmd.arg(self.versions_key(store));
            (cmd, String::new())
        };
        // Redis matches the key prefix itself, so only the keys asked for cross the network.
        let (next, raw): (u64, Vec<Vec<u8>>) = cmd
            .arg(at)
            .arg("MATCH")
            .arg(format!(
                "{}{}*",
                escape_glob(&namespace),
                escape_glob(prefix)
            ))
            .arg("COUNT")
            .arg(count.max(MIN_SCAN_COUNT))
            .query_async(conn)
            .await
            .map_err(|e| self.failed("listing keys", e))?;
        let utf8 = |k: Vec<u8>| String::from_utf8(k).ok();
        let keys = if shared {
            // The pattern matches the bookkeeping and other labels too.
            let hidden = format!("{}{RESERVED_PREFIX}", self.prefix);
            raw.into_iter()
                .filter_map(utf8)
                .filter(|k| !k.starts_with(&hidden))
                .filter_map(|k| k.strip_prefix(&namespace).map(str::to_string))
                .collect()
        } else {
            // Field, version, field, version, ...: the fields are the keys.
            raw.into_iter().step_by(2).filter_map(utf8).collect()
        };
        Ok((next, keys))
    }

    /// The read-only listing: all of `store`'s keys, sorted, paged after the last key listed.
    async fn list_sorted(
        &self,
        store: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let mut conn = self.conn().await?;
        let mut all = BTreeSet::new();
        let mut at = 0;
        loop {
            let (next, keys) = self.scan_step(&mut conn, store, prefix, at, 1000).await?;
            all.extend(keys);
            if next == 0 {
                break;
            }
            at = next;
        }
        let keys: Vec<String> = all
            .into_iter()
            .filter(|k| after.is_none_or(|a| k.as_str() > a))
            .take(limit)
            .collect();
        let next = (keys.len() == limit)
            .then(|| keys.last().cloned())
            .flatten();
        Ok((keys, next))
    }
}

/// A label in a key: `%` and `/` escaped, so it never ends early.
fn escape_label(label: &str) -> String {
    label.replace('%', "%25").replace('/', "%2F")
}

/// `s` matched literally in a `SCAN MATCH` pattern.
fn escape_glob(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\' | '^' | '-') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn parse_version(v: &str) -> Result<i64, Error> {
    v.parse()
        .map_err(|_| Error::Other(format!("a key-value version is not an integer: {v:?}")))
}

#[async_trait]
impl Backend for Redis {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        let mut conn = self.conn().await?;
        if self.read_only {
            let found: Option<(Vec<u8>, String, String)> = self
                .invocation(&GET_READ_ONLY, store, [key])?
                .arg(key)
                .invoke_async(&mut conn)
                .await
                .map_err(|e| self.failed("reading", e))?;
            return found
                .map(|(value, recorded, sequence)| {
                    let version = match recorded.as_str() {
                        // Written without a version: above every version handed out so far.
                        "" => parse_version(&sequence)? + 1,
                        v => parse_version(v)?,
                    };
                    Ok(Versioned { value, version })
                })
                .transpose();
        }
        let found: Option<(Vec<u8>, String)> = self
            .invocation(&GET, store, [key])?
            .arg(key)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed("reading", e))?;
        found
            .map(|(value, version)| {
                Ok(Versioned {
                    value,
                    version: parse_version(&version)?,
                })
            })
            .transpose()
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.set_many(store, &[(key.to_string(), value.to_vec())])
            .await
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        self.delete_many(store, &[key.to_string()]).await
    }

    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        let key = self.data_key(store, key)?;
        let mut conn = self.conn().await?;
        redis::cmd("EXISTS")
            .arg(key)
            .query_async(&mut conn)
            .await
            .map_err(|e| self.failed("reading", e))
    }

    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        self.list_prefix(store, "", cursor, limit).await
    }

    async fn list_prefix(
        &self,
        store: &str,
        prefix: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        if self.read_only {
            return self.list_sorted(store, prefix, cursor, limit).await;
        }
        let mut at = match cursor {
            None => ListCursor {
                scan: Some(0),
                rest: Vec::new(),
            },
            Some(c) => serde_json::from_str(c)
                .map_err(|_| Error::Other("not a key-listing cursor of this store".into()))?,
        };
        let take = at.rest.len().min(limit);
        let mut page: Vec<String> = at.rest.drain(..take).collect();
        let mut conn = self.conn().await?;
        while page.len() < limit {
            let Some(scan) = at.scan else { break };
            let room = limit - page.len();
            let (next, mut keys) = self.scan_step(&mut conn, store, prefix, scan, room).await?;
            at.scan = (next != 0).then_some(next);
            // A step may return more than asked: the rest waits in the cursor.
            if keys.len() > room {
                at.rest = keys.split_off(room);
            }
            page.extend(keys);
        }
        let next = if at.scan.is_none() && at.rest.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&at).map_err(Error::other)?)
        };
        Ok((page, next))
    }

    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        self.writable()?;
        let mut conn = self.conn().await?;
        let swapped: i64 = self
            .invocation(&SWAP, store, [key])?
            .arg(key)
            .arg(expected.map(|v| v.to_string()).unwrap_or_default())
            .arg(value)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed("compare-and-swap", e))?;
        Ok(swapped == 1)
    }

    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        self.writable()?;
        let mut conn = self.conn().await?;
        let reply: Vec<Vec<u8>> = self
            .invocation(&INCREMENT, store, [key])?
            .arg(key)
            .arg(delta)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| self.failed("incrementing", e))?;
        match reply.as_slice() {
            [tag, value] if tag == b"ok" => counter::decode(key, value),
            [tag] if tag == b"overflow" => Err(Error::Overflow { key: key.into() }),
            [tag] if tag == b"not-a-counter" => Err(Error::NotACounter { key: key.into() }),
            _ => Err(Error::Other(format!(
                "Redis at {}: unexpected reply to an increment of {key:?}",
                self.url
            ))),
        }
    }

    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        self.writable()?;
        if entries.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn().await?;
        let mut inv = self.invocation(&SET_MANY, store, entries.iter().map(|(k, _)| k.as_str()))?;
        for (k, v) in entries {
            inv.arg(k).arg(v.as_slice());
        }
        inv.invoke_async::<i64>(&mut conn)
            .await
            .map_err(|e| self.failed("writing", e))?;
        Ok(())
    }

    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        self.writable()?;
        if keys.is_empty() {
            return Ok(());
        }
        let mut conn = self.conn().await?;
        let mut inv = self.invocation(&DELETE_MANY, store, keys.iter().map(String::as_str))?;
        for k in keys {
            inv.arg(k);
        }
        inv.invoke_async::<i64>(&mut conn)
            .await
            .map_err(|e| self.failed("deleting", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_shows() {
        for (url, shown) in [
            (
                "redis://:s3cret@127.0.0.1:6380/2",
                "redis://***@127.0.0.1:6380/2",
            ),
            (
                "redis://user:s3cret@example.org/0",
                "redis://***@example.org/0",
            ),
            ("redis://127.0.0.1:6379", "redis://127.0.0.1:6379"),
            (
                "redis+unix:///run/redis.sock?db=1&pass=s3cret",
                "redis+unix:///run/redis.sock?…",
            ),
        ] {
            let u = RedisUrl::parse(url).unwrap();
            assert_eq!(u.to_string(), shown);
            assert!(!format!("{u:?}").contains("s3cret"));
            let backend = Redis::open(&u, "").unwrap();
            assert!(!format!("{backend:?}").contains("s3cret"));
        }
        for bad in [
            "rediss://:s3cret@host/0",
            "http://:s3cret@host/",
            "not a url s3cret",
        ] {
            let e = RedisUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("s3cret"), "{e}");
        }
    }

    #[test]
    fn labels_and_globs_are_escaped() {
        assert_eq!(escape_label("a/b%c"), "a%2Fb%25c");
        assert_eq!(escape_glob("t[1]*?\\-^:"), "t\\[1\\]\\*\\?\\\\\\-\\^:");
        let r = Redis::open(&RedisUrl::parse("redis://127.0.0.1/0").unwrap(), "t:").unwrap();
        assert_eq!(r.data_key(COMPONENT_STORE, "link/1").unwrap(), "t:link/1");
        assert_eq!(
            r.data_key("matterlink-host", "k").unwrap(),
            "t:__matterlink__/store/matterlink-host/k"
        );
        assert_eq!(
            r.versions_key(COMPONENT_STORE),
            "t:__matterlink__/versions/default"
        );
        assert!(matches!(
            r.data_key(COMPONENT_STORE, "__matterlink__/sequence"),
            Err(Error::AccessDenied(_))
        ));
        // Under another label the same name is an ordinary key.
        assert!(r.data_key("other", "__matterlink__/sequence").is_ok());
    }
}
