//! Templates as iManage shapes them (docs/imanage-api.md, "Templates"): folders, tabs and search
//! folders, each folder's profile and its own security, and the template's name-value pairs. A
//! folder is optional when its name-value pairs say so (`IMCC_IsOptional`); its class and
//! subclass are there too (`iMan___8`, `iMan___9`). Reading one costs a request per folder, so
//! the result is cached in key-value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::api::{client_matter_profile, seg, FolderNode};
use super::client::{Answer, Call};
use super::security::{MemberShape, SecurityRead};
use super::{json, Imanage};
use crate::keys;
use crate::model::{Error, Result};
use crate::platform::Method;
use crate::security::Member;
use crate::transport::{status_error, Retry};

/// The cached `Template`'s shape. A cache entry of another shape (or of none: the flat folder
/// list cached before tabs and search folders were read) is read again from iManage. 3: members
/// (the template's and its folders') are parsed `Member`s with the shape they were read in,
/// where 2 kept iManage's raw entries.
pub const TEMPLATE_SHAPE: u32 = 3;

/// The name-value pair that records which template a workspace was made from.
pub const TEMPLATE_ID_PAIR: &str = "TemplateId";

/// A template folder profile value that stands for the new workspace's own value of the field.
pub const WORKSPACE_VALUE: &str = "%workspace_value%";

/// What a template item is; each is created as what it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// A document folder (or an email folder: see `TemplateItem::email`).
    Folder,
    /// A tab: holds folders, at the top of a workspace.
    Tab,
    /// A saved search (`searchprofile`).
    SearchFolder,
}

/// A template folder's own security, when it does not inherit the workspace's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSecurity {
    /// `private`, `view` or `public`.
    pub default_security: String,
    /// The member entries.
    pub members: Vec<Member>,
    /// The member shape the library answered with, and so is written back in.
    pub member_shape: MemberShape,
}

/// One folder, tab or search folder of a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateItem {
    /// Its id in the template.
    pub id: String,
    /// Its name.
    pub name: String,
    /// The id of the template, folder or tab it is in.
    pub parent_id: String,
    /// What it is.
    pub kind: ItemKind,
    /// Left out of new workspaces (`IMCC_IsOptional`), with everything beneath it.
    pub optional: bool,
    /// Its description, copied.
    pub description: String,
    /// An email folder (`view_type: email`).
    pub email: bool,
    /// Class, subclass and custom fields; a value may be `WORKSPACE_VALUE`.
    pub profile: Map<String, Value>,
    /// A search folder's search, as the template holds it.
    pub searchprofile: Option<Value>,
    /// Its own security, when it has one.
    pub security: Option<ItemSecurity>,
}

impl TemplateItem {
    /// `profile` with every `WORKSPACE_VALUE` replaced by the workspace's own value of that
    /// field; a field the workspace has no value for is left out rather than sent as the
    /// placeholder, which iManage would take as a value.
    pub fn profile_for(&self, workspace: &Value) -> Map<String, Value> {
        resolve(&self.profile, workspace)
    }

    /// The profile a new folder made from this item carries: the workspace's client and matter
    /// (so that search and retention see the folder as the matter's), overlaid with the
    /// template's own profile, resolved, which wins where it sets a field.
    pub fn folder_profile(&self, workspace: &Value) -> Map<String, Value> {
        let mut profile = match client_matter_profile(workspace) {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        profile.extend(self.profile_for(workspace));
        profile
    }

    /// `searchprofile`, resolved like `profile_for`.
    pub fn searchprofile_for(&self, workspace: &Value) -> Option<Value> {
        match &self.searchprofile {
            Some(Value::Object(m)) => Some(Value::Object(resolve(m, workspace))),
            other => other.clone(),
        }
    }
}

fn resolve(profile: &Map<String, Value>, workspace: &Value) -> Map<String, Value> {
    profile
        .iter()
        .filter_map(|(field, value)| {
            if value.as_str() != Some(WORKSPACE_VALUE) {
                return Some((field.clone(), value.clone()));
            }
            workspace
                .get(field)
                .filter(|v| !v.is_null())
                .map(|v| (field.clone(), v.clone()))
        })
        .collect()
}

/// What provisioning copies from a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Template {
    /// `TEMPLATE_SHAPE` when cached.
    pub shape: u32,
    /// The template workspace's id.
    pub id: String,
    /// The default security a new workspace gets.
    pub default_security: Option<String>,
    /// The security entries copied onto a new workspace.
    pub members: Vec<Member>,
    /// The member shape the template's library answered with, and so is written back in.
    pub member_shape: MemberShape,
    /// The template's name-value pairs, copied onto a new workspace with `TemplateId`.
    pub name_value_pairs: BTreeMap<String, String>,
    /// Its folders, tabs and search folders, parents before children.
    pub items: Vec<TemplateItem>,
}

