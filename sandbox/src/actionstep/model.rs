//! Actionstep's records as the emulator keeps them, and their JSON forms as a GET of the REST API
//! shows them (field names from the Actionstep API wiki, its .NET sample and the public
//! TypeScript client; see docs/imanage-api.md, "Actionstep"). Booleans are `"T"`/`"F"` and
//! links are ids as strings, as Actionstep writes them.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

fn flag(b: bool) -> &'static str {
    if b {
        "T"
    } else {
        "F"
    }
}

/// An action: a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub id: u64,
    pub name: String,
    pub reference: Option<String>,
    pub priority: u32,
    /// `Active`, `Inactive`, `Template` or `Closed`.
    pub status: String,
    pub is_deleted: bool,
    pub action_type: u64,
    pub assigned_to: Option<u64>,
    /// The primary participants, in order.
    pub primary_participants: Vec<u64>,
    pub created: String,
    pub modified: String,
}

impl Action {
    /// The action as `GET /api/rest/actions/{id}` shows it.
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "reference": self.reference,
            "priority": self.priority,
            "status": self.status,
            "statusTimestamp": self.modified,
            "isBillableOverride": "F",
            "createdTimestamp": self.created,
            "modifiedTimestamp": self.modified,
            "isDeleted": flag(self.is_deleted),
            "importExternalReference": null,
            "links": {
                "assignedTo": self.assigned_to.map(|id| id.to_string()),
                "division": "1",
                "actionType": self.action_type.to_string(),
                "primaryParticipants": self.primary_participants.iter().map(u64::to_string).collect::<Vec<_>>(),
                "step": format!("{}--1", self.action_type),
                "billSettings": self.id.to_string(),
                "relatedActions": null,
            },
        })
    }

    /// The action as a JSON:API resource (the form one public hook handler reads).
    pub fn json_api(&self) -> Value {
        let mut attributes = self.json();
        let links = attributes
            .as_object_mut()
            .and_then(|a| {
                a.remove("id");
                a.remove("links")
            })
            .unwrap_or_default();
        let one = |kind: &str, id: &Value| {
            if id.is_null() {
                json!({"data": null})
            } else {
                json!({"data": {"type": kind, "id": id}})
            }
        };
        json!({
            "type": "actions",
            "id": self.id.to_string(),
            "attributes": attributes,
            "relationships": {
                "actionType": one("actiontypes", &links["actionType"]),
                "assignedTo": one("participants", &links["assignedTo"]),
                "primaryParticipants": {"data": links["primaryParticipants"].as_array().into_iter().flatten()
                    .map(|id| json!({"type": "participants", "id": id})).collect::<Vec<_>>()},
            },
        })
    }
}

/// An action type: the kind of matter, with the name firms know it by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionType {
    pub id: u64,
    pub name: String,
}

impl ActionType {
    pub fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name, "description": null, "isDisabled": "F"})
    }
}

/// A participant: a person or a company (clients, lawyers, the other side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    #[serde(default)]
    pub id: u64,
    #[serde(rename = "displayName")]
    pub display_name: String,
    #[serde(default, rename = "isCompany")]
    pub is_company: bool,
    #[serde(default, rename = "companyName")]
    pub company_name: Option<String>,
    #[serde(default, rename = "firstName")]
    pub first_name: Option<String>,
    #[serde(default, rename = "lastName")]
    pub last_name: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
}

impl Participant {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "displayName": self.display_name,
            "isCompany": flag(self.is_company),
            "companyName": self.company_name,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "email": self.email,
            "links": {"division": "1"},
        })
    }
}

/// A participant type: the role a participant plays on an action (`Client`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ParticipantType {
    pub id: u64,
    pub name: String,
}

impl ParticipantType {
    pub fn json(&self) -> Value {
        json!({"id": self.id, "name": self.name})
    }
}

/// A participant on an action in a role; Actionstep's id is `action--type--participant`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ActionParticipant {
    pub action: u64,
    pub participant_type: u64,
    pub participant: u64,
}

impl ActionParticipant {
    pub fn json(&self) -> Value {
        json!({
            "id": format!("{}--{}--{}", self.action, self.participant_type, self.participant),
            "participantNumber": 1,
            "links": {
                "action": self.action.to_string(),
                "participantType": self.participant_type.to_string(),
                "participant": self.participant.to_string(),
            },
        })
    }
}

/// A REST hook subscription.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hook {
    pub id: u64,
    #[serde(rename = "eventName")]
    pub event_name: String,
    #[serde(rename = "targetUrl")]
    pub target_url: String,
    /// `Active`, or `Disabled` after an answer other than 200.
    pub status: String,
    #[serde(rename = "triggerCount")]
    pub trigger_count: u64,
}

impl Hook {
    pub fn json(&self) -> Value {
        json!({
            "id": self.id,
            "eventName": self.event_name,
            "targetUrl": self.target_url,
            "status": self.status,
            "triggerCount": self.trigger_count,
        })
    }
}

/// The events a hook may subscribe to.
pub const EVENTS: &[&str] = &[
    "ActionCreated",
    "ActionUpdated",
    "ActionParticipantAdded",
    "ActionParticipantDeleted",
];

/// One attempt to deliver a hook, as the emulator records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    pub hook: u64,
    pub event: String,
    pub target: String,
    /// The answer's status; `None` when nothing answered.
    pub status: Option<u16>,
    /// What the emulator did to the hook because of the answer: `disabled`, `deleted` or none.
    pub consequence: Option<String>,
}
