//! The set-up form as typed: read from the current configuration (GET) or from a POST, turned
//! into the values to save, and checked with the same code that loads the configuration.

use std::collections::BTreeMap;

use crate::console::form::Form;
use crate::fields::{self, CustomField, MappableField};
use crate::model::{Error, Result};
use crate::platform::Platform;
use crate::saved_settings::{self, Overlay};
use crate::settings::{Settings, CONSOLE_KEYS};

/// The keys shown as checkboxes, with their defaults (as `Settings::load` has them).
pub const FLAGS: &[(&str, bool)] = &[
    ("auto_create", true),
    ("require_template", false),
    ("sync_fields_on_update", false),
    ("my_matters", false),
];

/// Keys the form edits through something other than one plain input of the key's name.
const COMPOSED: &[&str] = &["imanage_password", "field_map", "templates", "matter_types"];

/// What the form holds. Never the stored password: only what was typed into its field (and no
/// `Debug`, so that not even that can reach a log).
#[derive(Clone, Default)]
pub struct Draft {
    /// Key → text, for every console key edited as one input (selects, texts, checkboxes as
    /// `true`/`false`, `library_routes` as its JSON).
    pub values: BTreeMap<String, String>,
    /// A new password typed into the write-only field; empty keeps the stored one.
    pub password: String,
    /// `matter_types` as people type it: `Litigation, Conveyancing`.
    pub matter_types: String,
    /// Each mappable field's target (`custom13`), empty when not mapped.
    pub map: BTreeMap<MappableField, String>,
    /// Matter type → template id rows, in the order shown.
    pub templates: Vec<(String, String)>,
}

fn is_true(v: &str) -> bool {
    matches!(
        v.trim().to_ascii_lowercase().as_str(),
        "true" | "yes" | "1" | "on"
    )
}

impl Draft {
    /// The form as the configuration stands (saved values over the deployment's).
    pub fn current(p: &dyn Platform) -> Result<Draft> {
        let mut d = Draft::default();
        for key in CONSOLE_KEYS {
            if COMPOSED.contains(key) {
                continue;
            }
            let v = p.config(key)?.unwrap_or_default();
            let v = match FLAGS.iter().find(|(k, _)| k == key) {
                Some((_, default)) if v.is_empty() => default.to_string(),
                Some(_) => is_true(&v).to_string(),
                None => v,
            };
            d.values.insert(key.to_string(), v);
        }
        let types = p.config("matter_types")?.unwrap_or_default();
        d.matter_types = match serde_json::from_str::<Vec<String>>(&types) {
            Ok(list) => list.join(", "),
            Err(_) => types,
        };
        if let Some(json) = p.config("field_map")? {
            // A map that does not parse is shown as nothing mapped; saving shows its error.
            if let Ok(raw) = serde_json::from_str::<BTreeMap<String, String>>(&json) {
                for (label, target) in raw {
                    if let Some(f) = MappableField::parse(&label) {
                        d.map.insert(f, target);
                    }
                }
            }
        }
        if let Some(json) = p.config("templates")? {
            if let Ok(raw) = serde_json::from_str::<BTreeMap<String, String>>(&json) {
                d.templates = raw.into_iter().collect();
            }
        }
        Ok(d)
    }

    /// The form as posted. Checkboxes not sent are unticked.
    pub fn posted(form: &Form) -> Draft {
        let mut d = Draft::default();
        for key in CONSOLE_KEYS {
            if COMPOSED.contains(key) {
                continue;
            }
            let v = match FLAGS.iter().find(|(k, _)| k == key) {
                Some(_) => form.checked(key).to_string(),
                None => form.text(key).to_string(),
            };
            d.values.insert(key.to_string(), v);
        }
        d.password = form.text("imanage_password").to_string();
        d.matter_types = form.text("matter_types").to_string();
        for f in MappableField::ALL {
            d.map
                .insert(f, form.text(&format!("map.{}", f.key())).to_string());
        }
        let types: Vec<&str> = form.all("template.type").collect();
        let ids: Vec<&str> = form.all("template.id").collect();
        for (t, id) in types.into_iter().zip(ids) {
            if !t.is_empty() {
                d.templates.push((t.to_string(), id.to_string()));
            }
        }
        d
    }

