//! `matterlink tenant`: the firms one host (or several on one store) serves. Each tenant has
//! its own configuration, secrets and key-value namespace, and is served under
//! `/t/{tenant}/v1/…`; every stateful command takes `--tenant NAME`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{anyhow, Context, Result};
use matterlink_component::keys::CONSOLE_SETTINGS;
use matterlink_component::saved_settings::Saved;
use matterlink_component::settings::MIN_SECRET_CHARS;
use matterlink_host::config::{is_secret, ConfigStore};
use matterlink_host::keyvalue::runtime_config::{Stores, COMPONENT_STORE};
use matterlink_host::tenants::{Registry, RegistryError, TenantName, TenantRecord};

use super::{load_host_runtime, usage, Global};

/// The shared secrets a tenant's callers sign with or present; each must be unique to its
/// tenant, or a request captured on one tenant's route could be replayed on another's.
const SHARED_SECRETS: &[&str] = &["webhook_secret", "actionstep_token"];

/// `tenant` and its subcommands.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Register a tenant from a configuration file (the same keys as --config). Secrets come
    /// from --secrets FILE or, with --secrets-from-env, from MATTERLINK_<KEY>; they are never
    /// printed back. Without a webhook_secret one is made and shown once.
    Add {
        /// The tenant's name (letters, digits and - _ . :, as matter ids).
        name: String,
        #[command(flatten)]
        values: Values,
    },
    /// Change a tenant's settings: the keys given replace the ones stored; --unset removes.
    /// A running serve picks the change up within a second, without a restart.
    Update {
        /// The tenant.
        name: String,
        #[command(flatten)]
        values: Values,
        /// Remove these keys.
        #[arg(long, value_name = "KEY")]
        unset: Vec<String>,
    },
    /// List the tenants; a library the tenant's administrator saved in the console (which wins
    /// over the record) is marked `*`.
    List {
        /// One JSON array (no secrets).
        #[arg(long)]
        json: bool,
    },
    /// Show one tenant's settings, secrets masked, and those saved in its console over them.
    Show {
        /// The tenant.
        name: String,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
    /// Unregister a tenant and delete all its data (links, tokens, audit trail, failed events).
    Remove {
        /// The tenant.
        name: String,
    },
    /// Replace a tenant's shared secret with a fresh random one, printed once.
    RotateSecret {
        /// The tenant.
        name: String,
        /// Which secret: `webhook_secret` (the default) or `actionstep_token`.
        #[arg(long, default_value = "webhook_secret")]
        key: String,
    },
}

/// Where a tenant's values come from.
#[derive(clap::Args)]
struct Values {
    /// TOML file of settings (no secrets: those go in --secrets or the environment).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// TOML file of secrets (`imanage_password`, `imanage_client_secret`, `webhook_secret`, …).
    #[arg(long, value_name = "FILE")]
    secrets: Option<PathBuf>,
    /// Take each secret key set as MATTERLINK_<KEY> in the environment.
    #[arg(long)]
    secrets_from_env: bool,
}

impl Values {
    /// The settings and secrets given, each checked; `(key, value)` pairs.
    fn read(&self) -> Result<Vec<(String, String)>, String> {
        let mut out = Vec::new();
        if let Some(path) = &self.config {
            for (key, value) in read_toml(path)? {
                if is_secret(&key) {
                    return Err(format!(
                        "{}: `{key}` is a secret; put it in --secrets FILE or MATTERLINK_{} with --secrets-from-env, not in a settings file",
                        path.display(),
                        key.to_ascii_uppercase()
                    ));
                }
                out.push((key, value));
            }
        }
        if let Some(path) = &self.secrets {
            for (key, value) in read_toml(path)? {
                if !is_secret(&key) {
                    return Err(format!(
                        "{}: `{key}` is not a secret; put it in --config FILE",
                        path.display()
                    ));
                }
                out.push((key, value));
            }
        }
        if self.secrets_from_env {
            for (name, value) in std::env::vars() {
                let Some(key) = name.strip_prefix("MATTERLINK_") else {
                    continue;
                };
                let key = key.to_ascii_lowercase();
                if is_secret(&key) && !value.is_empty() {
                    out.push((key, value));
                }
            }
        }
        Ok(out)
    }
}

