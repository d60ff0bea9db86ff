//! The emulator's shared state: the store behind a lock, and the changes the admin routes make,
//! each returning the hook deliveries it triggers (sent by `deliver` once the lock is released).

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::model::{Action, ActionParticipant, Delivery, Hook, Participant};
use super::seed;
use super::store::{HookShape, Store};

/// One delivery to make: the hook and the body.
pub struct Pending {
    pub hook: Hook,
    pub body: Value,
}

/// The Actionstep emulator's state.
pub struct ActionstepState {
    inner: Mutex<Store>,
}

pub type SharedActionstep = Arc<ActionstepState>;

/// An action to create through the admin route.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub name: String,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(rename = "actionType")]
    pub action_type: u64,
    #[serde(default, rename = "assignedTo")]
    pub assigned_to: Option<u64>,
    /// The clients: primary participants, each also an action participant of type Client.
    #[serde(default)]
    pub clients: Vec<u64>,
    #[serde(default)]
    pub status: Option<String>,
}

/// A change to an action through the admin route; fields left out stay.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionChange {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "assignedTo")]
    pub assigned_to: Option<u64>,
    #[serde(default, rename = "isDeleted")]
    pub is_deleted: Option<bool>,
}

impl Default for ActionstepState {
    fn default() -> Self {
        let mut store = Store::default();
        seed::seed(&mut store);
        ActionstepState {
            inner: Mutex::new(store),
        }
    }
}

