//! What an operator watches: Prometheus metrics of one runtime, and the stored state that
//! `matterlink status` and the metrics endpoint read at the moment they are asked.
//!
//! The numbers come from where the host can see them without the component's help (the
//! component makes the decisions and the host only observes them):
//! - incoming requests, their statuses and, for `POST /v1/events`, the event's type (from the
//!   request body) and outcome (from the response's status and body) — in `serve`;
//! - every iManage request, its operation, status and latency, repeats (retries), 429s and
//!   token grants — in the HTTP hook ([`crate::http::Hooks`]), which sees every request the
//!   component sends;
//! - failed events, the change feed's unacknowledged changes and the token's expiries — read
//!   from the component's key-value store at scrape time ([`Stored::read`]), so they are right
//!   whichever process wrote them;
//! - the instance pool — from the runtime at scrape time.
//!
//! Every metric has a `tenant` label: the tenant's name for what `serve` counts of requests,
//! events and iManage requests under `/t/{tenant}/…`, and `default` for the host's own
//! configuration and the instance pool; what is read at scrape time from the stores (failed
//! events, feed and tokens) is read for `default` and for every registered tenant, each under
//! its own label. Every other label takes its values from a fixed
//! list here (never an id, a path or a message), so the number of series stays bounded.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, Result};
use futures_util::StreamExt;
use matterlink_component::auth::record::TokenRecord;
use matterlink_component::events::{DeadLetter, EventType};
use matterlink_component::feed::state::FeedState;
use matterlink_component::held::HeldDelivery;
use matterlink_component::keys;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};

use crate::keyvalue::runtime_config::COMPONENT_STORE;
use crate::keyvalue::Backend;
use crate::runtime::Runtime;

/// The label of the host's own configuration (served under `/v1/…`).
pub const DEFAULT_TENANT: &str = "default";

/// The content type of [`Metrics::encode`]'s text (OpenMetrics, which Prometheus reads).
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

type Tenant = Cow<'static, str>;

fn tenant() -> Tenant {
    Cow::Borrowed(DEFAULT_TENANT)
}

