//! resolve-legacy: find the existing workspace of a matter that predates the integration.

use crate::fields::MappableField;
use crate::imanage::Imanage;
use crate::links::{self, Link};
use crate::model::{LegacyMatch, Matter, Result};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::{audit, validate};

/// resolve-legacy: finds an existing workspace for a legacy matter, by matter id (custom2) and
/// then file reference. Exactly one match is linked; none or several link nothing.
pub fn resolve_legacy(p: &dyn Platform, m: &Matter) -> Result<LegacyMatch> {
    validate::matter(m, false)?;
    let s = Settings::load(p)?;
    if let Some(link) = links::get(p, &m.id)? {
        return Ok(LegacyMatch::Linked(link.workspace));
    }
    let result = find_and_link(p, &s, m)?;
    let (outcome, detail) = match &result {
        LegacyMatch::Linked(w) => ("ok", format!("linked workspace {}", w.id)),
        LegacyMatch::None => ("none", "no workspace found".to_string()),
        LegacyMatch::Several(ws) => ("several", format!("{} candidates", ws.len())),
    };
    audit::record(p, "resolve-legacy", &m.id, outcome, detail)?;
    Ok(result)
}

/// The search of [`resolve_legacy`] for a valid matter that has no link, with its settings
/// loaded, and the link when exactly one workspace matched; not audited. Backfill calls it
/// after its own checks and records the matter once, as `backfill`, saying as much.
pub(crate) fn find_and_link(p: &dyn Platform, s: &Settings, m: &Matter) -> Result<LegacyMatch> {
    // A legacy workspace is looked for in the library the matter belongs in (`library_routes`).
    let api = Imanage::in_library(p, s, s.destination(m).library);
    let mut found = api.search_workspaces(&[("custom2", &m.id)])?;
    if found.is_empty() {
        let by_reference = s
            .field_map
            .get(&MappableField::FileReference)
            .zip(m.file_reference.as_deref().filter(|r| !r.trim().is_empty()));
        if let Some((field, reference)) = by_reference {
            found = api.search_workspaces(&[(&field.name(), reference.trim())])?;
        }
    }
    let mut workspaces = found
        .iter()
        .map(|w| api.workspace_from(w))
        .collect::<Result<Vec<_>>>()?;
    Ok(match workspaces.len() {
        0 => LegacyMatch::None,
        1 => {
            let workspace = workspaces.remove(0);
            links::store(
                p,
                &Link::new(&m.id, workspace.clone(), None, p.now(), "legacy"),
            )?;
            LegacyMatch::Linked(workspace)
        }
        _ => LegacyMatch::Several(workspaces),
    })
}
