//! One read of the configured source: the changes on linked workspaces since the feed's
//! position, with the snapshots and queue position to keep once they are delivered. Reading
//! writes nothing; `feed::poll_changes` decides what is kept.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::feed::change::{Delta, Source};
use crate::feed::event_queue::{self, QueueError, What};
use crate::feed::source::Mode;
use crate::feed::state::FeedState;
use crate::feed::sync_crawl::{self, SyncError};
use crate::feed::{linked, polling, snapshot};
use crate::imanage::Imanage;
use crate::links;
use crate::model::{Error, Result};
use crate::security::Security;

/// Changes per batch at most; more wait for the next poll. Keeps the pending record small.
pub const MAX_CHANGES: usize = 500;
/// Queue pages per poll at most, so that a busy queue of changes on unlinked workspaces cannot
/// hold one poll forever; the rest wait for the next poll.
const MAX_QUEUE_PAGES: usize = 200;

/// A change found on a linked workspace.
pub struct Found {
    /// The matter the workspace is linked to.
    pub matter_id: String,
    /// The workspace it was found on.
    pub workspace_id: String,
    /// What changed.
    pub delta: Delta,
    /// When iManage says it happened (event queue only).
    pub occurred_at: Option<String>,
}

/// What one read of the source found, and what to keep when the batch is acknowledged.
pub struct Reading {
    /// The source actually read (after any fallback).
    pub source: Source,
    /// The changes found, at most `MAX_CHANGES`.
    pub found: Vec<Found>,
    /// New snapshots of workspaces with changes: kept when the batch is acknowledged.
    pub snapshots: Vec<(String, Security)>,
    /// First snapshots of workspaces seen for the first time: they report nothing, so they are
    /// kept at once.
    pub baselines: Vec<(String, Security)>,
    /// The event queue's position after what was read (event queue only).
    pub queue_position: Option<String>,
    /// What the caller should know: a fallback and why, entries passed over.
    pub notes: Vec<String>,
    /// Why the event queue's position was taken anew, when it was (the feed started, the queue
    /// forgot the cursor or overflowed, the queue answers again after a fallback).
    pub restarted: Option<String>,
}

impl Reading {
    fn empty(source: Source) -> Reading {
        Reading {
            source,
            found: Vec::new(),
            snapshots: Vec::new(),
            baselines: Vec::new(),
            queue_position: None,
            notes: Vec::new(),
            restarted: None,
        }
    }
}

/// Reads the source `mode` names (falling back as `Mode::Auto` allows), from where `st` says
/// the feed stands.
pub fn read(api: &Imanage<'_>, mode: Mode, st: &FeedState) -> Result<Reading> {
    match mode {
        Mode::Polling => snapshots(api, Source::Polling).map_err(sync_error),
        Mode::Sync => snapshots(api, Source::Sync).map_err(sync_error),
        Mode::EventQueue => queue(api, st, false).map_err(queue_error),
        Mode::Auto => match queue(api, st, true) {
            Ok(r) => Ok(r),
            // Not understood is treated as refused: the Sync API still tells what changed.
            Err(QueueError::Refused(why)) => {
                fallback_because(api, &format!("event queue refused ({why})"))
            }
            Err(QueueError::NotUnderstood(why)) => fallback_because(
                api,
                &format!(
                    "the event queue answered in a shape matterlink does not understand ({why})"
                ),
            ),
            Err(e) => Err(queue_error(e)),
        },
    }
}

fn fallback_because(api: &Imanage<'_>, why: &str) -> Result<Reading> {
    let mut r = fallback(api)?;
    r.notes
        .insert(0, format!("{why}; falling back to {}", r.source.label()));
    Ok(r)
}

fn queue_error(e: QueueError) -> Error {
    match e {
        QueueError::Refused(why) => Error::NotConnected(format!(
            "the change-event queue is refused ({why}); add the service account to NRTADMIN or set change_source = auto"
        )),
        QueueError::NotUnderstood(why) => Error::NotConnected(format!(
            "the change-event queue answered in a shape matterlink does not understand ({why}); set change_source = auto to fall back to the Sync API"
        )),
        QueueError::CursorGone(why) => Error::Unavailable(format!("change-event queue: {why}")),
        QueueError::Failed(e) => e,
    }
}