/// The label of `name` (`None`: the default tenant).
fn tenant_label(name: Option<&str>) -> Tenant {
    match name {
        Some(n) => Cow::Owned(n.to_string()),
        None => tenant(),
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabels {
    tenant: Tenant,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    tenant: Tenant,
    r#type: &'static str,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    tenant: Tenant,
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ImanageLabels {
    tenant: Tenant,
    operation: &'static str,
    /// The HTTP status, or `error` when no answer came (connection lost, timed out).
    status: Cow<'static, str>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    tenant: Tenant,
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    tenant: Tenant,
    /// The error kind of the last attempt; one of the component's error kinds.
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HeldLabels {
    tenant: Tenant,
    /// Who sent it: `actionstep`, else `other`.
    source: &'static str,
    /// Why it is held; one of the component's error kinds (`malformed`, `too-large`, …).
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    tenant: Tenant,
    /// `access` or `refresh`.
    token: &'static str,
}

/// Latency buckets for iManage requests, in seconds: 10 ms to about 41 s, doubling, which
/// spans a cached read on a fast link to a request that used up its retries' deadline.
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(
        0.01, 2.0, 13,
    ))
}

/// The metrics of one [`Runtime`]. Counting costs an atomic add, so it is always on; only
/// `serve --metrics-addr` shows them.
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    in_flight: Family<TenantLabels, Gauge>,
    in_flight_limit: Family<TenantLabels, Gauge>,
    connections: Family<TenantLabels, Gauge>,
    instances: Family<TenantLabels, Gauge>,
    imanage_requests: Family<ImanageLabels, Counter>,
    imanage_duration: Family<OperationLabels, Histogram, fn() -> Histogram>,
    imanage_retries: Family<OperationLabels, Counter>,
    imanage_throttled: Family<OperationLabels, Counter>,
    token_grants: Family<TenantLabels, Counter>,
    failed_waiting: Family<KindLabels, Gauge>,
    failed_oldest: Family<TenantLabels, Gauge>,
    failed_replays: Family<TenantLabels, Gauge>,
    held_waiting: Family<HeldLabels, Gauge>,
    feed_last_poll: Family<TenantLabels, Gauge>,
    feed_unacknowledged: Family<TenantLabels, Gauge>,
    token_expiry: Family<TokenLabels, Gauge>,
    token_connected: Family<TenantLabels, Gauge>,
    /// Held from clearing the read-at-scrape families to encoding them.
    scraping: std::sync::Mutex<()>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    /// Every metric, registered under the prefix `matterlink`.
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("matterlink"),
            events: Family::default(),
            http_requests: Family::default(),
            in_flight: Family::default(),
            in_flight_limit: Family::default(),
            connections: Family::default(),
            instances: Family::default(),
            imanage_requests: Family::default(),
            imanage_duration: Family::new_with_constructor(latency_histogram),
            imanage_retries: Family::default(),
            imanage_throttled: Family::default(),
            token_grants: Family::default(),
            failed_waiting: Family::default(),
            failed_oldest: Family::default(),
            failed_replays: Family::default(),
            held_waiting: Family::default(),
            feed_last_poll: Family::default(),
            feed_unacknowledged: Family::default(),
            token_expiry: Family::default(),
            token_connected: Family::default(),
            scraping: std::sync::Mutex::default(),
        };
        let r = &mut m.registry;
        r.register(
            "events",
            "Events received on POST /v1/events and the Actionstep hook, by type and outcome (ok, duplicate, skipped, or the error kind)",
            m.events.clone(),
        );
        r.register(
            "http_requests",
            "Requests served, by route, method and status",
            m.http_requests.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "Requests being handled now, each holding one instance",
            m.in_flight.clone(),
        );
        r.register(
            "http_requests_in_flight_limit",
            "Requests that may be in flight at once (serve --max-in-flight); beyond it, 503",
            m.in_flight_limit.clone(),
        );
        r.register(
            "http_connections_open",
            "Client connections open now",
            m.connections.clone(),
        );
        r.register(
            "instances_in_use",
            "Component instances alive now (the pooling allocator's slots in use)",
            m.instances.clone(),
        );
        r.register(
            "imanage_requests",
            "Requests sent to iManage, by operation and status (error: no answer)",
            m.imanage_requests.clone(),
        );
        r.register_with_unit(
            "imanage_request_duration",
            "Time from sending an iManage request to its response's head",
            Unit::Seconds,
            m.imanage_duration.clone(),
        );
        r.register(
            "imanage_retries",
            "iManage requests sent again (same instance, method and URL) after no answer, 401, 408, 429 or 5xx",
            m.imanage_retries.clone(),
        );
        r.register(
            "imanage_throttled",
            "iManage answers 429 Too Many Requests",
            m.imanage_throttled.clone(),
        );
        r.register(
            "token_refreshes",
            "Tokens iManage granted at its token endpoint: refreshes, and password or sign-in grants",
            m.token_grants.clone(),
        );
        r.register(
            "failed_events_waiting",
            "Failed events kept for replay, by the error kind of their last attempt",
            m.failed_waiting.clone(),
        );
        r.register(
            "failed_events_oldest_timestamp_seconds",
            "When the oldest failed event still waiting first failed (Unix time; 0 when none waits)",
            m.failed_oldest.clone(),
        );
        r.register(
            "failed_events_replays",
            "Replays that failed again, summed over the failed events still waiting",
            m.failed_replays.clone(),
        );
        r.register(
            "held_deliveries_waiting",
            "Hook deliveries kept whole for replay (a body not handled yet), by sender and why",
            m.held_waiting.clone(),
        );
        r.register(
            "feed_last_poll_timestamp_seconds",
            "When GET /v1/changes last succeeded on this server (Unix time; absent until it has)",
            m.feed_last_poll.clone(),
        );
        r.register(
            "feed_unacknowledged_changes",
            "Changes delivered by the change feed and not yet acknowledged",
            m.feed_unacknowledged.clone(),
        );
        r.register(
            "token_expiry_timestamp_seconds",
            "When the stored access or refresh token expires (Unix time; absent when unknown)",
            m.token_expiry.clone(),
        );
        r.register(
            "token_connected",
            "1 when a connection to iManage is stored and has not ended, else 0",
            m.token_connected.clone(),
        );
        m
    }

    fn t() -> TenantLabels {
        TenantLabels { tenant: tenant() }
    }

    /// One incoming request answered.
    pub fn http_request(
        &self,
        for_tenant: Option<&str>,
        route: &'static str,
        method: &str,
        status: u16,
    ) {
        self.http_requests
            .get_or_create(&HttpLabels {
                tenant: tenant_label(for_tenant),
                route,
                method: method_label(method),
                status,
            })
            .inc();
    }

    /// One `POST /v1/events` answered: its type and outcome (see [`event_head`] and
    /// [`event_outcome`]).
    pub fn event(&self, for_tenant: Option<&str>, r#type: &'static str, outcome: &'static str) {
        self.events
            .get_or_create(&EventLabels {
                tenant: tenant_label(for_tenant),
                r#type,
                outcome,
            })
            .inc();
    }

    /// A successful `GET /v1/changes`, now.
    pub fn feed_polled(&self, for_tenant: Option<&str>) {
        self.feed_last_poll
            .get_or_create(&TenantLabels {
                tenant: tenant_label(for_tenant),
            })
            .set(unix_now());
    }

    /// The limit on requests in flight that `serve` enforces.
    pub fn set_in_flight_limit(&self, limit: usize) {
        self.in_flight_limit
            .get_or_create(&Self::t())
            .set(limit as i64);
    }

    /// Counts a request in flight until the guard is dropped.
    pub fn in_flight(self: &std::sync::Arc<Self>) -> GaugeGuard {
        GaugeGuard::new(self.in_flight.get_or_create_owned(&Self::t()))
    }

    /// Counts an open connection until the guard is dropped.
    pub fn connection(self: &std::sync::Arc<Self>) -> GaugeGuard {
        GaugeGuard::new(self.connections.get_or_create_owned(&Self::t()))
    }

    /// An iManage request sent: `repeat` when the same instance sent the same method and URL
    /// before (a retry); `status` `None` when no answer came.
    pub fn imanage_request(
        &self,
        for_tenant: Option<&str>,
        operation: &'static str,
        repeat: bool,
        status: Option<u16>,
        elapsed: Duration,
    ) {
        let op = OperationLabels {
            tenant: tenant_label(for_tenant),
            operation,
        };
        if repeat {
            self.imanage_retries.get_or_create(&op).inc();
        }
        self.imanage_duration
            .get_or_create(&op)
            .observe(elapsed.as_secs_f64());
        let status_label = match status {
            Some(s) => Cow::Owned(s.to_string()),
            None => Cow::Borrowed("error"),
        };
        self.imanage_requests
            .get_or_create(&ImanageLabels {
                tenant: op.tenant.clone(),
                operation,
                status: status_label,
            })
            .inc();
        if status == Some(429) {
            self.imanage_throttled.get_or_create(&op).inc();
        }
        if operation == "token" && status.is_some_and(|s| (200..300).contains(&s)) {
            self.token_grants
                .get_or_create(&TenantLabels {
                    tenant: op.tenant.clone(),
                })
                .inc();
        }
    }

    /// The text exposition of every metric, after reading what is read at scrape time from
    /// `runtime` (the instance pool and the stored state).
    ///
    /// The stored state is read for the host's own configuration and for every tenant in the
    /// registry, each under its tenant's label: a tenant's failed events and connection are
    /// shown whichever host served it, and every host shows the same (alert on their `max`).
    pub async fn scrape(&self, runtime: &Runtime) -> Result<String> {
        let each = stored_by_tenant(runtime).await?;
        // Two scrapes at once (several scrapers) must not clear what the other is setting.
        let _one_at_a_time = self
            .scraping
            .lock()
            .map_err(|_| anyhow!("metrics lock poisoned"))?;
        self.instances
            .get_or_create(&Self::t())
            .set(runtime.instances_in_use() as i64);
        // Kinds no longer waiting, and tenants removed, must disappear, not stay at their
        // last value.
        self.failed_waiting.clear();
        self.failed_oldest.clear();
        self.failed_replays.clear();
        self.held_waiting.clear();
        self.feed_unacknowledged.clear();
        self.token_expiry.clear();
        self.token_connected.clear();
        for (tenant, stored) in &each {
            self.set_stored(tenant, stored);
        }
        self.encode()
    }

    fn set_stored(&self, tenant: &Tenant, s: &Stored) {
        let t = TenantLabels {
            tenant: tenant.clone(),
        };
        count_into(
            &self.failed_waiting,
            s.failed.iter().map(|d| KindLabels {
                tenant: tenant.clone(),
                kind: error_kind(&d.kind),
            }),
            KindLabels {
                tenant: tenant.clone(),
                kind: "none",
            },
        );
        count_into(
            &self.held_waiting,
            s.held.iter().map(|h| HeldLabels {
                tenant: tenant.clone(),
                source: if h.source == matterlink_component::actionstep::deliver::SOURCE {
                    matterlink_component::actionstep::deliver::SOURCE
                } else {
                    "other"
                },
                kind: error_kind(&h.kind),
            }),
            HeldLabels {
                tenant: tenant.clone(),
                source: "none",
                kind: "none",
            },
        );
        let oldest = s
            .failed
            .iter()
            .map(|d| d.first_failed_at)
            .min()
            .unwrap_or(0);
        self.failed_oldest.get_or_create(&t).set(oldest as i64);
        let replays: u64 = s
            .failed
            .iter()
            .map(|d| u64::from(d.attempts.saturating_sub(1)))
            .sum();
        self.failed_replays.get_or_create(&t).set(replays as i64);
        self.feed_unacknowledged
            .get_or_create(&t)
            .set(s.unacknowledged_changes as i64);
        let connected = match &s.token {
            Some(token) => {
                let expiry = |which, at: u64| {
                    self.token_expiry
                        .get_or_create(&TokenLabels {
                            tenant: tenant.clone(),
                            token: which,
                        })
                        .set(at as i64);
                };
                expiry("access", token.access_expires_at);
                if let Some(at) = token.refresh_expires_at {
                    expiry("refresh", at);
                }
                !token.ended
            }
            None => false,
        };
        self.token_connected
            .get_or_create(&t)
            .set(i64::from(connected));
    }

    /// The text exposition of every metric as it stands.
    pub fn encode(&self) -> Result<String> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|_| anyhow!("encoding the metrics failed"))?;
        Ok(out)
    }
}

