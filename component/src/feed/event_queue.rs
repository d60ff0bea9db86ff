//! iManage's change-event queue, in the two shapes matterlink knows (docs/imanage-api.md,
//! "Change feed"). Neither is confirmed by iManage's own documentation: this module is the only
//! code that knows them, so that meeting the real queue means changing this file alone.
//!
//! Both are read from `GET {library}/change-events?cursor=…&limit=n`, oldest first; 403 when the
//! account is not in the library's NRTADMIN group, 410 for a cursor the queue no longer knows.
//!
//! - **Assumed** (the product's own guess until a real queue is seen): `{"data": [{"event_id",
//!   "event_type", "object_type", "object_id", "timestamp", "details"}], "cursor": "…"}`, the
//!   cursor naming the position after the last event returned (kept on an empty page);
//!   `members_added` / `members_removed` carry `details.members` (`id`, `type`, `access_level`),
//!   `security_changed` carries `details.default_security` and `details.previous`.
//! - **Action type** (an open-source connector's design notes): `{"data": [{"id", "action_type":
//!   insert|update|delete|security_update|…, "item_type": document|container, "object_id",
//!   "root_id", "event_date"}], "overflow": bool}`, the cursor being the last event id read.
//!   A `security_update` on a container says only that its security changed, so the feed reads
//!   that workspace's security again; `overflow` means events after the cursor were dropped.
//!   Named queues are listed at `/change-events/queues`.
//!
//! Any other 200 (no cursor and no `overflow`, no event list) is `NotUnderstood`, which `auto`
//! treats like a refusal: the feed falls back to the Sync API rather than fail.

use serde_json::Value;

use crate::feed::change::Delta;
use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::model::{Error, Result};
use crate::platform::Method;
use crate::security::{AccessLevel, Member};
use crate::transport::{status_error, Retry};

/// Events per request; the API's documented default page size.
pub const PAGE: usize = 500;

/// Which of the known shapes the queue answered in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `event_type` events with a `cursor` beside them.
    Assumed,
    /// `action_type` events with an `overflow` flag, the cursor being the last event id.
    ActionType,
}

/// What an event says happened to a workspace's security.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    /// The changes themselves.
    Deltas(Vec<Delta>),
    /// Only that it changed: the workspace's security must be read again.
    Reread,
}

/// One event about a workspace's security, in the domain's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEvent {
    /// The workspace the event is about.
    pub workspace_id: String,
    /// When iManage says it happened, as iManage wrote it.
    pub occurred_at: Option<String>,
    /// What it changed.
    pub what: What,
}

/// One page of the event queue.
#[derive(Debug)]
pub struct Page {
    /// Security events only; other events (created, renamed, documents) are passed over.
    pub events: Vec<QueueEvent>,
    /// Every event the page held, security or not: an empty page is the end of the queue.
    pub read: usize,
    /// The position after this page ("" before the first event of an empty queue).
    pub cursor: String,
    /// Member entries that could not be read (unknown access level or type).
    pub unreadable: usize,
    /// The queue dropped events after the position asked for (action-type shape).
    pub overflow: bool,
    /// The shape the page came in.
    pub shape: Shape,
}

/// Why the event queue could not be read.
#[derive(Debug)]
pub enum QueueError {
    /// The queue is not available to this account (403: not in NRTADMIN) or this server (404).
    Refused(String),
    /// The queue no longer knows the cursor (410): events after it may be lost.
    CursorGone(String),
    /// A 200 in neither known shape: this server's queue is not one matterlink can read.
    NotUnderstood(String),
    /// Anything else: a transport failure, an unexpected status.
    Failed(Error),
}

impl From<Error> for QueueError {
    fn from(e: Error) -> Self {
        QueueError::Failed(e)
    }
}