impl Template {
    /// A cached template, `None` when the entry is unreadable or of another shape.
    pub fn from_cache(raw: &[u8]) -> Option<Template> {
        serde_json::from_slice::<Template>(raw)
            .ok()
            .filter(|t| t.shape == TEMPLATE_SHAPE)
    }

    /// The name-value pairs a workspace made from this template gets.
    pub fn pairs_for_workspace(&self) -> BTreeMap<String, String> {
        let mut pairs = self.name_value_pairs.clone();
        pairs.insert(TEMPLATE_ID_PAIR.into(), self.id.clone());
        pairs
    }
}

/// A name-value pair answer: `[{"name", "value"}]` (what public clients read) or an object of
/// names to values; values that are not text are kept as their JSON.
pub fn read_pairs(v: &Value) -> BTreeMap<String, String> {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    match json::data(v) {
        Value::Array(items) => items
            .iter()
            .filter_map(|p| {
                let name = json::str_field(p, "name")?;
                Some((
                    name.to_string(),
                    p.get("value").map(text).unwrap_or_default(),
                ))
            })
            .collect(),
        Value::Object(m) => m.iter().map(|(k, v)| (k.clone(), text(v))).collect(),
        _ => BTreeMap::new(),
    }
}

/// `read` when every member entry could be read. A member whose kind cannot be told is refused
/// before anything is written: copying it as a user when it is a group (or the reverse) would
/// grant the wrong trustee; `what` names whose security it is.
fn readable(read: SecurityRead, what: &str) -> Result<SecurityRead> {
    if read.unknown_kind.is_empty() && read.unreadable == 0 {
        return Ok(read);
    }
    Err(Error::NotConfigured(format!(
        "{what}'s security lists members matterlink cannot read safely ({} of unknown kind: {}; {} otherwise unreadable); nothing was created",
        read.unknown_kind.len(),
        read.unknown_kind.join(", "),
        read.unreadable
    )))
}

/// `IMCC_IsOptional` as public provisioning clients read it: a boolean-ish text.
fn is_true(value: Option<&String>) -> bool {
    value.is_some_and(|v| {
        matches!(
            v.trim().to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "on" | "y"
        )
    })
}

/// A template as the library lists it: what the set-up page offers for a matter type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSummary {
    /// Its workspace id, e.g. `ACTIVE!200`: what `templates` maps a matter type to.
    pub id: String,
    /// Its name.
    pub name: String,
}

