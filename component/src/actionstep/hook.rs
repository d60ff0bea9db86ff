//! Actionstep REST hook bodies, in every shape seen in public sources: "the same format as a
//! GET" of the resource, with `actions` as an array (the wiki's example) or as one object (the
//! OpenAPI schema of one action), or JSON:API `{"data": {"type", "id", "attributes",
//! "relationships"}}` (the .NET sample's handler). Action participant hooks
//! (`ActionParticipantAdded`/`Deleted`) are recognised too. Hooks carry no event id and no
//! signature: the event id is derived from the action's state.

use serde::Deserialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::events::{Event, EventType};
use crate::links;
use crate::model::{Client, Matter, Result};
use crate::platform::Platform;
use crate::settings::Inactive;

/// What one hook delivery is about.
#[derive(Debug)]
pub enum Delivery {
    /// Actions created or changed (`ActionCreated`, `ActionUpdated`).
    Actions(Vec<Action>),
    /// Action participants added or removed (`ActionParticipantAdded`/`Deleted`).
    Participants(Vec<Participation>),
}

/// One action participant of a hook: which action, in which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participation {
    /// The action's id.
    pub action: String,
    /// The participant type's id, when the body says.
    pub participant_type: Option<String>,
}

/// An action participant's action and type, from its `links` (or JSON:API relationships,
/// already turned into links), or else from its id `action--type--participant`.
fn participation(links: &Value, id: &Value) -> std::result::Result<Participation, String> {
    let link = |k: &str| links.get(k).and_then(id_text);
    let from_id = id_text(id).map(|i| i.split("--").map(str::to_string).collect::<Vec<_>>());
    let part = |n: usize| {
        from_id
            .as_ref()
            .and_then(|p| p.get(n).cloned())
            .filter(|p| !p.is_empty())
    };
    let action = link("action")
        .or_else(|| part(0))
        .ok_or("an action participant names no action")?;
    Ok(Participation {
        action,
        participant_type: link("participantType").or_else(|| part(1)),
    })
}

/// An Actionstep action (a matter), as much of it as matterlink reads.
#[derive(Debug, Deserialize)]
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
    /// `Active`, `Inactive`, `Template` or `Closed`.
    #[serde(default)]
    pub status: Option<String>,
    /// `"T"` when the action was deleted.
    #[serde(default, rename = "isDeleted")]
    pub is_deleted: Option<Value>,
    /// When it last changed, as Actionstep wrote it.
    #[serde(default, rename = "modifiedTimestamp")]
    pub modified: Option<String>,
    /// The records the action links to.
    #[serde(default)]
    pub links: Links,
}

/// The linked records of an action, by id.
#[derive(Debug, Deserialize, Default)]
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

/// Reads a hook body; the error says what it lacks, for the held delivery's reason.
pub fn parse(body: &[u8]) -> std::result::Result<Delivery, String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(top) = v else {
        return Err("not a JSON object".into());
    };
    if let Some(actions) = top.get("actions") {
        return one_or_many(actions, "actions")?
            .into_iter()
            .enumerate()
            .map(|(i, a)| action(a.clone()).map_err(|e| format!("actions[{i}]: {e}")))
            .collect::<std::result::Result<_, _>>()
            .map(Delivery::Actions);
    }
    if let Some(participants) = top.get("actionparticipants") {
        return one_or_many(participants, "actionparticipants")?
            .into_iter()
            .map(|ap| {
                participation(
                    ap.get("links").unwrap_or(&Value::Null),
                    ap.get("id").unwrap_or(&Value::Null),
                )
            })
            .collect::<std::result::Result<_, _>>()
            .map(Delivery::Participants);
    }
    if let Some(data) = top.get("data") {
        return json_api(one_or_many(data, "data")?);
    }
    Err("no `actions`, `actionparticipants` or JSON:API `data` in it".into())
}

