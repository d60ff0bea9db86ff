//! What every measurement stands on: a sandbox on a loopback port, a runtime against it, and
//! matters to feed it.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use imanage_sandbox::{Faults, Sandbox, SandboxConfig};
use matterlink_host::domain::{Client, Matter};
use matterlink_host::keyvalue::runtime_config::{
    Access, BackendSpec, RuntimeConfig, Supplied, COMPONENT_STORE, HOST_STORE,
};
use matterlink_host::keyvalue::Backend;
use matterlink_host::{ConfigStore, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

pub async fn sandbox() -> Result<Sandbox> {
    Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await
}

pub fn set_latency(sandbox: &Sandbox, ms: u64) {
    sandbox.state().set_faults(Faults {
        latency_ms: ms,
        ..Faults::default()
    });
}

/// `matterlink demo`'s configuration, against `sandbox`.
pub fn config(sandbox: &Sandbox) -> ConfigStore {
    matterlink_host::demo::sandbox_config(&sandbox.base_url())
}

pub fn runtime(sandbox: &Sandbox, data_dir: &Path) -> Result<Runtime> {
    Runtime::new(options(sandbox, data_dir))
}

/// [`runtime`] with settings of its own on top of the demo's.
pub fn runtime_with(
    sandbox: &Sandbox,
    data_dir: &Path,
    settings: &[(&str, &str)],
) -> Result<Runtime> {
    let mut options = options(sandbox, data_dir);
    for (key, value) in settings {
        options.config.set(key, *value);
    }
    Runtime::new(options)
}

/// [`runtime_with`] with `kv` as both its key-value stores (the component's and the host's).
pub fn runtime_with_kv(
    sandbox: &Sandbox,
    data_dir: &Path,
    kv: Arc<dyn Backend>,
    settings: &[(&str, &str)],
) -> Result<Runtime> {
    let spec = BackendSpec::Supplied(Supplied(kv));
    let stores = RuntimeConfig::default()
        .with_store(COMPONENT_STORE, spec.clone(), Access::Component)
        .with_store(HOST_STORE, spec, Access::Host);
    let mut options = options(sandbox, data_dir);
    for (key, value) in settings {
        options.config.set(key, *value);
    }
    Runtime::with_stores(options, stores)
}

fn options<'a>(sandbox: &Sandbox, data_dir: &'a Path) -> RuntimeOptions<'a> {
    RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir,
        config: config(sandbox),
        allowed_base_url: None,
    }
}

/// A Litigation matter of client C-BENCH (one client and one type, as a firm's day has many
/// matters of few clients): `id` decides everything else.
pub fn matter(id: &str) -> Matter {
    Matter {
        id: id.to_string(),
        title: format!("Bench matter {id}"),
        matter_type: "Litigation".into(),
        clients: vec![Client {
            id: "C-BENCH".into(),
            name: "Benchmark Holdings Ltd".into(),
        }],
        file_reference: Some(format!("REF-{id}")),
        assigned_to: Some("JSMITH".into()),
        priority: Some("High".into()),
        status: Some("Active".into()),
        acting_user: Some("JSMITH".into()),
    }
}

/// The sandbox's library, as the component addresses it.
pub fn library_url(base_url: &str) -> String {
    format!(
        "{base_url}/work/api/v2/customers/{}/libraries/{}",
        imanage_sandbox::CUSTOMER_ID,
        imanage_sandbox::LIBRARY
    )
}

/// An access token of the sandbox's service account, signed in as the component signs in.
pub fn service_token(agent: &ureq::Agent, base_url: &str) -> Result<String> {
    let form = format!(
        "grant_type=password&username={}&password={}&client_id={}&client_secret={}",
        imanage_sandbox::SERVICE_USER,
        imanage_sandbox::SERVICE_PASSWORD,
        imanage_sandbox::CLIENT_ID,
        imanage_sandbox::CLIENT_SECRET
    );
    let grant: serde_json::Value = serde_json::from_slice(
        &agent
            .post(format!("{base_url}/auth/oauth2/token"))
            .content_type("application/x-www-form-urlencoded")
            .send(form)?
            .body_mut()
            .read_to_vec()?,
    )?;
    Ok(grant["access_token"]
        .as_str()
        .context("the sandbox gave no token")?
        .to_string())
}

/// Workspaces that predate matterlink, one per matter id (custom1 = C-BENCH, custom2 = id), made
/// through the sandbox's API as another system would, on `threads` keep-alive connections.
pub fn seed_legacy(base_url: &str, ids: &[String], threads: usize) -> Result<()> {
    let lib = library_url(base_url);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let token = service_token(&agent, base_url)?;
    let post = |path: &str, body: serde_json::Value| -> Result<()> {
        let r = agent
            .post(format!("{lib}{path}"))
            .header("x-auth-token", &token)
            .config()
            .http_status_as_error(false)
            .build()
            .content_type("application/json")
            .send(body.to_string())?;
        let status = r.status().as_u16();
        anyhow::ensure!(status < 300 || status == 409, "{path}: {status}");
        Ok(())
    };
    post(
        "/customs/custom1",
        serde_json::json!({"id": "C-BENCH", "description": "Benchmark Holdings Ltd", "enabled": true}),
    )?;
    std::thread::scope(|scope| -> Result<()> {
        let chunks: Vec<&[String]> = ids.chunks(ids.len().div_ceil(threads.max(1))).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let post = &post;
                scope.spawn(move || -> Result<()> {
                    for id in chunk {
                        post(
                            "/customs/custom2",
                            serde_json::json!({"id": id, "description": format!("Legacy {id}"),
                                "enabled": true, "parent": {"id": "C-BENCH"}}),
                        )?;
                        post(
                            "/workspaces",
                            serde_json::json!({"name": format!("Legacy {id}"),
                                "custom1": "C-BENCH", "custom2": id}),
                        )?;
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow::anyhow!("a seeding thread panicked"))??;
        }
        Ok(())
    })
}
