//! Matter events as webhooks deliver them: at least once, sometimes twice at the same moment,
//! sometimes while iManage is down. Each event id is handled once (a done record); a failed
//! event is kept with its reason and attempts (a dead letter) until `replay` gets it through.
//! A malformed event is refused and leaves no trace, so hostile input changes nothing.

use serde::{Deserialize, Serialize};

use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::{keys, validate};

/// What happened to a matter; in JSON `matter.created` and so on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventType {
    /// A matter was opened.
    #[serde(rename = "matter.created")]
    Created,
    /// A matter's details changed.
    #[serde(rename = "matter.updated")]
    Updated,
    /// A matter was closed.
    #[serde(rename = "matter.closed")]
    Closed,
    /// A closed matter was opened again.
    #[serde(rename = "matter.reopened")]
    Reopened,
}

/// One delivery from the matter system.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// The delivery's id: a redelivery carries the same one, which makes it harmless.
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// The matter as it is now.
    pub matter: Matter,
}

/// What handling an event did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The id of the event handled.
    pub event_id: String,
    /// The event had been handled before; nothing was done this time.
    pub duplicate: bool,
    /// The matter's workspace, when it has one.
    pub workspace: Option<Workspace>,
    /// Why the integration left this matter alone (`skipped`), if it did.
    pub skipped: Option<String>,
}

/// A failed event waiting for replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// The event as it was delivered.
    pub event: Event,
    /// The error kind of the last attempt, e.g. `unavailable`.
    pub kind: String,
    /// The error message of the last attempt.
    pub reason: String,
    /// How many times it has failed.
    pub attempts: u32,
    /// When it first failed, seconds since the epoch.
    pub first_failed_at: u64,
    /// When it last failed, seconds since the epoch.
    pub last_failed_at: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Done {
    at: u64,
    workspace: Option<Workspace>,
    skipped: Option<String>,
}

/// What one replay of the failed events did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplayReport {
    /// How many failed events were run again.
    pub replayed: u32,
    /// How many of them went through.
    pub succeeded: u32,
    /// The ones that failed again, oldest first.
    pub still_failing: Vec<DeadLetter>,
    /// The hook deliveries kept whole that still cannot be handled, in the order they came
    /// (`held`).
    #[serde(default)]
    pub still_held: Vec<crate::held::HeldDelivery>,
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Unavailable(e.to_string()))
}

fn read<T: for<'de> Deserialize<'de>>(p: &dyn Platform, key: &str) -> Result<Option<T>> {
    p.kv_get(key)?
        .map(|raw| {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::Unavailable(format!("key-value record {key} is unreadable: {e}"))
            })
        })
        .transpose()
}

/// Why an event body cannot be used.
#[derive(Debug)]
pub enum ParseError {
    /// Not JSON of the event's shape.
    Malformed(String),
    /// An event, but its id or matter is unusable.
    Invalid(Error),
}

/// Reads and checks an event body, as `POST /v1/events` receives it.
pub fn parse(body: &[u8]) -> Result<Event, ParseError> {
    let e: Event =
        serde_json::from_slice(body).map_err(|e| ParseError::Malformed(e.to_string()))?;
    validate::id("event id", &e.id).map_err(ParseError::Invalid)?;
    validate::matter(&e.matter, e.kind == EventType::Created).map_err(ParseError::Invalid)?;
    Ok(e)
}

/// Handles one delivery of an event.
pub fn handle(p: &dyn Platform, e: &Event) -> Result<Outcome> {
    validate::id("event id", &e.id)?;
    if let Some(done) = read::<Done>(p, &keys::event_done(&e.id))? {
        return Ok(Outcome {
            event_id: e.id.clone(),
            duplicate: true,
            workspace: done.workspace,
            skipped: done.skipped,
        });
    }
    match run(p, e) {
        Ok(outcome) => Ok(outcome),
        // Refused input changes nothing: it is the sender's to fix, not ours to replay.
        Err(err @ Error::InvalidMatter(_)) => Err(err),
        Err(err) => {
            record_failure(p, e, &err)?;
            Err(err)
        }
    }
}

/// Runs the event's function and records it as done.
fn run(p: &dyn Platform, e: &Event) -> Result<Outcome> {
    let result = match e.kind {
        EventType::Created => crate::on_matter_created(p, &e.matter).map(Some),
        EventType::Updated => crate::on_matter_updated(p, &e.matter),
        EventType::Closed => crate::on_matter_closed(p, &e.matter).map(Some),
        EventType::Reopened => crate::on_matter_reopened(p, &e.matter).map(Some),
    };
    let (workspace, skipped) = match result {
        Ok(ws) => (ws, None),
        Err(Error::Skipped(why)) => (None, Some(why)),
        Err(err) => return Err(err),
    };
    let done = Done {
        at: p.now(),
        workspace: workspace.clone(),
        skipped: skipped.clone(),
    };
    p.kv_set(&keys::event_done(&e.id), &to_json(&done)?)?;
    forget_failure(p, &e.id)?;
    Ok(Outcome {
        event_id: e.id.clone(),
        duplicate: false,
        workspace,
        skipped,
    })
}

/// A dead letter as key-value keeps it: with its place in the order of first failures, which
/// the key's listing (in no particular order) cannot give.
#[derive(Serialize, Deserialize)]
struct StoredLetter {
    #[serde(flatten)]
    letter: DeadLetter,
    /// From `keys::DEAD_LETTER_SEQ`; 0 for letters kept before it existed (they are older).
    #[serde(default)]
    seq: i64,
}