    /// One text value.
    pub fn get(&self, key: &str) -> &str {
        self.values.get(key).map_or("", String::as_str)
    }

    /// Adds a template row (replacing one of the same matter type).
    pub fn add_template(&mut self, matter_type: &str, template: &str) {
        let matter_type = matter_type.trim();
        if matter_type.is_empty() {
            return;
        }
        self.templates.retain(|(t, _)| t != matter_type);
        self.templates
            .push((matter_type.to_string(), template.trim().to_string()));
    }

    /// Removes the row of `matter_type`.
    pub fn remove_template(&mut self, matter_type: &str) {
        self.templates.retain(|(t, _)| t != matter_type);
    }

    /// The configuration text of every console key as this form says it. The password is only
    /// there when one was typed.
    fn as_config(&self) -> BTreeMap<String, String> {
        use serde_json::{Map, Value};
        // Built as JSON values, not by serialising maps of their own: a serialiser (and a sort)
        // per type would cost the component more than the form does.
        let text = |v: Value, empty: bool| if empty { String::new() } else { v.to_string() };
        let mut out = self.values.clone();
        let mut types = Vec::new();
        for t in self.matter_types.split(',').map(str::trim) {
            if !t.is_empty() {
                types.push(Value::String(t.to_string()));
            }
        }
        let matter_types = if self.matter_types.trim_start().starts_with('[') {
            self.matter_types.clone()
        } else {
            let empty = types.is_empty();
            text(Value::Array(types), empty)
        };
        out.insert("matter_types".into(), matter_types);
        let mut map = Map::new();
        for (f, t) in &self.map {
            if !t.is_empty() {
                map.insert(f.label().to_string(), Value::String(t.clone()));
            }
        }
        let empty = map.is_empty();
        out.insert("field_map".into(), text(Value::Object(map), empty));
        let mut templates = Map::new();
        for (t, id) in &self.templates {
            templates.insert(t.clone(), Value::String(id.clone()));
        }
        let empty = templates.is_empty();
        out.insert("templates".into(), text(Value::Object(templates), empty));
        if !self.password.is_empty() {
            out.insert("imanage_password".into(), self.password.clone());
        }
        out
    }

    /// The values to save: each console key whose value differs from the deployment's (so a
    /// value the deployment gives stays "set by the deployment"); an emptied one is saved as
    /// `""`, which reads as unset. An empty password field keeps the saved password.
    pub fn to_save(&self, p: &dyn Platform) -> Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (key, value) in self.as_config() {
            let deployed = p.config_deployed(&key)?.unwrap_or_default();
            if !same(&deployed, &value) {
                out.insert(key, value.trim().to_string());
            }
        }
        if self.password.is_empty() {
            if let Some(saved) = saved_settings::load(p)? {
                if let Some(pw) = saved.values.get("imanage_password") {
                    out.insert("imanage_password".into(), pw.clone());
                }
            }
        }
        Ok(out)
    }

    /// Checks the form the way the configuration is loaded: each mapped field against the
    /// field rule (beside its drop-down), then `Settings::load` over the values to save laid
    /// over the deployment's configuration. Errors are keyed by the form field they belong to
    /// (`""`: none, a deployment key's).
    pub fn check(&self, p: &dyn Platform) -> Result<Vec<(String, String)>> {
        let mut errors = Vec::new();
        for (field, target) in &self.map {
            if target.is_empty() {
                continue;
            }
            let refused = match CustomField::parse(target) {
                None => Some(format!(
                    "{target:?} is not a custom field (custom1..custom31)"
                )),
                Some(custom) => fields::check_target(*field, custom)
                    .err()
                    .map(|e| e.message().to_string()),
            };
            if let Some(msg) = refused {
                errors.push((format!("map-{}", field.key()), msg));
            }
        }
        let values = self.to_save(p)?;
        let candidate = Overlay::with(p, values);
        if let Err(e) = Settings::load(&candidate) {
            let msg = e.message().to_string();
            let field = match &e {
                Error::NotConfigured(_) => named_key(&msg).map_or(String::new(), field_of),
                _ => String::new(),
            };
            // The field rule above already said it beside the drop-down.
            if field != "field_map" || errors.is_empty() {
                errors.push((field, msg));
            }
        }
        Ok(errors)
    }
}

