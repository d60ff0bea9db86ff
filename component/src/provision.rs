//! on-matter-created: provision the matter's workspace, exactly once.
//!
//! validate → already linked? → claim → lookups → adopt a workspace with custom2 = matter id
//! (recovers a crash between create and link; looked for only when the matter's custom2 value
//! existed already) or create one → the template's security and name-value pairs with its
//! top-level folders, tabs and search folders, then each deeper level, every level's writes sent
//! together (at most `imanage_max_in_flight` at once) → My Matters → link → audit.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::claim::{self, Attempt, Claim};
use crate::fields::CustomField;
use crate::imanage::api::{
    client_matter_profile, created_folder, folder_create, workspace_security, Created, FolderNode,
    Parent,
};
use crate::imanage::template::{
    created_workspace_item, folder_members, workspace_item_create, workspace_pairs, ItemKind,
    Template, TemplateItem,
};
use crate::imanage::{my_matters, once, Call, Imanage};
use crate::keys;
use crate::links::{self, Link};
use crate::mapping::{self, Profile};
use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::settings::{OwnerPolicy, Settings};
use crate::{audit, validate};

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
    let result = provision(p, &s, m, &profile, owner, &claim);
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
    claim::wait_for(
        p,
        || format!("matter {matter_id} is being provisioned by another delivery; retry shortly"),
        || Ok(links::get(p, matter_id)?.map(|link| link.workspace)),
    )
}

fn provision(
    p: &dyn Platform,
    s: &Settings,
    m: &Matter,
    profile: &Profile,
    owner: Option<&str>,
    claim: &Claim<'_>,
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
    let creating = keys::creating(&m.id);
    // The workspace found is an earlier attempt's own when that attempt said it was creating
    // one and never stored the link: it failed or crashed after the create, perhaps before the
    // template's security was written. Found otherwise, it is a workspace made before matterlink,
    // whose security is the firm's and is left alone.
    let (ws, how, resumed) = match existing {
        Some(ws) => {
            let ours = p.kv_get(&creating)?.is_some();
            (ws, "adopted", ours)
        }
        None => {
            claim.renew()?;
            p.kv_set(&creating, json!({"since": p.now()}).to_string().as_bytes())?;
            (
                create(&api, m, profile, owner, template.as_ref())?,
                "created",
                false,
            )
        }
    };
    let workspace = api.workspace_from(&ws)?;
    // Made just now: nothing is in it yet, so its contents need not be listed.
    let fresh = how == "created";
    let settings_writes = match (fresh || resumed, template.as_ref()) {
        // Security and name-value pairs are set, not added: writing them again is harmless.
        (true, Some(t)) => template_settings(&workspace.id, t),
        _ => Vec::new(),
    };
    let document_folder_id =
        ensure_folders(&api, &ws, template.as_ref(), fresh, settings_writes, claim)?;
    let mut link = Link::new(&m.id, workspace, Some(document_folder_id), p.now(), how);
    if s.my_matters {
        link.my_matters = my_matters::users(&ws, m);
        for user in &link.my_matters {
            api.add_to_my_matters(user, &link.workspace.id)?;
        }
    }
    links::store(p, &link)?;
    // The link now says the workspace is this matter's. Were this delete lost, the marker would
    // only be read again by an attempt that finds no link, and every later one finds it.
    let _ = p.kv_delete(&creating);
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
    Ok(ws)
}

/// What a workspace made just now gets from its template besides containers: the template's
/// security and, as iManage's own "create a workspace from a template" does, its name-value
/// pairs and which template it was. They need only the workspace, so they go with its top-level
/// containers (see `ensure_folders`).
fn template_settings(workspace_id: &str, t: &Template) -> Vec<Call> {
    let mut writes = Vec::new();
    if !t.members.is_empty() {
        writes.push(workspace_security(
            workspace_id,
            None,
            &t.members,
            t.member_shape,
        ));
    }
    writes.push(workspace_pairs(workspace_id, &t.pairs_for_workspace()));
    writes
}