fn sync_error(e: SyncError) -> Error {
    match e {
        SyncError::Refused(why) => Error::NotConnected(format!(
            "the Sync API is refused ({why}); set change_source = auto or polling"
        )),
        SyncError::Failed(e) => e,
    }
}

/// The Sync API, or polling when the Sync API is refused. Tried rather than probed: a refusal
/// comes on the first request, before anything was read.
fn fallback(api: &Imanage<'_>) -> Result<Reading> {
    match snapshots(api, Source::Sync) {
        Err(SyncError::Refused(why)) => {
            let mut r = snapshots(api, Source::Polling).map_err(sync_error)?;
            r.notes.insert(
                0,
                format!("the Sync API is refused ({why}); polling each workspace"),
            );
            Ok(r)
        }
        other => other.map_err(sync_error),
    }
}

/// The event queue from the feed's position. Without a usable position (the feed starts, the
/// queue forgot the cursor, or the feed comes back from a fallback) the position is taken anew;
/// in `auto`, a snapshot pass then reports what happened meanwhile.
fn queue(api: &Imanage<'_>, st: &FeedState, auto: bool) -> Result<Reading, QueueError> {
    let back_from_fallback = auto && st.last_source.is_some_and(|s| s != Source::EventQueue);
    let position = match (&st.queue_position, back_from_fallback) {
        (Some(position), false) => position.clone(),
        (None, _) => {
            return restart(
                api,
                auto,
                "change feed started: changes from now on are reported",
            )
        }
        (Some(_), true) => {
            return restart(
                api,
                auto,
                "the event queue answers again; changes meanwhile were compared with snapshots",
            )
        }
    };
    match from_queue(api, &position) {
        Err(QueueError::CursorGone(why)) if auto => restart(
            api,
            true,
            &format!("the event queue no longer knows the feed's position ({why}); changes meanwhile were compared with snapshots"),
        ),
        Err(QueueError::CursorGone(why)) => {
            // Events after a forgotten cursor were dropped (or the queue was reset): everything
            // it still holds is newer than our position, so reading it all repeats nothing.
            let mut r = from_queue_start(api)?;
            let why = format!("the event queue no longer knows the feed's position ({why})");
            r.notes.insert(0, format!(
                "{why}; changes in between may be missing — set change_source = auto to compare with snapshots"
            ));
            r.restarted = Some(why);
            Ok(r)
        }
        other => other,
    }
}

fn restart(api: &Imanage<'_>, auto: bool, note: &str) -> Result<Reading, QueueError> {
    // The position first: a change between it and the snapshot pass is then reported twice
    // (harmless) rather than not at all.
    let position = event_queue::end(api)?;
    let mut r = if auto {
        let mut r = fallback(api)?;
        r.source = Source::EventQueue;
        r
    } else {
        Reading::empty(Source::EventQueue)
    };
    r.queue_position = Some(position);
    r.notes.insert(0, note.to_string());
    r.restarted = Some(note.to_string());
    Ok(r)
}

fn from_queue_start(api: &Imanage<'_>) -> Result<Reading, QueueError> {
    from_queue_at(api, None)
}

fn from_queue(api: &Imanage<'_>, position: &str) -> Result<Reading, QueueError> {
    from_queue_at(api, Some(position))
}

