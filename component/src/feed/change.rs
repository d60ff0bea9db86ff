//! What the change feed reports: security changes on linked workspaces, each mapped to its matter.

use serde::{Deserialize, Serialize};

use crate::security::{AccessLevel, Member, TrusteeType};

/// The kinds of change the feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A trustee was added to the workspace.
    Added,
    /// A trustee was taken off the workspace.
    Removed,
    /// A trustee's access level changed.
    AccessChanged,
    /// The workspace's default security changed.
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
    /// How notes and messages name the source.
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
    /// The member as it is now on the workspace.
    Added(Member),
    /// The member as it was before it was removed.
    Removed(Member),
    /// A member now has another access level.
    AccessChanged {
        /// The member at its new level.
        member: Member,
        /// The level it had before.
        previous: AccessLevel,
    },
    /// The workspace's default security changed.
    DefaultSecurity {
        /// What it was, when known.
        previous: Option<String>,
        /// What it is now.
        now: String,
    },
}

/// One change to the security of a linked workspace, mapped to its matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Unique per change and stable across re-deliveries: `{feed}.{batch}.{n}`.
    pub id: String,
    /// The matter the workspace is linked to.
    pub matter_id: String,
    /// The workspace whose security changed.
    pub workspace_id: String,
    /// What kind of change this is.
    pub kind: ChangeKind,
    /// The user or group concerned (added, removed, access-changed).
    pub trustee_id: Option<String>,
    /// Whether `trustee_id` names a user or a group.
    pub trustee_type: Option<TrusteeType>,
    /// The level now (none once removed).
    pub access_level: Option<AccessLevel>,
    /// The level before (removed and access-changed, when known).
    pub previous_access_level: Option<AccessLevel>,
    /// The default security now (default-security-changed).
    pub default_security: Option<String>,
    /// The default security before (default-security-changed), when known.
    pub previous_default_security: Option<String>,
    /// When iManage says it happened, as iManage wrote it (event queue only).
    pub occurred_at: Option<String>,
    /// When matterlink first saw it, seconds since the epoch.
    pub observed_at: u64,
}

impl Change {
    /// The change a delta on one workspace makes, for the matter it is linked to; the id is
    /// assigned when the batch is put together.
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
    /// The changes, in the order they were observed.
    pub changes: Vec<Change>,
    /// Pass it to the next poll to acknowledge these changes.
    pub next_cursor: String,
    /// Where this batch was read.
    pub source: Source,
    /// What the caller should know: a fallback and why, a restart of the feed, skipped entries.
    pub notes: Vec<String>,
}