fn record_failure(p: &dyn Platform, e: &Event, err: &Error) -> Result<()> {
    let key = keys::dead_letter(&e.id);
    let now = p.now();
    // One key per event, written whole: concurrent failures of different events never touch the
    // same key, so no compare-and-swap is needed (Spin's Redis store has no working one). Two
    // failures of the same event at once may count one attempt too few, which changes nothing
    // but the count.
    let stored = match read::<StoredLetter>(p, &key)? {
        Some(mut s) => {
            let d = &mut s.letter;
            d.attempts += 1;
            d.kind = err.kind().to_string();
            d.reason = err.message().to_string();
            d.last_failed_at = now;
            s
        }
        None => StoredLetter {
            letter: DeadLetter {
                event: e.clone(),
                kind: err.kind().to_string(),
                reason: err.message().to_string(),
                attempts: 1,
                first_failed_at: now,
                last_failed_at: now,
            },
            seq: p.kv_increment(keys::DEAD_LETTER_SEQ, 1)?,
        },
    };
    p.kv_set(&key, &to_json(&stored)?)
}

fn forget_failure(p: &dyn Platform, id: &str) -> Result<()> {
    let key = keys::dead_letter(id);
    if p.kv_get(&key)?.is_some() {
        p.kv_delete(&key)?;
    }
    Ok(())
}

/// Every failed event, oldest first: the dead letters found by their key prefix, ordered by
/// when each first failed.
pub fn failed(p: &dyn Platform) -> Result<Vec<DeadLetter>> {
    let mut stored = Vec::new();
    for key in p.kv_keys(keys::DEAD_LETTER_PREFIX)? {
        // Gone between the listing and the read: replayed by someone else meanwhile.
        if let Some(s) = read::<StoredLetter>(p, &key)? {
            stored.push(s);
        }
    }
    stored.sort_by(|a, b| {
        (a.seq, a.letter.first_failed_at, &a.letter.event.id).cmp(&(
            b.seq,
            b.letter.first_failed_at,
            &b.letter.event.id,
        ))
    });
    Ok(stored.into_iter().map(|s| s.letter).collect())
}

/// Runs every failed event again, oldest first, so a matter's created event goes before its
/// closed event.
pub fn replay(p: &dyn Platform) -> Result<ReplayReport> {
    let mut report = ReplayReport::default();
    for letter in failed(p)? {
        report.replayed += 1;
        let e = &letter.event;
        if read::<Done>(p, &keys::event_done(&e.id))?.is_some() {
            // A later delivery of the same event got through meanwhile.
            forget_failure(p, &e.id)?;
            report.succeeded += 1;
            continue;
        }
        match run(p, e) {
            Ok(_) => report.succeeded += 1,
            Err(err) => {
                record_failure(p, e, &err)?;
                if let Some(d) = read::<DeadLetter>(p, &keys::dead_letter(&e.id))? {
                    report.still_failing.push(d);
                }
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    fn event(id: &str, kind: EventType) -> Event {
        Event {
            id: id.into(),
            kind,
            matter: serde_json::from_str(include_str!("../../tests/fixtures/matter-basic.json"))
                .unwrap(),
        }
    }

    #[test]
    fn failures_are_kept_in_order_and_counted() {
        let p = FakePlatform::configured(); // its network always fails
        let err = handle(&p, &event("e1", EventType::Created)).unwrap_err();
        assert_eq!(err.kind(), "unavailable");
        handle(&p, &event("e2", EventType::Closed)).unwrap_err();
        handle(&p, &event("e1", EventType::Created)).unwrap_err();
        let failed = failed(&p).unwrap();
        let ids: Vec<_> = failed.iter().map(|d| d.event.id.as_str()).collect();
        assert_eq!(ids, vec!["e1", "e2"]);
        assert_eq!(failed[0].attempts, 2);
        let report = replay(&p).unwrap();
        assert_eq!((report.replayed, report.succeeded), (2, 0));
        assert_eq!(report.still_failing[0].attempts, 3);
    }

    #[test]
    fn failures_in_the_same_second_keep_their_order_and_a_success_clears_its_letter() {
        let p = FakePlatform::configured();
        // Listed in key order these would come out the other way round.
        handle(&p, &event("z-created", EventType::Created)).unwrap_err();
        handle(&p, &event("a-closed", EventType::Closed)).unwrap_err();
        let ids: Vec<_> = failed(&p)
            .unwrap()
            .into_iter()
            .map(|d| d.event.id)
            .collect();
        assert_eq!(ids, vec!["z-created", "a-closed"]);
        forget_failure(&p, "z-created").unwrap();
        let ids: Vec<_> = failed(&p)
            .unwrap()
            .into_iter()
            .map(|d| d.event.id)
            .collect();
        assert_eq!(ids, vec!["a-closed"]);
        assert!(
            p.kv_get("event/dead-index").unwrap().is_none(),
            "no shared index"
        );
    }

    #[test]
    fn malformed_events_leave_no_trace() {
        let p = FakePlatform::configured();
        let mut e = event("../x", EventType::Created);
        assert_eq!(handle(&p, &e).unwrap_err().kind(), "invalid-matter");
        e.id = "ok-id".into();
        e.matter.clients.clear();
        assert_eq!(handle(&p, &e).unwrap_err().kind(), "invalid-matter");
        assert!(p.kv.borrow().is_empty());
    }

    #[test]
    fn event_json_shape() {
        let e: Event = serde_json::from_str(
            r#"{"id": "evt-1", "type": "matter.closed", "matter": {"id": "1", "title": "t", "matter_type": "x", "clients": []}}"#,
        )
        .unwrap();
        assert_eq!(e.kind, EventType::Closed);
        assert!(serde_json::from_str::<Event>(
            r#"{"id": "e", "type": "matter.deleted", "matter": {}}"#
        )
        .is_err());
    }
}
