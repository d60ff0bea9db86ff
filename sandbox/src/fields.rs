//! The kinds of iManage's custom fields, and how a request's value for one is checked and
//! normalised. Workspace create/patch, search filters and the lookup tables all go through here,
//! so that the field rules live in one place.

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, Utc};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// custom1..custom12, custom29, custom30: an id from a lookup table.
    Lookup,
    /// custom13..custom16, custom31.
    Text,
    /// custom17..custom20.
    Integer,
    /// custom21..custom24.
    DateTime,
    /// custom25..custom28.
    Boolean,
}

/// The kind of `customN`, or None when the name is not a custom field of the API.
pub fn custom_kind(field: &str) -> Option<FieldKind> {
    let digits = field.strip_prefix("custom")?;
    // "custom01" is not a field name iManage knows.
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    match digits.parse::<u32>().ok()? {
        1..=12 | 29 | 30 => Some(FieldKind::Lookup),
        13..=16 | 31 => Some(FieldKind::Text),
        17..=20 => Some(FieldKind::Integer),
        21..=24 => Some(FieldKind::DateTime),
        25..=28 => Some(FieldKind::Boolean),
        _ => None,
    }
}

/// Fields that have a lookup table (`/customs/{field}`).
pub fn has_lookup_table(field: &str) -> bool {
    custom_kind(field) == Some(FieldKind::Lookup)
}

/// The parent field of a child lookup table.
pub fn lookup_parent(field: &str) -> Option<&'static str> {
    match field {
        "custom2" => Some("custom1"),
        "custom30" => Some("custom29"),
        _ => None,
    }
}

/// Whether a profile's value for `field` must exist in its lookup table. Only the client/matter
/// pairs are checked: that is where matterlink's provisioning order matters, and a firm's other
/// lookup fields are often unmanaged in a sandbox.
pub fn lookup_is_enforced(field: &str) -> bool {
    matches!(field, "custom1" | "custom2" | "custom29" | "custom30")
}

/// Check a value sent for `field` against its kind. `Value::Null` means "clear the field", and so
/// does `""` for the text-like kinds.
pub fn normalize(field: &str, kind: FieldKind, value: &Value) -> ApiResult<Value> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    match kind {
        FieldKind::Lookup | FieldKind::Text => match value {
            Value::String(s) if s.is_empty() => Ok(Value::Null),
            Value::String(s) if s.chars().count() > 254 => Err(ApiError::invalid_field(
                field,
                format!("{field} is longer than 254 characters"),
            )),
            Value::String(_) => Ok(value.clone()),
            _ => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a string"),
            )),
        },
        FieldKind::Integer => {
            match value {
                Value::Number(n) => n.as_i64().map(Value::from).ok_or_else(|| {
                    ApiError::invalid_field(field, format!("{field} must be an integer"))
                }),
                // A string is refused even when it holds digits: iManage types custom17..20 as
                // integers (Power Automate swagger), so `"2"` is the wrong type. `""` still clears.
                Value::String(s) if s.is_empty() => Ok(Value::Null),
                _ => Err(ApiError::invalid_field(
                    field,
                    format!("{field} must be an integer"),
                )),
            }
        }
        FieldKind::DateTime => match value {
            Value::String(s) if s.is_empty() => Ok(Value::Null),
            Value::String(s) => parse_date_time(s).map(Value::String).ok_or_else(|| {
                ApiError::invalid_field(field, format!("{field} must be an ISO-8601 date-time"))
            }),
            _ => Err(ApiError::invalid_field(
                field,
                format!("{field} must be an ISO-8601 date-time"),
            )),
        },
        FieldKind::Boolean => match value {
            Value::Bool(_) => Ok(value.clone()),
            _ => Err(ApiError::invalid_field(
                field,
                format!("{field} must be a boolean"),
            )),
        },
    }
}

/// ISO-8601 date-time into RFC 3339 UTC. A value without offset is taken as UTC, and a bare date
/// as its midnight, since clients send both.
fn parse_date_time(text: &str) -> Option<String> {
    let text = text.trim();
    let utc = if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        dt.with_timezone(&Utc)
    } else if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        naive.and_utc()
    } else {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)?
            .and_utc()
    };
    Some(utc.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A stored value as the text a search filter is compared with.
pub fn filter_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_follow_the_field_table() {
        assert_eq!(custom_kind("custom1"), Some(FieldKind::Lookup));
        assert_eq!(custom_kind("custom30"), Some(FieldKind::Lookup));
        assert_eq!(custom_kind("custom31"), Some(FieldKind::Text));
        assert_eq!(custom_kind("custom17"), Some(FieldKind::Integer));
        assert_eq!(custom_kind("custom24"), Some(FieldKind::DateTime));
        assert_eq!(custom_kind("custom25"), Some(FieldKind::Boolean));
        for bad in [
            "custom0", "custom32", "custom01", "custom", "customx", "name", "custom+1",
        ] {
            assert_eq!(custom_kind(bad), None, "{bad}");
        }
    }

    #[test]
    fn values_are_checked_and_normalised() {
        let int = normalize("custom17", FieldKind::Integer, &json!(42)).unwrap();
        assert_eq!(int, json!(42));
        assert!(normalize("custom17", FieldKind::Integer, &json!("42")).is_err());
        assert!(normalize("custom17", FieldKind::Integer, &json!(1.5)).is_err());
        assert!(normalize("custom17", FieldKind::Integer, &json!("x")).is_err());
        let date = normalize(
            "custom21",
            FieldKind::DateTime,
            &json!("2024-05-01T10:00:00+02:00"),
        )
        .unwrap();
        assert_eq!(date, json!("2024-05-01T08:00:00Z"));
        assert_eq!(
            normalize("custom21", FieldKind::DateTime, &json!("2024-05-01")).unwrap(),
            json!("2024-05-01T00:00:00Z")
        );
        assert!(normalize("custom21", FieldKind::DateTime, &json!("yesterday")).is_err());
        assert!(normalize("custom25", FieldKind::Boolean, &json!("true")).is_err());
        assert_eq!(
            normalize("custom3", FieldKind::Lookup, &json!("")).unwrap(),
            Value::Null
        );
        let err = normalize("custom1", FieldKind::Lookup, &json!(7)).unwrap_err();
        assert_eq!(err.messages[0].field.as_deref(), Some("custom1"));
    }
}