/// `value` as a list: an array, or one object standing for itself.
fn one_or_many<'a>(value: &'a Value, name: &str) -> std::result::Result<Vec<&'a Value>, String> {
    match value {
        Value::Array(items) if !items.is_empty() => Ok(items.iter().collect()),
        Value::Object(_) => Ok(vec![value]),
        _ => Err(format!(
            "`{name}` is neither an object nor a non-empty array"
        )),
    }
}

fn action(v: Value) -> std::result::Result<Action, String> {
    let a: Action = serde_json::from_value(v).map_err(|e| e.to_string())?;
    if id_text(&a.id).is_none() {
        return Err("no usable `id`".into());
    }
    Ok(a)
}

/// JSON:API resources: the attributes are the action's fields, the relationships its links.
fn json_api(resources: Vec<&Value>) -> std::result::Result<Delivery, String> {
    let kind = |r: &Value| {
        r.get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_ascii_lowercase()
    };
    let first = kind(resources[0]);
    if resources.iter().any(|r| kind(r) != first) {
        return Err("`data` mixes resource types".into());
    }
    match first.as_str() {
        "actions" | "action" => resources
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                let mut fields = match r.get("attributes") {
                    Some(Value::Object(a)) => a.clone(),
                    _ => return Err(format!("data[{i}] has no `attributes` object")),
                };
                fields.insert("id".into(), r.get("id").cloned().unwrap_or(Value::Null));
                if let Some(Value::Object(rel)) = r.get("relationships") {
                    fields.insert("links".into(), Value::Object(relationship_ids(rel)));
                }
                action(Value::Object(fields)).map_err(|e| format!("data[{i}]: {e}"))
            })
            .collect::<std::result::Result<_, _>>()
            .map(Delivery::Actions),
        "actionparticipants" | "actionparticipant" => resources
            .into_iter()
            .map(|r| {
                let links = match r.get("relationships") {
                    Some(Value::Object(rel)) => Value::Object(relationship_ids(rel)),
                    _ => Value::Null,
                };
                participation(&links, r.get("id").unwrap_or(&Value::Null))
            })
            .collect::<std::result::Result<_, _>>()
            .map(Delivery::Participants),
        other => Err(format!("`data` is of type {other:?}, not actions")),
    }
}

/// JSON:API relationships `{"actionType": {"data": {"type", "id"}}}` as Actionstep's own links
/// `{"actionType": "12"}` (a to-many one as a list of ids).
fn relationship_ids(rel: &Map<String, Value>) -> Map<String, Value> {
    rel.iter()
        .map(|(name, r)| {
            let id = |d: &Value| d.get("id").cloned().unwrap_or(Value::Null);
            let value = match r.get("data") {
                Some(Value::Array(items)) => Value::Array(items.iter().map(id).collect()),
                Some(d @ Value::Object(_)) => id(d),
                _ => Value::Null,
            };
            (name.clone(), value)
        })
        .collect()
}

/// Actionstep ids arrive as numbers or strings.
pub fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

/// What the integration does with an action, by its status.
#[derive(Debug, PartialEq, Eq)]
pub enum Treatment {
    /// Follow it: a workspace, kept current.
    Follow,
    /// Close its workspace.
    Close,
    /// Leave it alone, for this reason; it never gets a workspace.
    Ignore(&'static str),
}

impl Action {
    /// The action's id as text.
    pub fn id(&self) -> Option<String> {
        id_text(&self.id)
    }

