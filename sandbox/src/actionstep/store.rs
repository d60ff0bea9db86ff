//! The emulator's data behind its lock: Actionstep's records, the OAuth codes and tokens, the
//! hooks and every delivery made.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use serde::Deserialize;

use super::model::{
    Action, ActionParticipant, ActionType, Delivery, Hook, Participant, ParticipantType,
};
use crate::pkce::Challenge;

/// The body shape hooks are delivered in (every shape public sources show).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum HookShape {
    /// `{"links", "actions": [ … ]}`, the wiki's example (the default).
    #[default]
    Array,
    /// `{"actions": { … }}`.
    Object,
    /// `{"data": {"type", "id", "attributes", "relationships"}}`.
    JsonApi,
}

/// An authorization code waiting to be exchanged.
pub(crate) struct Code {
    pub redirect_uri: String,
    pub challenge: Challenge,
    pub expires_at: SystemTime,
}

#[derive(Default)]
pub(crate) struct Store {
    pub actions: BTreeMap<u64, Action>,
    pub action_types: BTreeMap<u64, ActionType>,
    pub participants: BTreeMap<u64, Participant>,
    pub participant_types: BTreeMap<u64, ParticipantType>,
    pub action_participants: Vec<ActionParticipant>,
    pub next_id: u64,
    pub hooks: BTreeMap<u64, Hook>,
    pub next_hook: u64,
    pub deliveries: Vec<Delivery>,
    /// Every hook as it was when the emulator disabled or deleted it.
    pub switched_off: Vec<Hook>,
    pub codes: HashMap<String, Code>,
    /// Access token → when it expires.
    pub access: HashMap<String, SystemTime>,
    pub refresh: HashMap<String, ()>,
    pub shape: HookShape,
    /// The REST API answers 503 to everything (the OAuth endpoints and hooks carry on).
    pub down: bool,
    /// The last modified time handed out, so that every change has a later one.
    pub last_modified: i64,
}