/// Adds one to a gauge while it lives.
pub struct GaugeGuard(Gauge);

impl GaugeGuard {
    fn new(gauge: Gauge) -> GaugeGuard {
        gauge.inc();
        GaugeGuard(gauge)
    }
}

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Tenants whose stored state one scrape reads at once. On a shared store each read is a few
/// round trips: a thousand tenants read one after another took most of a second on Redis over
/// loopback, and a scraper's timeout is ten seconds by default.
const TENANTS_READ_AT_ONCE: usize = 16;

/// The stored state of the host's own configuration (`default`) and of every registered
/// tenant, each read through the view its runtime would have (see `keyvalue::namespace`).
async fn stored_by_tenant(runtime: &Runtime) -> Result<Vec<(Tenant, Stored)>> {
    let stores = runtime.stores();
    // The backend that serves the component's label, as `status` reads it; else the host's
    // (a runtime has one or the other, as `Runtime::key_value` says).
    let component = |stores: &crate::keyvalue::runtime_config::Stores| {
        stores
            .get(COMPONENT_STORE)
            .or_else(|| stores.get(crate::keyvalue::runtime_config::HOST_STORE))
            .ok_or_else(|| anyhow!("no store to read"))
    };
    let mut each = vec![(tenant(), Stored::read(component(stores)?.as_ref()).await?)];
    let registry = crate::tenants::Registry::new(runtime.key_value());
    let names = registry
        .names()
        .await
        .map_err(|e| anyhow!("listing the tenants: {e}"))?;
    // Within this task, not spawned: a backend that works in place (SQLite) reads one tenant
    // after another as before, while a networked one (Redis) has this many reads in flight on
    // its connection. The record says where the tenant's namespace is.
    let read = |name: crate::tenants::TenantName| {
        let registry = &registry;
        async move {
            let failed = |e: &dyn std::fmt::Display| anyhow!("tenant {}: {e:#}", name.as_str());
            // One removed since the listing is simply not there.
            let Some(record) = registry.get(&name).await.map_err(|e| failed(&e))? else {
                return Ok(None);
            };
            let kv = component(&stores.for_tenant(&record.namespace(&name)))?;
            let stored = Stored::read(kv.as_ref()).await.map_err(|e| failed(&e))?;
            Ok::<_, anyhow::Error>(Some((Cow::Owned(name.as_str().to_string()), stored)))
        }
    };
    let mut reads = futures_util::stream::iter(names.into_iter().map(read))
        .buffer_unordered(TENANTS_READ_AT_ONCE);
    while let Some(read) = reads.next().await {
        each.extend(read?);
    }
    Ok(each)
}