impl Imanage<'_> {
    /// The library's templates (`GET …/templates`, every page), in iManage's order (not
    /// sorted here: a sort of its own would cost the component more than the list is worth).
    pub fn templates(&self) -> Result<Vec<TemplateSummary>> {
        let mut all = Vec::new();
        for t in self.list_all("/templates", &[])? {
            if let Some(id) = json::str_field(&t, "id") {
                all.push(TemplateSummary {
                    id: id.to_string(),
                    name: json::str_field(&t, "name").unwrap_or(id).to_string(),
                });
            }
        }
        Ok(all)
    }

    /// A template's security, name-value pairs, folders, tabs and search folders, cached in
    /// key-value: templates change rarely, and re-reading one per matter would cost more
    /// requests than provisioning itself.
    pub fn template(&self, id: &str) -> Result<Template> {
        let key = keys::template(self.library(), id);
        if let Some(t) = self
            .p()
            .kv_get(&key)?
            .and_then(|raw| Template::from_cache(&raw))
        {
            return Ok(t);
        }
        let Some(ws) = self.get_workspace(id)? else {
            return Err(Error::NotConfigured(format!(
                "`templates` names {id:?}, which is not a workspace or template in library {}",
                self.library()
            )));
        };
        let security = self.read_security(id)?.ok_or_else(|| {
            Error::NotConfigured(format!("template {id} has no security to read"))
        })?;
        let security = readable(security, &format!("template {id}"))?;
        let template = Template {
            shape: TEMPLATE_SHAPE,
            id: id.to_string(),
            default_security: security
                .security
                .default_security
                .clone()
                .or_else(|| json::str_field(&ws, "default_security").map(String::from)),
            members: security.security.members,
            member_shape: security.shape,
            name_value_pairs: self.pairs(&format!("/workspaces/{}/name-value-pairs", seg(id)))?,
            items: self.template_items(id)?,
        };
        let raw = serde_json::to_vec(&template).map_err(|e| Error::Unavailable(e.to_string()))?;
        self.p().kv_set(&key, &raw)?;
        Ok(template)
    }

    /// Name-value pairs at `path`; none when iManage has none there (404).
    fn pairs(&self, path: &str) -> Result<BTreeMap<String, String>> {
        match self.call(Method::Get, path, None, Retry::Safe)? {
            Answer::Ok(v) => Ok(read_pairs(&v)),
            Answer::Status(404, _) => Ok(BTreeMap::new()),
            Answer::Status(s, why) => Err(status_error(Method::Get, path, s, &why)),
        }
    }

    /// The raw objects of a listing that an older server may not have (404, 405, 501: none),
    /// every page of them.
    fn listing(&self, path: &str) -> Result<Vec<Value>> {
        Ok(self.list_all_if_any(path, &[])?.unwrap_or_default())
    }

    /// Every item of a template: its folders (`GET /folders?container_id`), tabs and search
    /// folders (their own listings, which decide the kind whether or not the folder listing
    /// shows them too), with each folder's name-value pairs and, where it has its own, security.
    fn template_items(&self, id: &str) -> Result<Vec<TemplateItem>> {
        let folders = self.list_all("/folders", &[("container_id", id)])?;
        let tabs = self.listing(&format!("/workspaces/{}/tabs", seg(id)))?;
        let searches = self.listing(&format!("/workspaces/{}/search-folders", seg(id)))?;
        let id_of = |v: &Value| json::str_field(v, "id").unwrap_or_default().to_string();
        let kind_of = |fid: &str| {
            if searches.iter().any(|v| id_of(v) == fid) {
                ItemKind::SearchFolder
            } else if tabs.iter().any(|v| id_of(v) == fid) {
                ItemKind::Tab
            } else {
                ItemKind::Folder
            }
        };
        let mut raw: Vec<(ItemKind, &Value)> = Vec::new();
        for v in folders.iter().chain(&tabs).chain(&searches) {
            let fid = id_of(v);
            if fid.is_empty() {
                return Err(Error::Unavailable(format!(
                    "iManage listed an item of template {id} without an id"
                )));
            }
            if !raw.iter().any(|(_, seen)| id_of(seen) == fid) {
                raw.push((kind_of(&fid), v));
            }
        }
        raw.into_iter()
            .map(|(kind, v)| self.template_item(kind, v, id))
            .collect()
    }

    fn template_item(&self, kind: ItemKind, v: &Value, template_id: &str) -> Result<TemplateItem> {
        let s = |k| json::str_field(v, k).unwrap_or_default().to_string();
        let id = s("id");
        let pairs = self.pairs(&format!("/folders/{}/name-value-pairs", seg(&id)))?;
        let mut profile = v
            .get("profile")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        for (pair, field) in [("iMan___8", "class"), ("iMan___9", "subclass")] {
            if let Some(value) = pairs.get(pair).filter(|v| !v.is_empty()) {
                profile.insert(field.into(), json!(value));
            }
        }
        let security = match json::str_field(v, "default_security") {
            Some(own) if kind != ItemKind::SearchFolder && own != "inherit" => {
                let what = format!("template folder {id}");
                let sec = self
                    .security_at(&format!("/folders/{}/security", seg(&id)))?
                    .ok_or_else(|| {
                        Error::NotConfigured(format!("{what} has no security to read"))
                    })?;
                let read = readable(sec, &what)?;
                Some(ItemSecurity {
                    default_security: own.to_string(),
                    members: read.security.members,
                    member_shape: read.shape,
                })
            }
            _ => None,
        };
        let parent_id = match s("parent_id") {
            p if p.is_empty() => template_id.to_string(),
            p => p,
        };
        Ok(TemplateItem {
            name: s("name"),
            parent_id,
            kind,
            optional: is_true(pairs.get("IMCC_IsOptional")),
            description: s("description"),
            email: json::str_field(v, "view_type") == Some("email"),
            profile,
            searchprofile: v.get("searchprofile").filter(|p| !p.is_null()).cloned(),
            security,
            id,
        })
    }

    /// Every container of a workspace: folders, tabs and search folders (three listings; for
    /// recovering after a failed create and for workspaces made by an earlier attempt).
    pub fn contents_of(&self, workspace_id: &str) -> Result<Vec<FolderNode>> {
        let mut nodes = self.folders_of(workspace_id)?;
        for path in [
            format!("/workspaces/{}/tabs", seg(workspace_id)),
            format!("/workspaces/{}/search-folders", seg(workspace_id)),
        ] {
            for v in self.listing(&path)? {
                let s = |k| json::str_field(&v, k).unwrap_or_default().to_string();
                if !s("id").is_empty() && !nodes.iter().any(|n| n.id == s("id")) {
                    let parent_id = match s("parent_id") {
                        p if p.is_empty() => workspace_id.to_string(),
                        p => p,
                    };
                    nodes.push(FolderNode {
                        id: s("id"),
                        name: s("name"),
                        parent_id,
                    });
                }
            }
        }
        Ok(nodes)
    }

    /// Creates a tab or search folder at the top of a workspace (where public clients create
    /// them). Not retried: `provision` re-lists and carries on.
    pub fn create_workspace_item(
        &self,
        workspace_id: &str,
        kind: ItemKind,
        body: &Value,
    ) -> Result<FolderNode> {
        let call = workspace_item_create(workspace_id, kind, body)?;
        created_workspace_item(self.run(&call), kind, workspace_id, body)
    }

    /// Sets a folder's member entries (its default security was set when it was made), written
    /// in `shape` (the library's). Safe to repeat: levels are set, not toggled.
    pub fn set_folder_members(
        &self,
        folder_id: &str,
        include: &[Member],
        shape: MemberShape,
    ) -> Result<()> {
        self.run(&folder_members(folder_id, include, shape))?;
        Ok(())
    }

    /// Sets name-value pairs of a workspace, keeping its others. Safe to repeat.
    pub fn set_workspace_pairs(
        &self,
        workspace_id: &str,
        pairs: &BTreeMap<String, String>,
    ) -> Result<()> {
        self.run(&workspace_pairs(workspace_id, pairs))?;
        Ok(())
    }
}

