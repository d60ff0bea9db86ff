//! drift: what differs between a matter and its workspace, and the repair through the normal
//! paths. Compared: the name (with the closed prefix when the matter is closed), every mapped
//! profile field, whether the matter is closed, and the mark `close_action` leaves.
//!
//! Repairs go through on-matter-closed/reopened and on-matter-updated (with every mapped field,
//! whatever `sync_fields_on_update` says), so a fix is audited and behaves exactly like the
//! event it stands in for. Client, matter and type (custom1..custom3) are never rewritten here:
//! changing them refiles the workspace, which is a person's decision; they stay reported.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::closing::{closed_name, linked, on_matter_closed, on_matter_reopened};
use crate::fields::CustomField;
use crate::imanage::api::seg;
use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::links::Link;
use crate::mapping;
use crate::model::{Matter, Result};
use crate::platform::{Method, Platform};
use crate::settings::{CloseAction, Settings};
use crate::transport::{status_error, Retry};
use crate::updating::update;
use crate::{audit, validate};

/// The pseudo-field naming the matter's closed state.
pub const CLOSED: &str = "closed";
/// The pseudo-field naming the workspace's name.
pub const NAME: &str = "name";

/// One way a workspace differs from its matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Difference {
    /// `name`, `closed`, `default_security` or a custom field such as `custom13`.
    pub field: String,
    /// What the matter says the workspace should hold.
    pub expected: String,
    /// What the workspace holds ("" when absent).
    pub actual: String,
}

/// What comparing a matter with its workspace found, and what was repaired.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The differences found.
    pub differences: Vec<Difference>,
    /// Whether repairs were applied (`fix` and something to repair).
    pub fixed: bool,
    /// The differences left afterwards: all of them without `fix`; with it, those the normal
    /// paths do not change (custom1..custom3).
    pub remaining: Vec<Difference>,
}

/// Whether the matter system says the matter is closed: its status is `Closed` (any case), as
/// the Actionstep hook reads it. `None` when the record has no status: then matterlink's own
/// record of closing is taken as right.
pub fn closed_by_status(m: &Matter) -> Option<bool> {
    m.status
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.eq_ignore_ascii_case("closed"))
}

/// A workspace field as text: strings as they are, booleans and numbers written out, absent "".
fn text(ws: &Value, field: &str) -> String {
    match ws.get(field) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    }
}

fn diff(out: &mut Vec<Difference>, field: &str, expected: String, actual: String) {
    if expected != actual {
        out.push(Difference {
            field: field.to_string(),
            expected,
            actual,
        });
    }
}

/// The differences between a matter and its workspace as iManage has it now (`ws`).
/// `lookup_enabled` is the matter's custom2 value's `enabled`, read only for
/// `close_action = disable_lookup`.
pub fn compare(
    s: &Settings,
    m: &Matter,
    link: &Link,
    ws: &Value,
    lookup_enabled: Option<bool>,
) -> Result<Vec<Difference>> {
    let closed = closed_by_status(m).unwrap_or(link.closed);
    let mut out = Vec::new();
    diff(
        &mut out,
        CLOSED,
        closed.to_string(),
        link.closed.to_string(),
    );
    let base = s.workspace_name.render(m);
    let name = if closed {
        closed_name(&s.close_prefix, &base)
    } else {
        base
    };
    diff(&mut out, NAME, name, text(ws, "name"));
    for (field, value) in &mapping::profile(m, s)?.fields {
        diff(
            &mut out,
            &field.name(),
            value.clone(),
            text(ws, &field.name()),
        );
    }
    match s.close_action {
        CloseAction::None => {}
        CloseAction::Flag(field) => {
            let actual = ws
                .get(field.name())
                .and_then(Value::as_bool)
                .unwrap_or(false);
            diff(
                &mut out,
                &field.name(),
                closed.to_string(),
                actual.to_string(),
            );
        }
        CloseAction::View => {
            let actual = text(ws, "default_security");
            if closed {
                diff(&mut out, "default_security", "view".into(), actual);
            } else if let Some(before) = &link.security_before_close {
                diff(&mut out, "default_security", before.clone(), actual);
            }
        }
        CloseAction::DisableLookup => {
            if let Some(enabled) = lookup_enabled {
                let field = format!("{}.enabled", CustomField::MATTER.name());
                diff(&mut out, &field, (!closed).to_string(), enabled.to_string());
            }
        }
    }
    Ok(out)
}

