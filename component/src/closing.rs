//! on-matter-closed and on-matter-reopened. Closing prefixes the workspace name once
//! (`CLOSED - Smith v Jones`), applies `close_action` and, with `my_matters_on_close = remove`,
//! takes the workspace off the My Matters lists provisioning put it on; reopening undoes
//! exactly that. The
//! link remembers what closing changed, so a retried close or reopen changes nothing more.

use serde_json::{json, Value};

use crate::fields::{clean, CustomField, NAME_LIMIT};
use crate::imanage::Imanage;
use crate::links::{self, Link};
use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::settings::{CloseAction, MyMattersOnClose, Settings};
use crate::{audit, validate};

/// `CLOSED - Smith v Jones`, never `CLOSED - CLOSED - ...`, and never over iManage's limit.
pub fn closed_name(prefix: &str, name: &str) -> String {
    let name = clean(name, NAME_LIMIT);
    let lead = format!("{prefix} - ");
    if name.starts_with(&lead) {
        return name;
    }
    clean(&format!("{lead}{name}"), NAME_LIMIT)
}

/// The linked workspace as iManage has it now, with the link that points at it.
pub(crate) fn linked(api: &Imanage<'_>, m: &Matter, doing: &str) -> Result<(Link, Value)> {
    let link = links::get(api.p(), &m.id)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "matter {} has no linked workspace to {doing}",
            m.id
        ))
    })?;
    let current = api.get_workspace(&link.workspace.id)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "workspace {} linked to matter {} no longer exists in iManage",
            link.workspace.id, m.id
        ))
    })?;
    Ok((link, current))
}

fn text<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// on-matter-closed: marks the linked workspace closed (the close prefix on its name, once)
/// and applies `close_action`.
pub fn on_matter_closed(p: &dyn Platform, m: &Matter) -> Result<Workspace> {
    transition(p, m, true)
}

/// on-matter-reopened: undoes exactly what closing did.
pub fn on_matter_reopened(p: &dyn Platform, m: &Matter) -> Result<Workspace> {
    transition(p, m, false)
}

fn transition(p: &dyn Platform, m: &Matter, close: bool) -> Result<Workspace> {
    validate::matter(m, false)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    let link = links::get(p, &m.id)?;
    let api = links::api(p, &s, link.as_ref());
    let (mut link, current) = linked(&api, m, if close { "close" } else { "reopen" })?;

    let base = s.workspace_name.render(m);
    let wanted = if close {
        closed_name(&s.close_prefix, &base)
    } else {
        base
    };
    let mut patch = json!({});
    if text(&current, "name") != wanted {
        patch["name"] = json!(wanted);
    }
    match s.close_action {
        CloseAction::None | CloseAction::DisableLookup => {}
        CloseAction::Flag(field) => {
            if current.get(field.name()).and_then(Value::as_bool) != Some(close) {
                patch[field.name()] = json!(close);
            }
        }
        CloseAction::View => {
            let security = text(&current, "default_security");
            if close && security != "view" {
                link.security_before_close = Some(security.to_string());
                patch["default_security"] = json!("view");
            } else if !close {
                if let Some(before) = link.security_before_close.take() {
                    if security != before {
                        patch["default_security"] = json!(before);
                    }
                }
            }
        }
    }
    let changed = patch.as_object().is_some_and(|o| !o.is_empty());
    if changed {
        api.patch_workspace(&link.workspace.id, &patch)?;
    }
    if s.close_action == CloseAction::DisableLookup {
        // The workspace's own custom1 is the lookup's parent, whatever the record says now.
        let client = text(&current, "custom1");
        let parent = (!client.is_empty()).then_some(client);
        // Idempotent by nature: setting `enabled` to what it already is changes nothing.
        api.patch_custom(
            CustomField::MATTER,
            &m.id,
            parent,
            &json!({"enabled": !close}),
        )?;
    }
    if s.my_matters && s.my_matters_on_close == MyMattersOnClose::Remove {
        // The lists provisioning put it on; a workspace linked before `my_matters` was set
        // (or from legacy) has none recorded, and its owner's and lawyer's lists are meant.
        let users = if link.my_matters.is_empty() {
            crate::imanage::my_matters::users(&current, m)
        } else {
            link.my_matters.clone()
        };
        for user in &users {
            // Both are safe to repeat, so a retried close or reopen changes nothing more.
            if close {
                api.remove_from_my_matters(user, &link.workspace.id)?;
            } else {
                api.add_to_my_matters(user, &link.workspace.id)?;
            }
        }
        link.my_matters = users;
    }
    link.workspace.name = wanted.clone();
    link.closed = close;
    links::store(p, &link)?;
    audit::record(
        p,
        if close { "close" } else { "reopen" },
        &m.id,
        if changed { "ok" } else { "unchanged" },
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