fn path(cursor: Option<&str>, limit: usize) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(c) = cursor.filter(|c| !c.is_empty()) {
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
    let page = page(&v, cursor)?;
    // A queue that answers events without moving past them ignores the cursor: reading on
    // would loop, and taking the page as new would report its events again and again.
    if page.read > 0 && cursor.is_some_and(|c| c == page.cursor) {
        return Err(QueueError::NotUnderstood(
            "events answered without moving the cursor past them".into(),
        ));
    }
    Ok(page)
}

/// The event list of an answer: `data` as an array, or `data.results`.
fn event_list(v: &Value) -> Option<&Vec<Value>> {
    let d = v.get("data")?;
    d.as_array()
        .or_else(|| d.get("results").and_then(Value::as_array))
}

/// Reads one answer in whichever known shape it came; `asked` is the cursor it was asked with.
fn page(v: &Value, asked: Option<&str>) -> std::result::Result<Page, QueueError> {
    let not_understood = |what: &str| {
        QueueError::NotUnderstood(format!(
            "a 200 {what}, in neither the assumed shape (`cursor`) nor the action-type shape (`overflow`)"
        ))
    };
    let Some(list) = event_list(v) else {
        return Err(not_understood("without a list of events under `data`"));
    };
    let (shape, cursor, overflow) = if let Some(c) = json::str_field(v, "cursor") {
        (Shape::Assumed, c.to_string(), false)
    } else if let Some(overflow) = v.get("overflow").and_then(Value::as_bool) {
        // The cursor is the id of the last event read; an empty page stays where it was.
        let last = match list.last() {
            Some(e) => Some(event_id(e).ok_or_else(|| {
                QueueError::NotUnderstood("an action-type event without an `id`".into())
            })?),
            None => None,
        };
        let cursor = last.unwrap_or_else(|| asked.unwrap_or_default().to_string());
        (Shape::ActionType, cursor, overflow)
    } else {
        return Err(not_understood("without a cursor"));
    };
    let mut page = Page {
        events: Vec::new(),
        read: list.len(),
        cursor,
        unreadable: 0,
        overflow,
        shape,
    };
    for e in list {
        let event = if e.get("action_type").is_some() {
            action_event(e)
        } else {
            event(e, &mut page.unreadable)
        };
        page.events.extend(event);
    }
    Ok(page)
}