/// Counts each label set `labels` gives into `family`; with none, one series `none` at 0, so
/// that an alert on `> 0` sees a series whatever has happened.
fn count_into<L>(family: &Family<L, Gauge>, labels: impl Iterator<Item = L>, none: L)
where
    L: Clone + std::hash::Hash + Eq,
{
    let mut any = false;
    for l in labels {
        family.get_or_create(&l).inc();
        any = true;
    }
    if !any {
        family.get_or_create(&none).set(0);
    }
}

/// What the token record says, without the tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenLifetime {
    /// When the access token expires, seconds since the epoch.
    pub access_expires_at: u64,
    /// When the refresh token expires, when iManage said.
    pub refresh_expires_at: Option<u64>,
    /// `password` (service account) or `authorization_code` (a person's sign-in).
    pub origin: String,
    /// iManage refused the refresh token: nothing works until someone connects again.
    pub ended: bool,
}

/// What the component keeps that an operator watches, read from its key-value store.
#[derive(Debug, Default)]
pub struct Stored {
    /// The failed events waiting for replay, oldest first.
    pub failed: Vec<DeadLetter>,
    /// The hook deliveries kept whole for replay, oldest first.
    pub held: Vec<HeldDelivery>,
    /// Changes in the change feed's delivered, unacknowledged batch.
    pub unacknowledged_changes: usize,
    /// The stored connection's expiries, if there is one.
    pub token: Option<TokenLifetime>,
}

