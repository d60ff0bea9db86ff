//! iManage requests per provisioning against the floor: one create plus one request per folder
//! the workspace gets, with the template's structure cached (as after the first matter of a
//! type). The same provisioning in a dry run tells which of the requests are writes.

use anyhow::{bail, Result};
use matterlink_host::{Function, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

use crate::setup;

pub struct Requests {
    pub total: u64,
    pub folders: u64,
    /// Requests that change iManage, by what they change (from the dry run's plan).
    pub writes: Vec<(String, u64)>,
}

impl Requests {
    pub fn floor(&self) -> u64 {
        1 + self.folders
    }

    pub fn write_count(&self) -> u64 {
        self.writes.iter().map(|(_, n)| n).sum()
    }
}

/// What a planned request changes: `workspace`, `folder`, `custom2 value`, `security`, …
fn what(method: &str, path: &str) -> String {
    let tail: Vec<&str> = path.split('?').next().unwrap_or(path).rsplit('/').collect();
    match (method, tail.first().copied().unwrap_or_default()) {
        ("POST", "workspaces") => "workspace".into(),
        ("POST", "folders" | "subfolders") => "folder".into(),
        ("POST", "security") => "security".into(),
        (_, field) if field.starts_with("custom") => format!("{field} lookup value"),
        (m, _) => format!("{m} {}", tail.get(1).copied().unwrap_or_default()),
    }
}

pub async fn measure() -> Result<Requests> {
    let sandbox = setup::sandbox().await?;
    let dir = tempfile::tempdir()?;
    let rt = setup::runtime(&sandbox, dir.path())?;
    // One matter first: the token, the customer id, the template and the client's and type's
    // lookup values are then known, as for every matter after a firm's first.
    if let Err(e) = rt
        .call(Function::OnMatterCreated, setup::matter("R-0"))
        .await?
    {
        bail!("warm-up provisioning failed: {e}");
    }
    let state = sandbox.state();
    state.reset_request_count();
    let ws = match rt
        .call(Function::OnMatterCreated, setup::matter("R-1"))
        .await?
    {
        Ok(ws) => ws,
        Err(e) => bail!("provisioning failed: {e}"),
    };
    let total = state.request_count();
    let folders = state
        .folders_of(ws["id"].as_str().unwrap_or_default())
        .len() as u64;
    drop(rt);

    let dry = Runtime::new_dry_run(RuntimeOptions {
        component: EMBEDDED_COMPONENT,
        data_dir: dir.path(),
        config: setup::config(&sandbox),
        allowed_base_url: None,
    })?;
    let (outcome, plan) = dry
        .call_planned(Function::OnMatterCreated, setup::matter("R-2"))
        .await?;
    if let Err(e) = outcome {
        bail!("dry-run provisioning failed: {e}");
    }
    let mut writes: Vec<(String, u64)> = Vec::new();
    for p in &plan {
        let w = what(&p.method, &p.path);
        match writes.iter_mut().find(|(k, _)| *k == w) {
            Some((_, n)) => *n += 1,
            None => writes.push((w, 1)),
        }
    }
    Ok(Requests {
        total,
        folders,
        writes,
    })
}
