//! The typed iManage operations the flows use. Each is one request (or a look-then-create pair
//! where iManage has no "ensure"), and none retries a create blindly: see `transport::Retry`.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::client::{Answer, Call, Imanage};
use super::json;
use super::security::MemberShape;
use crate::fields::CustomField;
use crate::keys;
use crate::model::{Error, Result, Workspace};
use crate::platform::Method;
use crate::security::Member;
use crate::transport::{status_error, Retry};

/// Path-segment encoding that keeps `!`, as in iManage ids `ACTIVE!1042`.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'!');

/// `s` percent-encoded as one path segment, for the `path` arguments of `Imanage::call`.
pub fn seg(s: &str) -> String {
    utf8_percent_encode(s, SEGMENT).to_string()
}

/// `pairs` as a query string (without the `?`).
pub fn query(pairs: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        q.append_pair(k, v);
    }
    q.finish()
}

/// A folder of a workspace or template, flattened with its path from the workspace root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FolderNode {
    /// The folder's id.
    pub id: String,
    /// The folder's name.
    pub name: String,
    /// The id of the folder or workspace it is in.
    pub parent_id: String,
}

/// A document of a folder as a listing shows it: enough to name it and tell its versions apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentEntry {
    /// The document's id (`ACTIVE!2041.1`).
    pub id: String,
    /// Its name, without the extension.
    pub name: String,
    /// Its extension (`pdf`), empty when iManage gives none.
    pub extension: String,
    /// Its version, when iManage says.
    pub version: Option<u64>,
    /// Its size in bytes, when iManage says.
    pub size: Option<u64>,
    /// When it was last changed (`edit_date`, as iManage writes it), when iManage says.
    pub edited: Option<String>,
}

impl DocumentEntry {
    /// Reads one item of a document listing; `None` for an item without an id.
    pub fn from_value(v: &Value) -> Option<DocumentEntry> {
        let id = json::str_field(v, "id")?.to_string();
        let number = |k: &str| {
            v.get(k).and_then(|n| {
                n.as_u64()
                    .or_else(|| n.as_str().and_then(|s| s.trim().parse().ok()))
            })
        };
        Some(DocumentEntry {
            name: json::str_field(v, "name").unwrap_or_default().to_string(),
            extension: json::str_field(v, "extension")
                .unwrap_or_default()
                .to_string(),
            version: number("version"),
            size: number("size"),
            edited: json::str_field(v, "edit_date")
                .or_else(|| json::str_field(v, "create_date"))
                .map(String::from),
            id,
        })
    }
}

/// Whether a create made the object or found it there already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// The object was created now.
    Yes,
    /// It existed already; nothing was created.
    No,
}