/// Reads the workspace (and the lookup, when closing disables it) and compares.
fn check(p: &dyn Platform, s: &Settings, m: &Matter) -> Result<Vec<Difference>> {
    let api = Imanage::new(p, s);
    let (link, ws) = linked(&api, m, "compare")?;
    let enabled = match s.close_action {
        CloseAction::DisableLookup => lookup_enabled(&api, m, &ws)?,
        _ => None,
    };
    compare(s, m, &link, &ws, enabled)
}

fn lookup_enabled(api: &Imanage<'_>, m: &Matter, ws: &Value) -> Result<Option<bool>> {
    let client = text(ws, CustomField::CLIENT.name().as_str());
    let mut path = format!("/customs/{}/{}", CustomField::MATTER.name(), seg(&m.id));
    if !client.is_empty() {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("parent_alias", &client)
            .finish();
        path = format!("{path}?{q}");
    }
    match api.call(Method::Get, &path, None, Retry::Safe)? {
        Answer::Ok(v) => Ok(json::data(&v).get("enabled").and_then(Value::as_bool)),
        Answer::Status(404, _) => Ok(None),
        Answer::Status(status, why) => Err(status_error(Method::Get, &path, status, &why)),
    }
}

/// Fields the repair paths write: the name, the closed state and its mark, and every mapped
/// field past custom3.
pub fn repairable(d: &Difference) -> bool {
    match CustomField::parse(&d.field) {
        Some(f) => f > CustomField::MATTER_TYPE,
        None => true,
    }
}

/// drift: compares the matter with its workspace; with `fix`, repairs what the normal paths
/// can (closing, reopening, updating), audited as `drift-fix`.
pub fn drift(p: &dyn Platform, m: &Matter, fix: bool) -> Result<Report> {
    validate::matter(m, true)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    let differences = check(p, &s, m)?;
    if !fix {
        return Ok(Report {
            remaining: differences.clone(),
            differences,
            fixed: false,
        });
    }
    let result = repair(p, &s, m, &differences);
    let (outcome, detail) = match &result {
        Ok(r) if !r.fixed => ("unchanged", "no drift".to_string()),
        Ok(r) => (
            "ok",
            format!(
                "repaired {}; remaining {}",
                fields(&r.differences),
                if r.remaining.is_empty() {
                    "none".to_string()
                } else {
                    fields(&r.remaining)
                }
            ),
        ),
        Err(e) => (e.kind(), e.message().to_string()),
    };
    audit::record(p, "drift-fix", &m.id, outcome, detail)?;
    result
}