/// One container a workspace gets: its path of names from the workspace, and the template item
/// it copies (`None` for `root_folder` and `document_folder` when the template has no such
/// folder: plain document folders).
pub struct Planned<'t> {
    /// Names from the workspace down to the container.
    pub path: Vec<String>,
    /// The template's folder, tab or search folder it copies.
    pub item: Option<&'t TemplateItem>,
}

/// The containers a workspace gets: the template's (optional items and everything under them
/// skipped), then `root_folder` with `document_folder` beneath it.
pub fn folder_plan<'t>(template: Option<&'t Template>, s: &Settings) -> Vec<Planned<'t>> {
    let mut plan = Vec::new();
    if let Some(t) = template {
        walk(&t.items, &t.id, &mut Vec::new(), &mut plan);
    }
    for path in [
        vec![s.root_folder.clone()],
        vec![s.root_folder.clone(), s.document_folder.clone()],
    ] {
        if !plan.iter().any(|p| p.path == path) {
            plan.push(Planned { path, item: None });
        }
    }
    plan
}

fn walk<'t>(
    all: &'t [TemplateItem],
    parent: &str,
    path: &mut Vec<String>,
    plan: &mut Vec<Planned<'t>>,
) {
    for f in all.iter().filter(|f| f.parent_id == parent && !f.optional) {
        path.push(f.name.clone());
        if !plan.iter().any(|p| p.path == *path) {
            plan.push(Planned {
                path: path.clone(),
                item: Some(f),
            });
        }
        walk(all, &f.id, path, plan);
        path.pop();
    }
}

/// Creates every planned container that is missing, each as its kind, and returns the document
/// folder's id. A fresh workspace has none, so it skips the listing.
///
/// Level by level: a container is created only once its parent's answer has named the parent,
/// and the containers of one level go together (see `create_level`), with `first` — the
/// workspace's own settings, which need only the workspace — alongside the top level, and the
/// members of each folder that has its own alongside the level below it. So a workspace takes
/// one round trip per level of its template, plus one when its deepest level has members to
/// set, rather than one per request.
fn ensure_folders(
    api: &Imanage<'_>,
    ws: &Value,
    template: Option<&Template>,
    fresh: bool,
    first: Vec<Call>,
    claim: &Claim<'_>,
) -> Result<String> {
    let ws_id = ws.get("id").and_then(Value::as_str).unwrap_or_default();
    let plan = folder_plan(template, api.settings());
    let mut existing = if fresh {
        Vec::new()
    } else {
        api.contents_of(ws_id)?
    };
    // Each path's id, once it exists; the workspace's is the empty path's.
    let mut ids: BTreeMap<Vec<String>, String> = BTreeMap::new();
    ids.insert(Vec::new(), ws_id.to_string());
    let mut writes = first;
    let depth = plan.iter().map(|p| p.path.len()).max().unwrap_or(0);
    for level in 1..=depth {
        let mut missing = Vec::new();
        for path in paths_at(&plan, level) {
            let parent = ids
                .get(&path[..level - 1])
                .cloned()
                .ok_or_else(|| Error::Unavailable(format!("no parent for {}", path.join("/"))))?;
            let name = &path[level - 1];
            match child(&existing, &parent, name) {
                Some(id) => {
                    ids.insert(path, id);
                }
                None => {
                    // A prefix of a planned path that is not planned itself is a plain folder.
                    let item = plan.iter().find(|p| p.path == path).and_then(|p| p.item);
                    missing.push(Missing { path, parent, item });
                }
            }
        }
        if missing.is_empty() && writes.is_empty() {
            continue;
        }
        // The claim may have gone stale while iManage was slow, and another delivery may be
        // listing this workspace to carry on: stop rather than create beside it.
        claim.renew()?;
        let made = create_level(
            api,
            ws,
            &missing,
            std::mem::take(&mut writes),
            &mut existing,
        )?;
        for (m, node) in missing.into_iter().zip(made) {
            if let Some(security) = m.item.and_then(|i| i.security.as_ref()) {
                if !security.members.is_empty() {
                    writes.push(folder_members(
                        &node.id,
                        &security.members,
                        security.member_shape,
                    ));
                }
            }
            ids.insert(m.path, node.id.clone());
            existing.push(node);
        }
    }
    if !writes.is_empty() {
        claim.renew()?;
        create_level(api, ws, &[], writes, &mut existing)?;
    }
    let s = api.settings();
    Ok(ids
        .get(&[s.root_folder.clone(), s.document_folder.clone()][..])
        .cloned()
        .unwrap_or_default())
}

