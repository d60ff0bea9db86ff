//! What the change feed reports: security changes on linked workspaces, each mapped to its matter.

use serde::{Deserialize, Serialize};

use crate::security::{AccessLevel, Member, TrusteeType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    AccessChanged,
    DefaultSecurityChanged,
}

/// Where a batch of changes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// iManage's change-event queue: costs requests per change, not per workspace.
    EventQueue,
    /// The Sync API's cursor-paged security search, compared with snapshots.
    Sync,
    /// Each linked workspace's security read one by one, compared with snapshots.
    Polling,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::EventQueue => "event queue",
            Source::Sync => "Sync API crawl",
            Source::Polling => "per-workspace polling",
        }
    }
}

/// One change to one workspace's security, before it is tied to a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delta {
    Added(Member),
    /// The member as it was before it was removed.
    Removed(Member),
    AccessChanged {
        member: Member,
        previous: AccessLevel,
    },
    DefaultSecurity {
        previous: Option<String>,
        now: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Unique per change and stable across re-deliveries: `{feed}.{batch}.{n}`.
    pub id: String,
    pub matter_id: String,
    pub workspace_id: String,
    pub kind: ChangeKind,
    pub trustee_id: Option<String>,
    pub trustee_type: Option<TrusteeType>,
    /// The level now (none once removed).
    pub access_level: Option<AccessLevel>,
    /// The level before (removed and access-changed, when known).
    pub previous_access_level: Option<AccessLevel>,
    pub default_security: Option<String>,
    pub previous_default_security: Option<String>,
    /// When iManage says it happened, as iManage wrote it (event queue only).
    pub occurred_at: Option<String>,
    /// When matterlink first saw it, seconds since the epoch.
    pub observed_at: u64,
}

impl Change {
    pub fn new(
        matter_id: &str,
        workspace_id: &str,
        delta: Delta,
        occurred_at: Option<String>,
        observed_at: u64,
    ) -> Change {
        let mut c = Change {
            id: String::new(),
            matter_id: matter_id.to_string(),
            workspace_id: workspace_id.to_string(),
            kind: ChangeKind::Added,
            trustee_id: None,
            trustee_type: None,
            access_level: None,
            previous_access_level: None,
            default_security: None,
            previous_default_security: None,
            occurred_at,
            observed_at,
        };
        let trustee = |m: &Member| {
            (
                Some(m.id.clone()),
                Some(m.trustee_type),
                Some(m.access_level),
            )
        };
        match delta {
            Delta::Added(m) => {
                (c.trustee_id, c.trustee_type, c.access_level) = trustee(&m);
            }
            Delta::Removed(m) => {
                c.kind = ChangeKind::Removed;
                (c.trustee_id, c.trustee_type, c.previous_access_level) = trustee(&m);
            }
            Delta::AccessChanged { member, previous } => {
                c.kind = ChangeKind::AccessChanged;
                (c.trustee_id, c.trustee_type, c.access_level) = trustee(&member);
                c.previous_access_level = Some(previous);
            }
            Delta::DefaultSecurity { previous, now } => {
                c.kind = ChangeKind::DefaultSecurityChanged;
                c.default_security = Some(now);
                c.previous_default_security = previous;
            }
        }
        c
    }
}

/// The answer of one poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    pub changes: Vec<Change>,
    /// Pass it to the next poll to acknowledge these changes.
    pub next_cursor: String,
    pub source: Source,
    /// What the caller should know: a fallback and why, a restart of the feed, skipped entries.
    pub notes: Vec<String>,
}
