//! The linked workspaces, found from the link records themselves: the polling and Sync API
//! sources must know every workspace to watch, including ones linked before the feed existed.

use std::collections::BTreeMap;

use crate::keys;
use crate::links;
use crate::model::Result;
use crate::platform::Platform;

/// Workspace id → matter id, for every linked workspace.
pub fn workspaces(p: &dyn Platform) -> Result<BTreeMap<String, String>> {
    let prefix = keys::workspace_owner("");
    let mut out = BTreeMap::new();
    for key in p.kv_keys(&prefix)? {
        let Some(workspace_id) = key.strip_prefix(&prefix) else {
            continue;
        };
        if let Some(matter_id) = links::owner_of(p, workspace_id)? {
            out.insert(workspace_id.to_string(), matter_id);
        }
    }
    Ok(out)
}