/// The distinct paths `level` names long that the plan reaches, in the plan's order.
fn paths_at(plan: &[Planned<'_>], level: usize) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = Vec::new();
    for planned in plan.iter().filter(|p| p.path.len() >= level) {
        let path = &planned.path[..level];
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_vec());
        }
    }
    paths
}

/// A container to create: its path, its parent's id and the template item it copies.
struct Missing<'t> {
    path: Vec<String>,
    parent: String,
    item: Option<&'t TemplateItem>,
}

impl Missing<'_> {
    fn name(&self) -> &str {
        self.path.last().map(String::as_str).unwrap_or_default()
    }

    fn kind(&self) -> ItemKind {
        self.item.map_or(ItemKind::Folder, |i| i.kind)
    }

    /// Where iManage puts it: tabs and search folders are made at the top of the workspace,
    /// where public clients make them, and so are looked for there.
    fn under<'a>(&'a self, ws_id: &'a str) -> &'a str {
        match self.kind() {
            ItemKind::Folder => &self.parent,
            ItemKind::Tab | ItemKind::SearchFolder => ws_id,
        }
    }
}

/// Creates one level's containers, each as its kind, together with `writes` (settings that are
/// safe to repeat), and returns the containers in `missing`'s order. Nothing is created twice
/// (see `once`): after an unavailable answer the workspace's containers are listed again, once
/// for all the uncertain ones, and only those still absent are created again.
fn create_level(
    api: &Imanage<'_>,
    ws: &Value,
    missing: &[Missing<'_>],
    writes: Vec<Call>,
    existing: &mut Vec<FolderNode>,
) -> Result<Vec<FolderNode>> {
    let ws_id = ws.get("id").and_then(Value::as_str).unwrap_or_default();
    let bodies: Vec<Value> = missing
        .iter()
        .map(|m| item_body(ws, m.name(), m.item))
        .collect();
    // The settings first (a new workspace's security before its folders, as when sent one
    // after another), then the containers: `calls[settings + k]` creates `missing[k]`.
    let settings = writes.len();
    let mut calls = writes;
    for (m, body) in missing.iter().zip(&bodies) {
        calls.push(match m.kind() {
            ItemKind::Tab | ItemKind::SearchFolder => workspace_item_create(ws_id, m.kind(), body)?,
            ItemKind::Folder if m.parent == ws_id => folder_create(Parent::Workspace(ws_id), body),
            ItemKind::Folder => folder_create(Parent::Folder(&m.parent), body),
        });
    }
    let container = |i: usize| {
        i.checked_sub(settings)
            .and_then(|k| missing.get(k).map(|m| (k, m)))
    };
    let mut listed = None;
    let made = once::write_all_once(
        api,
        calls.len(),
        |i| i >= settings,
        |members| {
            let batch: Vec<Call> = members.iter().map(|&i| calls[i].clone()).collect();
            members
                .iter()
                .zip(api.call_all_ok(&batch))
                .map(|(&i, answer)| {
                    let Some((k, m)) = container(i) else {
                        return answer.map(|_| None);
                    };
                    let node = match m.kind() {
                        ItemKind::Folder => created_folder(answer, m.name(), &m.parent),
                        kind => created_workspace_item(answer, kind, ws_id, &bodies[k]),
                    };
                    node.map(Some)
                })
                .collect()
        },
        |uncertain| {
            let nodes = api.contents_of(ws_id)?;
            let found = uncertain
                .iter()
                .map(|&i| {
                    let (_, m) = container(i)?;
                    child(&nodes, m.under(ws_id), m.name()).map(|id| {
                        Some(FolderNode {
                            id,
                            name: m.name().into(),
                            parent_id: m.under(ws_id).into(),
                        })
                    })
                })
                .collect();
            listed = Some(nodes);
            Ok(found)
        },
    )?;
    if let Some(nodes) = listed {
        *existing = nodes;
    }
    // Recorded under the parent the plan walks, so that what the template nests under a tab
    // made at the top is still found by its path.
    Ok(missing
        .iter()
        .zip(made.into_iter().skip(settings))
        .filter_map(|(m, node)| {
            node.map(|node| FolderNode {
                parent_id: m.parent.clone(),
                ..node
            })
        })
        .collect())
}

fn child(existing: &[FolderNode], parent: &str, name: &str) -> Option<String> {
    existing
        .iter()
        .find(|f| f.parent_id == parent && f.name == name)
        .map(|f| f.id.clone())
}

/// The body that creates a template item (or, without one, a plain document folder) in `ws`.
/// Every folder carries the workspace's client and matter, under the template folder's own
/// profile (see `TemplateItem::folder_profile`).
fn item_body(ws: &Value, name: &str, item: Option<&TemplateItem>) -> Value {
    let Some(item) = item else {
        let mut body =
            json!({"name": name, "default_security": "inherit", "view_type": "document"});
        let profile = client_matter_profile(ws);
        if profile.is_object() {
            body["profile"] = profile;
        }
        return body;
    };
    let mut body = json!({"name": name});
    if !item.description.is_empty() {
        body["description"] = json!(item.description);
    }
    match item.kind {
        ItemKind::SearchFolder => {
            if let Some(search) = item.searchprofile_for(ws) {
                body["searchprofile"] = search;
            }
        }
        ItemKind::Tab | ItemKind::Folder => {
            let security = item
                .security
                .as_ref()
                .map_or("inherit", |s| s.default_security.as_str());
            body["default_security"] = json!(security);
        }
    }
    if item.kind == ItemKind::Folder {
        body["view_type"] = json!(if item.email { "email" } else { "document" });
        let profile = item.folder_profile(ws);
        if !profile.is_empty() {
            body["profile"] = Value::Object(profile);
        }
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claim::Attempt;
    use crate::imanage::template::ItemSecurity;
    use crate::platform::{HttpRequest, HttpResponse, Method};
    use crate::security::{AccessLevel, Member, TrusteeType};
    use crate::testing::FakePlatform;
    use std::cell::{Cell, RefCell};
    use std::rc::Rc;

    fn item(id: &str, name: &str, parent: &str, optional: bool) -> TemplateItem {
        TemplateItem {
            id: id.into(),
            name: name.into(),
            parent_id: parent.into(),
            kind: ItemKind::Folder,
            optional,
            description: String::new(),
            email: false,
            profile: Default::default(),
            searchprofile: None,
            security: None,
        }
    }

    #[test]
    fn plan_skips_optional_subtrees_and_ends_with_the_document_folder() {
        let s = Settings::load(&FakePlatform::configured()).unwrap();
        let t = Template {
            shape: crate::imanage::template::TEMPLATE_SHAPE,
            id: "T".into(),
            default_security: None,
            members: vec![],
            member_shape: Default::default(),
            name_value_pairs: Default::default(),
            items: vec![
                item("1", "Correspondence", "T", false),
                item("2", "Pleadings", "T", false),
                item("3", "Filed", "2", false),
                item("4", "Billing", "T", true),
                item("5", "Old bills", "4", false),
                item("6", "Documents", "T", false),
            ],
        };
        let plan = folder_plan(Some(&t), &s);
        let shown: Vec<String> = plan.iter().map(|p| p.path.join("/")).collect();
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
        // The template's own Documents folder is copied as it is; the document folder is plain.
        assert_eq!(plan[3].item.map(|i| i.id.as_str()), Some("6"));
        assert!(plan[4].item.is_none());
        assert_eq!(folder_plan(None, &s).len(), 2);
    }

    /// A small iManage behind the fake platform: sign-in, discovery, and the containers made
    /// in one workspace, each request answered as it comes.
    #[derive(Default)]
    struct FakeImanage {
        /// (id, name, parent id, kind) of every container made.
        nodes: RefCell<Vec<(String, String, String, ItemKind)>>,
        /// Requests answered so far: the index in `sent` of the next one.
        seen: Cell<usize>,
        /// Which request (its index in `sent`) created each id.
        created_by: RefCell<BTreeMap<String, usize>>,
        /// Names whose next create commits and then answers 500.
        fail_after_commit: RefCell<Vec<String>>,
        /// Names whose next create answers 503 without committing.
        fail_before_commit: RefCell<Vec<String>>,
        /// Names whose next create is refused (400).
        refuse: RefCell<Vec<String>>,
    }

    fn ok(body: Value) -> HttpResponse {
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }

    fn status(code: u16) -> HttpResponse {
        HttpResponse {
            status: code,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    fn take(list: &RefCell<Vec<String>>, name: &str) -> bool {
        let mut list = list.borrow_mut();
        let at = list.iter().position(|n| n == name);
        at.map(|i| list.remove(i)).is_some()
    }

    impl FakeImanage {
        fn answer(&self, r: &HttpRequest) -> HttpResponse {
            let index = self.seen.get();
            self.seen.set(index + 1);
            if r.url.contains("/oauth2/token") {
                return ok(
                    json!({"access_token": "a", "token_type": "bearer", "expires_in": 5400}),
                );
            }
            if r.url.ends_with("/api") {
                return ok(json!({"data": {"user": {"customer_id": 1, "id": "svc"},
                    "work": {"libraries": [{"alias": "ACTIVE"}]}}}));
            }
            let path = r.url.split("/libraries/ACTIVE").nth(1).unwrap_or_default();
            let path = path.split('?').next().unwrap_or_default();
            let parts: Vec<&str> = path.split('/').skip(1).collect();
            let listed = |kind: ItemKind| {
                let nodes: Vec<Value> = self
                    .nodes
                    .borrow()
                    .iter()
                    .filter(|n| n.3 == kind)
                    .map(|(id, name, parent, _)| json!({"id": id, "name": name, "parent_id": parent}))
                    .collect();
                ok(json!({"data": nodes}))
            };
            match (r.method, parts.as_slice()) {
                (Method::Get, ["folders"]) => listed(ItemKind::Folder),
                (Method::Get, ["workspaces", _, "tabs"]) => listed(ItemKind::Tab),
                (Method::Get, ["workspaces", _, "search-folders"]) => {
                    listed(ItemKind::SearchFolder)
                }
                (Method::Post, ["workspaces" | "folders", parent, what]) if *what != "security" => {
                    let kind = match *what {
                        "tabs" => ItemKind::Tab,
                        "search-folders" => ItemKind::SearchFolder,
                        _ => ItemKind::Folder,
                    };
                    let body: Value = serde_json::from_slice(&r.body).unwrap();
                    let name = body["name"].as_str().unwrap().to_string();
                    if take(&self.refuse, &name) {
                        return status(400);
                    }
                    if take(&self.fail_before_commit, &name) {
                        return status(503);
                    }
                    let id = format!("ACTIVE!{}", 1000 + self.nodes.borrow().len());
                    self.nodes.borrow_mut().push((
                        id.clone(),
                        name.clone(),
                        parent.to_string(),
                        kind,
                    ));
                    self.created_by.borrow_mut().insert(id.clone(), index);
                    if take(&self.fail_after_commit, &name) {
                        return status(500);
                    }
                    ok(json!({"data": {"id": id}}))
                }
                (Method::Post, [_, _, "security"])
                | (Method::Patch, [_, _, "name-value-pairs"]) => ok(json!({})),
                _ => status(404),
            }
        }

        /// Every container as its path of names from the workspace, sorted.
        fn paths(&self) -> Vec<String> {
            let nodes = self.nodes.borrow();
            let path_of = |id: &str| {
                let mut names = Vec::new();
                let mut at = id.to_string();
                while at != WS {
                    let n = nodes.iter().find(|n| n.0 == at).unwrap();
                    names.insert(0, n.1.clone());
                    at = n.2.clone();
                }
                names.join("/")
            };
            let mut paths: Vec<String> = nodes.iter().map(|n| path_of(&n.0)).collect();
            paths.sort_unstable();
            paths
        }

        fn id_of(&self, name: &str) -> String {
            let nodes = self.nodes.borrow();
            nodes.iter().find(|n| n.1 == name).unwrap().0.clone()
        }
    }

    const WS: &str = "ACTIVE!9";

    /// Litigation as the sandbox seeds it: folders, one with its own members, a tab with a
    /// folder in it and a search folder; the settings add Documents/Generated Documents.
    fn litigation() -> Template {
        let mut t = Template {
            shape: crate::imanage::template::TEMPLATE_SHAPE,
            id: "T".into(),
            default_security: Some("private".into()),
            members: vec![Member {
                id: "LITIGATION".into(),
                trustee_type: TrusteeType::Group,
                access_level: AccessLevel::ReadWrite,
            }],
            member_shape: Default::default(),
            name_value_pairs: Default::default(),
            items: vec![
                item("1", "Correspondence", "T", false),
                item("2", "Pleadings", "T", false),
                item("3", "Filed", "2", false),
                item("4", "Drafts", "2", false),
                item("5", "Evidence", "T", false),
                item("6", "Court", "T", false),
                item("7", "Hearings", "6", false),
                item("8", "Orders", "T", false),
            ],
        };
        t.items[4].security = Some(ItemSecurity {
            default_security: "private".into(),
            members: vec![Member {
                id: "JSMITH".into(),
                trustee_type: TrusteeType::User,
                access_level: AccessLevel::FullAccess,
            }],
            member_shape: Default::default(),
        });
        t.items[5].kind = ItemKind::Tab;
        t.items[7].kind = ItemKind::SearchFolder;
        t
    }

    const LITIGATION_PATHS: [&str; 10] = [
        "Correspondence",
        "Court",
        "Court/Hearings",
        "Documents",
        "Documents/Generated Documents",
        "Evidence",
        "Orders",
        "Pleadings",
        "Pleadings/Drafts",
        "Pleadings/Filed",
    ];

    /// Runs `ensure_folders` for workspace `WS` against `fake`, as provisioning does.
    fn ensure(p: &FakePlatform, fake: &Rc<FakeImanage>, fresh: bool) -> Result<String> {
        let answering = fake.clone();
        p.respond_with(move |r| answering.answer(r));
        let s = Settings::load(p).unwrap();
        let api = Imanage::new(p, &s);
        let Attempt::Taken(claim) = claim::try_take(p, "M-1", 600).unwrap() else {
            panic!("claimed already");
        };
        let t = litigation();
        let first = if fresh {
            template_settings(WS, &t)
        } else {
            Vec::new()
        };
        let ws = json!({"id": WS, "custom1": "C-1", "custom2": "M-1"});
        let made = ensure_folders(&api, &ws, Some(&t), fresh, first, &claim);
        claim.release().unwrap();
        made
    }

    /// The `send_all` round (index in `p.batches`) request `i` went in; `None` when it was
    /// sent alone.
    fn batch_of(p: &FakePlatform, i: usize) -> Option<usize> {
        p.batches.borrow().iter().position(|b| b.contains(&i))
    }

    /// Indices in `sent` of the writes whose URL contains `needle` and whose body names `name`
    /// (any body for `""`).
    fn writes(p: &FakePlatform, needle: &str, name: &str) -> Vec<usize> {
        let named = format!("\"name\":\"{name}\"");
        p.sent
            .borrow()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.method != Method::Get && r.url.contains(needle))
            .filter(|(_, r)| name.is_empty() || String::from_utf8_lossy(&r.body).contains(&named))
            .map(|(i, _)| i)
            .collect()
    }

    fn listings(p: &FakePlatform) -> usize {
        let sent = p.sent.borrow();
        sent.iter()
            .filter(|r| r.method == Method::Get && r.url.contains("/folders?"))
            .count()
    }

    #[test]
    fn a_workspace_is_made_level_by_level_each_level_together() {
        let p = FakePlatform::configured();
        let fake = Rc::new(FakeImanage::default());
        let document_folder = ensure(&p, &fake, true).unwrap();
        assert_eq!(fake.paths(), LITIGATION_PATHS);
        assert_eq!(document_folder, fake.id_of("Generated Documents"));

        // Two round trips: the workspace's security and pairs with its six top-level
        // containers, then the four below them with Evidence's own members.
        let sizes: Vec<usize> = p.batches.borrow().iter().map(|b| b.len()).collect();
        assert_eq!(sizes, vec![8, 5]);
        assert!(sizes
            .iter()
            .all(|n| *n <= crate::settings::DEFAULT_MAX_IN_FLIGHT));

        // With one in flight at a time (`imanage_max_in_flight = 1`), the same requests go one
        // after another, in the same order.
        let one = FakePlatform::configured();
        one.set_config("imanage_max_in_flight", "1");
        ensure(&one, &Rc::new(FakeImanage::default()), true).unwrap();
        assert!(one.batches.borrow().is_empty());
        let urls = |p: &FakePlatform| -> Vec<String> {
            p.sent.borrow().iter().map(|r| r.url.clone()).collect()
        };
        assert_eq!(urls(&one), urls(&p));
        assert_eq!(listings(&p), 0, "a fresh workspace has nothing to look for");

        // A child is never sent before its parent's answer: every request naming a container
        // goes in a later round than the request that made it.
        let sent = p.sent.borrow();
        let created_by = fake.created_by.borrow();
        let mut dependents = 0;
        for (j, r) in sent.iter().enumerate() {
            for (id, &i) in created_by.iter() {
                if r.url.contains(&format!("/folders/{id}/")) {
                    dependents += 1;
                    let (parent, child) = (batch_of(&p, i), batch_of(&p, j));
                    assert!(parent.is_some() && child.is_some());
                    assert!(parent < child, "{} went with its parent's create", r.url);
                }
            }
        }
        assert_eq!(
            dependents, 5,
            "Filed, Drafts, Hearings, Generated Documents, Evidence's members"
        );
        // The workspace's own settings went in the first round.
        let security = writes(&p, &format!("/workspaces/{WS}/security"), "");
        assert_eq!(batch_of(&p, security[0]), Some(0));
        assert_eq!(
            batch_of(&p, writes(&p, "/name-value-pairs", "")[0]),
            Some(0)
        );
    }

    #[test]
    fn a_create_that_failed_after_committing_in_a_batch_is_found_not_made_again() {
        let p = FakePlatform::configured();
        let fake = Rc::new(FakeImanage::default());
        // Two of the first round commit and then fail; one fails without committing.
        *fake.fail_after_commit.borrow_mut() = vec!["Pleadings".into(), "Court".into()];
        *fake.fail_before_commit.borrow_mut() = vec!["Evidence".into()];
        ensure(&p, &fake, true).unwrap();
        assert_eq!(
            fake.paths(),
            LITIGATION_PATHS,
            "each container exactly once"
        );
        assert_eq!(
            writes(&p, "/folders", "Pleadings").len(),
            1,
            "found, not made again"
        );
        assert_eq!(
            writes(&p, "/tabs", "Court").len(),
            1,
            "found, not made again"
        );
        assert_eq!(
            writes(&p, "/folders", "Evidence").len(),
            2,
            "not found, so made again after a wait"
        );
        // One listing for the three uncertain creates, and one wait.
        assert_eq!(listings(&p), 1);
        assert_eq!(p.slept.borrow().len(), 1);
        // What was found is a parent like any other.
        let pleadings = fake.id_of("Pleadings");
        assert_eq!(
            writes(&p, &format!("/folders/{pleadings}/subfolders"), "").len(),
            2
        );
        let court = fake.id_of("Court");
        assert_eq!(
            writes(&p, &format!("/folders/{court}/subfolders"), "Hearings").len(),
            1
        );
    }

    #[test]
    fn a_later_attempt_makes_only_what_is_missing_under_what_exists() {
        let p = FakePlatform::configured();
        let fake = Rc::new(FakeImanage::default());
        // An earlier attempt made two top-level folders and one below, then stopped.
        for (id, name, parent) in [
            ("ACTIVE!500", "Pleadings", WS),
            ("ACTIVE!501", "Filed", "ACTIVE!500"),
            ("ACTIVE!502", "Correspondence", WS),
        ] {
            let node = (id.into(), name.into(), parent.into(), ItemKind::Folder);
            fake.nodes.borrow_mut().push(node);
        }
        ensure(&p, &fake, false).unwrap();
        assert_eq!(fake.paths(), LITIGATION_PATHS);
        assert_eq!(
            writes(&p, "/folders/ACTIVE!500/subfolders", "").len(),
            1,
            "Drafts only"
        );
        assert!(writes(&p, "/name-value-pairs", "").is_empty());
    }

    #[test]
    fn a_refused_member_fails_the_level_and_the_next_attempt_finishes_it() {
        let p = FakePlatform::configured();
        let fake = Rc::new(FakeImanage::default());
        *fake.refuse.borrow_mut() = vec!["Evidence".into()];
        let e = ensure(&p, &fake, true).unwrap_err();
        assert!(matches!(e, Error::Rejected(_)), "{e:?}");
        assert_eq!(
            fake.paths().len(),
            5,
            "the rest of the first round was made"
        );
        // The next attempt lists what exists and makes the rest, each once.
        ensure(&p, &fake, false).unwrap();
        assert_eq!(fake.paths(), LITIGATION_PATHS);
    }

    #[test]
    fn bodies_carry_each_kind_as_it_is() {
        let ws = json!({"id": "A!9", "custom1": "C-100", "custom2": "1042"});
        let mut email = item("1", "Correspondence", "T", false);
        email.email = true;
        assert_eq!(
            item_body(&ws, "Correspondence", Some(&email)),
            json!({"name": "Correspondence", "default_security": "inherit", "view_type": "email",
                "profile": {"custom1": "C-100", "custom2": "1042"}})
        );
        let mut search = item("2", "Orders", "T", false);
        search.kind = ItemKind::SearchFolder;
        search.searchprofile = Some(json!({"class": "ORDER", "custom2": "%workspace_value%"}));
        assert_eq!(
            item_body(&ws, "Orders", Some(&search)),
            json!({"name": "Orders", "searchprofile": {"class": "ORDER", "custom2": "1042"}})
        );
        let mut tab = item("3", "Court", "T", false);
        tab.kind = ItemKind::Tab;
        assert_eq!(
            item_body(&ws, "Court", Some(&tab)),
            json!({"name": "Court", "default_security": "inherit"})
        );
    }

    #[test]
    fn folder_profiles_merge_the_workspace_and_the_template() {
        let ws = json!({"id": "A!9", "custom1": "C-100", "custom2": "1042", "custom3": "LIT"});
        // A plain folder (root and document folder) carries the client and matter only.
        assert_eq!(
            item_body(&ws, "Documents", None)["profile"],
            json!({"custom1": "C-100", "custom2": "1042"})
        );
        // The template's own values win where it sets them; its placeholders take the
        // workspace's value, and a placeholder the workspace cannot fill is left out.
        let mut pleadings = item("1", "Pleadings", "T", false);
        pleadings.profile =
            json!({"class": "PLEAD", "custom2": "SHARED", "custom3": "%workspace_value%",
            "custom4": "%workspace_value%"})
            .as_object()
            .cloned()
            .unwrap();
        assert_eq!(
            item_body(&ws, "Pleadings", Some(&pleadings))["profile"],
            json!({"class": "PLEAD", "custom1": "C-100", "custom2": "SHARED", "custom3": "LIT"})
        );
        // A workspace without client or matter (none mapped) gives plain folders no profile.
        assert!(item_body(&json!({"id": "A!9"}), "Documents", None)
            .get("profile")
            .is_none());
    }
}
