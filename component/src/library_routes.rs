//! `library_routes`: which iManage library (and which templates) a matter goes to, when a firm
//! keeps more than one library — a branch office's, a practice group's.
//!
//! A JSON list, tried in order; the first route whose every condition holds wins, and a matter
//! no route takes goes to `imanage_library` with `templates`:
//!
//! ```json
//! [{"library": "BRANCH", "when": {"matter_type": ["Conveyancing"]},
//!   "templates": {"Conveyancing": "BRANCH!300"}}]
//! ```
//!
//! Conditions name an attribute of the matter record (the matter system has no "office" field
//! of its own, so firms route on what it sends: the type, the responsible person, the client, or
//! a file-reference prefix such as `SYD-`), each with one value or a list of accepted values.
//! A route's templates must live in its library: a template id names its library (`BRANCH!300`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::model::{Error, Matter, Result};

/// An attribute of the matter a route can test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attribute {
    /// The matter type.
    MatterType,
    /// The matter's status.
    Status,
    /// The matter's priority.
    Priority,
    /// Who the matter is assigned to.
    AssignedTo,
    /// The person acting on the matter.
    ActingUser,
    /// The primary client's id.
    ClientId,
    /// The file reference starts with one of the values.
    FileReferencePrefix,
}

const ATTRIBUTES: &[(&str, Attribute)] = &[
    ("matter_type", Attribute::MatterType),
    ("status", Attribute::Status),
    ("priority", Attribute::Priority),
    ("assigned_to", Attribute::AssignedTo),
    ("acting_user", Attribute::ActingUser),
    ("client_id", Attribute::ClientId),
    ("file_reference_prefix", Attribute::FileReferencePrefix),
];

impl Attribute {
    fn parse(name: &str) -> Option<Attribute> {
        ATTRIBUTES.iter().find(|(n, _)| *n == name).map(|(_, a)| *a)
    }

    fn holds(self, m: &Matter, accepted: &[String]) -> bool {
        let value = match self {
            Attribute::MatterType => Some(m.matter_type.as_str()),
            Attribute::Status => m.status.as_deref(),
            Attribute::Priority => m.priority.as_deref(),
            Attribute::AssignedTo => m.assigned_to.as_deref(),
            Attribute::ActingUser => m.acting_user.as_deref(),
            Attribute::ClientId => m.primary_client().map(|c| c.id.as_str()),
            Attribute::FileReferencePrefix => {
                let reference = m.file_reference.as_deref().unwrap_or_default().trim();
                return !reference.is_empty()
                    && accepted.iter().any(|p| reference.starts_with(p.as_str()));
            }
        };
        value.is_some_and(|v| accepted.iter().any(|a| a == v.trim()))
    }
}

/// One route of `library_routes`: matters it takes go to its library.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRoute {
    /// The library the matters it takes go to.
    pub library: String,
    /// Every condition must hold; each accepts any of its values.
    pub when: Vec<(Attribute, Vec<String>)>,
    /// Matter type → template workspace id in `library`.
    pub templates: BTreeMap<String, String>,
}

impl LibraryRoute {
    /// Whether every condition of the route holds for `m`.
    pub fn takes(&self, m: &Matter) -> bool {
        self.when
            .iter()
            .all(|(attribute, accepted)| attribute.holds(m, accepted))
    }
}

/// Where a matter's workspace lives and which templates apply there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination<'s> {
    /// The library the workspace lives in.
    pub library: &'s str,
    /// Matter type → template workspace id in that library.
    pub templates: &'s BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    library: String,
    when: BTreeMap<String, Value>,
    #[serde(default)]
    templates: BTreeMap<String, String>,
}

fn bad(why: String) -> Error {
    Error::NotConfigured(format!("`library_routes` {why}"))
}

