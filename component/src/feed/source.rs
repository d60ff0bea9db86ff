//! Which source the change feed reads (`change_source`), and the check-connection line that
//! says which one it can use and why.

use crate::feed::change::Source;
use crate::feed::event_queue::{self, QueueError, Shape};
use crate::feed::sync_crawl::{self, SyncError};
use crate::imanage::Imanage;
use crate::model::{Error, Result};
use crate::platform::Platform;

/// `change_source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The event queue; when it answers 403 or in a shape matterlink does not understand, the
    /// Sync API, and when that is refused too, polling.
    Auto,
    /// The event queue only.
    EventQueue,
    /// The Sync API only.
    Sync,
    /// Per-workspace polling only.
    Polling,
}

impl Mode {
    /// The configured `change_source` (`auto` when unset); an unknown value is `not-configured`.
    pub fn load(p: &dyn Platform) -> Result<Mode> {
        let value = p.config("change_source")?.map(|v| v.trim().to_string());
        match value.as_deref() {
            None | Some("") | Some("auto") => Ok(Mode::Auto),
            Some("event_queue") => Ok(Mode::EventQueue),
            Some("sync") => Ok(Mode::Sync),
            Some("polling") => Ok(Mode::Polling),
            Some(other) => Err(Error::NotConfigured(format!(
                "`change_source` must be auto, event_queue, sync or polling, not {other:?}"
            ))),
        }
    }
}

/// The snapshot source to fall back on: the Sync API unless it is refused.
pub fn fallback(api: &Imanage<'_>) -> Result<(Source, Option<String>)> {
    match sync_crawl::probe(api) {
        Ok(()) => Ok((Source::Sync, None)),
        Err(SyncError::Refused(why)) => Ok((Source::Polling, Some(why))),
        Err(SyncError::Failed(e)) => Err(e),
    }
}

/// One check-connection line: `Ok(line)` for ✓ and ⚠ (a working fallback), `Err` for ✗.
pub fn check(p: &dyn Platform, api: &Imanage<'_>) -> std::result::Result<String, (Error, String)> {
    let fix_config = "set `change_source` to auto, event_queue, sync or polling".to_string();
    let mode = Mode::load(p).map_err(|e| (e, fix_config))?;
    let polling = "per-workspace polling (one request per linked workspace per poll)";
    match mode {
        Mode::Polling => Ok(format!("✓ change feed: {polling}, as `change_source` says")),
        Mode::Sync => match sync_crawl::probe(api) {
            Ok(()) => Ok("✓ change feed: Sync API crawl".into()),
            Err(SyncError::Refused(why)) => Err((
                Error::NotConnected(format!("the Sync API refused the account ({why})")),
                "give the service account Sync API access, or set change_source = auto".into(),
            )),
            Err(SyncError::Failed(e)) => Err((e, "check that iManage is up".into())),
        },
        Mode::EventQueue | Mode::Auto => {
            // What `auto` reads instead, for the ⚠ lines.
            let then = || -> std::result::Result<String, (Error, String)> {
                match fallback(api) {
                    Ok((Source::Sync, _)) => Ok(Source::Sync.label().to_string()),
                    Ok((_, sync_why)) => Ok(format!(
                        "{polling}, since the Sync API is refused too ({})",
                        sync_why.unwrap_or_default()
                    )),
                    Err(e) => Err((e, "check that iManage is up".into())),
                }
            };
            match event_queue::read(api, None, 1) {
                Ok(page) => Ok(format!(
                    "✓ change feed: event queue{}",
                    shape_note(api, page.shape)
                )),
                Err(QueueError::Refused(why)) if mode == Mode::Auto => Ok(format!(
                    "⚠ change feed: event queue refused ({why}); falling back to {} — add the service account to the library's NRTADMIN group for changes within seconds",
                    then()?
                )),
                Err(QueueError::Refused(why)) => Err((
                    Error::NotConnected(format!("event queue refused ({why})")),
                    "add the service account to the library's NRTADMIN group, or set change_source = auto".into(),
                )),
                Err(QueueError::NotUnderstood(why)) if mode == Mode::Auto => Ok(format!(
                    "⚠ change feed: the event queue answered in a shape matterlink does not understand ({why}); falling back to {}",
                    then()?
                )),
                Err(QueueError::NotUnderstood(why)) => Err((
                    Error::NotConnected(format!(
                        "the event queue answered in a shape matterlink does not understand ({why})"
                    )),
                    "set change_source = auto (or sync) to read the Sync API instead".into(),
                )),
                // A fresh read has no cursor to lose.
                Err(QueueError::CursorGone(why)) => Ok(format!("✓ change feed: event queue ({why})")),
                Err(QueueError::Failed(e)) => Err((e, "check that iManage is up".into())),
            }
        }
    }
}

/// What the check says of the queue's shape: nothing for the assumed one; for the action-type
/// one, that it is, and the library's named queues when it lists them (a listing that fails
/// says nothing about the queue the feed reads, so it does not fail the check).
fn shape_note(api: &Imanage<'_>, shape: Shape) -> String {
    match shape {
        Shape::Assumed => String::new(),
        Shape::ActionType => match event_queue::queues(api).ok().flatten() {
            Some(names) if !names.is_empty() => {
                format!(" (action-type events; named queues: {})", names.join(", "))
            }
            _ => " (action-type events)".to_string(),
        },
    }
}
