//! `matterlink status`: one screen for a person at a terminal — the instance pool of a running
//! `serve`, the failed events, the held hook deliveries, the change feed and the token's
//! lifetime.
//!
//! The stored state is read straight from the key-value store, opened read-only (as a dry run
//! opens it), so `status` changes nothing and needs neither iManage nor the component. What
//! only a running server knows (its pool, its last feed poll) comes from its `/metrics`.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use matterlink_host::keyvalue::redis::RedisUrl;
use matterlink_host::keyvalue::runtime_config::{RuntimeConfig, COMPONENT_STORE};
use matterlink_host::metrics::Stored;

use super::{default_data_dir, Global};

/// Where a running server's metrics are.
#[derive(clap::Args)]
pub struct Args {
    /// A running `serve`'s metrics (its --metrics-addr), e.g. http://127.0.0.1:9464/metrics:
    /// the instance pool and the change feed's last poll come from there.
    #[arg(long, value_name = "URL")]
    metrics_url: Option<String>,
}

/// Prints the screen; exits 0 whatever it shows (it reports, it does not judge).
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let data_dir = g.data_dir.clone().unwrap_or_else(default_data_dir);
    let stores = match g.store.as_deref() {
        None | Some("" | "sqlite") => {
            if !data_dir.exists() {
                bail!(
                    "no data directory at {}: nothing has run here yet",
                    data_dir.display()
                );
            }
            RuntimeConfig::for_data_dir(&data_dir, true)
        }
        Some(url) => RuntimeConfig::for_redis(&RedisUrl::parse(url)?, true),
    };
    let mut stores = stores.build().context("opening the key-value store")?;
    if let Some(name) = &g.tenant {
        let name = matterlink_host::tenants::TenantName::parse(name)
            .map_err(|e| anyhow!("--tenant: {e}"))?;
        let host = stores
            .get(matterlink_host::runtime::HOST_STORE)
            .ok_or_else(|| anyhow!("no host store"))?;
        let Some(record) = matterlink_host::tenants::Registry::new(host)
            .get(&name)
            .await?
        else {
            bail!("no tenant {name} in this store (see `matterlink tenant list`)");
        };
        stores = stores.for_tenant(&record.namespace(&name));
    }
    let kv = stores
        .get(COMPONENT_STORE)
        .ok_or_else(|| anyhow!("no component store"))?;
    let stored = Stored::read(kv.as_ref()).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let scraped = match &a.metrics_url {
        None => None,
        Some(url) => Some(scrape(url).await),
    };

    println!("matterlink status at {}", timestamp(now));
    println!();
    match &scraped {
        None => row(
            "Instance pool",
            "not serving (give --metrics-url of a running serve)",
        ),
        Some(Err(e)) => row("Instance pool", &format!("not serving: {e:#}")),
        Some(Ok(m)) => row(
            "Instance pool",
            &format!(
                "{} instances in use; {} of {} requests in flight; {} connections open",
                m.get("matterlink_instances_in_use"),
                m.get("matterlink_http_requests_in_flight"),
                m.get("matterlink_http_requests_in_flight_limit"),
                m.get("matterlink_http_connections_open"),
            ),
        ),
    }

    if stored.failed.is_empty() {
        row("Failed events", "none waiting");
    } else {
        let kinds = counted_by(stored.failed.iter().map(|d| d.kind.as_str()));
        let oldest = stored
            .failed
            .iter()
            .min_by_key(|d| d.first_failed_at)
            .expect("not empty");
        row(
            "Failed events",
            &format!(
                "{} waiting ({kinds}); oldest {} (event {}, failed since {}) — `matterlink replay`",
                stored.failed.len(),
                ago(now, oldest.first_failed_at),
                oldest.event.id,
                timestamp(oldest.first_failed_at),
            ),
        );
    }

    match stored.held.first() {
        None => row("Held deliveries", "none kept"),
        Some(oldest) => row(
            "Held deliveries",
            &format!(
                "{} kept ({}); oldest {} ({}: {}) — fix it, then `matterlink replay`",
                stored.held.len(),
                counted_by(stored.held.iter().map(|h| h.kind.as_str())),
                ago(now, oldest.first_held_at),
                oldest.source,
                oldest.reason,
            ),
        ),
    }

    let last_poll = match &scraped {
        Some(Ok(m)) => match m.value("matterlink_feed_last_poll_timestamp_seconds") {
            Some(at) => format!("last poll {}", ago(now, at as u64)),
            None => "no poll since this server started".to_string(),
        },
        _ => "last poll unknown (only a running serve knows: --metrics-url)".to_string(),
    };
    row(
        "Change feed",
        &format!(
            "{last_poll}; {} changes unacknowledged",
            stored.unacknowledged_changes
        ),
    );

    match &stored.token {
        None => row("Token", "not connected (no token stored)"),
        Some(t) if t.ended => row(
            "Token",
            "the connection has ended (iManage refused the refresh token): `matterlink connect`",
        ),
        Some(t) => {
            let who = match t.origin.as_str() {
                "password" => "service account",
                "authorization_code" => "signed in with `matterlink connect`",
                other => other,
            };
            let refresh = match t.refresh_expires_at {
                Some(at) => format!("refresh token expires {}", until(now, at)),
                None => "no refresh token lifetime reported".to_string(),
            };
            row(
                "Token",
                &format!(
                    "access token expires {}; {refresh} ({who})",
                    until(now, t.access_expires_at)
                ),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `1 malformed, 2 unavailable`: how many of each kind, by kind in alphabetical order.
fn counted_by<'a>(kinds: impl Iterator<Item = &'a str>) -> String {
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for kind in kinds {
        *by_kind.entry(kind).or_default() += 1;
    }
    by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn row(what: &str, text: &str) {
    println!("{what:<15} {text}");
}

fn timestamp(at: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(at)).to_string()
}

/// `3m ago`, to the minute beyond a minute.
fn ago(now: u64, at: u64) -> String {
    if at > now {
        return format!("at {}", timestamp(at));
    }
    format!("{} ago", span(now - at))
}

fn until(now: u64, at: u64) -> String {
    if at <= now {
        return format!("expired {} ago", span(now - at));
    }
    format!("in {}", span(at - now))
}

/// Two units at most, as a person says it: `29 days`, `1 day 4h`, `1h 30m`, `5m`, `12s`.
fn span(secs: u64) -> String {
    let (days, hours, minutes) = (secs / 86_400, secs % 86_400 / 3_600, secs % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{secs}s"),
        (0, 0, m) => format!("{m}m"),
        (0, h, m) => format!("{h}h {m}m"),
        (1, h, _) => format!("1 day {h}h"),
        (d, _, _) => format!("{d} days"),
    }
}

/// What `/metrics` said, summed over label sets.
struct Scraped(prometheus_parse::Scrape);

impl Scraped {
    fn value(&self, name: &str) -> Option<f64> {
        let mut found = None;
        for s in self.0.samples.iter().filter(|s| s.metric == name) {
            if let prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Untyped(v) = s.value
            {
                *found.get_or_insert(0.0) += v;
            }
        }
        found
    }

    fn get(&self, name: &str) -> String {
        self.value(name)
            .map_or_else(|| "?".to_string(), |v| format!("{v}"))
    }
}

/// `GET url` over plain HTTP (the metrics listener has no TLS), parsed as the text format.
async fn scrape(url: &str) -> Result<Scraped> {
    use http_body_util::BodyExt;
    let uri: hyper::Uri = url.parse().context("not a URL")?;
    if uri.scheme_str() != Some("http") {
        bail!("the metrics URL must be http://IP:PORT/metrics");
    }
    let host = uri.host().ok_or_else(|| anyhow!("no host in the URL"))?;
    let port = uri.port_u16().unwrap_or(80);
    let fetch = async {
        let stream = tokio::net::TcpStream::connect((host, port)).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
        tokio::spawn(conn);
        let request = hyper::Request::get(uri.path())
            .header(hyper::header::HOST, format!("{host}:{port}"))
            .body(http_body_util::Empty::<bytes::Bytes>::new())?;
        let response = sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        anyhow::Ok((status, body))
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(5), fetch)
        .await
        .map_err(|_| anyhow!("{url} did not answer within 5 s"))?
        .with_context(|| format!("reading {url}"))?;
    if !status.is_success() {
        bail!("{url} answered {status}");
    }
    let text = String::from_utf8_lossy(&body);
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))
        .context("the metrics are not in the text format")?;
    Ok(Scraped(scrape))
}
