//! iManage custom fields: their kinds, the matter fields that may be mapped onto them, and the
//! cleaning of values to iManage's limits.

use std::collections::BTreeMap;

use crate::model::{Error, Result};

/// The kinds of iManage's custom1..custom31 (see docs/imanage-api.md, "Custom fields and
/// lookups").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Values come from the field's lookup list (custom1..custom12, custom29, custom30).
    Lookup,
    /// Free text (custom13..custom16, custom31).
    Text,
    /// A whole number (custom17..custom20).
    Integer,
    /// A date and time (custom21..custom24).
    DateTime,
    /// True or false (custom25..custom28).
    Boolean,
}

/// One of `custom1`..`custom31`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct CustomField(u8);

impl CustomField {
    /// The client the matter belongs to; always mapped.
    pub const CLIENT: CustomField = CustomField(1);
    /// The matter id, under its client; always mapped, and how a workspace is found again.
    pub const MATTER: CustomField = CustomField(2);
    /// The matter type; always mapped.
    pub const MATTER_TYPE: CustomField = CustomField(3);

    /// `custom1`..`custom31`; anything else is `None`.
    pub fn parse(name: &str) -> Option<CustomField> {
        let n: u8 = name.strip_prefix("custom")?.parse().ok()?;
        (1..=31).contains(&n).then_some(CustomField(n))
    }

    /// Its name as iManage spells it, e.g. `custom13`.
    pub fn name(self) -> String {
        format!("custom{}", self.0)
    }

    /// What kind of values iManage keeps in it.
    pub fn kind(self) -> FieldKind {
        match self.0 {
            1..=12 | 29 | 30 => FieldKind::Lookup,
            13..=16 | 31 => FieldKind::Text,
            17..=20 => FieldKind::Integer,
            21..=24 => FieldKind::DateTime,
            _ => FieldKind::Boolean,
        }
    }

    /// Fields whose lookup values need a parent in the same profile (custom2 ← custom1,
    /// custom30 ← custom29).
    fn has_parent(self) -> bool {
        matches!(self.0, 2 | 30)
    }

    /// custom1..custom3: client, matter and type, which no other matter field may take.
    pub fn locked(self) -> bool {
        matches!(self.0, 1..=3)
    }

    /// custom1..custom31, in order.
    pub fn all() -> impl Iterator<Item = CustomField> {
        (1..=31).map(CustomField)
    }
}

impl FieldKind {
    /// How pages name the kind: `lookup`, `text`, `integer`, `date-time`, `boolean`.
    pub fn label(self) -> &'static str {
        match self {
            FieldKind::Lookup => "lookup",
            FieldKind::Text => "text",
            FieldKind::Integer => "integer",
            FieldKind::DateTime => "date-time",
            FieldKind::Boolean => "boolean",
        }
    }
}

/// Whether matter field `field` may be written to `custom`: not a locked field, a kind the
/// matter field can have, not a child lookup. The one rule `field_map` is checked with, also
/// used by the set-up page to refuse a choice beside its drop-down.
pub fn check_target(field: MappableField, custom: CustomField) -> Result<()> {
    let (label, target) = (field.label(), custom.name());
    if custom.locked() {
        return Err(Error::NotConfigured(format!(
            "`field_map` maps {label:?} to {target}, which is locked to client, matter and type (custom1..custom3)"
        )));
    }
    if !field.can_be(custom.kind()) {
        return Err(Error::NotConfigured(format!(
            "`field_map` maps {label:?} to {target}, a {:?} field, but a matter's {label} can never be one; map it to a text (custom13..16, custom31) or lookup field",
            custom.kind(),
        )));
    }
    if custom.has_parent() {
        return Err(Error::NotConfigured(format!(
            "`field_map` maps {label:?} to {target}, a child lookup that needs its parent value"
        )));
    }
    Ok(())
}

/// The matter fields a firm may map onto a custom field of its choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MappableField {
    /// The matter's title.
    Title,
    /// The firm's file reference.
    FileReference,
    /// Who the matter is assigned to.
    AssignedTo,
    /// The matter's priority.
    Priority,
    /// The matter's status.
    Status,
}

impl MappableField {
    /// Every mappable field, in the order settings and reports list them.
    pub const ALL: [MappableField; 5] = [
        MappableField::Title,
        MappableField::FileReference,
        MappableField::AssignedTo,
        MappableField::Priority,
        MappableField::Status,
    ];