fn item_collection(kind: ItemKind) -> Result<&'static str> {
    match kind {
        ItemKind::Tab => Ok("tabs"),
        ItemKind::SearchFolder => Ok("search-folders"),
        ItemKind::Folder => Err(Error::Unavailable(
            "a folder is created with create_folder_with".into(),
        )),
    }
}

/// The request that creates a tab or search folder at the top of a workspace. Never repeated:
/// see `once`.
pub fn workspace_item_create(workspace_id: &str, kind: ItemKind, body: &Value) -> Result<Call> {
    let what = item_collection(kind)?;
    Ok(Call {
        method: Method::Post,
        path: format!("/workspaces/{}/{what}", seg(workspace_id)),
        body: Some(body.clone()),
        retry: Retry::Never,
    })
}

/// The tab or search folder a creating request's answer names.
pub fn created_workspace_item(
    answer: Result<Value>,
    kind: ItemKind,
    workspace_id: &str,
    body: &Value,
) -> Result<FolderNode> {
    let what = item_collection(kind)?;
    let v = answer?;
    let d = json::data(&v);
    Ok(FolderNode {
        id: json::str_field(d, "id")
            .ok_or_else(|| Error::Unavailable(format!("iManage created {what} without an id")))?
            .to_string(),
        name: json::str_field(body, "name")
            .unwrap_or_default()
            .to_string(),
        parent_id: workspace_id.to_string(),
    })
}

