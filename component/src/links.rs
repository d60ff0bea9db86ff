//! The matter ↔ workspace link, the component's most important memory.

use serde::{Deserialize, Serialize};

use crate::claim::{self, Attempt};
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

/// How long the claim on a workspace's owner record may be held: it covers one read and one
/// write, so a holder this late has crashed and is taken over.
const OWNER_CLAIM_TTL_S: u64 = 30;

/// Stores a link. The workspace side is recorded first, so that two matters never end up sharing
/// one workspace: an owner already there that is another matter refuses the link.
pub fn store(p: &dyn Platform, link: &Link) -> Result<()> {
    match owner_of(p, &link.workspace.id)? {
        Some(other) if other != link.matter_id => return refuse(link, &other),
        Some(_) => {}
        None => take_ownership(p, link)?,
    }
    let raw = serde_json::to_vec(link).map_err(|e| Error::Unavailable(e.to_string()))?;
    p.kv_set(&keys::link(&link.matter_id), &raw)
}

fn refuse(link: &Link, other: &str) -> Result<()> {
    Err(Error::Rejected(format!(
        "workspace {} is already linked to matter {other}",
        link.workspace.id
    )))
}

/// Records the link's matter as the owner of a workspace that had none, unless another matter
/// became its owner meanwhile.
///
/// Two matters finding no owner at once (a backfill matching two matters to one workspace, two
/// pasted URLs) would both write theirs, and the later write would win while both kept their
/// links. Compare-and-swap would settle it, but Spin's Redis store has no working one, so the
/// check and the write run under a claim on the workspace (built on `increment`, which holds
/// everywhere: see `claim`). Only a first link pays for it; a link stored again finds itself
/// the owner above.
fn take_ownership(p: &dyn Platform, link: &Link) -> Result<()> {
    let ws = &link.workspace.id;
    let take = || match claim::try_take_key(p, keys::workspace_owner_claim(ws), OWNER_CLAIM_TTL_S)?
    {
        Attempt::Taken(claim) => Ok(Some(claim)),
        Attempt::Busy => Ok(None),
    };
    let claim = match take()? {
        Some(claim) => claim,
        None => claim::wait_for(
            p,
            || format!("another matter is being linked to workspace {ws}; try again"),
            take,
        )?,
    };
    let owned = match owner_of(p, ws) {
        Ok(Some(other)) if other != link.matter_id => refuse(link, &other),
        Ok(Some(_)) => Ok(()),
        Ok(None) => serde_json::to_vec(&link.matter_id)
            .map_err(|e| Error::Unavailable(e.to_string()))
            .and_then(|me| p.kv_set(&keys::workspace_owner(ws), &me)),
        Err(e) => Err(e),
    };
    // Released whatever happened; a release that fails leaves the claim to go stale.
    let released = claim.release();
    owned.and(released)
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
    use std::cell::RefCell;

    use super::*;
    use crate::testing::{FakePlatform, Watched};

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

    #[test]
    fn two_matters_linking_one_workspace_at_once_leave_it_one_matters() {
        let p = FakePlatform::configured();
        // The second matter links the workspace whole just after the first found it without
        // an owner, as another process would at that moment.
        let second = RefCell::new(Some(link("2", "ACTIVE!7")));
        let second_stored = RefCell::new(None);
        let racing = Watched {
            inner: &p,
            on_get: |key: &str| {
                if key == keys::workspace_owner("ACTIVE!7") {
                    if let Some(l) = second.borrow_mut().take() {
                        *second_stored.borrow_mut() = Some(store(&p, &l));
                    }
                }
            },
        };
        let first = store(&racing, &link("1", "ACTIVE!7"));
        let second = second_stored.take().expect("the second matter ran");
        // The second got there first (it ran whole inside the first's look at the owner).
        second.unwrap();
        assert!(matches!(first, Err(Error::Rejected(_))), "{first:?}");
        assert_eq!(owner_of(&p, "ACTIVE!7").unwrap().as_deref(), Some("2"));
        assert!(
            get(&p, "1").unwrap().is_none(),
            "both matters got the workspace"
        );
        assert_eq!(get(&p, "2").unwrap().unwrap().workspace.id, "ACTIVE!7");
        // Nothing of the claim is left behind.
        assert!(p
            .kv
            .borrow()
            .keys()
            .all(|k| !k.starts_with("link/workspace-claim/")));
    }
}
