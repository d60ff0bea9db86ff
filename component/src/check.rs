//! check-connection: each thing the integration needs, checked for real, with ✓/✗ and what
//! to do about a ✗ — the "Verifying Your Integration Setup" table of the seed integration.

use crate::fields::{FieldKind, MappableField};
use crate::imanage::client::Retry;
use crate::imanage::{json, Imanage};
use crate::model::{Error, Result};
use crate::platform::{Method, Platform};
use crate::settings::Settings;

struct Report {
    lines: Vec<String>,
    first_failure: Option<Error>,
}

impl Report {
    fn pass(&mut self, what: &str, detail: String) {
        self.lines.push(format!("✓ {what}: {detail}"));
    }

    fn fail(&mut self, what: &str, error: Error, fix: &str) {
        self.lines
            .push(format!("✗ {what}: {} — {fix}", error.message()));
        self.first_failure.get_or_insert(error);
    }
}

/// The kinds of custom field each matter field can be written to.
fn fits(field: MappableField, kind: FieldKind) -> bool {
    match field {
        MappableField::Priority => matches!(
            kind,
            FieldKind::Text | FieldKind::Lookup | FieldKind::Integer
        ),
        _ => matches!(kind, FieldKind::Text | FieldKind::Lookup),
    }
}

/// `Ok(report)` when every check passes; otherwise the error of the first failure, whose
/// message is the whole report.
pub fn check_connection(p: &dyn Platform) -> Result<String> {
    let mut r = Report {
        lines: Vec::new(),
        first_failure: None,
    };
    let s = match Settings::load(p) {
        Ok(s) => {
            r.pass(
                "configuration",
                format!("loaded ({} at {})", s.library, s.base_url),
            );
            s
        }
        Err(e) => {
            r.fail("configuration", e, "set the key named, then check again");
            return finish(r);
        }
    };
    let api = Imanage::new(p, &s);
    match api.sign_in() {
        Ok(()) => r.pass("token", format!("{} signed in", s.username)),
        Err(e) => {
            r.fail("token", e, "check imanage_username, imanage_password, imanage_client_id and imanage_client_secret");
            return finish(r);
        }
    }
    match api.discover() {
        Ok(d) => {
            r.pass(
                "discovery",
                format!(
                    "customer {}, libraries {}",
                    d.customer_id,
                    d.libraries.join(", ")
                ),
            );
            if d.libraries
                .iter()
                .any(|l| l.eq_ignore_ascii_case(&s.library))
            {
                r.pass(
                    "library",
                    format!("{} is available to {}", s.library, d.user),
                );
            } else {
                r.fail(
                    "library",
                    Error::NotConfigured(format!(
                        "{} is not among the account's libraries",
                        s.library
                    )),
                    "set imanage_library to one of the libraries listed under discovery",
                );
            }
        }
        Err(e) => r.fail(
            "discovery",
            e,
            "check imanage_base_url and that the service is up",
        ),
    }
    if s.templates.is_empty() {
        r.pass(
            "templates",
            "none configured: every matter type gets a plain workspace".into(),
        );
    } else {
        match api.call_ok(Method::Get, "/templates", None, Retry::Safe) {
            Ok(v) => {
                let known: Vec<String> = json::results(&v)
                    .iter()
                    .filter_map(|t| json::str_field(t, "id").map(String::from))
                    .collect();
                for (matter_type, id) in &s.templates {
                    let what = format!("template {matter_type}");
                    if known.iter().any(|k| k == id) {
                        r.pass(&what, format!("{id} exists"));
                    } else {
                        r.fail(
                            &what,
                            Error::NotConfigured(format!(
                                "{id} is not a template of library {}",
                                s.library
                            )),
                            "fix `templates` with an id from the library's templates",
                        );
                    }
                }
            }
            Err(e) => r.fail(
                "templates",
                e,
                "the account needs to read the library's templates",
            ),
        }
    }
    for (field, custom) in &s.field_map {
        let what = format!("field {}", field.label());
        if fits(*field, custom.kind()) {
            r.pass(&what, format!("{} ({:?})", custom.name(), custom.kind()));
        } else {
            r.fail(
                &what,
                Error::NotConfigured(format!("{} is a {:?} field", custom.name(), custom.kind())),
                "map it to a text (custom13..16, custom31) or lookup field in `field_map`",
            );
        }
    }
    match crate::feed::source::check(p, &api) {
        Ok(line) => r.lines.push(line),
        Err((e, fix)) => r.fail("change feed", e, &fix),
    }
    finish(r)
}

fn finish(r: Report) -> Result<String> {
    let text = r.lines.join("\n");
    match r.first_failure {
        None => Ok(text),
        Some(Error::NotConnected(_)) => Err(Error::NotConnected(text)),
        Some(Error::Unavailable(_)) => Err(Error::Unavailable(text)),
        Some(_) => Err(Error::NotConfigured(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn a_broken_configuration_is_reported_with_its_fix() {
        let p = FakePlatform::configured();
        p.unset_config("imanage_username");
        let err = check_connection(&p).unwrap_err();
        assert!(
            matches!(&err, Error::NotConfigured(m) if m.starts_with("✗ configuration") && m.contains("imanage_username")),
            "{err}"
        );
    }

    #[test]
    fn an_unreachable_server_fails_the_token_check() {
        let p = FakePlatform::configured();
        let err = check_connection(&p).unwrap_err();
        let text = err.message();
        assert!(text.contains("✓ configuration"), "{text}");
        assert!(text.contains("✗ token"), "{text}");
    }

    #[test]
    fn field_kinds_that_fit() {
        assert!(fits(MappableField::Priority, FieldKind::Integer));
        assert!(!fits(MappableField::Title, FieldKind::Integer));
        assert!(!fits(MappableField::Status, FieldKind::Boolean));
    }
}
