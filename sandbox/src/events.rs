//! The change-event queue: what happened to workspaces, in order, for clients that enforce ethical
//! walls, and the vocabulary of events (which change records which events), kept here in one place
//! so that the handlers that change workspaces only say what changed. Its HTTP shape is an
//! assumption (see "Change feed" in `docs/imanage-api.md`); `change_events.rs` serves it.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::{SecurityMember, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeEventType {
    SecurityChanged,
    MembersAdded,
    MembersRemoved,
    WorkspaceCreated,
    WorkspaceUpdated,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub event_id: String,
    pub event_type: ChangeEventType,
    /// Always `workspace` for now.
    pub object_type: String,
    pub object_id: String,
    pub timestamp: String,
    pub details: Value,
}

/// How many events the queue keeps unless configured otherwise.
pub const DEFAULT_EVENT_RETENTION: usize = 10_000;

/// Why a cursor cannot be read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CursorError {
    /// Not one of ours: malformed, from another sandbox run, or ahead of the queue.
    Unknown,
    /// Events after it have already been dropped from the queue.
    Expired,
}

/// The last `retention` events, numbered from 1. A cursor names the sequence number of the last
/// event a client has seen, prefixed with the run's epoch, so that a cursor kept across a sandbox
/// restart is refused instead of silently skipping or repeating events.
#[derive(Debug)]
pub(crate) struct EventQueue {
    epoch: String,
    retention: usize,
    events: VecDeque<(u64, ChangeEvent)>,
    last_seq: u64,
}

impl EventQueue {
    pub fn new(retention: usize) -> EventQueue {
        EventQueue {
            epoch: uuid::Uuid::new_v4().simple().to_string()[..12].to_owned(),
            retention,
            events: VecDeque::new(),
            last_seq: 0,
        }
    }

    pub fn push(
        &mut self,
        event_type: ChangeEventType,
        object_id: &str,
        timestamp: &str,
        details: Value,
    ) {
        self.last_seq += 1;
        let event = ChangeEvent {
            event_id: self.last_seq.to_string(),
            event_type,
            object_type: "workspace".to_owned(),
            object_id: object_id.to_owned(),
            timestamp: timestamp.to_owned(),
            details,
        };
        self.events.push_back((self.last_seq, event));
        while self.events.len() > self.retention {
            self.events.pop_front();
        }
    }

    pub fn retained(&self) -> impl Iterator<Item = &ChangeEvent> {
        self.events.iter().map(|(_, e)| e)
    }

    /// Events ever recorded, dropped ones included.
    pub fn total(&self) -> u64 {
        self.last_seq
    }

    /// The sequence number before the oldest retained event: where "from the start" begins.
    fn floor(&self) -> u64 {
        self.last_seq - self.events.len() as u64
    }

    fn cursor(&self, seq: u64) -> String {
        format!("{}.{seq}", self.epoch)
    }

    fn position(&self, cursor: &str) -> Result<u64, CursorError> {
        let seq = cursor
            .split_once('.')
            .filter(|(epoch, _)| *epoch == self.epoch)
            .and_then(|(_, seq)| seq.parse::<u64>().ok())
            .filter(|seq| *seq <= self.last_seq)
            .ok_or(CursorError::Unknown)?;
        if seq < self.floor() {
            return Err(CursorError::Expired);
        }
        Ok(seq)
    }

    /// Up to `limit` events after `cursor` (from the oldest retained without one), oldest first,
    /// and the cursor after the last of them.
    pub fn read(
        &self,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ChangeEvent>, String), CursorError> {
        let after = match cursor {
            None => self.floor(),
            Some(cursor) => self.position(cursor)?,
        };
        let page: Vec<(u64, ChangeEvent)> = self
            .events
            .iter()
            .filter(|(seq, _)| *seq > after)
            .take(limit)
            .cloned()
            .collect();
        let next = page.last().map_or(after, |(seq, _)| *seq);
        Ok((
            page.into_iter().map(|(_, e)| e).collect(),
            self.cursor(next),
        ))
    }

    /// The action-type shape's reading (see `QueueShape::ActionType`): up to `limit` events after
    /// the event numbered `after` (from the oldest retained without one), each with its number,
    /// and whether the queue overflowed: events after `after` were already dropped, so the page
    /// starts at the oldest retained instead. A number the queue never issued is unknown.
    pub fn read_after_id(
        &self,
        after: Option<u64>,
        limit: usize,
    ) -> Result<(Vec<(u64, ChangeEvent)>, bool), CursorError> {
        let floor = self.floor();
        let (after, overflow) = match after {
            None => (floor, false),
            Some(id) if id > self.last_seq => return Err(CursorError::Unknown),
            Some(id) if id < floor => (floor, true),
            Some(id) => (id, false),
        };
        let page = self
            .events
            .iter()
            .filter(|(seq, _)| *seq > after)
            .take(limit)
            .cloned()
            .collect();
        Ok((page, overflow))
    }
}

/// Which workspace changes become which events.
impl EventQueue {
    pub fn workspace_created(&mut self, ws: &Workspace, timestamp: &str) {
        let mut details = json!({
            "name": ws.name,
            "owner": ws.owner,
            "default_security": ws.default_security.as_str(),
            "members": ws.members.iter().map(SecurityMember::to_json).collect::<Vec<_>>(),
        });
        // The client and matter ids tell a listener which matter the workspace belongs to.
        for field in ["custom1", "custom2"] {
            if let Some(value) = ws.custom.get(field) {
                details[field] = value.clone();
            }
        }
        self.push(
            ChangeEventType::WorkspaceCreated,
            &ws.id,
            timestamp,
            details,
        );
    }

