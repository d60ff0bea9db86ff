//! on-matter-created: provision the matter's workspace, exactly once.
//!
//! validate → already linked? → claim → lookups → adopt a workspace with custom2 = matter id
//! (recovers a crash between create and link; looked for only when the matter's custom2 value
//! existed already) or create one → folders → link → audit.

use serde_json::{json, Value};

use crate::claim::{self, Attempt};
use crate::fields::CustomField;
use crate::imanage::api::{client_matter_profile, Created, FolderNode, Parent, Template};
use crate::imanage::{once, Imanage};
use crate::links::{self, Link};
use crate::mapping::{self, Profile};
use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::settings::{OwnerPolicy, Settings};
use crate::{audit, validate};

/// How long a delivery waits for a concurrent delivery of the same matter to finish.
const WAIT_FOR_OTHER_MS: u64 = 15_000;
const POLL_MS: u64 = 250;

/// on-matter-created: provisions the matter's workspace, or returns the one already linked.
/// Idempotent, and safe against concurrent deliveries of the same matter.
pub fn on_matter_created(p: &dyn Platform, m: &Matter) -> Result<Workspace> {
    validate::matter(m, true)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    let profile = mapping::profile(m, &s)?;
    let owner = owner(m, &s)?;
    if let Some(link) = links::get(p, &m.id)? {
        return Ok(link.workspace);
    }
    if !s.auto_create {
        return Err(Error::Skipped(format!(
            "auto_create is off, so matter {} was not provisioned; link it with resolve-legacy or a workspace URL",
            m.id
        )));
    }
    let destination = s.destination(m);
    if s.require_template && !destination.templates.contains_key(&m.matter_type) {
        return Err(Error::NotConfigured(format!(
            "matter type {:?} has no template in library {}, and `require_template` is set",
            m.matter_type, destination.library
        )));
    }
    let claim = match claim::try_take(p, &m.id, s.claim_ttl_s)? {
        Attempt::Taken(c) => c,
        Attempt::Busy => return wait_for_other(p, &m.id),
    };
    let result = provision(p, &s, m, &profile, owner);
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    let detail = match &result {
        Ok(link) => format!("workspace {} ({})", link.workspace.id, link.how),
        Err(e) => e.message().to_string(),
    };
    // Release before auditing: a failed audit write must not leave the matter claimed.
    claim.release()?;
    audit::record(p, "provision", &m.id, outcome, detail)?;
    result.map(|l| l.workspace)
}

/// The workspace's owner as the matter decides it: the acting user, or `None` for the account
/// matterlink is connected as (known only once iManage is asked, so found at provisioning).
fn owner<'m>(m: &'m Matter, s: &Settings) -> Result<Option<&'m str>> {
    match s.owner_policy {
        OwnerPolicy::ServiceAccount => Ok(None),
        OwnerPolicy::CurrentUser => m
            .acting_user
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .map(Some)
            .ok_or_else(|| {
                Error::InvalidMatter(format!(
                    "owner_policy is current_user, but matter {} names no acting_user",
                    m.id
                ))
            }),
    }
}

/// Another delivery of this matter holds the claim: wait for its link rather than fail.
fn wait_for_other(p: &dyn Platform, matter_id: &str) -> Result<Workspace> {
    let mut waited = 0;
    while waited < WAIT_FOR_OTHER_MS {
        p.sleep_ms(POLL_MS);
        waited += POLL_MS;
        if let Some(link) = links::get(p, matter_id)? {
            return Ok(link.workspace);
        }
    }
    Err(Error::Unavailable(format!(
        "matter {matter_id} is being provisioned by another delivery; retry shortly"
    )))
}