    /// What its status (and `isDeleted`) asks for. A template is a pattern for actions, not a
    /// matter, and a deleted action is gone: neither ever gets a workspace.
    pub fn treatment(&self, inactive: Inactive) -> Treatment {
        let deleted = match &self.is_deleted {
            Some(Value::String(s)) => {
                matches!(s.trim().to_ascii_uppercase().as_str(), "T" | "TRUE")
            }
            Some(Value::Bool(b)) => *b,
            _ => false,
        };
        if deleted {
            return Treatment::Ignore("the action is deleted in Actionstep");
        }
        let status = self.status.as_deref().unwrap_or("Active").trim();
        if status.eq_ignore_ascii_case("template") {
            Treatment::Ignore("the action is a template, not a matter")
        } else if status.eq_ignore_ascii_case("closed") {
            Treatment::Close
        } else if status.eq_ignore_ascii_case("inactive") {
            match inactive {
                Inactive::Active => Treatment::Follow,
                Inactive::Closed => Treatment::Close,
                Inactive::Ignored => Treatment::Ignore(
                    "the action is inactive and `actionstep_inactive` is `ignored`",
                ),
            }
        } else {
            Treatment::Follow
        }
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

    /// A stable id per state of the matter: a redelivery maps to the same id, a real change
    /// (modified time, status, name, clients) to a new one. The clients count because a
    /// participant change does not change the action's modified time.
    pub fn event_id(&self, matter: &Matter) -> String {
        let mut h = Sha256::new();
        let clients: Vec<&str> = matter.clients.iter().map(|c| c.id.as_str()).collect();
        let clients = clients.join(",");
        for part in [
            self.modified.as_deref().unwrap_or(""),
            self.status.as_deref().unwrap_or(""),
            &self.name,
            &clients,
        ] {
            h.update(part.as_bytes());
            h.update([0]);
        }
        let digest = hex::encode(h.finalize());
        format!("actionstep-{}-{}", matter.id, &digest[..16])
    }
}

/// Which event a followed action means, `close` when its status closes it. Actionstep may send
/// created and updated hooks out of order, so the link decides: closing → closed; unlinked →
/// created; linked and closed before → reopened; otherwise updated.
///
/// `occurrence` tells apart events of the same state that must each happen: a client removed
/// again brings back a state seen before, and participant hooks carry no time.
pub fn event_for(
    p: &dyn Platform,
    action: &Action,
    matter: Matter,
    close: bool,
    occurrence: Option<i64>,
) -> Result<Event> {
    let link = links::get(p, &matter.id)?;
    let kind = match (&link, close) {
        (_, true) => EventType::Closed,
        (None, false) => EventType::Created,
        (Some(l), false) if l.closed => EventType::Reopened,
        (Some(_), false) => EventType::Updated,
    };
    let id = match occurrence {
        Some(n) => format!("{}-p{n}", action.event_id(&matter)),
        None => action.event_id(&matter),
    };
    Ok(Event { id, kind, matter })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn actions(body: &str) -> Vec<Action> {
        match parse(body.as_bytes()) {
            Ok(Delivery::Actions(a)) => a,
            other => panic!("{body}: {other:?}"),
        }
    }

    #[test]
    fn fixtures_map_to_matters() {
        let created = actions(include_str!(
            "../../../tests/fixtures/actionstep-action-created.json"
        ));
        let types = BTreeMap::from([("12".to_string(), "Litigation".to_string())]);
        let a = &created[0];
        let m = a.matter(&types).unwrap();
        assert_eq!(
            (m.id.as_str(), m.title.as_str(), m.matter_type.as_str()),
            ("1042", "Smith v Jones", "Litigation")
        );
        assert_eq!(m.file_reference.as_deref(), Some("LIT-2026-0042"));
        assert_eq!(m.priority.as_deref(), Some("2"));
        assert_eq!(m.clients[0].id, "5120");
        assert_eq!(a.treatment(Inactive::Active), Treatment::Follow);

        let closed = actions(include_str!(
            "../../../tests/fixtures/actionstep-action-closed.json"
        ));
        let c = &closed[0];
        assert_eq!(c.treatment(Inactive::Active), Treatment::Close);
        assert_eq!(c.matter(&BTreeMap::new()).unwrap().clients.len(), 2);
        let (ma, mc) = (a.matter(&types).unwrap(), c.matter(&types).unwrap());
        assert_ne!(a.event_id(&ma), c.event_id(&mc));
        assert_eq!(a.event_id(&ma), created[0].event_id(&ma));
        let mut more_clients = ma.clone();
        more_clients.clients.push(mc.clients[1].clone());
        assert_ne!(
            a.event_id(&ma),
            a.event_id(&more_clients),
            "a client added is a change"
        );
    }

    #[test]
    fn every_body_shape_seen_reads_the_same() {
        let array = r#"{"actions": [{"id": 7, "name": "A v B", "status": "Active",
            "links": {"actionType": "12", "assignedTo": "311", "primaryParticipants": ["5120"]}}]}"#;
        let object = r#"{"actions": {"id": "7", "name": "A v B", "status": "Active",
            "links": {"actionType": 12, "assignedTo": 311, "primaryParticipants": [5120]}}}"#;
        let json_api = r#"{"data": {"type": "actions", "id": "7",
            "attributes": {"name": "A v B", "status": "Active"},
            "relationships": {"actionType": {"data": {"type": "actiontypes", "id": "12"}},
                "assignedTo": {"data": {"type": "participants", "id": "311"}},
                "primaryParticipants": {"data": [{"type": "participants", "id": "5120"}]}}}}"#;
        let none = BTreeMap::new();
        let matters: Vec<Matter> = [array, object, json_api]
            .iter()
            .map(|b| actions(b)[0].matter(&none).unwrap())
            .collect();
        assert_eq!(matters[0], matters[1]);
        assert_eq!(matters[0], matters[2]);
        assert_eq!(
            (
                matters[0].matter_type.as_str(),
                matters[0].assigned_to.as_deref()
            ),
            ("12", Some("311"))
        );
        let seven = vec![Participation {
            action: "7".into(),
            participant_type: Some("5".into()),
        }];
        for body in [
            &br#"{"actionparticipants": [{"id": "7--5--5120"}]}"#[..],
            br#"{"actionparticipants": {"id": "x", "links": {"action": "7", "participantType": 5}}}"#,
            br#"{"data": [{"type": "actionparticipants", "id": "7--5--5120"}]}"#,
            br#"{"data": {"type": "actionparticipants", "id": "x", "relationships":
                {"action": {"data": {"type": "actions", "id": "7"}},
                 "participantType": {"data": {"type": "participanttypes", "id": "5"}}}}}"#,
        ] {
            match parse(body) {
                Ok(Delivery::Participants(p)) => assert_eq!(p, seven, "{}", String::from_utf8_lossy(body)),
                other => panic!("{other:?}"),
            }
        }
        assert!(parse(br#"{"actionparticipants": [{"id": "--5--1"}]}"#).is_err());
        for bad in [
            &br#"{"actions": 5}"#[..],
            br#"{"actions": []}"#,
            br#"{"actions": [{"id": null, "name": "x"}]}"#,
            br#"{"actions": [{"id": 1}]}"#,
            br#"{"data": {"type": "participants", "id": "1", "attributes": {}}}"#,
            br#"{"data": {"type": "actions", "id": "1"}}"#,
            br#"{"something": "else"}"#,
            br#"[1, 2]"#,
            b"{not json",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn statuses_say_what_is_done() {
        let with = |status: &str, deleted: &str| {
            actions(&format!(
                r#"{{"actions": {{"id": 1, "name": "x", "status": "{status}", "isDeleted": "{deleted}"}}}}"#
            ))
            .remove(0)
        };
        assert_eq!(
            with("Active", "F").treatment(Inactive::Ignored),
            Treatment::Follow
        );
        assert!(matches!(
            with("Template", "F").treatment(Inactive::Active),
            Treatment::Ignore(_)
        ));
        assert!(matches!(
            with("Active", "T").treatment(Inactive::Active),
            Treatment::Ignore(_)
        ));
        assert!(matches!(
            with("Closed", "T").treatment(Inactive::Active),
            Treatment::Ignore(_)
        ));
        assert_eq!(
            with("Closed", "F").treatment(Inactive::Active),
            Treatment::Close
        );
        assert_eq!(
            with("Inactive", "F").treatment(Inactive::Active),
            Treatment::Follow
        );
        assert_eq!(
            with("Inactive", "F").treatment(Inactive::Closed),
            Treatment::Close
        );
        assert!(matches!(
            with("Inactive", "F").treatment(Inactive::Ignored),
            Treatment::Ignore(_)
        ));
    }
}
