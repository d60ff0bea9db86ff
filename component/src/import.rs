//! import-workspaces: workspaces made in iManage that no matter is linked to yet, each with the
//! matter its profile describes, read back through `field_map` (map-metadata in reverse), so the
//! matter system can create matters from them. Paged with the Sync API's workspace crawl; the
//! caller keeps the cursor.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::fields::{CustomField, MappableField};
use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::links;
use crate::model::{Client, Error, Matter, ProfileField, Result, Workspace};
use crate::platform::{Method, Platform};
use crate::settings::Settings;
use crate::transport::{status_error, Retry};

/// Workspaces read per call; a page holds fewer candidates when some are linked already.
pub const PAGE: usize = 100;

/// A workspace no matter is linked to, with the matter its profile describes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceImport {
    /// The workspace.
    pub workspace: Workspace,
    /// The matter the profile describes. `id` is custom2, empty when the workspace has none (the
    /// matter system then numbers the matter itself); `title` is the mapped Title field, else the
    /// workspace's name.
    pub matter: Matter,
    /// The workspace's custom fields as iManage holds them.
    pub profile: Vec<ProfileField>,
}

/// One page of unlinked workspaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPage {
    /// The workspaces of this page.
    pub workspaces: Vec<WorkspaceImport>,
    /// Pass it to the next call; `None` when every workspace has been read.
    pub next_cursor: Option<String>,
}

/// import-workspaces: a page of workspaces no matter is linked to, with their profiles mapped
/// back to matters.
pub fn import_workspaces(p: &dyn Platform, cursor: Option<&str>) -> Result<ImportPage> {
    let s = Settings::load(p)?;
    let api = Imanage::new(p, &s);
    let mut body = json!({"limit": PAGE});
    if let Some(c) = cursor.filter(|c| !c.trim().is_empty()) {
        body["cursor"] = json!(c.trim());
    }
    let path = "/sync/workspaces/crawl";
    let v = match api.call(Method::Post, path, Some(&body), Retry::Safe)? {
        Answer::Ok(v) => v,
        Answer::Status(400, why) if cursor.is_some() => {
            return Err(Error::Rejected(format!(
                "iManage refused the cursor ({why}); start again without one"
            )))
        }
        Answer::Status(s, why) => return Err(status_error(Method::Post, path, s, &why)),
    };
    let items = json::results(&v);
    let mut workspaces = Vec::new();
    for w in &items {
        if w.get("is_template").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let workspace = api.workspace_from(w)?;
        if links::owner_of(p, &workspace.id)?.is_some() {
            continue;
        }
        let (matter, profile) = unmap(w, &workspace.name, &s);
        workspaces.push(WorkspaceImport {
            workspace,
            matter,
            profile,
        });
    }
    // The cursor says whether more follows (a server may cap a page below `limit`).
    let next_cursor = json::str_field(&v, "cursor")
        .filter(|_| !items.is_empty())
        .map(String::from);
    Ok(ImportPage {
        workspaces,
        next_cursor,
    })
}

/// A custom field's value as text, whatever JSON type iManage used.
fn text(w: &Value, field: CustomField) -> Option<String> {
    match w.get(field.name())? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `C-201 Ngā Tāngata Trust; C-202 …`, as `clients_field` holds every client, back to clients.
fn clients_from_text(all: &str) -> Vec<Client> {
    all.split("; ")
        .filter_map(|entry| {
            let entry = entry.trim();
            let (id, name) = entry.split_once(' ').unwrap_or((entry, entry));
            (!id.is_empty()).then(|| Client {
                id: id.to_string(),
                name: name.trim().to_string(),
            })
        })
        .collect()
}

/// The matter a workspace's profile describes: map-metadata read backwards.
pub fn unmap(w: &Value, name: &str, s: &Settings) -> (Matter, Vec<ProfileField>) {
    let profile: Vec<ProfileField> = (1..=31)
        .filter_map(|n| CustomField::parse(&format!("custom{n}")))
        .filter_map(|f| {
            text(w, f).map(|value| ProfileField {
                name: f.name(),
                value,
            })
        })
        .collect();
    let mapped = |field: MappableField| s.field_map.get(&field).and_then(|f| text(w, *f));
    let mut clients = s
        .clients_field
        .and_then(|f| text(w, f))
        .map(|all| clients_from_text(&all))
        .unwrap_or_default();
    if let Some(id) = text(w, CustomField::CLIENT) {
        // custom1 is the primary client whatever the list says.
        clients.retain(|c| c.id != id);
        let description = json::str_field(w, "custom1_description")
            .filter(|d| !d.trim().is_empty())
            .map(String::from);
        clients.insert(
            0,
            Client {
                name: description.unwrap_or_else(|| id.clone()),
                id,
            },
        );
    }
    let matter = Matter {
        id: text(w, CustomField::MATTER).unwrap_or_default(),
        title: mapped(MappableField::Title).unwrap_or_else(|| name.to_string()),
        matter_type: text(w, CustomField::MATTER_TYPE).unwrap_or_default(),
        clients,
        file_reference: mapped(MappableField::FileReference),
        assigned_to: mapped(MappableField::AssignedTo),
        priority: mapped(MappableField::Priority),
        status: mapped(MappableField::Status),
        acting_user: None,
    };
    (matter, profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn unmap_is_map_metadata_backwards() {
        let p = FakePlatform::configured();
        p.set_config(
            "field_map",
            r#"{"File Reference": "custom13", "Priority": "custom17", "Assigned To": "custom4"}"#,
        );
        p.set_config("clients_field", "custom16");
        let s = Settings::load(&p).unwrap();
        let m: Matter = serde_json::from_str(include_str!(
            "../../tests/fixtures/matter-multi-client.json"
        ))
        .unwrap();
        let mut m = m;
        m.priority = Some("2".into());
        m.assigned_to = Some("JSMITH".into());
        let mut w = json!({"id": "ACTIVE!1", "name": m.title});
        for f in crate::mapping::profile(&m, &s).unwrap().as_profile_fields() {
            w[&f.name] = json!(f.value);
        }
        w["custom17"] = json!(2); // an integer field comes back as a number
        w["custom1_description"] = json!(m.clients[0].name);
        let (back, profile) = unmap(&w, &m.title, &s);
        assert_eq!(back.id, m.id);
        assert_eq!(back.title, m.title);
        assert_eq!(back.matter_type, m.matter_type);
        assert_eq!(back.clients, m.clients);
        assert_eq!(back.file_reference, m.file_reference);
        assert_eq!(back.priority.as_deref(), Some("2"));
        assert_eq!(back.assigned_to.as_deref(), Some("JSMITH"));
        assert!(profile
            .iter()
            .any(|f| f.name == "custom2" && f.value == m.id));
    }

    #[test]
    fn a_bare_workspace_gives_a_matter_to_complete() {
        let s = Settings::load(&FakePlatform::configured()).unwrap();
        let (m, profile) = unmap(
            &json!({"id": "ACTIVE!9", "name": "Board minutes"}),
            "Board minutes",
            &s,
        );
        assert_eq!((m.id.as_str(), m.title.as_str()), ("", "Board minutes"));
        assert!(m.clients.is_empty() && profile.is_empty());
    }
}
