//! A platform written in Rust embeds matterlink through the host library's typed API.
//!
//! The platform supplies what the component needs: its own configuration values (here set in
//! code; a platform reads them from its own settings per firm) and its own key-value store (here
//! `PlatformStore`, standing in for the platform's database, which passes the same conformance
//! suite as the host's SQLite store). It then calls `on_matter_created` with the component's own
//! `Matter` type and gets the component's `Workspace` or its typed `Error` back.
//!
//! Run it against an in-process iManage sandbox:
//!
//! ```sh
//! cargo run -p matterlink --example embed
//! ```
//!
//! `cargo test -p matterlink --example embed` (part of `cargo test --workspace`) runs the same.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{anyhow, Result};
use async_trait::async_trait;
use imanage_sandbox::{Sandbox, SandboxConfig};
use matterlink_host::domain::{Client, Matter};
use matterlink_host::keyvalue::runtime_config::{Access, BackendSpec, RuntimeConfig, Supplied};
use matterlink_host::keyvalue::{counter, Backend, Error, Versioned};
use matterlink_host::{ConfigStore, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

/// The platform's own key-value store: in memory here, a table in the platform's database in
/// real life. Versions come from one counter, so a key deleted and written again never gets an
/// old version back (compare-and-swap relies on that).
#[derive(Default)]
struct PlatformStore {
    data: Mutex<BTreeMap<(String, String), Versioned>>,
    last_version: AtomicI64,
}

impl PlatformStore {
    fn next_version(&self) -> i64 {
        self.last_version.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn write(&self, store: &str, key: &str, value: Vec<u8>) {
        let version = self.next_version();
        let mut data = self.data.lock().expect("store lock");
        data.insert((store.into(), key.into()), Versioned { value, version });
    }
}

#[async_trait]
impl Backend for PlatformStore {
    async fn get(&self, store: &str, key: &str) -> Result<Option<Versioned>, Error> {
        let data = self.data.lock().expect("store lock");
        Ok(data.get(&(store.into(), key.into())).cloned())
    }

    async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), Error> {
        self.write(store, key, value.to_vec());
        Ok(())
    }

    async fn delete(&self, store: &str, key: &str) -> Result<(), Error> {
        let mut data = self.data.lock().expect("store lock");
        data.remove(&(store.into(), key.into()));
        Ok(())
    }

    async fn exists(&self, store: &str, key: &str) -> Result<bool, Error> {
        Ok(self.get(store, key).await?.is_some())
    }

    async fn list_keys(
        &self,
        store: &str,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<String>, Option<String>), Error> {
        let data = self.data.lock().expect("store lock");
        let mut keys: Vec<String> = data
            .keys()
            .filter(|(s, k)| s == store && cursor.is_none_or(|c| k.as_str() > c))
            .map(|(_, k)| k.clone())
            .take(limit + 1)
            .collect();
        let next = (keys.len() > limit).then(|| {
            keys.truncate(limit);
            keys.last().cloned().unwrap_or_default()
        });
        Ok((keys, next))
    }

    async fn swap(
        &self,
        store: &str,
        key: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, Error> {
        let mut data = self.data.lock().expect("store lock");
        let slot = (store.to_string(), key.to_string());
        if data.get(&slot).map(|v| v.version) != expected {
            return Ok(false);
        }
        let version = self.next_version();
        data.insert(
            slot,
            Versioned {
                value: value.to_vec(),
                version,
            },
        );
        Ok(true)
    }

    async fn increment(&self, store: &str, key: &str, delta: i64) -> Result<i64, Error> {
        let mut data = self.data.lock().expect("store lock");
        let slot = (store.to_string(), key.to_string());
        let now = counter::add(key, data.get(&slot).map(|v| v.value.as_slice()), delta)?;
        let version = self.next_version();
        data.insert(
            slot,
            Versioned {
                value: counter::encode(now),
                version,
            },
        );
        Ok(now)
    }

    async fn set_many(&self, store: &str, entries: &[(String, Vec<u8>)]) -> Result<(), Error> {
        for (key, value) in entries {
            self.write(store, key, value.clone());
        }
        Ok(())
    }

    async fn delete_many(&self, store: &str, keys: &[String]) -> Result<(), Error> {
        for key in keys {
            self.delete(store, key).await?;
        }
        Ok(())
    }
}

/// The firm's settings, as the platform keeps them: the keys the component reads.
fn firm_settings(imanage_base_url: &str) -> ConfigStore {
    let mut c = ConfigStore::default();
    c.set("imanage_base_url", imanage_base_url);
    c.set("imanage_library", imanage_sandbox::LIBRARY);
    c.set("imanage_client_id", imanage_sandbox::CLIENT_ID);
    c.set("imanage_client_secret", imanage_sandbox::CLIENT_SECRET);
    c.set("imanage_username", imanage_sandbox::SERVICE_USER);
    c.set("imanage_password", imanage_sandbox::SERVICE_PASSWORD);
    c.set("templates", r#"{"Litigation": "ACTIVE!100"}"#);
    c
}

/// Provisions one matter twice through the platform's own store; returns the workspace id.
async fn run(store: Arc<PlatformStore>) -> Result<String> {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await?;
    // The data directory holds only the compiled-component cache: the state is the platform's.
    let cache = tempfile::tempdir()?;
    let stores = RuntimeConfig::default().with_store(
        "default",
        BackendSpec::Supplied(Supplied(store.clone())),
        Access::Component,
    );
    let runtime = Runtime::with_stores(
        RuntimeOptions {
            component: EMBEDDED_COMPONENT,
            data_dir: cache.path(),
            config: firm_settings(&sandbox.base_url()),
            allowed_base_url: None,
        },
        stores,
    )?;
    let matter = Matter {
        id: "1042".into(),
        title: "Smith v Jones".into(),
        matter_type: "Litigation".into(),
        clients: vec![Client {
            id: "C-100".into(),
            name: "Smith Holdings Ltd".into(),
        }],
        file_reference: Some("LIT-2026-0042".into()),
        assigned_to: None,
        priority: None,
        status: None,
        acting_user: None,
    };
    // The outer `?` is the host's failure (the component did not load or trapped); the inner
    // result is the component's answer: a workspace, or a typed error to show the user.
    let workspace = runtime
        .on_matter_created(&matter)
        .await?
        .map_err(|e| anyhow!("{}: {}", e.kind(), e.message()))?;
    println!(
        "provisioned {} {:?}: {}",
        workspace.id, workspace.name, workspace.url
    );
    let again = runtime
        .on_matter_created(&matter)
        .await?
        .map_err(|e| anyhow!("{e}"))?;
    anyhow::ensure!(again.id == workspace.id, "a repeat made a second workspace");
    println!("the same matter again -> the same workspace {}", again.id);
    sandbox.shutdown().await;
    Ok(workspace.id)
}

fn main() -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(Arc::new(PlatformStore::default())))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use matterlink_host::keyvalue::conformance;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn provisions_once_and_keeps_the_link_in_the_platforms_store() {
        let store = Arc::new(PlatformStore::default());
        let id = run(store.clone()).await.unwrap();
        let link = store
            .get("default", "link/matter/1042")
            .await
            .unwrap()
            .expect("the link is in the platform's store");
        let link: serde_json::Value = serde_json::from_slice(&link.value).unwrap();
        assert_eq!(link["workspace"]["id"], id.as_str(), "{link}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_platforms_store_passes_the_backend_conformance_suite() {
        let store = Arc::new(PlatformStore::default());
        let connect = move || {
            let store = store.clone();
            async move { Ok(store as Arc<dyn Backend>) }
        };
        conformance::run_all(&connect).await;
    }
}