fn provision(
    p: &dyn Platform,
    s: &Settings,
    m: &Matter,
    profile: &Profile,
    owner: Option<&str>,
) -> Result<Link> {
    // The library `library_routes` picks, with its own templates; lookups, search and create
    // all happen there, and the link remembers it for every later call.
    let destination = s.destination(m);
    let api = Imanage::in_library(p, s, destination.library);
    let template = match destination.templates.get(&m.matter_type) {
        Some(id) => Some(api.template(id)?),
        None => None,
    };
    let owner = match owner {
        Some(user) => user.to_string(),
        None => api.account()?,
    };
    let owner = owner.as_str();
    let mut fresh_matter_value = false;
    for l in &profile.lookups {
        if l.field == CustomField::MATTER {
            let made = api.create_custom(l.field, &l.id, &l.description, l.parent.as_deref())?;
            fresh_matter_value = made == Created::Yes;
        } else {
            api.ensure_custom(l.field, &l.id, &l.description, l.parent.as_deref())?;
        }
    }
    // A workspace can name only lookup values that exist, so when the matter's value was made
    // just now, no earlier attempt (nor anyone before matterlink) can have left a workspace for
    // it: the search for one would be a request that always finds nothing.
    let existing = if fresh_matter_value {
        None
    } else {
        find_existing(&api, m)?
    };
    let (ws, how) = match existing {
        Some(ws) => (ws, "adopted"),
        None => (
            create(&api, m, profile, owner, template.as_ref())?,
            "created",
        ),
    };
    let workspace = api.workspace_from(&ws)?;
    let fresh = how == "created";
    let folder_profile = client_matter_profile(&ws);
    let document_folder_id = ensure_folders(
        &api,
        &workspace.id,
        template.as_ref(),
        fresh,
        &folder_profile,
    )?;
    let link = Link::new(&m.id, workspace, Some(document_folder_id), p.now(), how);
    links::store(p, &link)?;
    Ok(link)
}

/// A workspace already carrying this matter id: made by an earlier attempt that did not get
/// as far as storing its link.
fn find_existing(api: &Imanage<'_>, m: &Matter) -> Result<Option<Value>> {
    let client = &m.clients[0].id;
    let found = api.search_workspaces(&[("custom1", client), ("custom2", &m.id)])?;
    Ok(found.into_iter().next())
}

fn create(
    api: &Imanage<'_>,
    m: &Matter,
    profile: &Profile,
    owner: &str,
    template: Option<&Template>,
) -> Result<Value> {
    let mut body = json!({
        "name": api.settings().workspace_name.render(m),
        "owner": owner,
    });
    profile.insert_into(&mut body);
    if let Some(sec) = template.and_then(|t| t.default_security.as_deref()) {
        body["default_security"] = json!(sec);
    }
    let ws = once::create_once(
        api,
        || api.create_workspace(&body),
        || find_existing(api, m),
    )
    .inspect_err(|e| {
        if matches!(e, Error::Rejected(_)) {
            // The profile was refused: perhaps a remembered lookup value is gone. Check them
            // again next time rather than fail the same way forever.
            let values: Vec<_> = profile
                .lookups
                .iter()
                .map(|l| (l.field, l.id.as_str(), l.parent.as_deref()))
                .collect();
            let _ = api.forget_customs(&values);
        }
    })?;
    if let Some(t) = template {
        if !t.members.is_empty() {
            let id = ws.get("id").and_then(Value::as_str).unwrap_or_default();
            api.set_security(id, None, &t.members, t.member_shape)?;
        }
    }
    Ok(ws)
}

/// The folder paths a workspace gets: the template's (optional folders and everything under
/// them skipped), then `root_folder` with `document_folder` beneath it.
pub fn folder_plan(template: Option<&Template>, s: &Settings) -> Vec<Vec<String>> {
    let mut plan = Vec::new();
    if let Some(t) = template {
        walk(&t.folders, &t.id, &mut Vec::new(), &mut plan);
    }
    for path in [
        vec![s.root_folder.clone()],
        vec![s.root_folder.clone(), s.document_folder.clone()],
    ] {
        if !plan.contains(&path) {
            plan.push(path);
        }
    }
    plan
}

