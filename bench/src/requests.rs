//! iManage requests per provisioning against the floor: the writes iManage requires for the
//! matter's workspace, counted from the template the matter's type is provisioned from (read
//! from the component's own cache of it, with the component's own plan of containers), with
//! the template's structure cached (as after the first matter of a type). The same
//! provisioning in a dry run tells which of the requests are writes.

use anyhow::{bail, Context, Result};
use matterlink_component::imanage::template::Template;
use matterlink_component::model::Matter;
use matterlink_component::settings::Settings;
use matterlink_host::keyvalue::runtime_config::COMPONENT_STORE;
use matterlink_host::{Function, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};

use crate::native::NativePlatform;
use crate::setup;

pub struct Requests {
    pub total: u64,
    /// The floor, by what each write makes.
    pub floor: Vec<(String, u64)>,
    /// Requests that change iManage, by what they change (from the dry run's plan).
    pub writes: Vec<(String, u64)>,
}

impl Requests {
    pub fn floor(&self) -> u64 {
        self.floor.iter().map(|(_, n)| n).sum()
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
        ("POST", "tabs") => "tab".into(),
        ("POST", "search-folders") => "search folder".into(),
        ("POST" | "PATCH" | "PUT", "security" | "members") => {
            format!("{} security", tail_owner(&tail))
        }
        ("POST" | "PATCH" | "PUT", "name-value-pairs") => "name-value pairs".into(),
        (_, field) if field.starts_with("custom") => format!("{field} lookup value"),
        (m, _) => format!("{m} {}", tail.get(1).copied().unwrap_or_default()),
    }
}

/// `workspace` or `folder`, from `…/workspaces/{id}/security` or `…/folders/{id}/security`.
fn tail_owner(tail: &[&str]) -> &'static str {
    match tail.get(2).copied() {
        Some("folders") => "folder",
        _ => "workspace",
    }
}

/// The writes iManage requires to provision `m` from a warm cache: the matter's own lookup value
/// (new with every matter; the client's is known), the workspace, the template's security and
/// name-value pairs on it, one per container the component plans from the template, and the
/// security of every container that has its own.
fn floor(settings: &Settings, template: Option<&Template>, m: &Matter) -> Vec<(String, u64)> {
    let plan = matterlink_component::provision::folder_plan(template, settings);
    let own_security = plan
        .iter()
        .filter_map(|p| p.item)
        .filter(|i| i.security.as_ref().is_some_and(|s| !s.members.is_empty()))
        .count() as u64;
    let mut floor = vec![
        ("custom2 lookup value".to_string(), 1),
        ("workspace".to_string(), 1),
    ];
    if let Some(t) = template {
        floor.push((
            "workspace security".into(),
            u64::from(!t.members.is_empty()),
        ));
        floor.push((
            "name-value pairs".into(),
            u64::from(!t.pairs_for_workspace().is_empty()),
        ));
    }
    floor.push(("containers in the plan".into(), plan.len() as u64));
    floor.push(("folder security".into(), own_security));
    if settings.my_matters {
        let users = [m.acting_user.as_deref(), m.assigned_to.as_deref()];
        floor.push((
            "My Matters entries".into(),
            users.iter().flatten().count() as u64,
        ));
    }
    floor.retain(|(_, n)| *n > 0);
    floor
}

/// The settings as the component reads them, and the template `m` is made from as the component
/// cached it in `rt`'s store (after a provisioning of that type).
pub async fn cached_template(
    rt: &Runtime,
    sandbox: &imanage_sandbox::Sandbox,
    m: &Matter,
) -> Result<(Settings, Option<Template>)> {
    let settings_dir = tempfile::tempdir()?;
    let settings = Settings::load(&NativePlatform::new(
        setup::config(sandbox),
        settings_dir.path(),
    )?)
    .map_err(|e| anyhow::anyhow!("settings: {e}"))?;
    let destination = settings.destination(m);
    let template = match destination.templates.get(&m.matter_type) {
        None => None,
        Some(id) => {
            let key = matterlink_component::keys::template(destination.library, id);
            let raw = rt
                .key_value()
                .get(COMPONENT_STORE, &key)
                .await?
                .context("the template is not cached after a provisioning")?;
            Some(Template::from_cache(&raw.value).context("the cached template is unreadable")?)
        }
    };
    Ok((settings, template))
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
    let matter = setup::matter("R-1");
    if let Err(e) = rt.call(Function::OnMatterCreated, matter.clone()).await? {
        bail!("provisioning failed: {e}");
    }
    let total = state.request_count();

    let (settings, template) = cached_template(&rt, &sandbox, &matter).await?;
    let floor = floor(&settings, template.as_ref(), &matter);
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
        floor,
        writes,
    })
}