fn fields(ds: &[Difference]) -> String {
    ds.iter()
        .map(|d| d.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Differences in the closed state: what on-matter-closed/reopened repairs.
fn is_state(s: &Settings, d: &Difference) -> bool {
    d.field == CLOSED
        || d.field == "default_security"
        || d.field.ends_with(".enabled")
        || matches!(s.close_action, CloseAction::Flag(f) if f.name() == d.field)
}

fn repair(p: &dyn Platform, s: &Settings, m: &Matter, found: &[Difference]) -> Result<Report> {
    if !found.iter().any(repairable) {
        return Ok(Report {
            differences: found.to_vec(),
            fixed: false,
            remaining: found.to_vec(),
        });
    }
    let state_drift = found.iter().any(|d| is_state(s, d));
    if state_drift {
        let api = Imanage::new(p, s);
        let (link, _) = linked(&api, m, "repair")?;
        if closed_by_status(m).unwrap_or(link.closed) {
            on_matter_closed(p, m)?;
        } else {
            on_matter_reopened(p, m)?;
        }
    }
    // Closing and reopening write the expected name themselves; mapped fields (and a name
    // that drifted on its own) go through on-matter-updated.
    let field_drift = found
        .iter()
        .any(|d| repairable(d) && !is_state(s, d) && CustomField::parse(&d.field).is_some());
    let name_drift = found.iter().any(|d| d.field == NAME);
    if field_drift || (name_drift && !state_drift) {
        update(p, m, true)?;
    }
    Ok(Report {
        differences: found.to_vec(),
        fixed: true,
        remaining: check(p, s, m)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Workspace;
    use crate::testing::FakePlatform;
    use serde_json::json;

    fn basic() -> Matter {
        serde_json::from_str(include_str!("../../tests/fixtures/matter-basic.json")).unwrap()
    }

    fn link(closed: bool) -> Link {
        let ws = Workspace {
            id: "ACTIVE!1000".into(),
            name: "Smith v Jones".into(),
            url: "u".into(),
            library: "ACTIVE".into(),
        };
        let mut l = Link::new("1042", ws, None, 1, "created");
        l.closed = closed;
        l
    }

    fn settings(extra: &[(&str, &str)]) -> Settings {
        let p = FakePlatform::configured();
        p.set_config("field_map", r#"{"File Reference": "custom13"}"#);
        for (k, v) in extra {
            p.set_config(k, v);
        }
        Settings::load(&p).unwrap()
    }

    fn in_sync() -> Value {
        json!({"id": "ACTIVE!1000", "name": "Smith v Jones", "custom1": "C-100",
               "custom2": "1042", "custom3": "Litigation", "custom13": "LIT-2026-0042"})
    }

    #[test]
    fn a_workspace_in_step_has_no_drift() {
        let d = compare(&settings(&[]), &basic(), &link(false), &in_sync(), None).unwrap();
        assert_eq!(d, vec![]);
    }

    #[test]
    fn renamed_workspace_and_changed_field_are_listed() {
        let mut ws = in_sync();
        ws["name"] = json!("Smith v Jones (old)");
        ws["custom13"] = json!("WRONG-REF");
        let d = compare(&settings(&[]), &basic(), &link(false), &ws, None).unwrap();
        assert_eq!(
            d,
            vec![
                Difference {
                    field: "name".into(),
                    expected: "Smith v Jones".into(),
                    actual: "Smith v Jones (old)".into()
                },
                Difference {
                    field: "custom13".into(),
                    expected: "LIT-2026-0042".into(),
                    actual: "WRONG-REF".into()
                },
            ]
        );
    }

    #[test]
    fn a_closed_matter_expects_the_prefix_and_the_close_mark() {
        let s = settings(&[("close_action", "flag:custom25")]);
        let mut m = basic();
        m.status = Some("closed".into());
        let d = compare(&s, &m, &link(false), &in_sync(), None).unwrap();
        let got: Vec<_> = d
            .iter()
            .map(|d| (d.field.as_str(), d.expected.as_str(), d.actual.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("closed", "true", "false"),
                ("name", "CLOSED - Smith v Jones", "Smith v Jones"),
                ("custom25", "true", "false"),
            ]
        );
        // Without a status, matterlink's own record of closing is taken as right.
        m.status = None;
        let mut ws = in_sync();
        ws["name"] = json!("CLOSED - Smith v Jones");
        ws["custom25"] = json!(true);
        assert_eq!(compare(&s, &m, &link(true), &ws, None).unwrap(), vec![]);
    }

    #[test]
    fn only_fields_past_custom3_are_repairable() {
        let d = |f: &str| Difference {
            field: f.into(),
            expected: String::new(),
            actual: String::new(),
        };
        assert!(!repairable(&d("custom1")));
        assert!(!repairable(&d("custom3")));
        assert!(repairable(&d("custom13")));
        assert!(repairable(&d("name")));
        assert!(repairable(&d("closed")));
    }
}
