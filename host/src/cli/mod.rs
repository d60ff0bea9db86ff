//! What every command shares: the global options, loading the runtime, reading input files,
//! printing a call's outcome, and the signals that stop long commands.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use matterlink_host::domain::Matter;
use matterlink_host::keyvalue::redis::RedisUrl;
use matterlink_host::keyvalue::runtime_config::RuntimeConfig;
use matterlink_host::tenants::{Registry, TenantName};
use matterlink_host::{ConfigStore, Outcome, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

pub mod actionstep;
pub mod admin;
pub mod backfill;
pub mod call;
pub mod check;
pub mod connect;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod drift;
pub mod log;
pub mod print;
pub mod replay;
#[cfg(feature = "sandbox")]
pub mod sandbox;
pub mod secret;
pub mod serve;
pub mod status;
pub mod tenant;

/// Options every command takes.
#[derive(clap::Args)]
pub struct Global {
    /// Where key-value data (links, tokens, audit) and the compiled component live.
    #[arg(long, global = true, env = "MATTERLINK_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Where the key-value state lives: `sqlite` (the default: a file in the data directory)
    /// or `redis://[:PASSWORD@]HOST:PORT/DB`, shared with other processes and with Spin.
    // `hide_env_values`: the URL may hold a password, and `--help` would print it.
    #[arg(long, global = true, env = "MATTERLINK_STORE", hide_env_values = true)]
    pub store: Option<String>,
    /// TOML file of configuration keys; each can be overridden by MATTERLINK_<KEY>.
    #[arg(long, global = true, env = "MATTERLINK_CONFIG")]
    pub config: Option<PathBuf>,
    /// Work on this tenant's configuration and state (see `matterlink tenant`); without it, the
    /// host's own (the default tenant: --config and MATTERLINK_<KEY>).
    #[arg(long, global = true, env = "MATTERLINK_TENANT", value_name = "NAME")]
    pub tenant: Option<String>,
    /// Run this component instead of the embedded one.
    #[arg(long, global = true, env = "MATTERLINK_COMPONENT")]
    pub component: Option<PathBuf>,
    /// Log filter (tracing syntax, e.g. `debug` or `matterlink_host=trace`); logs go to stderr.
    #[arg(long, global = true, env = "MATTERLINK_LOG", default_value = "warn")]
    pub log: String,
    /// How log lines look: `human` (the default) or `json`, one object a line with the
    /// request's id (`X-Request-Id`) in its spans, for a log collector.
    #[arg(long, global = true, env = "MATTERLINK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
}

/// The shape of log lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// For a person reading a terminal.
    Human,
    /// One JSON object a line.
    Json,
}

