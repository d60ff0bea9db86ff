//! The matter ↔ workspace link, the component's most important memory.

use serde::{Deserialize, Serialize};

use crate::imanage::Imanage;
use crate::keys;
use crate::model::{Error, Result, Workspace};
use crate::platform::Platform;
use crate::settings::Settings;

/// What key-value remembers of a matter's workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The matter linked.
    pub matter_id: String,
    /// Its workspace.
    pub workspace: Workspace,
    /// Where generated documents are filed; absent for workspaces linked from legacy.
    pub document_folder_id: Option<String>,
    /// Seconds since the epoch.
    pub linked_at: u64,
    /// `created`, `adopted` (found by custom2 after an interrupted attempt), `legacy` (found
    /// by resolve-legacy) or `pasted` (link-workspace).
    pub how: String,
    /// Whether on-matter-closed marked the workspace closed (and reopening has not undone it).
    #[serde(default)]
    pub closed: bool,
    /// The workspace's `default_security` before `close_action = view` changed it.
    #[serde(default)]
    pub security_before_close: Option<String>,
    /// The users whose My Matters list provisioning put the workspace on (`my_matters`), so
    /// that closing takes it off exactly those lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub my_matters: Vec<String>,
}

impl Link {
    /// A link made now, not closed.
    pub fn new(
        matter_id: &str,
        workspace: Workspace,
        document_folder_id: Option<String>,
        now: u64,
        how: &str,
    ) -> Link {
        Link {
            matter_id: matter_id.to_string(),
            workspace,
            document_folder_id,
            linked_at: now,
            how: how.to_string(),
            closed: false,
            security_before_close: None,
            my_matters: Vec::new(),
        }
    }
}

fn decode<T: for<'de> Deserialize<'de>>(key: &str, raw: &[u8]) -> Result<T> {
    serde_json::from_slice(raw)
        .map_err(|e| Error::Unavailable(format!("key-value record {key} is unreadable: {e}")))
}

/// The matter's link, `None` when it has no workspace yet.
pub fn get(p: &dyn Platform, matter_id: &str) -> Result<Option<Link>> {
    let key = keys::link(matter_id);
    p.kv_get(&key)?.map(|raw| decode(&key, &raw)).transpose()
}

/// The matter a workspace is linked to, if any.
pub fn owner_of(p: &dyn Platform, workspace_id: &str) -> Result<Option<String>> {
    let key = keys::workspace_owner(workspace_id);
    p.kv_get(&key)?.map(|raw| decode(&key, &raw)).transpose()
}

/// Stores a link. The workspace side is taken with compare-and-swap first, so that two matters
/// can never end up sharing one workspace, even from two processes at once.
pub fn store(p: &dyn Platform, link: &Link) -> Result<()> {
    let owner_key = keys::workspace_owner(&link.workspace.id);
    let me = serde_json::to_vec(&link.matter_id).map_err(|e| Error::Unavailable(e.to_string()))?;
    if !p.kv_compare_and_swap(&owner_key, None, &me)? {
        match owner_of(p, &link.workspace.id)? {
            Some(other) if other != link.matter_id => {
                return Err(Error::Rejected(format!(
                    "workspace {} is already linked to matter {other}",
                    link.workspace.id
                )))
            }
            _ => {}
        }
    }
    let raw = serde_json::to_vec(link).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&keys::link(&link.matter_id), &raw)
}

/// iManage in the library of the matter's link: a workspace stays where it was made, whatever
/// `library_routes` says today.
pub fn api<'a>(p: &'a dyn Platform, s: &'a Settings, link: Option<&Link>) -> Imanage<'a> {
    match link {
        Some(l) if !l.workspace.library.is_empty() => {
            Imanage::in_library(p, s, &l.workspace.library)
        }
        _ => Imanage::new(p, s),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn link(matter: &str, ws: &str) -> Link {
        let workspace = Workspace {
            id: ws.into(),
            name: "n".into(),
            url: "u".into(),
            library: "ACTIVE".into(),
        };
        Link::new(matter, workspace, None, 1, "created")
    }

    #[test]
    fn a_workspace_serves_one_matter() {
        let p = FakePlatform::configured();
        store(&p, &link("1", "ACTIVE!5")).unwrap();
        store(&p, &link("1", "ACTIVE!5")).unwrap();
        let err = store(&p, &link("2", "ACTIVE!5")).unwrap_err();
        assert!(matches!(err, Error::Rejected(_)));
        assert!(get(&p, "2").unwrap().is_none());
        assert_eq!(get(&p, "1").unwrap().unwrap().workspace.id, "ACTIVE!5");
    }
}
