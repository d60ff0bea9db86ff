//! on-matter-updated: a title change renames the workspace (keeping the closed prefix while
//! the matter is closed). Other fields are written only with `sync_fields_on_update` (off
//! unless set).

use serde_json::json;

use crate::closing::{closed_name, linked};
use crate::fields::CustomField;
use crate::model::{Matter, Result, Workspace};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::{audit, links, mapping, validate};

/// on-matter-updated: renames the workspace after a title change (and, with
/// `sync_fields_on_update`, rewrites every mapped field); `None` when the matter has no
/// workspace.
pub fn on_matter_updated(p: &dyn Platform, m: &Matter) -> Result<Option<Workspace>> {
    update(p, m, false)
}

/// on-matter-updated; `all_fields` writes every mapped field even without
/// `sync_fields_on_update` (drift repair asks for that).
pub(crate) fn update(p: &dyn Platform, m: &Matter, all_fields: bool) -> Result<Option<Workspace>> {
    validate::matter(m, true)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    let Some(link) = links::get(p, &m.id)? else {
        return Ok(None);
    };
    let profile = mapping::profile(m, &s)?;
    let api = links::api(p, &s, Some(&link));
    let (mut link, current) = linked(&api, m, "update")?;

    let base = s.workspace_name.render(m);
    let wanted = if link.closed {
        closed_name(&s.close_prefix, &base)
    } else {
        base
    };
    let mut patch = json!({});
    if current.get("name").and_then(|v| v.as_str()) != Some(wanted.as_str()) {
        patch["name"] = json!(wanted);
        // The matter lookup's description is the title: keep them together.
        if let Some(client) = m.primary_client() {
            let title = crate::fields::clean(&m.title, crate::fields::NAME_LIMIT);
            api.patch_custom(
                CustomField::MATTER,
                &m.id,
                Some(&client.id),
                &json!({"description": title}),
            )?;
        }
    }
    if s.sync_fields_on_update || all_fields {
        for l in profile
            .lookups
            .iter()
            .filter(|l| l.field > CustomField::MATTER_TYPE)
        {
            api.ensure_custom(l.field, &l.id, &l.description, l.parent.as_deref())?;
        }
        for (field, value) in profile
            .fields
            .iter()
            .filter(|(f, _)| *f > CustomField::MATTER_TYPE)
        {
            let now = current
                .get(field.name())
                .and_then(crate::fields::value_text);
            if now.as_deref() != Some(value.as_str()) {
                patch[field.name()] = crate::fields::typed_value(*field, value);
            }
        }
    }
    let changed = patch.as_object().is_some_and(|o| !o.is_empty());
    if changed {
        api.patch_workspace(&link.workspace.id, &patch)?;
        link.workspace.name = wanted;
        links::store(p, &link)?;
    }
    audit::record(
        p,
        "update",
        &m.id,
        if changed { "ok" } else { "unchanged" },
        format!("workspace {}", link.workspace.id),
    )?;
    Ok(Some(link.workspace))
}
