//! The `workspace_name` template: how a matter's workspace is named on create and rename.
//! Parsed when settings load, so a template naming an unknown placeholder is refused before
//! the first matter, not at it.

use crate::fields::{clean, NAME_LIMIT};
use crate::model::{Error, Matter, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Title,
    MatterId,
    ClientId,
    ClientName,
    FileReference,
    MatterType,
}

/// A parsed `workspace_name` template: literal text and `{placeholder}`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameTemplate(Vec<Part>);

/// The placeholders a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "title",
    "matter_id",
    "client_id",
    "client_name",
    "file_reference",
    "matter_type",
];

impl Default for NameTemplate {
    fn default() -> Self {
        NameTemplate(vec![Part::Title])
    }
}

impl NameTemplate {
    /// Parses a template; an unknown placeholder or a stray or unclosed brace is `not-configured`.
    pub fn parse(template: &str) -> Result<NameTemplate> {
        let bad = |why: String| Error::NotConfigured(format!("`workspace_name` {why}"));
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Text(rest[..open].to_string()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| bad(format!("has an unclosed `{{` in {template:?}")))?;
            let name = &after[..close];
            parts.push(match name {
                "title" => Part::Title,
                "matter_id" => Part::MatterId,
                "client_id" => Part::ClientId,
                "client_name" => Part::ClientName,
                "file_reference" => Part::FileReference,
                "matter_type" => Part::MatterType,
                other => {
                    return Err(bad(format!(
                        "names the unknown placeholder {{{other}}}; known: {}",
                        PLACEHOLDERS
                            .iter()
                            .map(|p| format!("{{{p}}}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )))
                }
            });
            rest = &after[close + 1..];
        }
        if rest.contains('}') {
            return Err(bad(format!("has a stray `}}` in {template:?}")));
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_string()));
        }
        if !parts.iter().any(|p| !matches!(p, Part::Text(_))) {
            return Err(bad(
                "has no placeholder, so every workspace would get the same name".into(),
            ));
        }
        Ok(NameTemplate(parts))
    }

    /// The workspace name of a matter, cleaned to iManage's limits. Never empty for a
    /// validated matter: if the template yields nothing (all parts absent), the title is used.
    pub fn render(&self, m: &Matter) -> String {
        let client = m.primary_client();
        let mut out = String::new();
        for part in &self.0 {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Title => out.push_str(&m.title),
                Part::MatterId => out.push_str(&m.id),
                Part::ClientId => out.push_str(client.map(|c| c.id.as_str()).unwrap_or("")),
                Part::ClientName => out.push_str(client.map(|c| c.name.as_str()).unwrap_or("")),
                Part::FileReference => out.push_str(m.file_reference.as_deref().unwrap_or("")),
                Part::MatterType => out.push_str(&m.matter_type),
            }
        }
        match clean(&out, NAME_LIMIT) {
            name if name.is_empty() => clean(&m.title, NAME_LIMIT),
            name => name,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Client;

    fn matter() -> Matter {
        Matter {
            id: "1042".into(),
            title: "Smith v Jones".into(),
            matter_type: "Litigation".into(),
            clients: vec![Client {
                id: "C-100".into(),
                name: "Acme".into(),
            }],
            file_reference: Some("LIT-42".into()),
            assigned_to: None,
            priority: None,
            status: None,
            acting_user: None,
        }
    }

    #[test]
    fn renders_every_placeholder() {
        let t = NameTemplate::parse(
            "{matter_id} - {title} [{client_id} {client_name}] {file_reference} ({matter_type})",
        )
        .unwrap();
        assert_eq!(
            t.render(&matter()),
            "1042 - Smith v Jones [C-100 Acme] LIT-42 (Litigation)"
        );
        assert_eq!(NameTemplate::default().render(&matter()), "Smith v Jones");
    }

    #[test]
    fn refuses_unknown_or_broken_templates() {
        for bad in ["{titel}", "{title", "title}", "no placeholder", "{}"] {
            let err = NameTemplate::parse(bad).unwrap_err();
            assert!(
                matches!(&err, Error::NotConfigured(m) if m.contains("workspace_name")),
                "{bad}: {err}"
            );
        }
    }

    #[test]
    fn missing_parts_collapse_and_never_leave_an_empty_name() {
        let mut m = matter();
        m.file_reference = None;
        let t = NameTemplate::parse("{file_reference} {title}").unwrap();
        assert_eq!(t.render(&m), "Smith v Jones");
        let only_ref = NameTemplate::parse("{file_reference}").unwrap();
        assert_eq!(only_ref.render(&m), "Smith v Jones");
    }
}
