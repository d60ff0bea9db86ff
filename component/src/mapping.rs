//! map-metadata: which profile fields a matter writes. Client, matter and type are locked to
//! custom1/custom2/custom3; the rest follow `field_map`.

use crate::fields::{check_value, clean, CustomField, FieldKind, MappableField, NAME_LIMIT};
use crate::model::{Error, Matter, ProfileField, Result};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::validate::{self, ID_LIMIT};

/// map-metadata: the profile a matter maps to, without touching iManage.
pub fn map_metadata(p: &dyn Platform, m: &Matter) -> Result<Vec<ProfileField>> {
    validate::matter(m, true)?;
    let s = Settings::load(p)?;
    Ok(profile(m, &s)?.as_profile_fields())
}

/// A lookup value the profile needs to exist in iManage before the workspace names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupValue {
    /// The field the value belongs to.
    pub field: CustomField,
    /// The value's id, as the profile names it.
    pub id: String,
    /// Its description, as people see it in iManage.
    pub description: String,
    /// The parent value it sits under (custom2 under its custom1), for fields that have one.
    pub parent: Option<String>,
}

/// The custom fields a matter maps to, and the lookup values they need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// In the order they are sent: custom1 before custom2, as iManage requires.
    pub fields: Vec<(CustomField, String)>,
    /// The lookup values to make sure of before the workspace names them.
    pub lookups: Vec<LookupValue>,
}

impl Profile {
    /// The profile as the contract's name/value pairs.
    pub fn as_profile_fields(&self) -> Vec<ProfileField> {
        self.fields
            .iter()
            .map(|(f, v)| ProfileField {
                name: f.name(),
                value: v.clone(),
            })
            .collect()
    }

    /// The fields as members of a workspace create/patch body.
    pub fn insert_into(&self, body: &mut serde_json::Value) {
        for (f, v) in &self.fields {
            body[f.name()] = crate::fields::typed_value(*f, v);
        }
    }
}

fn value_of(m: &Matter, f: MappableField) -> Option<&str> {
    match f {
        MappableField::Title => Some(m.title.as_str()),
        MappableField::FileReference => m.file_reference.as_deref(),
        MappableField::AssignedTo => m.assigned_to.as_deref(),
        MappableField::Priority => m.priority.as_deref(),
        MappableField::Status => m.status.as_deref(),
    }
}

/// The profile of a validated matter (`validate::matter` with a client).
pub fn profile(m: &Matter, s: &Settings) -> Result<Profile> {
    let client = m
        .primary_client()
        .ok_or_else(|| Error::InvalidMatter(format!("matter {} has no client", m.id)))?;
    let title = clean(&m.title, NAME_LIMIT);
    let client_name = match clean(&client.name, NAME_LIMIT) {
        n if n.is_empty() => client.id.clone(),
        n => n,
    };
    let mut fields = vec![
        (CustomField::CLIENT, client.id.clone()),
        (CustomField::MATTER, m.id.clone()),
    ];
    let mut lookups = vec![
        LookupValue {
            field: CustomField::CLIENT,
            id: client.id.clone(),
            description: client_name,
            parent: None,
        },
        LookupValue {
            field: CustomField::MATTER,
            id: m.id.clone(),
            description: title,
            parent: Some(client.id.clone()),
        },
    ];
    let matter_type = clean(&m.matter_type, ID_LIMIT);
    if !matter_type.is_empty() {
        fields.push((CustomField::MATTER_TYPE, matter_type.clone()));
        lookups.push(LookupValue {
            field: CustomField::MATTER_TYPE,
            id: matter_type.clone(),
            description: matter_type,
            parent: None,
        });
    }
    for (&source, &target) in &s.field_map {
        let Some(raw) = value_of(m, source) else {
            continue;
        };
        let limit = if target.kind() == FieldKind::Lookup {
            ID_LIMIT
        } else {
            NAME_LIMIT
        };
        let value = clean(raw, limit);
        if value.is_empty() {
            continue;
        }
        check_value(target, source.label(), &value)?;
        if target.kind() == FieldKind::Lookup {
            lookups.push(LookupValue {
                field: target,
                id: value.clone(),
                description: value.clone(),
                parent: None,
            });
        }
        fields.push((target, value));
    }
    if let Some(field) = s.clients_field {
        // Every client, so that none is lost when iManage's custom1 holds only the first.
        let all: Vec<String> = m
            .clients
            .iter()
            .map(|c| format!("{} {}", c.id, clean(&c.name, NAME_LIMIT)))
            .collect();
        fields.push((field, clean(&all.join("; "), NAME_LIMIT)));
    }
    Ok(Profile { fields, lookups })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Client;
    use crate::testing::FakePlatform;

    fn basic() -> Matter {
        serde_json::from_str(include_str!("../../tests/fixtures/matter-basic.json")).unwrap()
    }

    #[test]
    fn locked_fields_and_lookups() {
        let s = Settings::load(&FakePlatform::configured()).unwrap();
        let p = profile(&basic(), &s).unwrap();
        let names: Vec<_> = p
            .fields
            .iter()
            .map(|(f, v)| (f.name(), v.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("custom1".to_string(), "C-100"),
                ("custom2".to_string(), "1042"),
                ("custom3".to_string(), "Litigation"),
            ]
        );
        assert_eq!(p.lookups[0].description, "Acme Holdings Ltd");
        assert_eq!(p.lookups[1].parent.as_deref(), Some("C-100"));
        assert_eq!(p.lookups[1].description, "Smith v Jones");
    }

    #[test]
    fn field_map_values_are_checked_against_kinds() {
        let fake = FakePlatform::configured();
        fake.set_config(
            "field_map",
            r#"{"File Reference": "custom13", "Priority": "custom17"}"#,
        );
        let s = Settings::load(&fake).unwrap();
        let mut m = basic();
        let err = profile(&m, &s).unwrap_err();
        assert!(
            matches!(&err, Error::NotConfigured(msg) if msg.contains("custom17") && msg.contains("Priority")),
            "{err}"
        );
        m.priority = Some("2".into());
        let p = profile(&m, &s).unwrap();
        assert!(p.fields.contains(&(
            CustomField::parse("custom13").unwrap(),
            "LIT-2026-0042".into()
        )));
        assert!(p
            .fields
            .contains(&(CustomField::parse("custom17").unwrap(), "2".into())));
    }

    #[test]
    fn every_client_is_kept_in_the_clients_field() {
        let fake = FakePlatform::configured();
        fake.set_config("clients_field", "custom16");
        let s = Settings::load(&fake).unwrap();
        let m: Matter = serde_json::from_str(include_str!(
            "../../tests/fixtures/matter-multi-client.json"
        ))
        .unwrap();
        let p = profile(&m, &s).unwrap();
        assert_eq!(p.fields[0], (CustomField::CLIENT, "C-201".into()));
        let all = &p
            .fields
            .iter()
            .find(|(f, _)| f.name() == "custom16")
            .unwrap()
            .1;
        assert_eq!(
            all,
            "C-201 Ngā Tāngata Trust; C-202 Ōtautahi Holdings; C-203 Société Générale de Test"
        );
    }

    #[test]
    fn first_client_is_primary() {
        let s = Settings::load(&FakePlatform::configured()).unwrap();
        let mut m = basic();
        m.clients.push(Client {
            id: "C-2".into(),
            name: "Second".into(),
        });
        let p = profile(&m, &s).unwrap();
        assert_eq!(p.fields[0].1, "C-100");
    }
}