impl ActionstepState {
    /// A state with the default seed, shared.
    pub fn shared() -> SharedActionstep {
        Arc::new(ActionstepState::default())
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Store> {
        // A handler that panicked mid-change leaves data a test may still want to read.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every hook subscribed now, disabled ones included.
    pub fn hooks(&self) -> Vec<Hook> {
        self.lock().hooks.values().cloned().collect()
    }

    /// Every hook the emulator disabled (non-200 answer) or deleted (401), as it was then.
    pub fn switched_off_hooks(&self) -> Vec<Hook> {
        self.lock().switched_off.clone()
    }

    /// Every delivery attempted, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.lock().deliveries.clone()
    }

    /// Subscribes `target_url` to `event`, as `POST /api/rest/resthooks` does (for in-process
    /// tests that do not sign in).
    pub fn subscribe(&self, event: &str, target_url: &str) -> Hook {
        let mut s = self.lock();
        s.next_hook += 1;
        let hook = Hook {
            id: s.next_hook,
            event_name: event.into(),
            target_url: target_url.into(),
            status: "Active".into(),
            trigger_count: 0,
        };
        s.hooks.insert(hook.id, hook.clone());
        hook
    }

    pub fn action(&self, id: u64) -> Option<Action> {
        self.lock().actions.get(&id).cloned()
    }

    pub fn participant(&self, id: u64) -> Option<Participant> {
        self.lock().participants.get(&id).cloned()
    }

    pub fn set_hook_shape(&self, shape: HookShape) {
        self.lock().shape = shape;
    }

    /// Makes the REST API answer 503 (or not).
    pub fn set_down(&self, down: bool) {
        self.lock().down = down;
    }

    /// Creates an action; Actionstep then fires `ActionCreated`.
    pub(crate) fn create_action(&self, new: NewAction) -> Result<(Action, Vec<Pending>), String> {
        let mut s = self.lock();
        if !s.action_types.contains_key(&new.action_type) {
            return Err(format!("no action type {}", new.action_type));
        }
        for p in new.clients.iter().chain(new.assigned_to.iter()) {
            if !s.participants.contains_key(p) {
                return Err(format!("no participant {p}"));
            }
        }
        let id = s.next_id;
        s.next_id += 1;
        let now = modified(&mut s);
        let action = Action {
            id,
            name: new.name,
            reference: new.reference,
            priority: 0,
            status: new.status.unwrap_or_else(|| "Active".into()),
            is_deleted: false,
            action_type: new.action_type,
            assigned_to: new.assigned_to,
            primary_participants: new.clients.clone(),
            created: now.clone(),
            modified: now,
        };
        for client in new.clients {
            s.action_participants.push(ActionParticipant {
                action: id,
                participant_type: seed::CLIENT_TYPE,
                participant: client,
            });
        }
        s.actions.insert(id, action.clone());
        let pending = pending_for_action(&s, "ActionCreated", &action);
        Ok((action, pending))
    }

    /// Changes an action; Actionstep then fires `ActionUpdated`.
    pub(crate) fn change_action(
        &self,
        id: u64,
        change: ActionChange,
    ) -> Result<(Action, Vec<Pending>), String> {
        let mut s = self.lock();
        if let Some(p) = change.assigned_to {
            if !s.participants.contains_key(&p) {
                return Err(format!("no participant {p}"));
            }
        }
        let now = modified(&mut s);
        let action = s
            .actions
            .get_mut(&id)
            .ok_or_else(|| format!("no action {id}"))?;
        if let Some(v) = change.name {
            action.name = v;
        }
        if let Some(v) = change.reference {
            action.reference = Some(v);
        }
        if let Some(v) = change.status {
            action.status = v;
        }
        if let Some(v) = change.assigned_to {
            action.assigned_to = Some(v);
        }
        if let Some(v) = change.is_deleted {
            action.is_deleted = v;
        }
        action.modified = now;
        let action = action.clone();
        let pending = pending_for_action(&s, "ActionUpdated", &action);
        Ok((action, pending))
    }

    /// Adds (or removes) a participant on an action in a role; Actionstep then fires
    /// `ActionParticipantAdded` (or `…Deleted`).
    pub(crate) fn action_participant(
        &self,
        ap: ActionParticipant,
        add: bool,
    ) -> Result<Vec<Pending>, String> {
        let mut s = self.lock();
        if !s.actions.contains_key(&ap.action) {
            return Err(format!("no action {}", ap.action));
        }
        if !s.participants.contains_key(&ap.participant) {
            return Err(format!("no participant {}", ap.participant));
        }
        let exists = s.action_participants.contains(&ap);
        match (add, exists) {
            (true, true) => return Err("the participant is on the action already".into()),
            (false, false) => return Err("the participant is not on the action".into()),
            (true, false) => s.action_participants.push(ap),
            (false, true) => s.action_participants.retain(|x| *x != ap),
        }
        let event = if add {
            "ActionParticipantAdded"
        } else {
            "ActionParticipantDeleted"
        };
        let body = match s.shape {
            HookShape::Array => serde_json::json!({"actionparticipants": [ap.json()]}),
            HookShape::Object => serde_json::json!({"actionparticipants": ap.json()}),
            HookShape::JsonApi => {
                let j = ap.json();
                serde_json::json!({"data": {"type": "actionparticipants", "id": j["id"],
                    "attributes": {"participantNumber": 1},
                    "relationships": {
                        "action": {"data": {"type": "actions", "id": j["links"]["action"]}},
                        "participantType": {"data": {"type": "participanttypes", "id": j["links"]["participantType"]}},
                        "participant": {"data": {"type": "participants", "id": j["links"]["participant"]}}}}})
            }
        };
        Ok(pending(&s, event, body))
    }

    /// Creates a participant (no hook fires).
    pub(crate) fn create_participant(&self, mut p: Participant) -> Participant {
        let mut s = self.lock();
        p.id = s.next_id;
        s.next_id += 1;
        s.participants.insert(p.id, p.clone());
        p
    }
}

/// A modified time later than any handed out before (Actionstep's are to the second).
fn modified(s: &mut Store) -> String {
    let now = chrono::Utc::now().timestamp().max(s.last_modified + 1);
    s.last_modified = now;
    chrono::DateTime::from_timestamp(now, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn pending_for_action(s: &Store, event: &str, action: &Action) -> Vec<Pending> {
    let body = match s.shape {
        HookShape::Array => serde_json::json!({
            "links": {"actions.actionType": {"href": "{api}/rest/actiontypes/{actions.actionType}", "type": "actiontypes"}},
            "actions": [action.json()],
        }),
        HookShape::Object => serde_json::json!({"actions": action.json()}),
        HookShape::JsonApi => serde_json::json!({"data": action.json_api()}),
    };
    pending(s, event, body)
}

/// The deliveries of `event` to every active hook subscribed to it.
fn pending(s: &Store, event: &str, body: Value) -> Vec<Pending> {
    s.hooks
        .values()
        .filter(|h| h.event_name == event && h.status == "Active")
        .map(|h| Pending {
            hook: h.clone(),
            body: body.clone(),
        })
        .collect()
}