/// Refuses a key the component never reads (a typo would otherwise be kept and ignored).
fn known(path: &std::path::Path, key: &str) -> Result<(), String> {
    use matterlink_component::settings::CONFIG_KEYS;
    if CONFIG_KEYS.contains(&key) {
        return Ok(());
    }
    let near = CONFIG_KEYS
        .iter()
        .min_by_key(|k| strsim::levenshtein(k, key))
        .filter(|k| strsim::levenshtein(k, key) <= 3);
    Err(match near {
        Some(k) => format!(
            "{}: `{key}` is not a setting; did you mean `{k}`?",
            path.display()
        ),
        None => format!(
            "{}: `{key}` is not a setting matterlink reads",
            path.display()
        ),
    })
}

fn read_toml(path: &std::path::Path) -> Result<Vec<(String, String)>, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("reading {}: {e}", path.display()))?;
    // The parser's message may quote the file's text, which may hold a secret: say where only.
    let config = ConfigStore::from_toml(&text).map_err(|e| {
        let why = e
            .chain()
            .last()
            .map(ToString::to_string)
            .unwrap_or_default();
        let why = if why.starts_with("key ") {
            why
        } else {
            "not valid TOML".into()
        };
        format!("{}: {why}", path.display())
    })?;
    config
        .iter()
        .map(|(k, v)| {
            known(path, k)?;
            Ok((k.to_string(), v.to_string()))
        })
        .collect()
}

/// Checks what a tenant would run with, the way the host and the component will: the base URL
/// the allow-list accepts, shared secrets long enough and not another tenant's.
fn check_record(
    name: &TenantName,
    record: &TenantRecord,
    others: &[(TenantName, TenantRecord)],
) -> Result<(), String> {
    if let Some(base) = record.config.get("imanage_base_url") {
        matterlink_host::http::check_base_url(base).map_err(|e| e.to_string())?;
    }
    for key in SHARED_SECRETS {
        let Some(value) = record.secrets.get(*key) else {
            continue;
        };
        if value.chars().count() < MIN_SECRET_CHARS {
            return Err(format!(
                "`{key}` must have at least {MIN_SECRET_CHARS} characters (`matterlink secret` makes one)"
            ));
        }
        if let Some((other, _)) = others.iter().find(|(o, r)| {
            o != name
                && SHARED_SECRETS
                    .iter()
                    .any(|k| r.secrets.get(*k) == Some(value))
        }) {
            return Err(format!(
                "`{key}` is also tenant {other}'s; each tenant needs its own (`matterlink secret` makes one)"
            ));
        }
    }
    Ok(())
}