/// Where a folder is created.
pub enum Parent<'a> {
    /// At the top of a workspace (its id).
    Workspace(&'a str),
    /// Inside a folder (its id).
    Folder(&'a str),
}

/// The client and matter (`custom1`, `custom2`) of a workspace's profile, as a folder or
/// document profile carries them so that iManage search and retention see the folder and its
/// documents as the matter's; `null` when the workspace has neither.
pub fn client_matter_profile(workspace: &Value) -> Value {
    let mut profile = serde_json::Map::new();
    for field in ["custom1", "custom2"] {
        if let Some(v) = workspace.get(field).filter(|v| !v.is_null()) {
            profile.insert(field.into(), v.clone());
        }
    }
    if profile.is_empty() {
        Value::Null
    } else {
        Value::Object(profile)
    }
}

impl Imanage<'_> {
    /// A workspace as the contract returns it, read from iManage's answer in this library.
    pub fn workspace_from(&self, v: &Value) -> Result<Workspace> {
        let id = json::str_field(v, "id")
            .ok_or_else(|| Error::Unavailable("iManage returned a workspace without an id".into()))?
            .to_string();
        let library = json::str_field(v, "database")
            .map(String::from)
            .unwrap_or_else(|| self.library().to_string());
        let url = json::str_field(v, "workspace_url")
            .map(String::from)
            .unwrap_or_else(|| format!("{}/work/link/w/{}", self.settings().base_url, seg(&id)));
        Ok(Workspace {
            name: json::str_field(v, "name").unwrap_or_default().to_string(),
            id,
            url,
            library,
        })
    }

    /// Makes sure a lookup value exists (iManage refuses profiles naming unknown values). Values
    /// known to exist are remembered in key-value: a firm's clients and matter types recur with
    /// every matter, and asking iManage each time would cost a request per value per matter.
    pub fn ensure_custom(
        &self,
        field: CustomField,
        id: &str,
        description: &str,
        parent: Option<&str>,
    ) -> Result<()> {
        let known = keys::lookup(self.library(), &field.name(), parent, id);
        if self.p().kv_get(&known)?.is_some() {
            return Ok(());
        }
        let mut path = format!("/customs/{}/{}", field.name(), seg(id));
        if let Some(p) = parent {
            path.push('?');
            path.push_str(&query(&[("parent_alias", p)]));
        }
        match self.call(Method::Get, &path, None, Retry::Safe)? {
            Answer::Ok(_) => {}
            Answer::Status(404, _) => {
                self.create_custom(field, id, description, parent)?;
            }
            Answer::Status(s, why) => return Err(status_error(Method::Get, &path, s, &why)),
        }
        self.p().kv_set(&known, b"1")
    }

    /// Creates a lookup value without asking first; `Created::No` when it existed already.
    /// For the matter's own value (custom2), which is new with nearly every matter: asking first
    /// would cost a request that answers 404.
    pub fn create_custom(
        &self,
        field: CustomField,
        id: &str,
        description: &str,
        parent: Option<&str>,
    ) -> Result<Created> {
        let mut body = json!({"id": id, "description": description, "enabled": true});
        if let Some(p) = parent {
            body["parent"] = json!({"id": p});
        }
        let create = format!("/customs/{}", field.name());
        match self.call(Method::Post, &create, Some(&body), Retry::Safe)? {
            Answer::Ok(_) => Ok(Created::Yes),
            // 409: there already, made by a concurrent delivery, an earlier attempt, or before
            // matterlink (a legacy matter).
            Answer::Status(409, _) => Ok(Created::No),
            Answer::Status(s, why) => Err(status_error(Method::Post, &create, s, &why)),
        }
    }

    /// Forgets that these lookup values exist, after iManage refused a profile naming them
    /// (an administrator may have removed one): the next attempt checks them again.
    pub fn forget_customs(&self, values: &[(CustomField, &str, Option<&str>)]) -> Result<()> {
        for (field, id, parent) in values {
            let known = keys::lookup(self.library(), &field.name(), *parent, id);
            self.p().kv_delete(&known)?;
        }
        Ok(())
    }

    /// Changes a lookup value (its description, or whether it is enabled).
    pub fn patch_custom(
        &self,
        field: CustomField,
        id: &str,
        parent: Option<&str>,
        body: &Value,
    ) -> Result<()> {
        let mut path = format!("/customs/{}/{}", field.name(), seg(id));
        if let Some(p) = parent {
            path.push('?');
            path.push_str(&query(&[("parent_alias", p)]));
        }
        self.call_ok(Method::Patch, &path, Some(body), Retry::Safe)?;
        Ok(())
    }

    /// Every item of a list, page by page with the API's own paging: `limit`/`offset` with
    /// `total=true`, until `total_count` is reached or a page comes back empty. iManage (and any
    /// gateway) may answer fewer items than `limit` asks, so a short page is not taken as the end
    /// while `total_count` says there is more. `path` is library-relative, without a query;
    /// `pairs` are its other query parameters.
    pub fn list_all(&self, path: &str, pairs: &[(&str, &str)]) -> Result<Vec<Value>> {
        Ok(self.pages(path, pairs, false)?.unwrap_or_default())
    }

    /// As `list_all`, for a listing an older server may not have: `None` when its first page
    /// answers 404, 405 or 501.
    pub fn list_all_if_any(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Option<Vec<Value>>> {
        self.pages(path, pairs, true)
    }

    fn pages(
        &self,
        path: &str,
        pairs: &[(&str, &str)],
        may_be_absent: bool,
    ) -> Result<Option<Vec<Value>>> {
        /// iManage's default page; the largest it allows is 9999.
        const PAGE: usize = 500;
        /// A bound on requests for one list, so a server that ignores `offset` cannot loop us.
        const MAX_PAGES: usize = 1000;
        let mut all = Vec::new();
        for n in 0..MAX_PAGES {
            let offset = all.len().to_string();
            let limit = PAGE.to_string();
            let mut q = pairs.to_vec();
            q.extend([
                ("limit", limit.as_str()),
                ("offset", offset.as_str()),
                ("total", "true"),
            ]);
            let url = format!("{path}?{}", query(&q));
            let v = match self.call(Method::Get, &url, None, Retry::Safe)? {
                Answer::Ok(v) => v,
                Answer::Status(404 | 405 | 501, _) if may_be_absent && n == 0 => return Ok(None),
                Answer::Status(s, why) => return Err(status_error(Method::Get, &url, s, &why)),
            };
            let page = json::results(&v);
            let total = json::total_count(&v);
            let short = page.len() < PAGE;
            if page.is_empty() {
                break;
            }
            all.extend(page);
            match total {
                Some(t) if all.len() as u64 >= t => break,
                Some(_) => {}
                // No `total_count` (cursor mode, or a server that leaves it out): a short page
                // is the only sign of the end.
                None if short => break,
                None => {}
            }
        }
        Ok(Some(all))
    }

    /// Workspaces of this library matching every `(field, value)` filter, every page of them.
    pub fn search_workspaces(&self, filters: &[(&str, &str)]) -> Result<Vec<Value>> {
        self.list_all("/workspaces", filters)
    }

    /// A workspace's profile, `None` when it does not exist.
    pub fn get_workspace(&self, id: &str) -> Result<Option<Value>> {
        let path = format!("/workspaces/{}", seg(id));
        match self.call(Method::Get, &path, None, Retry::Safe)? {
            Answer::Ok(v) => Ok(Some(json::data(&v).clone())),
            Answer::Status(404, _) => Ok(None),
            Answer::Status(s, why) => Err(status_error(Method::Get, &path, s, &why)),
        }
    }

    /// Creates a workspace. Not retried: the caller looks for it before trying again.
    pub fn create_workspace(&self, body: &Value) -> Result<Value> {
        let v = self.call_ok(Method::Post, "/workspaces", Some(body), Retry::Never)?;
        Ok(json::data(&v).clone())
    }

    /// Changes a workspace's profile (name, custom fields, ...); returns it as it is now.
    pub fn patch_workspace(&self, id: &str, body: &Value) -> Result<Value> {
        let path = format!("/workspaces/{}", seg(id));
        let v = self.call_ok(Method::Patch, &path, Some(body), Retry::Safe)?;
        Ok(json::data(&v).clone())
    }

    /// Every folder of a workspace (or template), at every depth, every page of them.
    pub fn folders_of(&self, container_id: &str) -> Result<Vec<FolderNode>> {
        let list = self.list_all("/folders", &[("container_id", container_id)])?;
        list.iter()
            .map(|f| {
                let s = |k| json::str_field(f, k).unwrap_or_default().to_string();
                let node = FolderNode {
                    id: s("id"),
                    name: s("name"),
                    parent_id: s("parent_id"),
                };
                if node.id.is_empty() {
                    Err(Error::Unavailable(
                        "iManage listed a folder without an id".into(),
                    ))
                } else {
                    Ok(node)
                }
            })
            .collect()
    }

    /// The documents directly in a folder, every page of them (`GET /folders/{id}/documents`).
    pub fn documents_in(&self, folder_id: &str) -> Result<Vec<DocumentEntry>> {
        let path = format!("/folders/{}/documents", seg(folder_id));
        Ok(self
            .list_all(&path, &[])?
            .iter()
            .filter_map(DocumentEntry::from_value)
            .collect())
    }

    /// Creates a plain document folder carrying `profile` (see [`client_matter_profile`];
    /// `null` for none). Not retried: `provision` and `documents` re-list and carry on.
    pub fn create_folder(
        &self,
        parent: Parent<'_>,
        name: &str,
        profile: &Value,
    ) -> Result<FolderNode> {
        let mut body =
            json!({"name": name, "default_security": "inherit", "view_type": "document"});
        if profile.as_object().is_some_and(|p| !p.is_empty()) {
            body["profile"] = profile.clone();
        }
        self.create_folder_with(parent, name, &body)
    }

    /// Creates a folder with the whole `body` (name, description, security, view type,
    /// profile). Not retried, as `create_folder`.
    pub fn create_folder_with(
        &self,
        parent: Parent<'_>,
        name: &str,
        body: &Value,
    ) -> Result<FolderNode> {
        let parent_id = parent.id().to_string();
        created_folder(self.run(&folder_create(parent, body)), name, &parent_id)
    }

    /// Sends one `Call`; any non-2xx answer is an error (as `call_ok`).
    pub fn run(&self, call: &Call) -> Result<Value> {
        self.call_ok(call.method, &call.path, call.body.as_ref(), call.retry)
    }

    /// Whether a folder carries a profile of its own (client or matter), which an upload into it
    /// may inherit.
    pub fn folder_has_profile(&self, id: &str) -> Result<bool> {
        let path = format!("/folders/{}", seg(id));
        let v = self.call_ok(Method::Get, &path, None, Retry::Safe)?;
        Ok(json::data(&v)
            .get("profile")
            .and_then(Value::as_object)
            .is_some_and(|p| p.contains_key("custom1") || p.contains_key("custom2")))
    }

    /// Sets a workspace's default security (when given) and adds the `include` entries, written
    /// in `shape` (the library's member shape).
    pub fn set_security(
        &self,
        workspace_id: &str,
        default_security: Option<&str>,
        include: &[Member],
        shape: MemberShape,
    ) -> Result<()> {
        self.run(&workspace_security(
            workspace_id,
            default_security,
            include,
            shape,
        ))?;
        Ok(())
    }
}

impl Parent<'_> {
    /// The id of the workspace or folder.
    pub fn id(&self) -> &str {
        match self {
            Parent::Workspace(id) | Parent::Folder(id) => id,
        }
    }
}