/// Letters, digits and `_`, as iManage library ids are.
pub fn valid_library(library: &str) -> bool {
    !library.is_empty()
        && library
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Reads `library_routes` (a JSON list of routes); what is wrong is `not-configured`.
pub fn parse(json: &str) -> Result<Vec<LibraryRoute>> {
    let raw: Vec<RawRoute> = serde_json::from_str(json).map_err(|e| {
        bad(format!(
            "must be a JSON list of {{\"library\", \"when\", \"templates\"}} routes: {e}"
        ))
    })?;
    raw.into_iter()
        .enumerate()
        .map(|(i, r)| {
            let n = i + 1;
            if !valid_library(&r.library) {
                return Err(bad(format!(
                    "route {n}: library must be letters, digits and `_`, not {:?}",
                    r.library
                )));
            }
            if r.when.is_empty() {
                return Err(bad(format!(
                    "route {n} ({}) has no condition in `when`; to send every matter there, set `imanage_library` instead",
                    r.library
                )));
            }
            let mut when = Vec::new();
            for (name, value) in r.when {
                let attribute = Attribute::parse(&name).ok_or_else(|| {
                    let known: Vec<&str> = ATTRIBUTES.iter().map(|(n, _)| *n).collect();
                    bad(format!(
                        "route {n}: cannot route on {name:?}; use one of {}",
                        known.join(", ")
                    ))
                })?;
                let accepted = match value {
                    Value::String(s) => vec![s],
                    Value::Array(items) => items
                        .into_iter()
                        .map(|v| match v {
                            Value::String(s) => Ok(s),
                            other => Err(other),
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()
                        .map_err(|v| {
                            bad(format!("route {n}: {name} values must be strings, not {v}"))
                        })?,
                    other => {
                        return Err(bad(format!(
                            "route {n}: {name} must be a string or a list of strings, not {other}"
                        )))
                    }
                };
                if accepted.is_empty() {
                    return Err(bad(format!("route {n}: {name} lists no value")));
                }
                when.push((attribute, accepted));
            }
            for (matter_type, id) in &r.templates {
                let in_library = id
                    .split_once('!')
                    .is_some_and(|(lib, _)| lib.eq_ignore_ascii_case(&r.library));
                if !in_library {
                    return Err(bad(format!(
                        "route {n}: template {id:?} for {matter_type:?} is not in library {}",
                        r.library
                    )));
                }
            }
            Ok(LibraryRoute {
                library: r.library,
                when,
                templates: r.templates,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matter() -> Matter {
        serde_json::from_str(include_str!("../../tests/fixtures/matter-basic.json")).unwrap()
    }

    #[test]
    fn first_matching_route_wins_and_all_conditions_must_hold() {
        let routes = parse(
            r#"[
              {"library": "BRANCH", "when": {"matter_type": "Litigation", "assigned_to": ["LWONG"]}},
              {"library": "SYD", "when": {"file_reference_prefix": ["LIT-", "SYD-"]},
               "templates": {"Litigation": "SYD!7"}},
              {"library": "OTHER", "when": {"matter_type": ["Litigation", "Probate"]}}
            ]"#,
        )
        .unwrap();
        let m = matter();
        let taken: Vec<&str> = routes
            .iter()
            .filter(|r| r.takes(&m))
            .map(|r| r.library.as_str())
            .collect();
        assert_eq!(taken, vec!["SYD", "OTHER"]);
        assert_eq!(routes[1].templates["Litigation"], "SYD!7");
        let mut lwong = m.clone();
        lwong.assigned_to = Some("LWONG".into());
        assert!(routes[0].takes(&lwong));
    }

    #[test]
    fn mistakes_are_named() {
        for (json, expected) in [
            ("{}", "JSON list"),
            (
                r#"[{"library": "B R", "when": {"status": "x"}}]"#,
                "letters",
            ),
            (r#"[{"library": "B", "when": {}}]"#, "no condition"),
            (r#"[{"library": "B", "when": {"office": "SYD"}}]"#, "office"),
            (r#"[{"library": "B", "when": {"status": 5}}]"#, "string"),
            (r#"[{"library": "B", "when": {"status": []}}]"#, "no value"),
            (
                r#"[{"library": "B", "when": {"status": "x"}, "templates": {"T": "ACTIVE!1"}}]"#,
                "not in library B",
            ),
            (
                r#"[{"library": "B", "when": {"status": "x"}, "Templates": {}}]"#,
                "Templates",
            ),
        ] {
            match parse(json) {
                Err(Error::NotConfigured(m)) => {
                    assert!(m.contains("library_routes") && m.contains(expected), "{m}")
                }
                other => panic!("{json}: {other:?}"),
            }
        }
    }
}