/// Queue pages until an empty one (or a full batch). Changes on unlinked workspaces are passed
/// over but the position still moves past them. An overflow after a known position is a lost
/// cursor: events were dropped, so the caller recovers as from an expired cursor.
fn from_queue_at(api: &Imanage<'_>, position: Option<&str>) -> Result<Reading, QueueError> {
    let p = api.p();
    let mut r = Reading::empty(Source::EventQueue);
    let mut owners: HashMap<String, Option<String>> = HashMap::new();
    // Loaded on first use; `None` inside: the workspace has no snapshot.
    let mut known: BTreeMap<String, Option<Security>> = BTreeMap::new();
    let mut touched: BTreeSet<String> = BTreeSet::new();
    // Workspaces whose security was read again in this read: once is enough, since the read
    // shows every change before it.
    let mut reread: BTreeSet<String> = BTreeSet::new();
    let mut cursor = position.map(String::from);
    let mut unreadable = 0;
    for n in 0.. {
        let page = event_queue::read(api, cursor.as_deref(), event_queue::PAGE)?;
        if page.overflow && position.is_some() {
            return Err(QueueError::CursorGone(
                "the queue overflowed: events after the feed's position were dropped".into(),
            ));
        }
        unreadable += page.unreadable;
        for event in page.events {
            let ws = event.workspace_id;
            if !owners.contains_key(&ws) {
                owners.insert(ws.clone(), links::owner_of(p, &ws)?);
            }
            let Some(matter_id) = owners[&ws].clone() else {
                continue;
            };
            if !known.contains_key(&ws) {
                known.insert(ws.clone(), snapshot::load(p, &ws)?);
            }
            let deltas = match event.what {
                What::Deltas(deltas) => deltas
                    .into_iter()
                    .map(|delta| match known.get_mut(&ws).and_then(Option::as_mut) {
                        Some(security) => {
                            touched.insert(ws.clone());
                            snapshot::apply(security, delta)
                        }
                        None => delta,
                    })
                    .collect(),
                What::Reread if !reread.insert(ws.clone()) => Vec::new(),
                What::Reread => {
                    let Some((now, odd)) = api.workspace_security(&ws)? else {
                        continue; // gone since: nothing to wall
                    };
                    unreadable += odd;
                    // Without a snapshot every member is reported as added: a wall listener
                    // applies them idempotently, and a wall is never missed.
                    let before = known.get(&ws).cloned().flatten().unwrap_or_default();
                    touched.insert(ws.clone());
                    known.insert(ws.clone(), Some(now.clone()));
                    snapshot::diff(&before, &now)
                }
            };
            r.found.extend(deltas.into_iter().map(|delta| Found {
                matter_id: matter_id.clone(),
                workspace_id: ws.clone(),
                delta,
                occurred_at: event.occurred_at.clone(),
            }));
        }
        cursor = Some(page.cursor);
        if page.read == 0 {
            break;
        }
        if r.found.len() >= MAX_CHANGES || n + 1 >= MAX_QUEUE_PAGES {
            r.notes
                .push("more changes wait in the event queue: poll again".into());
            break;
        }
    }
    if unreadable > 0 {
        r.notes.push(unreadable_note(unreadable));
    }
    r.snapshots = touched
        .into_iter()
        .filter_map(|ws| known.remove(&ws).flatten().map(|s| (ws, s)))
        .collect();
    r.queue_position = cursor;
    Ok(r)
}

fn unreadable_note(n: usize) -> String {
    format!("{n} security entries named an access level or trustee type matterlink does not know, and were passed over")
}

/// Every linked workspace's security now, compared with its snapshot.
fn snapshots(api: &Imanage<'_>, source: Source) -> Result<Reading, SyncError> {
    let p = api.p();
    let linked = linked::workspaces(p)?;
    let (current, unreadable) = match source {
        Source::Sync => {
            let ids: BTreeSet<String> = linked.keys().cloned().collect();
            sync_crawl::security_of(api, &ids)?
        }
        _ => polling::security_of(api, linked.keys())?,
    };
    let mut r = Reading::empty(source);
    let (mut gone, mut deferred) = (0, 0);
    for (ws, matter_id) in &linked {
        let Some(now) = current.get(ws) else {
            gone += 1;
            continue;
        };
        let Some(before) = snapshot::load(p, ws)? else {
            r.baselines.push((ws.clone(), now.clone()));
            continue;
        };
        let deltas = snapshot::diff(&before, now);
        if deltas.is_empty() {
            continue;
        }
        // A workspace's changes go whole or wait whole, with its snapshot.
        if r.found.len() >= MAX_CHANGES {
            deferred += 1;
            continue;
        }
        r.found.extend(deltas.into_iter().map(|delta| Found {
            matter_id: matter_id.clone(),
            workspace_id: ws.clone(),
            delta,
            occurred_at: None,
        }));
        r.snapshots.push((ws.clone(), now.clone()));
    }
    if deferred > 0 {
        r.notes.push(format!(
            "changes on {deferred} more workspaces wait for the next poll"
        ));
    }
    if gone > 0 {
        r.notes.push(format!(
            "{gone} linked workspaces were not found in iManage"
        ));
    }
    if unreadable > 0 {
        r.notes.push(unreadable_note(unreadable));
    }
    Ok(r)
}
