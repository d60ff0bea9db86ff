//! `matterlink demo`: the whole product in one command on a fresh machine. Starts the iManage
//! sandbox in-process, configures a runtime against it, provisions a sample matter through the
//! real component, and shows what iManage now holds.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Result};
use imanage_sandbox::{Sandbox, SandboxConfig};
use matterlink_component::model::Matter;
use serde_json::Value;

use crate::config::ConfigStore;
use crate::runtime::{Runtime, RuntimeOptions};

/// The sample matter (tests/fixtures/matter-basic.json).
const SAMPLE_MATTER: &str = include_str!("../../tests/fixtures/matter-basic.json");

/// Configuration for a runtime pointed at a sandbox with its default seed.
pub fn sandbox_config(base_url: &str) -> ConfigStore {
    let mut c = ConfigStore::default();
    c.set("imanage_base_url", base_url);
    c.set("imanage_library", imanage_sandbox::LIBRARY);
    c.set("imanage_client_id", imanage_sandbox::CLIENT_ID);
    c.set("imanage_client_secret", imanage_sandbox::CLIENT_SECRET);
    c.set("imanage_username", imanage_sandbox::SERVICE_USER);
    c.set("imanage_password", imanage_sandbox::SERVICE_PASSWORD);
    c.set(
        "templates",
        r#"{"Litigation": "ACTIVE!100", "Conveyancing": "ACTIVE!200"}"#,
    );
    c.set(
        "field_map",
        r#"{"File Reference": "custom13", "Assigned To": "custom14", "Status": "custom15"}"#,
    );
    c
}

/// Runs the demo: a sandbox in-process, the sample matter provisioned twice (the second time
/// changes nothing), and what iManage then holds, written to `out`.
pub async fn run(component: &[u8], data_dir: &Path, out: &mut impl Write) -> Result<()> {
    let sandbox = Sandbox::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        SandboxConfig::default(),
    )
    .await?;
    let base = sandbox.base_url();
    let runtime = Runtime::new(RuntimeOptions {
        component,
        data_dir,
        config: sandbox_config(&base),
        allowed_base_url: None,
    })?;
    let matter: Matter = serde_json::from_str(SAMPLE_MATTER)?;
    writeln!(
        out,
        "matterlink demo: the real component against the iManage sandbox"
    )?;
    writeln!(
        out,
        "  sandbox   {base} (customer {}, library {})",
        imanage_sandbox::CUSTOMER_ID,
        imanage_sandbox::LIBRARY
    )?;
    writeln!(out, "  data dir  {}", data_dir.display())?;
    writeln!(
        out,
        "  matter    {} {:?} ({}), client {} {:?}\n",
        matter.id, matter.title, matter.matter_type, matter.clients[0].id, matter.clients[0].name
    )?;

    let state = sandbox.state();
    state.reset_request_count();
    let created = match runtime.on_matter_created(&matter).await? {
        Ok(ws) => ws,
        Err(e) => bail!("on-matter-created failed: {e}"),
    };
    let requests = state.request_count();
    let id = created.id.clone();
    writeln!(
        out,
        "on-matter-created -> workspace {id} {:?}",
        created.name
    )?;
    writeln!(out, "  link      {}", created.url)?;
    if let Some(ws) = state.workspace(&id) {
        let ws = serde_json::to_value(ws)?;
        writeln!(
            out,
            "  owner     {}   security {}",
            ws["owner"].as_str().unwrap_or("?"),
            ws["default_security"].as_str().unwrap_or("?")
        )?;
        let mut first = true;
        let custom = ws["custom"].as_object().cloned().unwrap_or_default();
        let mut fields: Vec<_> = custom.into_iter().collect();
        // custom2 before custom13: by number, not as text.
        fields.sort_by_key(|(k, _)| k.trim_start_matches("custom").parse::<u32>().unwrap_or(0));
        for (field, value) in fields {
            let value = value
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| value.to_string());
            let description = state
                .custom_values(&field)
                .into_iter()
                .find(|c| c.id == value)
                .map(|c| format!(" ({})", c.description))
                .unwrap_or_default();
            let label = if first { "fields" } else { "" };
            writeln!(out, "  {label:<9} {field} = {value}{description}")?;
            first = false;
        }
    }
    let folders = serde_json::to_value(state.folders_of(&id))?;
    let folders = folders.as_array().cloned().unwrap_or_default();
    writeln!(out, "  folders")?;
    print_tree(out, &folders, &id, 1)?;
    writeln!(out, "  iManage requests: {requests}\n")?;

    state.reset_request_count();
    let again = match runtime.on_matter_created(&matter).await? {
        Ok(ws) => ws,
        Err(e) => bail!("second on-matter-created failed: {e}"),
    };
    writeln!(
        out,
        "same event delivered again -> workspace {} (same: {}), iManage requests: {}",
        again.id,
        again.id == created.id,
        state.request_count()
    )?;
    writeln!(
        out,
        "\nTry it yourself: `matterlink sandbox`, then `matterlink call on-matter-created --matter tests/fixtures/matter-basic.json` (see README.md)."
    )?;
    sandbox.shutdown().await;
    Ok(())
}

fn print_tree(out: &mut impl Write, folders: &[Value], parent: &str, depth: usize) -> Result<()> {
    for f in folders
        .iter()
        .filter(|f| f["parent_id"].as_str() == Some(parent))
    {
        writeln!(
            out,
            "  {:indent$}{}",
            "",
            f["name"].as_str().unwrap_or("?"),
            indent = 8 + depth * 2
        )?;
        if let Some(id) = f["id"].as_str() {
            print_tree(out, folders, id, depth + 1)?;
        }
    }
    Ok(())
}