    /// A PATCH: always `workspace_updated` (naming the changed fields), and `security_changed` too
    /// when it changed the default security, since that is a security change whatever the route.
    pub fn workspace_updated(&mut self, before: &Workspace, after: &Workspace, timestamp: &str) {
        let mut changed: Vec<String> = [
            ("name", before.name != after.name),
            ("description", before.description != after.description),
            ("owner", before.owner != after.owner),
            (
                "default_security",
                before.default_security != after.default_security,
            ),
            ("subclass", before.subclass != after.subclass),
        ]
        .into_iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| name.to_owned())
        .collect();
        let custom_keys = before.custom.keys().chain(after.custom.keys());
        let mut custom: Vec<String> = custom_keys
            .filter(|k| before.custom.get(*k) != after.custom.get(*k))
            .cloned()
            .collect();
        custom.sort();
        custom.dedup();
        changed.extend(custom);
        self.push(
            ChangeEventType::WorkspaceUpdated,
            &after.id,
            timestamp,
            json!({"name": after.name, "changed": changed}),
        );
        self.security_changed(before, after, timestamp);
    }

    fn security_changed(&mut self, before: &Workspace, after: &Workspace, timestamp: &str) {
        if before.default_security != after.default_security {
            self.push(
                ChangeEventType::SecurityChanged,
                &after.id,
                timestamp,
                json!({
                    "default_security": after.default_security.as_str(),
                    "previous": before.default_security.as_str(),
                }),
            );
        }
    }

    /// A security POST: one event per kind of change that actually happened, in the order the
    /// change was applied (default security, removals, additions). A no-op post records nothing.
    pub fn security_posted(&mut self, before: &Workspace, after: &Workspace, timestamp: &str) {
        self.security_changed(before, after, timestamp);
        let same =
            |a: &SecurityMember, b: &SecurityMember| a.id == b.id && a.member_type == b.member_type;
        let removed: Vec<Value> = before
            .members
            .iter()
            .filter(|old| !after.members.iter().any(|new| same(old, new)))
            .map(SecurityMember::to_json)
            .collect();
        if !removed.is_empty() {
            self.push(
                ChangeEventType::MembersRemoved,
                &after.id,
                timestamp,
                json!({"members": removed}),
            );
        }
        // A changed access level counts as added at the new level: what a wall listener must
        // apply.
        let added: Vec<Value> = after
            .members
            .iter()
            .filter(|new| !before.members.iter().any(|old| old == *new))
            .map(SecurityMember::to_json)
            .collect();
        if !added.is_empty() {
            self.push(
                ChangeEventType::MembersAdded,
                &after.id,
                timestamp,
                json!({"members": added}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue_with(retention: usize, n: usize) -> EventQueue {
        let mut queue = EventQueue::new(retention);
        for i in 0..n {
            queue.push(
                ChangeEventType::WorkspaceCreated,
                &format!("ACTIVE!{i}"),
                "2024-01-01T00:00:00Z",
                Value::Null,
            );
        }
        queue
    }

    #[test]
    fn reads_page_through_in_order() {
        let queue = queue_with(10, 5);
        let (first, cursor) = queue.read(None, 2).unwrap();
        assert_eq!(first.len(), 2);
        assert_eq!(first[0].event_id, "1");
        let (rest, cursor) = queue.read(Some(&cursor), 10).unwrap();
        assert_eq!(
            rest.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
            ["3", "4", "5"]
        );
        let (none, same) = queue.read(Some(&cursor), 10).unwrap();
        assert!(none.is_empty());
        assert_eq!(same, cursor, "an empty read keeps the position");
    }

    #[test]
    fn cursors_expire_when_events_are_dropped() {
        let mut queue = queue_with(3, 3);
        let (_, at_start) = queue.read(None, 0).unwrap();
        let (_, after_one) = queue.read(None, 1).unwrap();
        queue.push(
            ChangeEventType::WorkspaceUpdated,
            "ACTIVE!9",
            "2024-01-01T00:00:00Z",
            Value::Null,
        );
        assert_eq!(queue.read(Some(&at_start), 10), Err(CursorError::Expired));
        let (rest, _) = queue.read(Some(&after_one), 10).unwrap();
        assert_eq!(rest.len(), 3);
        let (all, _) = queue.read(None, 10).unwrap();
        assert_eq!(all[0].event_id, "2");
    }

    #[test]
    fn event_ids_as_cursors_overflow_once_events_are_dropped() {
        let queue = queue_with(3, 5); // retained: 3, 4, 5
        let ids = |page: &[(u64, ChangeEvent)]| page.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let (page, overflow) = queue.read_after_id(Some(3), 10).unwrap();
        assert_eq!((ids(&page), overflow), (vec![4, 5], false));
        let (page, overflow) = queue.read_after_id(Some(1), 1).unwrap();
        assert_eq!(
            (ids(&page), overflow),
            (vec![3], true),
            "event 2 was dropped"
        );
        let (page, overflow) = queue.read_after_id(None, 10).unwrap();
        assert_eq!((ids(&page), overflow), (vec![3, 4, 5], false));
        assert_eq!(queue.read_after_id(Some(6), 1), Err(CursorError::Unknown));
    }

    #[test]
    fn foreign_and_future_cursors_are_unknown() {
        let queue = queue_with(10, 2);
        let other = queue_with(10, 2);
        let (_, foreign) = other.read(None, 1).unwrap();
        for cursor in [
            foreign.as_str(),
            "",
            "garbage",
            &format!("{}.99", queue.epoch),
            &format!("{}.-1", queue.epoch),
        ] {
            assert_eq!(
                queue.read(Some(cursor), 1),
                Err(CursorError::Unknown),
                "{cursor}"
            );
        }
    }
}
