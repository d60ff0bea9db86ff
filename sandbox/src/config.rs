//! What a sandbox is started with: the seeded identities that clients configure themselves with,
//! and the knobs of [`SandboxConfig`]. It sits at the bottom of the crate so that the seed and
//! the state can read it without reaching up to the crate root that wires the server.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::events::DEFAULT_EVENT_RETENTION;
use crate::faults::Faults;

pub const CUSTOMER_ID: u64 = 1;
pub const LIBRARY: &str = "ACTIVE";
/// The second library: a branch office's, for trying `library_routes`.
pub const BRANCH_LIBRARY: &str = "BRANCH";
pub const SERVICE_USER: &str = "sandbox-admin";
pub const SERVICE_PASSWORD: &str = "sandbox-password";
pub const CLIENT_ID: &str = "matterlink";
pub const CLIENT_SECRET: &str = "sandbox-client-secret";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxConfig {
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    /// Faults from the start; change them later with `SandboxState::set_faults` or
    /// `PUT /sandbox/admin/faults`.
    pub faults: Faults,
    /// How many change events the queue keeps; cursors older than that answer 410.
    pub event_retention: usize,
    /// When set, `GET /auth/oauth2/authorize` approves at once as this user, without the form.
    pub auto_approve: Option<String>,
    /// Answer 411 to any API request whose body is sent `Transfer-Encoding: chunked`, as gateways
    /// and WAFs in front of on-premises iManage do.
    pub refuse_chunked: bool,
    /// The most items one page of any list holds, whatever `limit` asks (iManage's own cap is
    /// 9999); small values force clients to page.
    pub page_size: usize,
    /// The shape of security members per library (by library id, upper case); a library not
    /// named answers [`MemberShape::Typed`].
    pub member_shapes: BTreeMap<String, MemberShape>,
    /// The shape the change-event queue answers in.
    pub event_queue_shape: QueueShape,
}

/// The shapes of the change-event queue (see docs/imanage-api.md, "Change feed"); none is
/// confirmed by iManage's own documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueShape {
    /// The product's own assumption: `{"data": [{"event_id", "event_type", "object_type",
    /// "object_id", "timestamp", "details"}], "cursor"}`; 410 for a lost cursor.
    #[default]
    Assumed,
    /// An open-source connector's design notes: `{"data": [{"id", "action_type", "item_type",
    /// "object_id", "root_id", "event_date"}], "overflow"}`, the cursor being the last event id
    /// read; a cursor older than the queue keeps answers `overflow: true`; named queues at
    /// `/change-events/queues`.
    ActionType,
    /// A 200 that neither shape describes: the assumed events under `data` but the position as
    /// `next_page`, with no `cursor` and no `overflow`; a client must not guess its way through.
    Unknown,
}

/// The two member shapes public clients of iManage read (see docs/imanage-api.md, "Security").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberShape {
    /// `{"id", "type": "user" | "group", "access_level"}` under `data.members`.
    #[default]
    Typed,
    /// `{"user_id" | "id", "is_group", "access"}`, the member array directly under `data`.
    Flagged,
}

impl SandboxConfig {
    /// The member shape of `library`.
    pub fn member_shape(&self, library: &str) -> MemberShape {
        self.member_shapes
            .get(&library.to_ascii_uppercase())
            .copied()
            .unwrap_or_default()
    }
}

impl Default for SandboxConfig {
    /// The lifetimes Actionstep recommends configuring in iManage Control Center; no faults.
    fn default() -> Self {
        SandboxConfig {
            access_token_ttl: Duration::from_secs(90 * 60),
            refresh_token_ttl: Duration::from_secs(365 * 24 * 60 * 60),
            faults: Faults::default(),
            event_retention: DEFAULT_EVENT_RETENTION,
            auto_approve: None,
            refuse_chunked: false,
            page_size: 9999,
            member_shapes: BTreeMap::new(),
            event_queue_shape: QueueShape::Assumed,
        }
    }
}