    /// Accepts the labels people write ("File Reference") and snake_case ("file_reference").
    pub fn parse(label: &str) -> Option<MappableField> {
        let norm: String = label
            .chars()
            .filter(|c| !matches!(c, ' ' | '_' | '-'))
            .flat_map(char::to_lowercase)
            .collect();
        Some(match norm.as_str() {
            "title" => MappableField::Title,
            "filereference" => MappableField::FileReference,
            "assignedto" => MappableField::AssignedTo,
            "priority" => MappableField::Priority,
            "status" => MappableField::Status,
            _ => return None,
        })
    }

    /// Whether this matter field can ever hold a value of `kind`: a title is never a number or a
    /// flag, a priority may be a number, a status may be a flag (`true`/`false`) where a matter
    /// system sends it so. `field_map` is refused at load when it maps a field to a kind it
    /// cannot have, rather than failing at the first matter.
    pub fn can_be(self, kind: FieldKind) -> bool {
        match kind {
            FieldKind::Text | FieldKind::Lookup => true,
            FieldKind::Integer => self == MappableField::Priority,
            FieldKind::Boolean => self == MappableField::Status,
            FieldKind::DateTime => false,
        }
    }

    /// The field in snake_case, e.g. `file_reference`: how forms name it.
    pub fn key(self) -> &'static str {
        match self {
            MappableField::Title => "title",
            MappableField::FileReference => "file_reference",
            MappableField::AssignedTo => "assigned_to",
            MappableField::Priority => "priority",
            MappableField::Status => "status",
        }
    }

    /// How settings and reports name the field, e.g. `File Reference`.
    pub fn label(self) -> &'static str {
        match self {
            MappableField::Title => "Title",
            MappableField::FileReference => "File Reference",
            MappableField::AssignedTo => "Assigned To",
            MappableField::Priority => "Priority",
            MappableField::Status => "Status",
        }
    }
}

/// Parses `field_map`: a JSON object of matter field label → `customN`.
pub fn parse_field_map(json: &str) -> Result<BTreeMap<MappableField, CustomField>> {
    let raw: BTreeMap<String, String> = serde_json::from_str(json).map_err(|e| {
        Error::NotConfigured(format!(
            "`field_map` must be a JSON object of matter field → customN: {e}"
        ))
    })?;
    let mut map = BTreeMap::new();
    let mut targets = BTreeMap::new();
    for (label, target) in raw {
        let field = MappableField::parse(&label).ok_or_else(|| {
            let known: Vec<_> = MappableField::ALL.iter().map(|f| f.label()).collect();
            Error::NotConfigured(format!(
                "`field_map` names {label:?}, which is not one of {}",
                known.join(", ")
            ))
        })?;
        let custom = CustomField::parse(&target).ok_or_else(|| {
            Error::NotConfigured(format!(
                "`field_map` maps {label:?} to {target:?}, which is not custom1..custom31"
            ))
        })?;
        check_target(field, custom)?;
        if let Some(previous) = targets.insert(custom, field) {
            return Err(Error::NotConfigured(format!(
                "`field_map` maps both {:?} and {:?} to {target}",
                previous.label(),
                field.label()
            )));
        }
        map.insert(field, custom);
    }
    Ok(map)
}

/// iManage's limit on names and text values, in characters.
pub const NAME_LIMIT: usize = 254;

/// Removes control characters and collapses the whitespace they leave, then shortens to `limit`
/// characters. Works on `char`s, so a multi-byte character is never cut.
pub fn clean(value: &str, limit: usize) -> String {
    let mut out = String::with_capacity(value.len().min(limit * 4));
    let mut last_space = true;
    for c in value.chars() {
        let c = if c.is_control() || c.is_whitespace() {
            ' '
        } else {
            c
        };
        if c == ' ' {
            if last_space {
                continue;
            }
            last_space = true;
        } else {
            last_space = false;
        }
        out.push(c);
    }
    let trimmed = out.trim_end();
    trimmed
        .chars()
        .take(limit)
        .collect::<String>()
        .trim_end()
        .to_string()
}

/// Checks that `value` fits the kind of `field`, so that iManage is never sent a value it would
/// refuse after half the workspace is built.
pub fn check_value(field: CustomField, label: &str, value: &str) -> Result<()> {
    let fits = match field.kind() {
        FieldKind::Lookup | FieldKind::Text => true,
        FieldKind::Integer => value.parse::<i64>().is_ok(),
        FieldKind::Boolean => matches!(value, "true" | "false"),
        FieldKind::DateTime => looks_like_datetime(value),
    };
    if fits {
        Ok(())
    } else {
        Err(Error::NotConfigured(format!(
            "`field_map` maps {label:?} to {}, a {:?} field, but the value {:?} is not one",
            field.name(),
            field.kind(),
            value
        )))
    }
}