/// The request that creates a folder with the whole `body` in `parent`. Never repeated: see
/// `once`.
pub fn folder_create(parent: Parent<'_>, body: &Value) -> Call {
    let path = match parent {
        Parent::Workspace(ws) => format!("/workspaces/{}/folders", seg(ws)),
        Parent::Folder(f) => format!("/folders/{}/subfolders", seg(f)),
    };
    Call {
        method: Method::Post,
        path,
        body: Some(body.clone()),
        retry: Retry::Never,
    }
}

/// The folder a folder-creating request's answer names.
pub fn created_folder(answer: Result<Value>, name: &str, parent_id: &str) -> Result<FolderNode> {
    let v = answer?;
    let d = json::data(&v);
    Ok(FolderNode {
        id: json::str_field(d, "id")
            .ok_or_else(|| Error::Unavailable("iManage created a folder without an id".into()))?
            .to_string(),
        name: name.to_string(),
        parent_id: parent_id.to_string(),
    })
}

/// The request that sets a workspace's default security (when given) and adds the `include`
/// entries, written in `shape`. Safe to repeat.
pub fn workspace_security(
    workspace_id: &str,
    default_security: Option<&str>,
    include: &[Member],
    shape: MemberShape,
) -> Call {
    let include: Vec<Value> = include.iter().map(|m| m.to_imanage_in(shape)).collect();
    let mut body = json!({"include": include, "remove": []});
    if let Some(d) = default_security {
        body["default_security"] = json!(d);
    }
    Call {
        method: Method::Post,
        path: format!("/workspaces/{}/security", seg(workspace_id)),
        body: Some(body),
        retry: Retry::Safe,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_keep_bang_and_encode_the_rest() {
        assert_eq!(seg("ACTIVE!1042"), "ACTIVE!1042");
        assert_eq!(seg("C 100/x"), "C%20100%2Fx");
        assert_eq!(seg("Ngā"), "Ng%C4%81");
    }

    #[test]
    fn document_entries_read_what_is_there() {
        let d = DocumentEntry::from_value(&json!({
            "id": "ACTIVE!7.1", "name": "Brief", "extension": "pdf", "version": 1,
            "size": "2048", "edit_date": "2026-01-02T03:04:05Z"
        }))
        .unwrap();
        assert_eq!(d.id, "ACTIVE!7.1");
        assert_eq!((d.version, d.size), (Some(1), Some(2048)));
        assert_eq!(d.edited.as_deref(), Some("2026-01-02T03:04:05Z"));
        let bare = DocumentEntry::from_value(&json!({"id": "ACTIVE!8"})).unwrap();
        assert_eq!((bare.version, bare.size, bare.edited), (None, None, None));
        assert!(DocumentEntry::from_value(&json!({"name": "no id"})).is_none());
    }
}