/// The same configuration text: equal once trimmed, or the same JSON.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.trim(), b.trim());
    if a == b {
        return true;
    }
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y && (x.is_object() || x.is_array()),
        _ => false,
    }
}

/// The first `` `key` `` a configuration error names, when it is a console key.
fn named_key(message: &str) -> Option<&str> {
    let mut parts = message.split('`');
    parts.next();
    let key = parts.next()?;
    crate::settings::CONFIG_KEYS.contains(&key).then_some(key)
}

/// The form field (its element id) a configuration key is edited with; a key the console does
/// not edit belongs to no field.
pub fn field_of(key: &str) -> String {
    match key {
        "imanage_library" => "library".into(),
        k if CONSOLE_KEYS.contains(&k) => k.into(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn only_what_differs_from_the_deployment_is_saved() {
        let p = FakePlatform::configured();
        p.set_config("templates", r#"{"Litigation": "ACTIVE!100"}"#);
        let mut d = Draft::current(&p).unwrap();
        assert_eq!(
            d.templates,
            [("Litigation".to_string(), "ACTIVE!100".to_string())]
        );
        assert_eq!(d.get("auto_create"), "true");
        // Nothing changed: nothing but the defaults the checkboxes make explicit.
        let saved = d.to_save(&p).unwrap();
        assert!(!saved.contains_key("templates"), "{saved:?}");
        assert!(!saved.contains_key("imanage_library"));
        assert!(!saved.contains_key("imanage_password"));
        d.add_template("Conveyancing", "ACTIVE!200");
        d.values.insert("close_prefix".into(), "ARCHIVED".into());
        let saved = d.to_save(&p).unwrap();
        assert_eq!(saved["close_prefix"], "ARCHIVED");
        assert_eq!(
            serde_json::from_str::<BTreeMap<String, String>>(&saved["templates"]).unwrap()
                ["Conveyancing"],
            "ACTIVE!200"
        );
    }

    #[test]
    fn a_field_whose_kind_cannot_hold_the_value_is_refused_beside_it() {
        let p = FakePlatform::configured();
        let mut d = Draft::current(&p).unwrap();
        d.map
            .insert(MappableField::FileReference, "custom25".into());
        let errors = d.check(&p).unwrap();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, "map-file_reference");
        assert!(errors[0].1.contains("Boolean"), "{}", errors[0].1);
        d.map
            .insert(MappableField::FileReference, "custom13".into());
        assert!(d.check(&p).unwrap().is_empty());
    }

    #[test]
    fn settings_load_errors_land_on_the_field_of_their_key() {
        let p = FakePlatform::configured();
        let mut d = Draft::current(&p).unwrap();
        d.values.insert("workspace_name".into(), "{nope}".into());
        let errors = d.check(&p).unwrap();
        assert_eq!(errors[0].0, "workspace_name", "{errors:?}");
        let mut d = Draft::current(&p).unwrap();
        d.values.insert("imanage_library".into(), "NO SUCH".into());
        assert_eq!(d.check(&p).unwrap()[0].0, "library");
        // A deployment key's problem belongs to no field.
        p.unset_config("imanage_client_id");
        let d = Draft::current(&p).unwrap();
        assert_eq!(d.check(&p).unwrap()[0].0, "");
    }

    #[test]
    fn an_empty_password_field_keeps_the_saved_password() {
        let p = FakePlatform::configured();
        let mut d = Draft::current(&p).unwrap();
        d.password = "new-secret-pw".into();
        saved_settings::save(&p, d.to_save(&p).unwrap(), "admin").unwrap();
        let o = Overlay::wrap(&p);
        let d = Draft::current(&o).unwrap();
        assert!(
            d.password.is_empty(),
            "the form never holds the stored password"
        );
        let again = d.to_save(&o).unwrap();
        assert_eq!(again["imanage_password"], "new-secret-pw");
    }
}
