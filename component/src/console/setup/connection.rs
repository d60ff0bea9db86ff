//! What the set-up page shows of iManage: the connection's status, and the libraries, custom
//! fields and templates to choose from — each from the domain (`auth`, `imanage`, `fields`).

use crate::auth::session;
use crate::fields::{CustomField, FieldKind};
use crate::imanage::template::TemplateSummary;
use crate::imanage::Imanage;
use crate::platform::Platform;
use crate::settings::Settings;

/// The connection as the stored tokens and discovery say.
pub fn status(p: &dyn Platform) -> (bool, String) {
    let token = match session::current(p) {
        Ok(t) => t,
        Err(e) => {
            return (
                false,
                format!("The connection cannot be read: {}", e.message()),
            )
        }
    };
    let account = crate::imanage::discovery::cached(p)
        .ok()
        .flatten()
        .map(|d| d.account);
    match token {
        None => (false, "Not connected to iManage".into()),
        Some(t) if t.ended.is_some() => (
            false,
            format!(
                "Disconnected: iManage ended the connection ({})",
                t.ended.map(|e| e.reason).unwrap_or_default()
            ),
        ),
        Some(t) => {
            let now = p.now();
            let minutes = t.access_expires_at.saturating_sub(now) / 60;
            let who = account.map_or("Connected".to_string(), |a| format!("Connected as {a}"));
            if t.usable_at(now) {
                (true, format!("{who}, token valid {minutes} min"))
            } else if t.refresh_token.is_some() {
                (
                    true,
                    format!("{who}, token expired (renewed at the next call)"),
                )
            } else {
                (true, format!("{who}, token expired (the service account signs in again at the next call)"))
            }
        }
    }
}

/// What iManage offers the form; empty lists when it could not be asked.
#[derive(Default)]
pub struct Offered {
    /// Libraries discovery lists.
    pub libraries: Vec<String>,
    /// The chosen library's templates.
    pub templates: Vec<TemplateSummary>,
    /// Why iManage could not be asked, when it could not.
    pub problem: Option<String>,
}

/// Asks iManage (through the current configuration's connection) for the libraries and the
/// templates of `library`. A service account signs in here if it has not yet.
pub fn offered(p: &dyn Platform, library: &str) -> Offered {
    let mut out = Offered::default();
    let s = match Settings::load(p) {
        Ok(s) => s,
        Err(e) => {
            out.problem = Some(format!(
                "iManage is not connected: the configuration is incomplete ({})",
                e.message()
            ));
            return out;
        }
    };
    let api = Imanage::new(p, &s);
    match api.discovery() {
        Ok(d) => out.libraries = d.libraries,
        Err(e) => {
            out.problem = Some(format!("iManage is not connected: {}", e.message()));
            return out;
        }
    }
    let library = if crate::library_routes::valid_library(library) {
        library
    } else {
        &s.library
    };
    match Imanage::in_library(p, &s, library).templates() {
        Ok(t) => out.templates = t,
        Err(e) => {
            out.problem = Some(format!(
                "The templates of {library} could not be read: {}",
                e.message()
            ))
        }
    }
    out
}

/// One custom field a matter field may be mapped to, as the drop-downs list it.
pub struct FieldChoice {
    /// `custom13`.
    pub name: String,
    /// `custom13 (text)`.
    pub label: String,
}

/// The fields a mappable matter field may be pointed at: every custom field but the locked
/// client, matter and type, with its kind — including kinds a matter field cannot have, so
/// that the refusal is said beside the choice rather than the choice being hidden.
pub fn field_choices() -> Vec<FieldChoice> {
    CustomField::all()
        .filter(|f| !f.locked())
        .map(|f| FieldChoice {
            name: f.name(),
            label: format!("{} ({})", f.name(), f.kind().label()),
        })
        .collect()
}

/// The free-text fields `clients_field` may be.
pub fn text_fields() -> Vec<FieldChoice> {
    CustomField::all()
        .filter(|f| f.kind() == FieldKind::Text)
        .map(|f| FieldChoice {
            name: f.name(),
            label: format!("{} (text)", f.name()),
        })
        .collect()
}