impl Stored {
    /// Reads the dead letters (`event/dead/…`), the held deliveries (`event/held/…`), the
    /// feed state and the token record from the component's store, with the component's own
    /// types. Never keeps a token: only its expiries leave this function.
    pub async fn read(kv: &dyn Backend) -> Result<Stored> {
        // One key per failed event and per held delivery (no shared index: see the component's
        // `events` and `held`), found by listing their prefixes.
        let mut failed: Vec<DeadLetter> = read_prefix(kv, keys::DEAD_LETTER_PREFIX).await?;
        failed.sort_by_key(|d| d.first_failed_at);
        let held = held_deliveries(kv).await?;
        let unacknowledged_changes = read_value(kv, keys::FEED_STATE)
            .await?
            .and_then(|raw| serde_json::from_slice::<FeedState>(&raw).ok())
            .and_then(|s| s.pending)
            .map_or(0, |p| p.batch.changes.len());
        let token = read_value(kv, keys::TOKENS)
            .await?
            .and_then(|raw| serde_json::from_slice::<TokenRecord>(&raw).ok())
            .map(|t| TokenLifetime {
                access_expires_at: t.access_expires_at,
                refresh_expires_at: t.refresh_expires_at,
                origin: serde_json::to_value(t.origin)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default(),
                ended: t.ended.is_some(),
            });
        Ok(Stored {
            failed,
            held,
            unacknowledged_changes,
            token,
        })
    }
}

/// The hook deliveries kept whole for replay (`event/held/…`) in the component's store `kv`,
/// oldest first.
pub async fn held_deliveries(kv: &dyn Backend) -> Result<Vec<HeldDelivery>> {
    let mut held: Vec<HeldDelivery> = read_prefix(kv, keys::HELD_PREFIX).await?;
    held.sort_by_key(|h| h.first_held_at);
    Ok(held)
}

/// Every record under `prefix` in the component's store that reads as a `T`. One that a
/// replay removes between the listing and the read is simply gone; one that does not read (a
/// newer version's) is left out rather than failing the whole scrape.
async fn read_prefix<T: serde::de::DeserializeOwned>(
    kv: &dyn Backend,
    prefix: &str,
) -> Result<Vec<T>> {
    let mut keys = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let (page, next) = kv
            .list_prefix(COMPONENT_STORE, prefix, cursor.as_deref(), 1000)
            .await
            .map_err(|e| anyhow!("listing {prefix}…: {e}"))?;
        keys.extend(page);
        match next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let mut records = Vec::with_capacity(keys.len());
    for key in keys {
        let raw = read_value(kv, &key).await?;
        if let Some(record) = raw.and_then(|v| serde_json::from_slice(&v).ok()) {
            records.push(record);
        }
    }
    Ok(records)
}

/// The bytes under `key` in the component's store, `None` when absent.
async fn read_value(kv: &dyn Backend, key: &str) -> Result<Option<Vec<u8>>> {
    kv.get(COMPONENT_STORE, key)
        .await
        .map(|v| v.map(|v| v.value))
        .map_err(|e| anyhow!("reading {key}: {e}"))
}

/// The label of an error kind: one of the component's kinds, else `other`.
fn error_kind(kind: &str) -> &'static str {
    const KINDS: &[&str] = &[
        "invalid-matter",
        "not-configured",
        // Why a hook delivery is held (`too-large` is below).
        "malformed",
        "not-connected",
        "not-linked",
        "invalid-url",
        "rejected",
        "unavailable",
        "skipped",
        // The HTTP layer's own kinds (webhooks and serve).
        "bad-request",
        "unauthorized",
        "too-large",
        "timeout",
        "internal",
        "not-found",
        "method-not-allowed",
    ];
    KINDS
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("other")
}

fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "HEAD" => "HEAD",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