/// Runs a `tenant` subcommand.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    if g.tenant.is_some() {
        return Ok(usage(
            "`tenant` names its tenant as an argument; drop --tenant",
        ));
    }
    let runtime = load_host_runtime(g, false)?;
    let registry = Registry::new(runtime.key_value());
    let parse = |name: &str| TenantName::parse(name).map_err(|e| e.to_string());
    match a.command {
        Command::Add { name, values } => {
            let name = match parse(&name) {
                Ok(n) => n,
                Err(e) => return Ok(usage(e)),
            };
            let given = match values.read() {
                Ok(v) => v,
                Err(e) => return Ok(usage(e)),
            };
            let mut record = TenantRecord::default();
            for (k, v) in &given {
                record.set(k, v);
            }
            let made = if record.secrets.contains_key("webhook_secret") {
                None
            } else {
                let secret = super::secret::fresh()?;
                record.set("webhook_secret", &secret);
                Some(secret)
            };
            if let Err(e) = check_record(&name, &record, &registry.list().await?) {
                return Ok(usage(e));
            }
            match registry.create(&name, record).await {
                Err(RegistryError::Exists(n)) => {
                    return Ok(usage(format!(
                        "tenant {n} already exists (`matterlink tenant update` changes it)"
                    )))
                }
                other => other?,
            };
            let secrets: Vec<&str> = given
                .iter()
                .filter(|(k, _)| is_secret(k))
                .map(|(k, _)| k.as_str())
                .collect();
            println!(
                "added tenant {name}: {} settings, secrets set: {}",
                given.len() - secrets.len(),
                if secrets.is_empty() {
                    "none".to_string()
                } else {
                    secrets.join(", ")
                }
            );
            println!("webhooks: /t/{name}/v1/events (a running serve picks it up within a second)");
            if let Some(secret) = made {
                println!("webhook_secret (shown once; give it to the matter system): {secret}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Update {
            name,
            values,
            unset,
        } => {
            let name = match parse(&name) {
                Ok(n) => n,
                Err(e) => return Ok(usage(e)),
            };
            let given = match values.read() {
                Ok(v) => v,
                Err(e) => return Ok(usage(e)),
            };
            let Some(mut record) = registry.get(&name).await? else {
                return Ok(usage(format!("no tenant {name}")));
            };
            let change = |r: &mut TenantRecord| {
                for (k, v) in &given {
                    r.set(k, v);
                }
                for k in &unset {
                    r.set(k, "");
                }
            };
            change(&mut record);
            if let Err(e) = check_record(&name, &record, &registry.list().await?) {
                return Ok(usage(e));
            }
            let record = registry.update(&name, change).await?;
            println!(
                "updated tenant {name} (revision {}): {} keys set, {} removed",
                record.revision,
                given.len(),
                unset.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::List { json } => {
            let tenants = registry.list().await?;
            let mut saved = Vec::with_capacity(tenants.len());
            for (n, r) in &tenants {
                // One tenant's damaged document must not hide the others: said, and its row
                // shows the record (`tenant show` fails on it with the reason).
                saved.push(match console_saved(runtime.stores(), n, r).await {
                    Ok(saved) => saved,
                    Err(e) => {
                        eprintln!("warning: {e:#}");
                        None
                    }
                });
            }
            if json {
                let list: Vec<_> = tenants
                    .iter()
                    .zip(&saved)
                    .map(|((n, r), s)| shown(n, r, s.as_ref()))
                    .collect();
                println!("{}", serde_json::Value::Array(list));
                return Ok(ExitCode::SUCCESS);
            }
            if tenants.is_empty() {
                println!("no tenants (`matterlink tenant add NAME --config FILE` adds one)");
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "{:<24} {:<10} {:<9} imanage_base_url",
                "tenant", "library", "revision"
            );
            let mut marked = false;
            for ((n, r), s) in tenants.iter().zip(&saved) {
                // The library the tenant's events use: the console's, when its administrator
                // saved one there (it wins over the record), marked so.
                let library = match s.as_ref().and_then(|s| s.values.get("imanage_library")) {
                    Some(l) if !l.is_empty() => {
                        marked = true;
                        format!("{l}*")
                    }
                    _ => r
                        .config
                        .get("imanage_library")
                        .map_or("-".to_string(), String::clone),
                };
                println!(
                    "{:<24} {:<10} {:<9} {}",
                    n.as_str(),
                    library,
                    r.revision,
                    r.config.get("imanage_base_url").map_or("-", String::as_str)
                );
            }
            if marked {
                println!("* saved in the tenant's console, over its record (`tenant show NAME`)");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Show { name, json } => {
            let name = match parse(&name) {
                Ok(n) => n,
                Err(e) => return Ok(usage(e)),
            };
            let Some(record) = registry.get(&name).await? else {
                return Ok(usage(format!("no tenant {name}")));
            };
            let saved = console_saved(runtime.stores(), &name, &record).await?;
            if json {
                let shown = shown(&name, &record, saved.as_ref());
                println!("{}", serde_json::to_string_pretty(&shown)?);
                return Ok(ExitCode::SUCCESS);
            }
            println!("tenant {name} (revision {})", record.revision);
            for (k, v) in &record.config {
                println!("  {k} = {v}");
            }
            for k in record.secrets.keys() {
                println!("  {k} = ******** (set)");
            }
            if let Some(saved) = &saved {
                println!(
                    "saved in the console (version {}, by {}), over the record:",
                    saved.version, saved.saved_by
                );
                for (k, v) in console_values(saved) {
                    println!("  {k} = {v}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Remove { name } => {
            let name = match parse(&name) {
                Ok(n) => n,
                Err(e) => return Ok(usage(e)),
            };
            match registry.remove(&name, runtime.stores()).await {
                Ok(keys) => {
                    let entries = if keys == 1 { "entry" } else { "entries" };
                    println!("removed tenant {name} and its {keys} key-value {entries}");
                    Ok(ExitCode::SUCCESS)
                }
                Err(RegistryError::Unknown(n)) => Ok(usage(format!("no tenant {n}"))),
                Err(e) => Err(e.into()),
            }
        }
        Command::RotateSecret { name, key } => {
            let name = match parse(&name) {
                Ok(n) => n,
                Err(e) => return Ok(usage(e)),
            };
            if !SHARED_SECRETS.contains(&key.as_str()) {
                return Ok(usage(format!(
                    "--key must be one of {}",
                    SHARED_SECRETS.join(", ")
                )));
            }
            let secret = super::secret::fresh()?;
            let record = match registry.update(&name, |r| r.set(&key, &secret)).await {
                Err(RegistryError::Unknown(n)) => return Ok(usage(format!("no tenant {n}"))),
                other => other.context("rotating the secret")?,
            };
            println!(
                "tenant {name}: new {key} (revision {}; the old one stops working within a second):",
                record.revision
            );
            println!("{secret}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A tenant as `list --json` and `show --json` print it: settings, secrets by name only, and
/// what its console saved over them (`console`, its secrets only as set).
fn shown(name: &TenantName, r: &TenantRecord, saved: Option<&Saved>) -> serde_json::Value {
    serde_json::json!({
        "name": name.as_str(),
        "revision": r.revision,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "config": r.config,
        "secrets_set": r.secrets.keys().collect::<Vec<_>>(),
        "console": saved.map(|s| serde_json::json!({
            "version": s.version,
            "saved_by": s.saved_by,
            "saved_at": s.saved_at,
            "values": console_values(s).collect::<std::collections::BTreeMap<_, _>>(),
        })),
    })
}

/// What a tenant's administrator saved in the console (`console/settings` in the tenant's
/// component store): it wins over the tenant's record for every caller of the component, so
/// `list` and `show` say so. `None` when nothing was saved; a document that cannot be read is
/// an error, as it is to the component.
async fn console_saved(
    stores: &Stores,
    name: &TenantName,
    record: &TenantRecord,
) -> Result<Option<Saved>> {
    let stores = stores.for_tenant(&record.namespace(name));
    let Some(kv) = stores.get(COMPONENT_STORE) else {
        return Ok(None);
    };
    let Some(raw) = kv
        .get(COMPONENT_STORE, CONSOLE_SETTINGS)
        .await
        .map_err(|e| anyhow!("reading tenant {name}'s console settings: {e}"))?
    else {
        return Ok(None);
    };
    serde_json::from_slice(&raw.value)
        .map(Some)
        .with_context(|| format!("tenant {name}: the settings saved in the console cannot be read"))
}

/// The console-saved values as shown: a secret (the service account's password) only as set,
/// and a key saved empty as the default it falls back to.
fn console_values(saved: &Saved) -> impl Iterator<Item = (&str, &str)> {
    saved.values.iter().map(|(k, v)| {
        let shown = match v.as_str() {
            "" => "(unset: the default)",
            _ if is_secret(k) => "******** (set)",
            v => v,
        };
        (k.as_str(), shown)
    })
}
