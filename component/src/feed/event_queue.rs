//! iManage's change-event queue, as docs/imanage-api.md ("Change feed") assumes it until a real
//! one is seen.
//! Its endpoint, event names, detail fields and cursor rules are UNCONFIRMED: this module is the
//! only code that knows them, so that meeting the real queue means replacing this file alone.
//!
//! Assumed: `GET {library}/change-events?cursor=…&limit=n` → `{"data": [{"event_id",
//! "event_type", "object_type", "object_id", "timestamp", "details"}], "cursor": "…"}`, oldest
//! first, the cursor naming the position after the last event returned (kept on an empty page);
//! `members_added` / `members_removed` carry `details.members` (`id`, `type`, `access_level`),
//! `security_changed` carries `details.default_security` and `details.previous`; 403 when the
//! account is not in the library's NRTADMIN group; 410 for a cursor the queue no longer knows.

use serde_json::Value;

use crate::feed::change::Delta;
use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::model::Error;
use crate::platform::Method;
use crate::security::{AccessLevel, Member};
use crate::transport::{status_error, Retry};

/// Events per request; the API's documented default page size.
pub const PAGE: usize = 500;

/// One event about a workspace's security, in the domain's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    /// The workspace the event is about.
    pub workspace_id: String,
    /// When iManage says it happened, as iManage wrote it.
    pub occurred_at: Option<String>,
    /// What it changed.
    pub deltas: Vec<Delta>,
}

/// One page of the event queue.
#[derive(Debug)]
pub struct Page {
    /// Security events only; other events (created, renamed) are passed over.
    pub events: Vec<QueueEvent>,
    /// Every event the page held, security or not: a full page means more may follow.
    pub read: usize,
    /// The position after this page.
    pub cursor: String,
    /// Member entries that could not be read (unknown access level or type).
    pub unreadable: usize,
}

/// Why the event queue could not be read.
#[derive(Debug)]
pub enum QueueError {
    /// The queue is not available to this account (403: not in NRTADMIN) or this server (404).
    Refused(String),
    /// The queue no longer knows the cursor (410): events after it may be lost.
    CursorGone(String),
    /// Anything else: a transport failure, an unexpected answer.
    Failed(Error),
}

impl From<Error> for QueueError {
    fn from(e: Error) -> Self {
        QueueError::Failed(e)
    }
}

fn path(cursor: Option<&str>, limit: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(c) = cursor {
        q.append_pair("cursor", c);
    }
    q.append_pair("limit", &limit.to_string());
    format!("/change-events?{}", q.finish())
}

/// Up to `limit` events after `cursor` (from the oldest retained without one).
pub fn read(
    api: &Imanage<'_>,
    cursor: Option<&str>,
    limit: usize,
) -> std::result::Result<Page, QueueError> {
    let path = path(cursor, limit);
    let v = match api.call(Method::Get, &path, None, Retry::Safe)? {
        Answer::Ok(v) => v,
        Answer::Status(403, why) => {
            return Err(QueueError::Refused(format!(
                "403: service account not in NRTADMIN ({why})"
            )))
        }
        Answer::Status(404 | 405 | 501, _) => {
            return Err(QueueError::Refused(
                "this iManage serves no change-event queue".into(),
            ))
        }
        Answer::Status(410, why) => return Err(QueueError::CursorGone(why)),
        Answer::Status(s, why) => return Err(status_error(Method::Get, &path, s, &why).into()),
    };
    let Some(next) = json::str_field(&v, "cursor").map(String::from) else {
        return Err(QueueError::Failed(Error::Unavailable(
            "iManage's change-event queue answered without a cursor".into(),
        )));
    };
    let raw = json::results(&v);
    let mut page = Page {
        events: Vec::new(),
        read: raw.len(),
        cursor: next,
        unreadable: 0,
    };
    for e in &raw {
        if let Some(event) = event(e, &mut page.unreadable) {
            page.events.push(event);
        }
    }
    Ok(page)
}

/// The position after the newest event, for a feed that starts now.
pub fn end(api: &Imanage<'_>) -> std::result::Result<String, QueueError> {
    let mut cursor: Option<String> = None;
    loop {
        let page = read(api, cursor.as_deref(), PAGE)?;
        let more = page.read == PAGE;
        cursor = Some(page.cursor);
        if !more {
            return Ok(cursor.unwrap_or_default());
        }
    }
}

