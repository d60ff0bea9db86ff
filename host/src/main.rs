//! `matterlink`: the command line over the host library.
//!
//! Exit codes (a public interface): 0 success; 1 the component returned a typed error;
//! 2 usage error (bad arguments, unreadable or invalid matter file); 3 the host failed
//! (component did not load or trapped, data directory unusable, port taken).

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use matterlink_host::{backfill, batch, drift};
use matterlink_host::{
    demo, serve, Args, AuditQuery, ConfigStore, Function, Matter, Runtime, RuntimeOptions,
    EMBEDDED_COMPONENT,
};

/// What `backfill`, `drift` and dry runs print.
mod ops;

#[derive(Parser)]
#[command(
    name = "matterlink",
    version,
    about = "Bridge a matter-management system to iManage Work"
)]
struct Cli {
    /// Where key-value data (links, tokens, audit) and the compiled component live.
    #[arg(long, global = true, env = "MATTERLINK_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// TOML file of configuration keys; each can be overridden by MATTERLINK_<KEY>.
    #[arg(long, global = true, env = "MATTERLINK_CONFIG")]
    config: Option<PathBuf>,
    /// Run this component instead of the embedded one.
    #[arg(long, global = true, env = "MATTERLINK_COMPONENT")]
    component: Option<PathBuf>,
    /// Log filter (tracing syntax, e.g. `debug` or `matterlink_host=trace`); logs go to stderr.
    #[arg(long, global = true, env = "MATTERLINK_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call an exported function once and print its result.
    Call {
        /// on-matter-created | on-matter-updated | on-matter-closed | on-matter-reopened |
        /// map-metadata | resolve-legacy | link-workspace | file-document | list-folders |
        /// check-connection | handle-event | replay-events | failed-events | audit-log |
        /// poll-changes | apply-matter-team | import-workspaces | backfill-matter | drift
        function: Function,
        /// The matter record as JSON (snake_case keys); `-` reads standard input.
        #[arg(long)]
        matter: Option<PathBuf>,
        /// A pasted workspace link (link-workspace).
        #[arg(long)]
        url: Option<String>,
        /// The matter's id, for file-document and list-folders without a matter file.
        #[arg(long)]
        matter_id: Option<String>,
        /// The document to file (file-document); `-` reads standard input.
        #[arg(long)]
        file: Option<PathBuf>,
        /// The document's name with its extension; defaults to the file's name.
        #[arg(long)]
        name: Option<String>,
        /// A folder id from list-folders; defaults to the matter's document folder.
        #[arg(long)]
        folder: Option<String>,
        /// An event as JSON, `{"id", "type": "matter.created", "matter": {...}}` (handle-event);
        /// `-` reads standard input.
        #[arg(long)]
        event: Option<PathBuf>,
        /// Print the result, or the typed error, as one line of JSON on stdout.
        #[arg(long)]
        json: bool,
        /// The `next_cursor` of the previous poll-changes (acknowledges that batch) or
        /// import-workspaces page.
        #[arg(long)]
        cursor: Option<String>,
        /// apply-matter-team: the team as JSON, `[{"id": "JSMITH", "trustee_type": "user",
        /// "access_level": "full_access"}, ...]`; `-` reads standard input.
        #[arg(long)]
        members: Option<PathBuf>,
        /// Change nothing: print the iManage requests that would be made (reads go through),
        /// keep key-value writes in memory.
        #[arg(long)]
        dry_run: bool,
        /// backfill-matter: provision the matter when no workspace is found.
        #[arg(long)]
        create_missing: bool,
        /// drift: repair the differences through the normal paths.
        #[arg(long)]
        fix: bool,
    },
    /// Serve the component's HTTP routes (webhooks, health).
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
    /// Start the iManage sandbox (an emulator of the iManage Work API) and print its base URL.
    Sandbox {
        #[arg(long, default_value_t = 8099)]
        port: u16,
        #[arg(long, default_value = "127.0.0.1")]
        host: std::net::IpAddr,
    },
    /// Provision a sample matter against an in-process sandbox and show what happened.
    Demo,
    /// Read the audit trail (newest first).
    Log {
        /// Only this matter's records.
        #[arg(long)]
        matter: Option<String>,
        /// Only records with this outcome (ok, unchanged, unavailable, ...).
        #[arg(long)]
        outcome: Option<String>,
        /// From this time: RFC 3339 (`2026-11-25T09:00:00Z`), a date, or an age such as `2h`.
        #[arg(long, value_parser = parse_time)]
        since: Option<u64>,
        /// Up to this time, in the same forms.
        #[arg(long, value_parser = parse_time)]
        until: Option<u64>,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        json: bool,
    },
    /// Run the failed (dead-letter) events again, oldest first.
    Replay {
        /// Only list the failed events.
        #[arg(long)]
        list: bool,
        #[arg(long)]
        json: bool,
    },
    /// Connect to iManage by signing in in a browser (`imanage_auth = oauth`): prints (and with
    /// --open opens) iManage's sign-in page and receives its answer on
    /// http://127.0.0.1:PORT/callback, the redirect URI to register with the application.
    Connect {
        /// Loopback port for iManage's redirect (0: any free port).
        #[arg(long, default_value_t = 8765)]
        port: u16,
        /// Also open the sign-in page in the default browser.
        #[arg(long)]
        open: bool,
        /// Give up after this many seconds without an answer.
        #[arg(long, default_value_t = 600)]
        timeout: u64,
    },
    /// Verify the setup: connection, token lifetimes, libraries, templates, fields, each ✓ or ✗
    /// with its fix. Exits 0 when everything is ✓, 1 otherwise.
    Check,
    /// Link (or, with --create-missing, provision) every legacy matter of a file; resumable.
    Backfill {
        /// Matters as CSV (with a header) or JSON Lines (one matter record per line).
        file: PathBuf,
        /// Provision matters that have no workspace instead of reporting them.
        #[arg(long)]
        create_missing: bool,
        /// Matters in flight at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
        concurrency: u16,
        /// At most this many matters started per second.
        #[arg(long)]
        rate: Option<f64>,
        /// Run at most this many matters now; a rerun continues.
        #[arg(long)]
        limit: Option<usize>,
        /// Write the report here: `.json` or `.csv`.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Change nothing: print each matter's planned iManage requests.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON on stdout instead of the summary.
        #[arg(long)]
        json: bool,
    },
    /// Compare every matter of a file with its workspace; --fix repairs the differences.
    Drift {
        /// Matters as CSV (with a header) or JSON Lines.
        file: PathBuf,
        /// Repair through on-matter-updated / on-matter-closed / on-matter-reopened.
        #[arg(long)]
        fix: bool,
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
        concurrency: u16,
        /// Change nothing: with --fix, print the repairs' planned iManage requests.
        #[arg(long)]
        dry_run: bool,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap uses 0 for --help/--version and 2 for usage errors.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: starting the async runtime: {e}");
            return ExitCode::from(3);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn usage(message: impl std::fmt::Display) -> ExitCode {
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

fn component_bytes(path: Option<&Path>) -> Result<std::borrow::Cow<'static, [u8]>> {
    Ok(match path {
        Some(p) => std::fs::read(p)
            .with_context(|| format!("reading component {}", p.display()))?
            .into(),
        None => EMBEDDED_COMPONENT.into(),
    })
}

fn load_runtime(cli: &Cli) -> Result<Runtime> {
    load_runtime_for(cli, false)
}

/// The runtime, or a dry-run one that changes nothing (`Runtime::new_dry_run`).
fn load_runtime_for(cli: &Cli, dry_run: bool) -> Result<Runtime> {
    let config = ConfigStore::load(cli.config.as_deref(), std::env::vars())?;
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let component = component_bytes(cli.component.as_deref())?;
    let opts = RuntimeOptions {
        component: &component,
        data_dir: &data_dir,
        config,
        allowed_base_url: None,
    };
    if dry_run {
        Runtime::new_dry_run(opts)
    } else {
        Runtime::new(opts)
    }
}

/// A point in time as Unix seconds: RFC 3339, a bare date (midnight UTC), or an age before now
/// (`90m`, `2h`, `7d`).
fn parse_time(text: &str) -> Result<u64, String> {
    let now = std::time::SystemTime::now();
    let at = if let Ok(age) = humantime::parse_duration(text) {
        now.checked_sub(age).ok_or("that age reaches before 1970")?
    } else if let Ok(t) = humantime::parse_rfc3339_weak(text) {
        t
    } else if let Ok(t) = humantime::parse_rfc3339_weak(&format!("{text}T00:00:00Z")) {
        t
    } else {
        return Err(format!(
            "{text:?} is not a time: use 2026-11-25T09:00:00Z, 2026-11-25 or an age like 2h"
        ));
    };
    Ok(at
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// A file's bytes, or standard input's for `-`.
fn read_input(path: &Path) -> Result<Vec<u8>, String> {
    if path == Path::new("-") {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading standard input: {e}"))?;
        return Ok(bytes);
    }
    std::fs::read(path).map_err(|e| format!("reading {}: {e}", path.display()))
}

fn read_matter(path: &Path) -> Result<Matter, String> {
    let bytes = read_input(path)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| format!("the matter is not a valid matter record: {e}"))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Call {
            function,
            matter,
            url,
            matter_id,
            file,
            name,
            folder,
            event,
            json,
            cursor,
            members,
            dry_run,
            create_missing,
            fix,
        } => {
            let mut args = Args {
                url: url.clone(),
                matter_id: matter_id.clone(),
                folder: folder.clone(),
                name: name.clone(),
                cursor: cursor.clone(),
                create_missing: *create_missing,
                fix: *fix,
                ..Args::default()
            };
            if let Some(path) = members {
                match read_input(path).and_then(|b| {
                    serde_json::from_slice(&b).map_err(|e| {
                        format!("the members are not a JSON list of team members: {e}")
                    })
                }) {
                    Ok(m) => args.members = Some(m),
                    Err(e) => return Ok(usage(e)),
                }
            }
            if let Some(path) = matter {
                match read_matter(path) {
                    Ok(m) => args.matter = Some(m),
                    Err(e) => return Ok(usage(e)),
                }
            }
            if let Some(path) = event {
                match read_input(path).and_then(|b| {
                    serde_json::from_slice(&b)
                        .map_err(|e| format!("the event is not a valid event: {e}"))
                }) {
                    Ok(e) => args.event = Some(e),
                    Err(e) => return Ok(usage(e)),
                }
            }
            if let Some(path) = file {
                match read_input(path) {
                    Ok(bytes) => args.content = Some(bytes),
                    Err(e) => return Ok(usage(e)),
                }
                if args.name.is_none() && path != Path::new("-") {
                    args.name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                }
            }
            if let Err(e) = function.check_args(&args) {
                return Ok(usage(e));
            }
            if *dry_run {
                let runtime = load_runtime_for(&cli, true)?;
                let (outcome, plan) = runtime.call_planned(*function, args).await?;
                return ops::print_dry_call(outcome, &plan, *json);
            }
            let runtime = load_runtime(&cli)?;
            print_outcome(runtime.call(*function, args).await?, *json)
        }
        Command::Serve { port, host } => {
            let runtime = Arc::new(load_runtime(&cli)?);
            let listener = tokio::net::TcpListener::bind(SocketAddr::new(*host, *port))
                .await
                .with_context(|| format!("binding {host}:{port}"))?;
            let addr = listener.local_addr()?;
            println!("matterlink serving on http://{addr} (health: http://{addr}/v1/health)");
            serve::serve(runtime, listener, shutdown_signal()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sandbox { port, host } => {
            let sandbox =
                imanage_sandbox::Sandbox::start(SocketAddr::new(*host, *port), Default::default())
                    .await
                    .with_context(|| format!("starting the sandbox on {host}:{port}"))?;
            println!("{}", sandbox.base_url());
            eprintln!(
                "iManage sandbox: customer {}, library {}, service account {} / {}, client {} (Ctrl-C stops it)",
                imanage_sandbox::CUSTOMER_ID,
                imanage_sandbox::LIBRARY,
                imanage_sandbox::SERVICE_USER,
                imanage_sandbox::SERVICE_PASSWORD,
                imanage_sandbox::CLIENT_ID,
            );
            shutdown_signal().await;
            sandbox.shutdown().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Log {
            matter,
            outcome,
            since,
            until,
            limit,
            json,
        } => {
            let runtime = load_runtime(&cli)?;
            let args = Args {
                audit: AuditQuery {
                    matter_id: matter.clone(),
                    outcome: outcome.clone(),
                    since: *since,
                    until: *until,
                    limit: *limit,
                },
                ..Args::default()
            };
            let outcome = runtime.call(Function::AuditLog, args).await?;
            match (&outcome, *json) {
                (Ok(serde_json::Value::Array(records)), false) => {
                    for r in records {
                        let at = std::time::UNIX_EPOCH
                            + std::time::Duration::from_secs(r["at"].as_u64().unwrap_or(0));
                        println!(
                            "{}  {:<16} {:<12} {:<12} {}",
                            humantime::format_rfc3339_seconds(at),
                            r["action"].as_str().unwrap_or(""),
                            r["matter_id"].as_str().unwrap_or(""),
                            r["outcome"].as_str().unwrap_or(""),
                            r["detail"].as_str().unwrap_or(""),
                        );
                    }
                    Ok(ExitCode::SUCCESS)
                }
                _ => print_outcome(outcome, *json),
            }
        }
        Command::Replay { list, json } => {
            let runtime = load_runtime(&cli)?;
            let function = if *list {
                Function::FailedEvents
            } else {
                Function::ReplayEvents
            };
            let outcome = runtime.call(function, Args::default()).await?;
            let still_failing = outcome
                .as_ref()
                .ok()
                .and_then(|v| v.get("still_failing"))
                .and_then(|f| f.as_array())
                .is_some_and(|f| !f.is_empty());
            let code = print_outcome(outcome, *json)?;
            // Events still failing after a replay are a failure for scripts to notice.
            Ok(if still_failing {
                ExitCode::from(1)
            } else {
                code
            })
        }
        Command::Demo => {
            let component = component_bytes(cli.component.as_deref())?;
            // A throwaway data directory unless one was asked for: the demo must not touch
            // a real installation's links.
            let temp = tempfile::tempdir()?;
            let data_dir = cli
                .data_dir
                .clone()
                .unwrap_or_else(|| temp.path().to_path_buf());
            demo::run(&component, &data_dir, &mut std::io::stdout()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Connect {
            port,
            open,
            timeout,
        } => {
            let runtime = load_runtime(&cli)?;
            let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], *port)))
                .await
                .with_context(|| format!("binding 127.0.0.1:{port} for iManage's redirect"))?;
            let redirect = matterlink_host::connect::redirect_uri(&listener)?;
            let outcome = matterlink_host::connect::run(
                &runtime,
                listener,
                std::time::Duration::from_secs(*timeout),
                |request| {
                    println!(
                        "Sign in to iManage in a browser:\n\n  {}\n",
                        request.authorize_url
                    );
                    println!("Waiting for iManage to redirect to {redirect} …");
                    if *open {
                        matterlink_host::connect::open_browser(&request.authorize_url);
                    }
                },
            )
            .await?;
            match outcome {
                Ok(account) => {
                    println!("connected as {account}");
                    // Events that failed while disconnected were kept: now they can go through.
                    match runtime
                        .call(Function::ReplayEvents, Args::default())
                        .await?
                    {
                        Ok(report) => {
                            let replayed = report["replayed"].as_u64().unwrap_or(0);
                            if replayed > 0 {
                                println!(
                                    "replayed {replayed} failed events: {} succeeded, {} still failing (see `matterlink replay --list`)",
                                    report["succeeded"].as_u64().unwrap_or(0),
                                    report["still_failing"].as_array().map_or(0, Vec::len),
                                );
                            }
                        }
                        Err(e) => eprintln!("warning: replaying failed events: {e}"),
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Check => {
            let runtime = load_runtime(&cli)?;
            match runtime
                .call(Function::CheckConnection, Args::default())
                .await?
            {
                Ok(report) => {
                    println!("{}", report.as_str().unwrap_or_default());
                    Ok(ExitCode::SUCCESS)
                }
                // The report with its ✗ lines is the message of the typed error.
                Err(e) => {
                    println!("{}", e.message);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Backfill {
            file,
            create_missing,
            concurrency,
            rate,
            limit,
            report,
            dry_run,
            json,
        } => {
            if let Some(Err(e)) = report.as_deref().map(backfill::check_report_path) {
                return Ok(usage(e));
            }
            if rate.is_some_and(|r| !(r > 0.0 && r.is_finite())) {
                return Ok(usage(
                    "--rate must be a positive number of matters per second",
                ));
            }
            let runtime = Arc::new(load_runtime_for(&cli, *dry_run)?);
            let opts = backfill::Options {
                file: file.clone(),
                create_missing: *create_missing,
                batch: batch::Options {
                    concurrency: usize::from(*concurrency),
                    rate: *rate,
                },
                limit: *limit,
                report: report.clone(),
                show_progress: true,
            };
            match backfill::run(runtime, &opts, interrupted()).await {
                Ok(outcome) => ops::print_backfill(&outcome, &opts, *json),
                // An unreadable file or header is the caller's to fix.
                Err(e) => Ok(usage(format!("{e:#}"))),
            }
        }
        Command::Drift {
            file,
            fix,
            concurrency,
            dry_run,
            json,
        } => {
            let runtime = Arc::new(load_runtime_for(&cli, *dry_run)?);
            let opts = drift::Options {
                file: file.clone(),
                fix: *fix,
                batch: batch::Options {
                    concurrency: usize::from(*concurrency),
                    rate: None,
                },
                show_progress: true,
            };
            match drift::run(runtime, &opts, interrupted()).await {
                Ok(outcome) => ops::print_drift(&outcome, *fix, *json),
                Err(e) => Ok(usage(format!("{e:#}"))),
            }
        }
    }
}

/// Prints a call's result (exit 0) or typed error (exit 1) the way `call` documents it.
fn print_outcome(outcome: matterlink_host::Outcome, json: bool) -> Result<ExitCode> {
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
                println!("{}", e.to_json());
            } else {
                eprintln!("error: {e}");
            }
            Ok(ExitCode::from(1))
        }
    }
}

/// Ctrl-C: a batch stops starting matters and finishes those in flight; a second Ctrl-C stops
/// at once (what was done is recorded as each matter finishes, so a rerun still resumes).
async fn interrupted() {
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

async fn shutdown_signal() {
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