/// A checked value (see [`check_value`]) as iManage's field kind wants it on the wire: integers
/// as JSON numbers, booleans as JSON booleans, dates and text as strings. iManage refuses a
/// string for a typed field.
pub fn typed_value(field: CustomField, value: &str) -> serde_json::Value {
    use serde_json::Value;
    match field.kind() {
        FieldKind::Integer => value
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(value.to_string())),
        FieldKind::Boolean => match value {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(value.to_string()),
        },
        FieldKind::Lookup | FieldKind::Text | FieldKind::DateTime => {
            Value::String(value.to_string())
        }
    }
}

/// A profile value read back from iManage as text, whatever kind it came as.
pub fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// ISO-8601 date or date-time, e.g. `2026-11-20` or `2026-11-20T09:14:02+13:00`.
fn looks_like_datetime(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[5..7].iter().all(u8::is_ascii_digit)
        && b[7] == b'-'
        && b[8..10].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || b[10] == b'T')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_follow_the_api_table() {
        let kind = |n: &str| CustomField::parse(n).unwrap().kind();
        assert_eq!(kind("custom1"), FieldKind::Lookup);
        assert_eq!(kind("custom12"), FieldKind::Lookup);
        assert_eq!(kind("custom13"), FieldKind::Text);
        assert_eq!(kind("custom17"), FieldKind::Integer);
        assert_eq!(kind("custom21"), FieldKind::DateTime);
        assert_eq!(kind("custom25"), FieldKind::Boolean);
        assert_eq!(kind("custom30"), FieldKind::Lookup);
        assert_eq!(kind("custom31"), FieldKind::Text);
        assert!(CustomField::parse("custom0").is_none());
        assert!(CustomField::parse("custom32").is_none());
        assert!(CustomField::parse("name").is_none());
    }

    #[test]
    fn field_map_accepts_labels_and_refuses_locked_fields() {
        let map =
            parse_field_map(r#"{"File Reference": "custom13", "assigned_to": "custom4"}"#).unwrap();
        assert_eq!(map[&MappableField::FileReference].name(), "custom13");
        assert_eq!(map[&MappableField::AssignedTo].name(), "custom4");
        for bad in [
            r#"{"Title": "custom2"}"#,
            r#"{"Title": "custom30"}"#,
            r#"{"Colour": "custom13"}"#,
            r#"{"Title": "custom99"}"#,
            r#"{"Title": "custom13", "Status": "custom13"}"#,
            r#"{"Title": "custom25"}"#,
            r#"{"File Reference": "custom17"}"#,
            r#"{"Priority": "custom25"}"#,
            "not json",
        ] {
            assert!(
                matches!(parse_field_map(bad), Err(Error::NotConfigured(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn values_go_out_with_their_kind() {
        let f = |n: &str| CustomField::parse(n).unwrap();
        assert_eq!(typed_value(f("custom17"), "2"), serde_json::json!(2));
        assert_eq!(typed_value(f("custom25"), "true"), serde_json::json!(true));
        assert_eq!(typed_value(f("custom13"), "2"), serde_json::json!("2"));
        assert!(parse_field_map(r#"{"Status": "custom25", "Priority": "custom18"}"#).is_ok());
    }

    #[test]
    fn clean_strips_controls_and_never_cuts_a_character() {
        assert_eq!(clean("Smith\u{0}v\tJones\n", 254), "Smith v Jones");
        assert_eq!(clean("  a   b  ", 254), "a b");
        let long: String = "é".repeat(300);
        let cleaned = clean(&long, NAME_LIMIT);
        assert_eq!(cleaned.chars().count(), 254);
        assert!(cleaned.chars().all(|c| c == 'é'));
        assert_eq!(clean("Ngā Tāngata 🏠 שלום", 254), "Ngā Tāngata 🏠 שלום");
    }

    #[test]
    fn values_must_fit_their_kind() {
        let f = |n: &str| CustomField::parse(n).unwrap();
        assert!(check_value(f("custom17"), "Priority", "2").is_ok());
        assert!(check_value(f("custom17"), "Priority", "High").is_err());
        assert!(check_value(f("custom25"), "Status", "Active").is_err());
        assert!(check_value(f("custom21"), "Status", "2026-11-20T09:14:02Z").is_ok());
        assert!(check_value(f("custom21"), "Status", "soon").is_err());
        assert!(check_value(f("custom13"), "Title", "anything").is_ok());
    }
}
