//! `matterlink demo`: the whole product in one command on a fresh machine. Starts the iManage
//! sandbox in-process, configures a runtime against it, provisions a sample matter through the
//! real component, and shows what iManage now holds; then an action created in the emulated
//! Actionstep reaches iManage through its hook, with its client's real name.

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
    actionstep(component, data_dir, &sandbox, out).await?;
    writeln!(
        out,
        "\nTry it yourself: `matterlink sandbox`, then `matterlink call on-matter-created --matter tests/fixtures/matter-basic.json` (see README.md)."
    )?;
    sandbox.shutdown().await;
    Ok(())
}

/// The demo's hook token (the sandbox's are published; so is this).
const DEMO_HOOK_TOKEN: &str = "demo-actionstep-hook-token-0123456789abcdef";

/// The Actionstep half: connect to the emulated Actionstep (the browser's part played by
/// following its redirect by hand), serve the hook route on a loopback port, install the hooks,
/// create an action in Actionstep, and show the workspace its hook made.
async fn actionstep(
    component: &[u8],
    data_dir: &Path,
    sandbox: &Sandbox,
    out: &mut impl Write,
) -> Result<()> {
    use imanage_sandbox::actionstep::{seed, CLIENT_ID, CLIENT_SECRET};
    let api = sandbox.actionstep_url();
    let mut config = sandbox_config(&sandbox.base_url());
    for (key, value) in [
        ("actionstep_token", DEMO_HOOK_TOKEN.to_string()),
        ("actionstep_client_id", CLIENT_ID.to_string()),
        ("actionstep_client_secret", CLIENT_SECRET.to_string()),
        (
            "actionstep_authorize_url",
            format!("{api}/api/oauth/authorize"),
        ),
        ("actionstep_token_url", format!("{api}/api/oauth/token")),
        ("actionstep_api_base", format!("{api}/api/")),
        (
            "actionstep_client_participant_type",
            seed::CLIENT_TYPE.to_string(),
        ),
    ] {
        config.set(key, &value);
    }
    let runtime = std::sync::Arc::new(Runtime::new(RuntimeOptions {
        component,
        data_dir,
        config,
        allowed_base_url: None,
    })?);
    writeln!(out, "\nActionstep (emulated at {api}):")?;

    // Connect: the sign-in URL, and the emulator's redirect (it consents at once) followed here.
    let redirect = "http://127.0.0.1:9/callback";
    let begun = match runtime.actionstep_connect_begin(redirect).await? {
        Ok(r) => r,
        Err(e) => bail!("actionstep-connect-begin failed: {e}"),
    };
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let consent = http.get(&begun.authorize_url).send().await?;
    let location = consent
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    let answer: std::collections::HashMap<String, String> = url::Url::parse(location)?
        .query_pairs()
        .into_owned()
        .collect();
    let code = answer.get("code").cloned().unwrap_or_default();
    let state = answer.get("state").cloned().unwrap_or_default();
    match runtime
        .actionstep_connect_complete(&code, &state, redirect)
        .await?
    {
        Ok(org) => writeln!(out, "  connect   connected to {org}")?,
        Err(e) => bail!("actionstep-connect-complete failed: {e}"),
    }

    // Serve the hook route, and install the hooks pointing at it.
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let public = format!("http://{}", listener.local_addr()?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(crate::serve::serve_with(
        runtime.clone(),
        listener,
        crate::serve::ServeOptions::default(),
        async {
            let _ = stopped.await;
        },
    ));
    let hooks = match runtime.actionstep_hooks_install(&public).await? {
        Ok(h) => h,
        Err(e) => bail!("actionstep-hooks-install failed: {e}"),
    };
    let events: Vec<&str> = hooks.iter().map(|h| h.event_name.as_str()).collect();
    writeln!(
        out,
        "  hooks     {} -> {public}/v1/actionstep/<redacted>",
        events.join(", ")
    )?;

    // A lawyer opens a matter in Actionstep.
    let made: Value = http
        .post(format!("{api}/admin/actions"))
        .json(
            &serde_json::json!({"name": "Brontë v Café", "actionType": seed::LITIGATION,
            "assignedTo": seed::JANE_SMITH, "clients": [seed::ZOE]}),
        )
        .send()
        .await?
        .json()
        .await?;
    writeln!(
        out,
        "  action    {} {:?} created in Actionstep; its ActionCreated hook was answered {}",
        made["action"]["id"],
        made["action"]["name"].as_str().unwrap_or("?"),
        made["deliveries"][0]["status"]
    )?;
    let state = sandbox.state();
    let Some(ws) = state
        .workspaces()
        .into_iter()
        .find(|w| w.name == "Brontë v Café")
    else {
        bail!("the hook made no workspace: {made}");
    };
    let text = |field: &str| ws.custom_text(field).unwrap_or_default();
    let client = text("custom1");
    let client_name = state
        .custom_values("custom1")
        .into_iter()
        .find(|v| v.id == client)
        .map(|v| v.description)
        .unwrap_or_default();
    writeln!(out, "  workspace {} {:?}", ws.id, ws.name)?;
    writeln!(out, "  client    custom1 = {client} ({client_name})")?;
    writeln!(
        out,
        "  type      custom3 = {}, template {}",
        text("custom3"),
        ws.name_value_pairs
            .get("TemplateId")
            .map(String::as_str)
            .unwrap_or("none")
    )?;
    writeln!(out, "  lawyer    custom14 = {}", text("custom14"))?;
    writeln!(
        out,
        "  hooks switched off by Actionstep: {}",
        sandbox.actionstep().switched_off_hooks().len()
    )?;
    let _ = stop.send(());
    let _ = server.await;
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