fn members(details: &Value, unreadable: &mut usize) -> Vec<Member> {
    let list = details
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let parsed: Vec<Member> = list.iter().filter_map(Member::from_imanage).collect();
    *unreadable += list.len() - parsed.len();
    parsed
}

fn event(e: &Value, unreadable: &mut usize) -> Option<QueueEvent> {
    if json::str_field(e, "object_type").is_some_and(|t| t != "workspace") {
        return None;
    }
    let details = e.get("details").cloned().unwrap_or(Value::Null);
    let deltas = match json::str_field(e, "event_type")? {
        "members_added" => members(&details, unreadable)
            .into_iter()
            .map(|m| {
                // A level change arrives as an addition at the new level; should iManage name
                // the old level too, it is a changed level.
                let previous = details
                    .get("members")
                    .and_then(Value::as_array)
                    .and_then(|list| {
                        list.iter().find(|x| {
                            json::str_field(x, "id")
                                .is_some_and(|id| id.eq_ignore_ascii_case(&m.id))
                        })
                    })
                    .and_then(|x| json::str_field(x, "previous_access_level"))
                    .and_then(AccessLevel::parse);
                match previous {
                    Some(previous) => Delta::AccessChanged {
                        member: m,
                        previous,
                    },
                    None => Delta::Added(m),
                }
            })
            .collect(),
        "members_removed" => members(&details, unreadable)
            .into_iter()
            .map(Delta::Removed)
            .collect(),
        "security_changed" => match json::str_field(&details, "default_security") {
            Some(now) => vec![Delta::DefaultSecurity {
                previous: json::str_field(&details, "previous").map(String::from),
                now: now.to_string(),
            }],
            None => Vec::new(),
        },
        _ => Vec::new(),
    };
    if deltas.is_empty() {
        return None;
    }
    Some(QueueEvent {
        workspace_id: json::str_field(e, "object_id")?.to_string(),
        occurred_at: json::str_field(e, "timestamp").map(String::from),
        deltas,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::TrusteeType;
    use serde_json::json;

    fn parse(e: Value) -> (Option<QueueEvent>, usize) {
        let mut unreadable = 0;
        (event(&e, &mut unreadable), unreadable)
    }

    #[test]
    fn reads_the_assumed_event_shapes() {
        let (added, _) = parse(json!({"event_id": "7", "event_type": "members_added",
            "object_type": "workspace", "object_id": "ACTIVE!1000", "timestamp": "2026-01-01T00:00:00Z",
            "details": {"members": [{"id": "JSMITH", "type": "user", "access_level": "no_access"}]}}));
        let added = added.unwrap();
        assert_eq!(added.workspace_id, "ACTIVE!1000");
        assert_eq!(added.occurred_at.as_deref(), Some("2026-01-01T00:00:00Z"));
        assert_eq!(
            added.deltas,
            vec![Delta::Added(Member {
                id: "JSMITH".into(),
                trustee_type: TrusteeType::User,
                access_level: AccessLevel::NoAccess
            })]
        );
        let (default, _) = parse(
            json!({"event_type": "security_changed", "object_id": "ACTIVE!1",
            "details": {"default_security": "private", "previous": "public"}}),
        );
        assert_eq!(
            default.unwrap().deltas,
            vec![Delta::DefaultSecurity {
                previous: Some("public".into()),
                now: "private".into()
            }]
        );
        let (changed, _) = parse(
            json!({"event_type": "members_added", "object_id": "ACTIVE!1",
            "details": {"members": [{"id": "A", "type": "group", "access_level": "read", "previous_access_level": "full_access"}]}}),
        );
        assert!(matches!(
            changed.unwrap().deltas[0],
            Delta::AccessChanged {
                previous: AccessLevel::FullAccess,
                ..
            }
        ));
    }

    #[test]
    fn other_events_and_odd_members_are_passed_over() {
        for e in [
            json!({"event_type": "workspace_created", "object_id": "ACTIVE!1", "details": {}}),
            json!({"event_type": "members_added", "object_type": "folder", "object_id": "ACTIVE!2",
                "details": {"members": [{"id": "A", "access_level": "read"}]}}),
            json!({"event_type": "something_new", "object_id": "ACTIVE!1"}),
        ] {
            assert!(parse(e).0.is_none());
        }
        let (none, unreadable) = parse(
            json!({"event_type": "members_removed", "object_id": "ACTIVE!1",
            "details": {"members": [{"id": "A", "access_level": "owner"}]}}),
        );
        assert!(none.is_none());
        assert_eq!(unreadable, 1);
    }
}