/// Logs to stderr with the `--log` filter; coloured only when stderr is a terminal, so that a
/// log captured to a file or read by a test carries no escape codes.
pub fn init_logging(g: &Global) {
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(matterlink_host::logging::filter(&g.log))
        .with_writer(std::io::stderr);
    match g.log_format {
        LogFormat::Human => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        // The spans carry the request id; every line of a request lists them.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

/// A usage error: the message on stderr, exit 2.
pub fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn default_data_dir() -> PathBuf {
    if let Some(xdg) = std::env::var_os("XDG_DATA_HOME") {
        return PathBuf::from(xdg).join("matterlink");
    }
    if let Some(home) = std::env::var_os("HOME") {
        return PathBuf::from(home).join(".local/share/matterlink");
    }
    PathBuf::from(".matterlink")
}

/// The component to run: `--component`, else the embedded one.
pub fn component_bytes(g: &Global) -> Result<std::borrow::Cow<'static, [u8]>> {
    Ok(match &g.component {
        Some(p) => std::fs::read(p)
            .with_context(|| format!("reading component {}", p.display()))?
            .into(),
        None => EMBEDDED_COMPONENT.into(),
    })
}

/// The runtime for the configured data directory, as `--tenant` sees it.
pub async fn load_runtime(g: &Global) -> Result<Runtime> {
    load_runtime_for(g, false).await
}

/// The runtime, or a dry-run one that changes nothing (`Runtime::new_dry_run`), for the tenant
/// `--tenant` names (looked up in the store's registry), else the host's own.
pub async fn load_runtime_for(g: &Global, dry_run: bool) -> Result<Runtime> {
    let base = load_host_runtime(g, dry_run)?;
    let Some(name) = &g.tenant else {
        return Ok(base);
    };
    let name = TenantName::parse(name).map_err(|e| anyhow::anyhow!("--tenant: {e}"))?;
    let registry = Registry::new(base.key_value());
    let Some(record) = registry.get(&name).await? else {
        anyhow::bail!("no tenant {name} in this store (see `matterlink tenant list`)");
    };
    base.for_tenant(&name, &record)
}

/// The runtime of the host's own configuration, whatever `--tenant` says: what the tenant
/// registry lives beside.
pub fn load_host_runtime(g: &Global, dry_run: bool) -> Result<Runtime> {
    let config = ConfigStore::load(g.config.as_deref(), std::env::vars())?;
    let data_dir = g.data_dir.clone().unwrap_or_else(default_data_dir);
    let component = component_bytes(g)?;
    let stores = match g.store.as_deref() {
        None | Some("" | "sqlite") => None,
        // The error never repeats the URL, which may hold a password.
        Some(url) => Some(RuntimeConfig::for_redis(&RedisUrl::parse(url)?, dry_run)),
    };
    let opts = RuntimeOptions {
        component: &component,
        data_dir: &data_dir,
        config,
        allowed_base_url: None,
    };
    match (stores, dry_run) {
        (None, false) => Runtime::new(opts),
        (None, true) => Runtime::new_dry_run(opts),
        (Some(stores), false) => Runtime::with_stores(opts, stores),
        (Some(stores), true) => Runtime::new_dry_run_with_stores(opts, stores),
    }
}

/// A file's bytes, or standard input's for `-`.
pub fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

/// How a usage error names an input: its path, or standard input for `-`.
pub fn input_name(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_string()
    } else {
        path.display().to_string()
    }
}

/// Parses a JSON input file into `T`, telling apart a file that is not JSON at all (the wrong
/// file, say a PDF) from JSON that is not `what`; either way the message names the file.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    bytes: &[u8],
    what: &str,
) -> Result<T, String> {
    serde_json::from_slice(bytes).map_err(|e| {
        let name = input_name(path);
        match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                format!("{name} is not JSON: {e}")
            }
            _ => format!("{name} is not {what}: {e}"),
        }
    })
}

/// A matter record from a file or standard input.
pub fn read_matter(path: &Path) -> Result<Matter, String> {
    let bytes = read_input(path)?;
    parse_json(path, &bytes, "a valid matter record")
}

/// Prints a call's result (exit 0) or typed error (exit 1) the way `call` documents it: text
/// as it is, other values as pretty JSON; with `--json` one line of JSON, the error as
/// `{"error": {"kind", "message"}}` on stdout.
pub fn print_outcome(outcome: Outcome, json: bool) -> Result<ExitCode> {
    match outcome {
        Ok(value) => {
            match (&value, json) {
                (serde_json::Value::String(text), false) => println!("{text}"),
                (_, true) => println!("{value}"),
                (_, false) => println!("{}", serde_json::to_string_pretty(&value)?),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            if json {
                println!("{}", serde_json::json!({ "error": e }));
            } else {
                eprintln!("error: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Ctrl-C: a batch stops starting matters and finishes those in flight; a second Ctrl-C stops
/// at once (what was done is recorded as each matter finishes, so a rerun still resumes).
pub async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling here: never interrupted.
        std::future::pending::<()>().await;
    }
    eprintln!("interrupted: finishing the matters in flight (Ctrl-C again to stop at once)");
    tokio::spawn(async {
        if tokio::signal::ctrl_c().await.is_ok() {
            std::process::exit(130);
        }
    });
}

/// Ctrl-C or SIGTERM: a server stops accepting and drains.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