/// An event's id as text, whether iManage wrote it as a string or a number.
fn event_id(e: &Value) -> Option<String> {
    match e.get("id")? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The position after the newest event, for a feed that starts now.
pub fn end(api: &Imanage<'_>) -> std::result::Result<String, QueueError> {
    let mut cursor: Option<String> = None;
    loop {
        let page = read(api, cursor.as_deref(), PAGE)?;
        let done = page.read == 0;
        cursor = Some(page.cursor);
        if done {
            return Ok(cursor.unwrap_or_default());
        }
    }
}

/// The names of the library's named queues (action-type shape); `None` when it lists none
/// (404: a server without named queues).
pub fn queues(api: &Imanage<'_>) -> Result<Option<Vec<String>>> {
    Ok(api
        .list_all_if_any("/change-events/queues", &[])?
        .map(|list| {
            list.iter()
                .filter_map(|q| json::str_field(q, "name").map(String::from))
                .collect()
        }))
}

/// An action-type event: only a container's `security_update` concerns the feed. The workspace
/// is the event's `root_id` (a folder's workspace), else its `object_id`.
fn action_event(e: &Value) -> Option<QueueEvent> {
    if json::str_field(e, "item_type") != Some("container")
        || json::str_field(e, "action_type") != Some("security_update")
    {
        return None;
    }
    let workspace_id = json::str_field(e, "root_id")
        .filter(|r| !r.is_empty())
        .or_else(|| json::str_field(e, "object_id"))?;
    Some(QueueEvent {
        workspace_id: workspace_id.to_string(),
        occurred_at: json::str_field(e, "event_date").map(String::from),
        what: What::Reread,
    })
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
        what: What::Deltas(deltas),
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
            added.what,
            What::Deltas(vec![Delta::Added(Member {
                id: "JSMITH".into(),
                trustee_type: TrusteeType::User,
                access_level: AccessLevel::NoAccess
            })])
        );
        let (default, _) = parse(
            json!({"event_type": "security_changed", "object_id": "ACTIVE!1",
            "details": {"default_security": "private", "previous": "public"}}),
        );
        assert_eq!(
            default.unwrap().what,
            What::Deltas(vec![Delta::DefaultSecurity {
                previous: Some("public".into()),
                now: "private".into()
            }])
        );
        let (changed, _) = parse(
            json!({"event_type": "members_added", "object_id": "ACTIVE!1",
            "details": {"members": [{"id": "A", "type": "group", "access_level": "read", "previous_access_level": "full_access"}]}}),
        );
        let What::Deltas(deltas) = changed.unwrap().what else {
            panic!("a members event carries its changes")
        };
        assert!(matches!(
            deltas[0],
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

    #[test]
    fn action_type_pages_move_the_cursor_to_the_last_event_id() {
        let v = json!({"data": [
            {"id": 41, "action_type": "insert", "item_type": "document", "object_id": "ACTIVE!7.1", "root_id": "ACTIVE!1000"},
            {"id": "42", "action_type": "security_update", "item_type": "container",
             "object_id": "ACTIVE!1001", "root_id": "ACTIVE!1000", "event_date": "2026-01-01T00:00:00Z"},
            {"id": 43, "action_type": "security_update", "item_type": "document", "object_id": "ACTIVE!7.1"}
        ], "overflow": false});
        let page = page(&v, Some("40")).unwrap();
        assert_eq!(page.shape, Shape::ActionType);
        assert_eq!(
            (page.read, page.cursor.as_str(), page.overflow),
            (3, "43", false)
        );
        assert_eq!(
            page.events,
            vec![QueueEvent {
                workspace_id: "ACTIVE!1000".into(),
                occurred_at: Some("2026-01-01T00:00:00Z".into()),
                what: What::Reread,
            }],
            "a container's security update names its workspace; documents are passed over"
        );
        let empty = super::page(&json!({"data": [], "overflow": true}), Some("43")).unwrap();
        assert_eq!((empty.cursor.as_str(), empty.overflow), ("43", true));
    }

    #[test]
    fn answers_in_no_known_shape_are_not_understood() {
        for v in [
            json!({"data": []}),
            json!({"data": {"changes": []}, "cursor": "x"}),
            json!({"events": [], "next": "x"}),
            json!({"data": [{"action_type": "update"}], "overflow": false}),
            json!({"data": [], "overflow": "no"}),
        ] {
            assert!(
                matches!(page(&v, None), Err(QueueError::NotUnderstood(_))),
                "{v}"
            );
        }
    }

    /// A queue answering the same events whatever the cursor would loop a catch-up forever and
    /// report its events again and again: it is not understood, so `auto` falls back.
    #[test]
    fn a_queue_that_ignores_the_cursor_is_not_understood() {
        let p = crate::testing::FakePlatform::configured();
        p.respond_with(|r| {
            let body = if r.url.contains("/oauth2/token") {
                json!({"access_token": "a", "token_type": "bearer", "expires_in": 5400})
            } else if r.url.ends_with("/api") {
                json!({"data": {"user": {"customer_id": 1, "id": "sandbox-admin"},
                    "work": {"libraries": [{"alias": "ACTIVE"}]}}})
            } else {
                json!({"data": [{"id": 7, "action_type": "update", "item_type": "container",
                    "object_id": "ACTIVE!1"}], "overflow": false})
            };
            crate::platform::HttpResponse {
                status: 200,
                headers: vec![("content-type".into(), "application/json".into())],
                body: body.to_string().into_bytes(),
            }
        });
        let s = crate::settings::Settings::load(&p).unwrap();
        let api = Imanage::new(&p, &s);
        assert_eq!(read(&api, Some("6"), PAGE).unwrap().cursor, "7");
        assert!(matches!(
            read(&api, Some("7"), PAGE),
            Err(QueueError::NotUnderstood(_))
        ));
    }
}