/// The route of an incoming path, as a label: the component's routes by name, never the ids
/// (or the Actionstep hook's secret) in them.
pub fn route(path: &str) -> &'static str {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["v1", "health"] => "health",
        ["v1", "events"] => "events",
        ["v1", "actionstep", _] => "actionstep",
        ["v1", "changes"] => "changes",
        ["v1", "legacy", "resolve"] => "legacy_resolve",
        ["v1", "legacy", "link"] => "legacy_link",
        ["v1", "matters", _, "documents"] => "documents",
        ["v1", "matters", _, "workspace"] => "workspace",
        ["v1", "matters", _, "folders"] => "folders",
        ["v1", "check"] => "check",
        ["v1", "audit"] => "audit",
        _ => "other",
    }
}

/// What the log line and the metrics of an event take from its body, read once: the `type`
/// label (`matter.created` and so on, `unknown` when the body is not an event) and the sender's
/// `id`, when it is a string. The rest of the body is skipped, not built.
pub struct EventHead {
    /// The `type` label.
    pub r#type: &'static str,
    /// The sender's `id`, as sent (the caller decides whether it is fit to show).
    pub id: Option<String>,
}

/// Reads an event body's [`EventHead`]; a body that is not JSON has type `unknown` and no id.
pub fn event_head(request_body: &[u8]) -> EventHead {
    use serde::Deserialize;
    #[derive(Deserialize)]
    struct Head {
        #[serde(default)]
        id: serde_json::Value,
        #[serde(default)]
        r#type: serde_json::Value,
    }
    let Ok(head) = serde_json::from_slice::<Head>(request_body) else {
        return EventHead {
            r#type: "unknown",
            id: None,
        };
    };
    let r#type = match EventType::deserialize(&head.r#type) {
        Ok(EventType::Created) => "matter.created",
        Ok(EventType::Updated) => "matter.updated",
        Ok(EventType::Closed) => "matter.closed",
        Ok(EventType::Reopened) => "matter.reopened",
        Err(_) => "unknown",
    };
    let id = match head.id {
        serde_json::Value::String(id) => Some(id),
        _ => None,
    };
    EventHead { r#type, id }
}

/// The `outcome` label of an answer to `POST /v1/events`: `ok`, `duplicate` (answered from
/// the event's done record) or `skipped` on 200; otherwise the error's kind.
pub fn event_outcome(status: u16, response_body: &[u8]) -> &'static str {
    let body: serde_json::Value = serde_json::from_slice(response_body).unwrap_or_default();
    if status == 200 {
        if body["duplicate"] == true {
            "duplicate"
        } else if !body["skipped"].is_null() {
            "skipped"
        } else {
            "ok"
        }
    } else {
        error_kind(body["error"]["kind"].as_str().unwrap_or_default())
    }
}