fn walk(all: &[FolderNode], parent: &str, path: &mut Vec<String>, plan: &mut Vec<Vec<String>>) {
    for f in all.iter().filter(|f| f.parent_id == parent && !f.optional) {
        path.push(f.name.clone());
        if !plan.contains(path) {
            plan.push(path.clone());
        }
        walk(all, &f.id, path, plan);
        path.pop();
    }
}

/// Creates every planned folder that is missing and returns the document folder's id.
/// A fresh workspace has no folders, so it skips the listing: one request per folder.
fn ensure_folders(
    api: &Imanage<'_>,
    ws_id: &str,
    template: Option<&Template>,
    fresh: bool,
    profile: &Value,
) -> Result<String> {
    let plan = folder_plan(template, api.settings());
    let mut existing = if fresh {
        Vec::new()
    } else {
        api.folders_of(ws_id)?
    };
    let mut document_folder = String::new();
    for path in &plan {
        let mut parent = ws_id.to_string();
        for name in path {
            parent = match child(&existing, &parent, name) {
                Some(id) => id,
                None => {
                    let node = create_folder(api, ws_id, &parent, name, profile, &mut existing)?;
                    existing.push(node.clone());
                    node.id
                }
            };
        }
        if path.len() == 2
            && path[0] == api.settings().root_folder
            && path[1] == api.settings().document_folder
        {
            document_folder = parent;
        }
    }
    Ok(document_folder)
}

fn child(existing: &[FolderNode], parent: &str, name: &str) -> Option<String> {
    existing
        .iter()
        .find(|f| f.parent_id == parent && f.name == name)
        .map(|f| f.id.clone())
}

/// Creates one folder, never twice (see `once`): after a failure the workspace's folders are
/// listed again, and the folder is created only if it is still absent.
fn create_folder(
    api: &Imanage<'_>,
    ws_id: &str,
    parent: &str,
    name: &str,
    profile: &Value,
    existing: &mut Vec<FolderNode>,
) -> Result<FolderNode> {
    let target = || {
        if parent == ws_id {
            Parent::Workspace(ws_id)
        } else {
            Parent::Folder(parent)
        }
    };
    let mut listed = None;
    let made = once::create_once(
        api,
        || api.create_folder(target(), name, profile),
        || {
            let nodes = api.folders_of(ws_id)?;
            let found = child(&nodes, parent, name).map(|id| FolderNode {
                id,
                name: name.into(),
                parent_id: parent.into(),
                optional: false,
            });
            listed = Some(nodes);
            Ok(found)
        },
    )?;
    if let Some(nodes) = listed {
        *existing = nodes;
    }
    Ok(made)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn node(id: &str, name: &str, parent: &str, optional: bool) -> FolderNode {
        FolderNode {
            id: id.into(),
            name: name.into(),
            parent_id: parent.into(),
            optional,
        }
    }

    #[test]
    fn plan_skips_optional_subtrees_and_ends_with_the_document_folder() {
        let s = Settings::load(&FakePlatform::configured()).unwrap();
        let t = Template {
            id: "T".into(),
            default_security: None,
            members: vec![],
            member_shape: Default::default(),
            folders: vec![
                node("1", "Correspondence", "T", false),
                node("2", "Pleadings", "T", false),
                node("3", "Filed", "2", false),
                node("4", "Billing", "T", true),
                node("5", "Old bills", "4", false),
                node("6", "Documents", "T", false),
            ],
        };
        let plan = folder_plan(Some(&t), &s);
        let shown: Vec<String> = plan.iter().map(|p| p.join("/")).collect();
        assert_eq!(
            shown,
            vec![
                "Correspondence",
                "Pleadings",
                "Pleadings/Filed",
                "Documents",
                "Documents/Generated Documents"
            ]
        );
        assert_eq!(folder_plan(None, &s).len(), 2);
    }
}
