//! The last resort: each linked workspace's security read on its own. One request per workspace
//! per poll, which is what the event queue and the Sync API exist to avoid.

use std::collections::BTreeMap;

use crate::imanage::Imanage;
use crate::model::Result;
use crate::security::Security;

/// The current security of each workspace of `ids` that still exists, and how many member
/// entries could not be read.
pub fn security_of<'a>(
    api: &Imanage<'_>,
    ids: impl Iterator<Item = &'a String>,
) -> Result<(BTreeMap<String, Security>, usize)> {
    let mut found = BTreeMap::new();
    let mut unreadable = 0;
    for id in ids {
        if let Some((security, odd)) = api.workspace_security(id)? {
            unreadable += odd;
            found.insert(id.clone(), security);
        }
    }
    Ok((found, unreadable))
}