/// The `(type, outcome)` of each event in an answer to the Actionstep hook, which answers 200
/// `{"results": [{"event_id", "type", "outcome"} | {"error": {"kind"}}]}` for a delivery of
/// several actions (an error there has no type: `unknown`), plus `held` for a delivery kept
/// whole for replay; any other answer is one event refused whole, with its error kind.
pub fn actionstep_events(status: u16, response_body: &[u8]) -> Vec<(&'static str, &'static str)> {
    let body: serde_json::Value = serde_json::from_slice(response_body).unwrap_or_default();
    if status != 200 {
        return vec![("unknown", event_outcome(status, response_body))];
    }
    let Some(results) = body["results"].as_array() else {
        return Vec::new();
    };
    // A delivery kept whole for replay (`{"held": {…}}`) counts once more, as `held`.
    let held = body["held"].is_object().then_some(("unknown", "held"));
    results
        .iter()
        .map(|r| {
            let r#type = serde_json::from_value::<EventType>(r["type"].clone())
                .map(|t| match t {
                    EventType::Created => "matter.created",
                    EventType::Updated => "matter.updated",
                    EventType::Closed => "matter.closed",
                    EventType::Reopened => "matter.reopened",
                })
                .unwrap_or("unknown");
            let outcome = if r["error"].is_object() {
                error_kind(r["error"]["kind"].as_str().unwrap_or_default())
            } else {
                let o = r["outcome"].to_string();
                event_outcome(200, o.as_bytes())
            };
            (r#type, outcome)
        })
        .chain(held)
        .collect()
}

/// The iManage operation of an outgoing request, from its method and the shape of its path:
/// `POST …/libraries/{lib}/workspaces` is `create_workspace`. Ids never reach the label; a
/// request of no known shape is `other`.
pub fn operation(method: &str, path: &str) -> &'static str {
    let all: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    // Library routes: /work/api/v2/customers/{cid}/libraries/{lib}/…
    let lib = match all.as_slice() {
        ["work", "api", "v2", "customers", _, "libraries"] if method == "GET" => {
            return "list_libraries"
        }
        ["work", "api", "v2", "customers", _, "libraries", _, rest @ ..] => rest,
        ["auth", "oauth2", "token"] => return "token",
        ["auth", "oauth2", "revoke"] => return "revoke",
        ["auth", ..] => return "auth_other",
        ["api"] => return "discovery",
        _ => return "other",
    };
    match (method, lib) {
        ("POST", ["workspaces"]) => "create_workspace",
        ("GET", ["workspaces"]) => "list_workspaces",
        ("POST", ["workspaces", "search"]) => "search_workspaces",
        ("GET", ["workspaces", _]) => "get_workspace",
        ("PATCH", ["workspaces", _]) => "update_workspace",
        ("DELETE", ["workspaces", _]) => "delete_workspace",
        ("GET", ["workspaces", _, "children" | "folders"]) => "list_workspace_children",
        ("POST", ["workspaces", _, "folders"]) | ("POST", ["folders", _, "subfolders"]) => {
            "create_folder"
        }
        ("GET", ["workspaces" | "folders", _, "security"]) => "get_security",
        ("POST", ["workspaces" | "folders", _, "security"]) => "set_security",
        ("GET", ["workspaces", _, "tabs"]) => "list_tabs",
        ("POST", ["workspaces", _, "tabs"]) => "create_tab",
        ("GET", ["workspaces", _, "search-folders"]) => "list_search_folders",
        ("POST", ["workspaces", _, "search-folders"]) => "create_search_folder",
        ("GET", ["workspaces" | "folders", _, "name-value-pairs"]) => "get_name_value_pairs",
        ("PATCH", ["workspaces", _, "name-value-pairs"]) => "update_name_value_pairs",
        ("GET", ["customs", _]) => "list_lookups",
        ("POST", ["customs", _]) => "create_lookup",
        ("GET", ["customs", _, _]) => "get_lookup",
        ("PATCH", ["customs", _, _]) => "update_lookup",
        ("GET", ["templates"]) => "list_templates",
        ("GET", ["templates", _]) => "get_template",
        ("GET", ["folders"]) => "list_folders",
        ("GET", ["folders", _]) => "get_folder",
        ("PATCH", ["folders", _]) => "update_folder",
        ("DELETE", ["folders", _]) => "delete_folder",
        ("GET", ["folders", _, "children" | "subfolders"]) => "list_folder_children",
        ("POST", ["folders", _, "documents"]) => "upload_document",
        ("GET", ["folders", _, "documents"]) => "list_documents",
        ("GET", ["documents", _]) => "get_document",
        ("GET", ["documents", _, "download"]) => "download_document",
        ("GET", ["users"]) => "list_users",
        ("GET", ["groups"]) => "list_groups",
        ("GET", ["groups", _, "members"]) => "list_group_members",
        ("GET", ["users", _, "my-matters"]) => "list_my_matters",
        ("POST", ["users", _, "my-matters"]) => "add_my_matter",
        ("DELETE", ["users", _, "my-matters", _]) => "remove_my_matter",
        ("GET", ["change-events"]) => "list_change_events",
        ("POST", ["sync", "workspaces", "crawl"]) => "crawl_workspaces",
        ("POST", ["sync", "containers", "security", "allowed-trustees", "search"]) => {
            "search_allowed_trustees"
        }
        ("POST", ["sync", "containers", "security", "denied-trustees", "search"]) => {
            "search_denied_trustees"
        }
        ("POST", ["sync", "groups", "members", "search"]) => "search_group_members",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_name_the_shape_never_the_ids() {
        let lib = "/work/api/v2/customers/1/libraries/ACTIVE";
        for (method, path, op) in [
            ("POST", format!("{lib}/workspaces"), "create_workspace"),
            (
                "GET",
                format!("{lib}/workspaces/ACTIVE!42"),
                "get_workspace",
            ),
            (
                "POST",
                format!("{lib}/workspaces/ACTIVE!42/folders"),
                "create_folder",
            ),
            (
                "POST",
                format!("{lib}/folders/ACTIVE!7/subfolders"),
                "create_folder",
            ),
            (
                "POST",
                format!("{lib}/workspaces/ACTIVE!42/security"),
                "set_security",
            ),
            ("GET", format!("{lib}/customs/custom1/C001"), "get_lookup"),
            ("POST", "/auth/oauth2/token".into(), "token"),
            ("GET", "/api".into(), "discovery"),
            ("GET", format!("{lib}/no/such/thing"), "other"),
            ("GET", "/elsewhere".into(), "other"),
        ] {
            assert_eq!(operation(method, &path), op, "{method} {path}");
        }
    }

    #[test]
    fn routes_hide_ids_and_the_actionstep_token() {
        assert_eq!(route("/v1/actionstep/s3cret"), "actionstep");
        assert_eq!(route("/v1/matters/M-1/documents"), "documents");
        assert_eq!(route("/v1/events/"), "events");
        assert_eq!(route("/anything/else"), "other");
    }

    #[test]
    fn event_labels_come_from_fixed_lists() {
        assert_eq!(
            event_head(br#"{"id":"e","type":"matter.closed","matter":{}}"#).r#type,
            "matter.closed"
        );
        assert_eq!(
            event_head(br#"{"type":"matter.exploded"}"#).r#type,
            "unknown"
        );
        assert_eq!(event_head(b"not json").r#type, "unknown");
        let head = event_head(br#"{"matter":{"id":"M-1"},"id":"evt-1","type":"matter.created"}"#);
        assert_eq!(
            (head.r#type, head.id.as_deref()),
            ("matter.created", Some("evt-1"))
        );
        let head = event_head(br#"{"id":7,"type":"matter.exploded"}"#);
        assert_eq!((head.r#type, head.id), ("unknown", None));
        assert_eq!(event_outcome(200, br#"{"duplicate":true}"#), "duplicate");
        assert_eq!(event_outcome(200, br#"{"duplicate":false}"#), "ok");
        assert_eq!(
            event_outcome(200, br#"{"duplicate":false,"skipped":"closed"}"#),
            "skipped"
        );
        assert_eq!(
            event_outcome(503, br#"{"error":{"kind":"unavailable"}}"#),
            "unavailable"
        );
        assert_eq!(
            event_outcome(500, br#"{"error":{"kind":"ACTIVE!42 exploded"}}"#),
            "other"
        );
    }

    #[test]
    fn actionstep_answers_count_each_action() {
        let body = br#"{"results": [
            {"event_id": "a", "type": "matter.created", "outcome": {"duplicate": false, "skipped": null}},
            {"event_id": "b", "type": "matter.closed", "outcome": {"duplicate": true}},
            {"error": {"kind": "unavailable", "message": "iManage is down"}}
        ]}"#;
        assert_eq!(
            actionstep_events(200, body),
            vec![
                ("matter.created", "ok"),
                ("matter.closed", "duplicate"),
                ("unknown", "unavailable")
            ]
        );
        assert_eq!(
            actionstep_events(200, br#"{"results": [], "held": {"kind": "malformed"}}"#),
            vec![("unknown", "held")]
        );
        assert_eq!(
            actionstep_events(401, br#"{"error":{"kind":"unauthorized"}}"#),
            vec![("unknown", "unauthorized")]
        );
    }

    #[test]
    fn the_text_names_every_metric_with_its_tenant() {
        let m = Metrics::new();
        m.imanage_request(
            None,
            "create_workspace",
            false,
            Some(201),
            Duration::from_millis(30),
        );
        m.imanage_request(
            None,
            "create_workspace",
            true,
            Some(429),
            Duration::from_millis(5),
        );
        m.imanage_request(None, "token", false, Some(200), Duration::from_millis(5));
        m.http_request(None, "events", "POST", 200);
        m.event(None, "matter.created", "ok");
        let text = m.encode().unwrap();
        let scrape =
            prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string()))).unwrap();
        let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == name)
                .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
                .map(|s| match s.value {
                    prometheus_parse::Value::Counter(v)
                    | prometheus_parse::Value::Gauge(v)
                    | prometheus_parse::Value::Untyped(v) => v,
                    _ => 0.0,
                })
                .sum()
        };
        assert_eq!(
            value(
                "matterlink_imanage_requests_total",
                &[("operation", "create_workspace"), ("status", "429")]
            ),
            1.0
        );
        assert_eq!(value("matterlink_imanage_retries_total", &[]), 1.0);
        assert_eq!(value("matterlink_imanage_throttled_total", &[]), 1.0);
        assert_eq!(value("matterlink_token_refreshes_total", &[]), 1.0);
        assert_eq!(
            value(
                "matterlink_events_total",
                &[("type", "matter.created"), ("outcome", "ok")]
            ),
            1.0
        );
        for s in &scrape.samples {
            assert_eq!(s.labels.get("tenant"), Some("default"), "{}", s.metric);
        }
    }
}
