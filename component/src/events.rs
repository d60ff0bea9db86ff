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
    stored.sort_unstable_by(|a, b| {
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
        match replay_letter(p, &letter)? {
            Replayed::Succeeded | Replayed::AlreadyDone => report.succeeded += 1,
            Replayed::StillFailing(d) => report.still_failing.extend(d.map(|d| *d)),
        }
    }
    Ok(report)
}

/// What replaying one failed event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replayed {
    /// It went through now; its dead letter is gone.
    Succeeded,
    /// A later delivery of the same event had got through meanwhile; its dead letter is gone.
    AlreadyDone,
    /// It failed again: its dead letter, counting this attempt (absent only if someone else
    /// replayed it at the same moment).
    StillFailing(Option<Box<DeadLetter>>),
}

/// Runs the one failed event `event_id` again, by the same path as `replay` (so exactly-once
/// and the dead-letter rules are the same); `None` when no event of that id is waiting, e.g.
/// because a replay got it through meanwhile. Other failed events are left alone, even ones
/// of the same matter that failed earlier: the operator chose this one.
pub fn replay_one(p: &dyn Platform, event_id: &str) -> Result<Option<Replayed>> {
    validate::id("event id", event_id)?;
    let Some(stored) = read::<StoredLetter>(p, &keys::dead_letter(event_id))? else {
        return Ok(None);
    };
    replay_letter(p, &stored.letter).map(Some)
}

/// Replays one dead letter: forgotten if its event was done meanwhile, else run again and
/// either cleared (by `run`) or counted one more failure.
fn replay_letter(p: &dyn Platform, letter: &DeadLetter) -> Result<Replayed> {
    let e = &letter.event;
    if read::<Done>(p, &keys::event_done(&e.id))?.is_some() {
        // A later delivery of the same event got through meanwhile.
        forget_failure(p, &e.id)?;
        return Ok(Replayed::AlreadyDone);
    }
    match run(p, e) {
        Ok(_) => Ok(Replayed::Succeeded),
        Err(err) => {
            record_failure(p, e, &err)?;
            let letter = read::<DeadLetter>(p, &keys::dead_letter(&e.id))?;
            Ok(Replayed::StillFailing(letter.map(Box::new)))
        }
    }
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
    fn replay_one_runs_that_event_only_and_keeps_the_dead_letter_rules() {
        let p = FakePlatform::configured(); // its network always fails
        handle(&p, &event("e1", EventType::Created)).unwrap_err();
        handle(&p, &event("e2", EventType::Closed)).unwrap_err();
        // Still failing: one more attempt on e2 only, its reason kept.
        let Some(Replayed::StillFailing(Some(d))) = replay_one(&p, "e2").unwrap() else {
            panic!("e2 fails again")
        };
        assert_eq!((d.event.id.as_str(), d.attempts), ("e2", 2));
        // Closing a matter with no workspace fails before any network call.
        assert_eq!(d.kind, "not-linked");
        let attempts: Vec<_> = failed(&p).unwrap().iter().map(|d| d.attempts).collect();
        assert_eq!(attempts, vec![1, 2], "e1 untouched, order kept");
        // No such event: nothing happens.
        assert_eq!(replay_one(&p, "nope").unwrap(), None);
        assert_eq!(replay_one(&p, "../x").unwrap_err().kind(), "invalid-matter");
        // Done by a later delivery meanwhile: forgotten, not run again.
        let done = Done {
            at: 1,
            workspace: None,
            skipped: None,
        };
        p.kv_set(&keys::event_done("e1"), &to_json(&done).unwrap())
            .unwrap();
        let sent = p.sent.borrow().len();
        assert_eq!(replay_one(&p, "e1").unwrap(), Some(Replayed::AlreadyDone));
        assert_eq!(p.sent.borrow().len(), sent, "nothing sent for a done event");
        let ids: Vec<_> = failed(&p)
            .unwrap()
            .into_iter()
            .map(|d| d.event.id)
            .collect();
        assert_eq!(ids, vec!["e2"]);
        assert_eq!(replay_one(&p, "e1").unwrap(), None, "gone once replayed");
        // Goes through now (the matter type is out of scope, so it is done as skipped): the
        // dead letter is gone and a redelivery is a duplicate.
        p.set_config("matter_types", r#"["Conveyancing"]"#);
        assert_eq!(replay_one(&p, "e2").unwrap(), Some(Replayed::Succeeded));
        assert!(failed(&p).unwrap().is_empty());
        assert!(
            handle(&p, &event("e2", EventType::Closed))
                .unwrap()
                .duplicate
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
