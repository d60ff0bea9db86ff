//! Actionstep REST hooks (`ActionCreated`, `ActionUpdated`): bodies shaped like a GET of the
//! action resource, mapped to matter events. The hooks carry no event id and no signature, so
//! the id is derived from what changed, and the route is guarded by a secret token in its path.

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::events::{Event, EventType};
use crate::links;
use crate::model::{Client, Matter, Result};
use crate::platform::Platform;

/// One REST hook delivery: the actions it is about.
#[derive(Deserialize)]
pub struct Delivery {
    /// The actions created or changed.
    pub actions: Vec<Action>,
}

/// An Actionstep action (a matter), as much of it as matterlink reads.
#[derive(Deserialize)]
pub struct Action {
    /// Actionstep's id of the action, a number or a string.
    pub id: Value,
    /// The action's name: the matter title.
    pub name: String,
    /// The action's reference: the matter's file reference.
    #[serde(default)]
    pub reference: Option<String>,
    /// Its priority, a number or a string.
    #[serde(default)]
    pub priority: Option<Value>,
    /// Its status; `Closed` closes the matter.
    #[serde(default)]
    pub status: Option<String>,
    /// When it last changed, as Actionstep wrote it.
    #[serde(default, rename = "modifiedTimestamp")]
    pub modified: Option<String>,
    /// The records the action links to.
    #[serde(default)]
    pub links: Links,
}

/// The linked records of an action, by id.
#[derive(Deserialize, Default)]
pub struct Links {
    /// The action type: the matter type.
    #[serde(default, rename = "actionType")]
    pub action_type: Option<Value>,
    /// The participant it is assigned to.
    #[serde(default, rename = "assignedTo")]
    pub assigned_to: Option<Value>,
    /// The primary participants: the matter's clients.
    #[serde(default, rename = "primaryParticipants")]
    pub primary_participants: Option<Vec<Value>>,
}

/// Actionstep ids arrive as numbers or strings.
fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

impl Action {
    /// The action is closed (status `Closed`, in any case).
    pub fn is_closed(&self) -> bool {
        self.status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("closed"))
    }

    /// The matter record; `matter_types` maps Actionstep action type ids to names.
    pub fn matter(
        &self,
        matter_types: &std::collections::BTreeMap<String, String>,
    ) -> Option<Matter> {
        let action_type = self
            .links
            .action_type
            .as_ref()
            .and_then(id_text)
            .unwrap_or_default();
        Some(Matter {
            id: id_text(&self.id)?,
            title: self.name.clone(),
            matter_type: matter_types
                .get(&action_type)
                .cloned()
                .unwrap_or(action_type),
            clients: self
                .links
                .primary_participants
                .iter()
                .flatten()
                .filter_map(id_text)
                // Hooks carry participant ids only; the name says where the id came from.
                .map(|id| Client {
                    name: format!("Actionstep participant {id}"),
                    id,
                })
                .collect(),
            file_reference: self.reference.clone().filter(|r| !r.trim().is_empty()),
            assigned_to: self.links.assigned_to.as_ref().and_then(id_text),
            priority: self.priority.as_ref().and_then(id_text),
            status: self.status.clone(),
            acting_user: None,
        })
    }

    /// A stable id per state of the action: a redelivery maps to the same id, a real change
    /// (modified time, status, name) to a new one.
    pub fn event_id(&self, matter_id: &str) -> String {
        let mut h = Sha256::new();
        for part in [
            self.modified.as_deref().unwrap_or(""),
            self.status.as_deref().unwrap_or(""),
            &self.name,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = hex::encode(h.finalize());
        format!("actionstep-{matter_id}-{}", &digest[..16])
    }
}

/// Which event a delivery means. Actionstep may send created and updated hooks out of order,
/// so the link decides: unlinked → created; closed → closed; linked and closed before →
/// reopened; otherwise updated.
pub fn event_for(p: &dyn Platform, action: &Action, matter: Matter) -> Result<Event> {
    let link = links::get(p, &matter.id)?;
    let kind = match (&link, action.is_closed()) {
        (_, true) => EventType::Closed,
        (None, false) => EventType::Created,
        (Some(l), false) if l.closed => EventType::Reopened,
        (Some(_), false) => EventType::Updated,
    };
    Ok(Event {
        id: action.event_id(&matter.id),
        kind,
        matter,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn fixtures_map_to_matters() {
        let created: Delivery = serde_json::from_str(include_str!(
            "../../../tests/fixtures/actionstep-action-created.json"
        ))
        .unwrap();
        let types = BTreeMap::from([("12".to_string(), "Litigation".to_string())]);
        let a = &created.actions[0];
        let m = a.matter(&types).unwrap();
        assert_eq!(
            (m.id.as_str(), m.title.as_str(), m.matter_type.as_str()),
            ("1042", "Smith v Jones", "Litigation")
        );
        assert_eq!(m.file_reference.as_deref(), Some("LIT-2026-0042"));
        assert_eq!(m.priority.as_deref(), Some("2"));
        assert_eq!(m.clients[0].id, "5120");
        assert!(!a.is_closed());

        let closed: Delivery = serde_json::from_str(include_str!(
            "../../../tests/fixtures/actionstep-action-closed.json"
        ))
        .unwrap();
        let c = &closed.actions[0];
        assert!(c.is_closed());
        assert_eq!(c.matter(&BTreeMap::new()).unwrap().clients.len(), 2);
        assert_ne!(a.event_id("1042"), c.event_id("1042"));
        assert_eq!(a.event_id("1042"), created.actions[0].event_id("1042"));
    }
}