/// The request that sets a folder's member entries, written in `shape`. Safe to repeat.
pub fn folder_members(folder_id: &str, include: &[Member], shape: MemberShape) -> Call {
    let include: Vec<Value> = include.iter().map(|m| m.to_imanage_in(shape)).collect();
    Call {
        method: Method::Post,
        path: format!("/folders/{}/security", seg(folder_id)),
        body: Some(json!({"include": include, "remove": []})),
        retry: Retry::Safe,
    }
}

/// The request that sets name-value pairs of a workspace, keeping its others. Safe to repeat.
pub fn workspace_pairs(workspace_id: &str, pairs: &BTreeMap<String, String>) -> Call {
    Call {
        method: Method::Patch,
        path: format!("/workspaces/{}/name-value-pairs", seg(workspace_id)),
        body: Some(json!(pairs)),
        retry: Retry::Safe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_pair_shapes_and_the_optional_flag() {
        let listed = read_pairs(&json!({"data": [
            {"name": "IMCC_IsOptional", "value": "True"},
            {"name": "iMan___8", "value": "PLEAD"},
        ]}));
        assert!(is_true(listed.get("IMCC_IsOptional")));
        assert_eq!(listed["iMan___8"], "PLEAD");
        let object = read_pairs(&json!({"data": {"IMCC_IsOptional": false}}));
        assert!(!is_true(object.get("IMCC_IsOptional")));
        assert!(!is_true(None));
    }

    #[test]
    fn workspace_values_are_inherited_or_left_out() {
        let item = TemplateItem {
            id: "T!1".into(),
            name: "Pleadings".into(),
            parent_id: "T!0".into(),
            kind: ItemKind::Folder,
            optional: false,
            description: String::new(),
            email: false,
            profile:
                json!({"class": "PLEAD", "custom1": WORKSPACE_VALUE, "custom3": WORKSPACE_VALUE})
                    .as_object()
                    .cloned()
                    .unwrap(),
            searchprofile: None,
            security: None,
        };
        let ws = json!({"id": "A!9", "custom1": "C-100"});
        assert_eq!(
            Value::Object(item.profile_for(&ws)),
            json!({"class": "PLEAD", "custom1": "C-100"})
        );
    }

    #[test]
    fn an_old_cached_shape_is_read_again() {
        let old = json!({"id": "ACTIVE!100", "default_security": "private", "members": [],
            "folders": [{"id": "ACTIVE!106", "name": "Billing", "parent_id": "ACTIVE!100", "optional": true}]});
        assert!(Template::from_cache(old.to_string().as_bytes()).is_none());
        let current = Template {
            shape: TEMPLATE_SHAPE,
            id: "ACTIVE!100".into(),
            default_security: None,
            members: vec![],
            member_shape: MemberShape::Flagged,
            name_value_pairs: BTreeMap::new(),
            items: vec![],
        };
        let raw = serde_json::to_vec(&current).unwrap();
        assert_eq!(Template::from_cache(&raw), Some(current.clone()));
        let mut other = serde_json::to_value(&current).unwrap();
        other["shape"] = json!(TEMPLATE_SHAPE + 1);
        assert!(Template::from_cache(other.to_string().as_bytes()).is_none());
        assert_eq!(current.pairs_for_workspace()["TemplateId"], "ACTIVE!100");
    }
}
