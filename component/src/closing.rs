//! on-matter-closed: the workspace title gets `{close_prefix} - ` exactly once.

use serde_json::json;

use crate::fields::{clean, NAME_LIMIT};
use crate::imanage::Imanage;
use crate::links;
use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::{audit, validate};

/// `CLOSED - Smith v Jones`, never `CLOSED - CLOSED - ...`, and never over iManage's limit.
pub fn closed_name(prefix: &str, title: &str) -> String {
    let title = clean(title, NAME_LIMIT);
    let lead = format!("{prefix} - ");
    if title.starts_with(&lead) {
        return title;
    }
    clean(&format!("{lead}{title}"), NAME_LIMIT)
}

pub fn on_matter_closed(p: &dyn Platform, m: &Matter) -> Result<Workspace> {
    validate::matter(m, false)?;
    let s = Settings::load(p)?;
    let mut link = links::get(p, &m.id)?.ok_or_else(|| {
        Error::NotLinked(format!("matter {} has no linked workspace to close", m.id))
    })?;
    let api = Imanage::new(p, &s);
    let current = api.get_workspace(&link.workspace.id)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "workspace {} linked to matter {} no longer exists in iManage",
            link.workspace.id, m.id
        ))
    })?;
    let wanted = closed_name(&s.close_prefix, &m.title);
    let now_named = current
        .get("name")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let outcome = if now_named == wanted {
        "unchanged"
    } else {
        api.patch_workspace(&link.workspace.id, &json!({ "name": wanted }))?;
        "ok"
    };
    link.workspace.name = wanted.clone();
    links::store(p, &link)?;
    audit::record(
        p,
        "close",
        &m.id,
        outcome,
        format!("workspace {} named {wanted:?}", link.workspace.id),
    )?;
    Ok(link.workspace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_once() {
        assert_eq!(
            closed_name("CLOSED", "Smith v Jones"),
            "CLOSED - Smith v Jones"
        );
        assert_eq!(
            closed_name("CLOSED", "CLOSED - Smith v Jones"),
            "CLOSED - Smith v Jones"
        );
        let long = "x".repeat(300);
        assert_eq!(closed_name("CLOSED", &long).chars().count(), NAME_LIMIT);
    }
}
