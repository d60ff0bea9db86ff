//! `imanage-sandbox [--port N] [--host 127.0.0.1] [token lifetimes] [faults]`: run the iManage
//! sandbox until Ctrl-C. Faults can also be changed while it runs: `PUT /sandbox/admin/faults`.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clap::Parser;
use imanage_sandbox::{
    Faults, RateLimitBurst, Sandbox, SandboxConfig, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID,
    DEFAULT_EVENT_RETENTION, LIBRARY, SERVICE_PASSWORD, SERVICE_USER,
};

#[derive(Debug, Parser)]
#[command(
    name = "imanage-sandbox",
    version,
    about = "In-memory emulator of the iManage Work API v2"
)]
struct Args {
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "IMANAGE_SANDBOX_PORT", default_value_t = 8181)]
    port: u16,
    /// Address to listen on; loopback by default, since the sandbox has no real security.
    #[arg(long, env = "IMANAGE_SANDBOX_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    /// Access token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 90 * 60)]
    access_token_ttl: u64,
    /// Refresh token lifetime in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 365 * 24 * 60 * 60)]
    refresh_token_ttl: u64,
    /// Approve `GET /auth/oauth2/authorize` at once as this user, without the sign-in form.
    #[arg(long, value_name = "USER", num_args = 0..=1, default_missing_value = SERVICE_USER)]
    auto_approve: Option<String>,
    /// How many change events the queue keeps.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_EVENT_RETENTION)]
    event_retention: usize,
    /// Added to every request's handling, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of requests answered 500/502/503 without doing the work.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    error_rate: f64,
    /// Fraction of requests that hang for --timeout-ms and then answer 504.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    timeout_rate: f64,
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    timeout_ms: u64,
    /// Fraction of requests whose connection is closed without an answer.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    drop_rate: f64,
    /// Fraction of creating requests that do the work, then answer 500 or drop the connection.
    #[arg(long, value_name = "RATE", default_value_t = 0.0, value_parser = rate)]
    commit_then_fail_rate: f64,
    /// 429 bursts: after every N requests ...
    #[arg(long, value_name = "N", requires = "rate_limit_count")]
    rate_limit_every: Option<u32>,
    /// ... the next M answer 429 ...
    #[arg(long, value_name = "M", requires = "rate_limit_every")]
    rate_limit_count: Option<u32>,
    /// ... with this Retry-After.
    #[arg(long, value_name = "SECS", default_value_t = 1)]
    retry_after_secs: u64,
    /// The change-event queue answers 403, as for an account outside NRTADMIN.
    #[arg(long)]
    event_queue_forbidden: bool,
    /// Seed for the fault dice, for repeatable runs.
    #[arg(long)]
    seed: Option<u64>,
}

fn rate(text: &str) -> Result<f64, String> {
    let value: f64 = text.parse().map_err(|e| format!("{e}"))?;
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err("a rate is between 0 and 1".to_owned())
    }
}

impl Args {
    fn config(&self) -> SandboxConfig {
        let rate_limit_burst = match (self.rate_limit_every, self.rate_limit_count) {
            (Some(every), Some(count)) => Some(RateLimitBurst {
                every,
                count,
                retry_after_secs: self.retry_after_secs,
            }),
            _ => None,
        };
        SandboxConfig {
            access_token_ttl: Duration::from_secs(self.access_token_ttl),
            refresh_token_ttl: Duration::from_secs(self.refresh_token_ttl),
            faults: Faults {
                latency_ms: self.latency_ms,
                error_rate: self.error_rate,
                rate_limit_burst,
                timeout_rate: self.timeout_rate,
                timeout_ms: self.timeout_ms,
                drop_rate: self.drop_rate,
                commit_then_fail_rate: self.commit_then_fail_rate,
                event_queue_forbidden: self.event_queue_forbidden,
                // A test's knob (one kind of request failing), not the command line's.
                fail_path_suffix: None,
                seed: self.seed,
            },
            event_retention: self.event_retention,
            // The fidelity knobs (chunked refusal, page size, member shapes) are for
            // tests; the command line runs the defaults.
            auto_approve: self.auto_approve.clone(),
            ..SandboxConfig::default()
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let config = args.config();
    let faults = serde_json::to_string(&config.faults)?;
    let sandbox = Sandbox::start(SocketAddr::new(args.host, args.port), config).await?;
    println!("iManage sandbox listening on {}", sandbox.base_url());
    println!("  customer {CUSTOMER_ID}, library {LIBRARY}");
    println!("  service account {SERVICE_USER} / {SERVICE_PASSWORD}");
    println!("  OAuth client {CLIENT_ID} / {CLIENT_SECRET}");
    println!("  faults {faults} (change with PUT /sandbox/admin/faults)");
    tokio::signal::ctrl_c().await?;
    println!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
