//! The domain types of the contract (`wit/matterlink.wit`, interface `types`), as plain Rust.
//!
//! The `wasi` adapter converts these to and from the generated WIT types one-to-one; keeping them
//! here lets the domain logic compile and be tested natively.

use serde::{Deserialize, Serialize};

/// A client of the firm. The first client of a matter is its primary client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The matter system's id of the client (custom1).
    pub id: String,
    /// The client's name, the description of its custom1 lookup value.
    pub name: String,
}

/// A matter as the matter-management system knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matter {
    /// The matter system's id of the matter (custom2).
    pub id: String,
    /// The matter's title.
    pub title: String,
    /// The matter type, which picks the template and may be mapped (custom3).
    pub matter_type: String,
    /// First = primary. Empty is refused with `invalid-matter` where a workspace may be made.
    pub clients: Vec<Client>,
    /// The firm's file reference, when it has one.
    #[serde(default)]
    pub file_reference: Option<String>,
    /// Who the matter is assigned to.
    #[serde(default)]
    pub assigned_to: Option<String>,
    /// The matter's priority.
    #[serde(default)]
    pub priority: Option<String>,
    /// The matter's status.
    #[serde(default)]
    pub status: Option<String>,
    /// iManage user id of the person acting, used when `owner_policy = current_user`.
    #[serde(default)]
    pub acting_user: Option<String>,
}

impl Matter {
    /// The primary client; `validate` guarantees there is one.
    pub fn primary_client(&self) -> Option<&Client> {
        self.clients.first()
    }
}

/// An iManage workspace linked to a matter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    /// iManage's id of the workspace, e.g. `ACTIVE!123`.
    pub id: String,
    /// The workspace's name.
    pub name: String,
    /// A link that opens the workspace in iManage Work.
    pub url: String,
    /// The library the workspace lives in.
    pub library: String,
}

/// One profile field written to iManage, e.g. `custom2 = "1042"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    /// The field's name, e.g. `custom2`.
    pub name: String,
    /// Its value.
    pub value: String,
}

/// A folder of a matter's workspace, for choosing where a document goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// iManage's id of the folder.
    pub id: String,
    /// The folder's name.
    pub name: String,
    /// Names from the workspace root, joined with `/`, e.g. `Documents/Generated Documents`.
    pub path: String,
}

/// The start of a browser sign-in (`connect-begin`): where to send the administrator, and the
/// `state` the answer must carry back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRequest {
    /// Where to send the administrator's browser: iManage's sign-in page.
    pub authorize_url: String,
    /// What iManage's redirect must carry back.
    pub state: String,
    /// Seconds the sign-in may take.
    pub expires_in: u64,
}

/// What `resolve-legacy` found. In JSON: `{"kind": "linked", "workspace": {…}}`,
/// `{"kind": "none"}` or `{"kind": "several", "workspaces": […]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "LegacyMatchJson", from = "LegacyMatchJson")]
pub enum LegacyMatch {
    /// Exactly one workspace matched, and the matter is now linked to it.
    Linked(Workspace),
    /// No workspace matched: nothing was linked.
    None,
    /// Several workspaces matched: nothing was linked; a person chooses.
    Several(Vec<Workspace>),
}

/// The JSON shape of [`LegacyMatch`]: tagged by `kind`, each case naming its payload.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LegacyMatchJson {
    Linked { workspace: Workspace },
    None,
    Several { workspaces: Vec<Workspace> },
}

impl From<LegacyMatch> for LegacyMatchJson {
    fn from(m: LegacyMatch) -> Self {
        match m {
            LegacyMatch::Linked(workspace) => LegacyMatchJson::Linked { workspace },
            LegacyMatch::None => LegacyMatchJson::None,
            LegacyMatch::Several(workspaces) => LegacyMatchJson::Several { workspaces },
        }
    }
}

impl From<LegacyMatchJson> for LegacyMatch {
    fn from(m: LegacyMatchJson) -> Self {
        match m {
            LegacyMatchJson::Linked { workspace } => LegacyMatch::Linked(workspace),
            LegacyMatchJson::None => LegacyMatch::None,
            LegacyMatchJson::Several { workspaces } => LegacyMatch::Several(workspaces),
        }
    }
}

/// The typed error of every exported function. The variant is the contract; the message is for
/// people and must never carry a secret. In JSON: `{"kind": "invalid-matter", "message": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "message", rename_all = "kebab-case")]
pub enum Error {
    /// The matter record cannot be used (no client, empty id, ...). Nothing was written.
    InvalidMatter(String),
    /// A setting is missing or wrong; the message names it.
    NotConfigured(String),
    /// No usable iManage credentials; an administrator must connect.
    NotConnected(String),
    /// The matter has no workspace linked yet.
    NotLinked(String),
    /// A pasted workspace link cannot be used; the message says why.
    InvalidUrl(String),
    /// iManage refused the request (4xx other than auth).
    Rejected(String),
    /// iManage could not be reached or kept failing (5xx, timeouts) after retries.
    Unavailable(String),
    /// The integration does not apply (matter type not enabled, `auto_create` off): nothing was
    /// written anywhere.
    Skipped(String),
}

impl Error {
    /// The WIT case name, used in JSON bodies and CLI output.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::InvalidMatter(_) => "invalid-matter",
            Error::NotConfigured(_) => "not-configured",
            Error::NotConnected(_) => "not-connected",
            Error::NotLinked(_) => "not-linked",
            Error::InvalidUrl(_) => "invalid-url",
            Error::Rejected(_) => "rejected",
            Error::Unavailable(_) => "unavailable",
            Error::Skipped(_) => "skipped",
        }
    }

    /// The message for people, without the kind.
    pub fn message(&self) -> &str {
        match self {
            Error::InvalidMatter(m)
            | Error::NotConfigured(m)
            | Error::NotConnected(m)
            | Error::NotLinked(m)
            | Error::InvalidUrl(m)
            | Error::Rejected(m)
            | Error::Unavailable(m)
            | Error::Skipped(m) => m,
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind(), self.message())
    }
}

impl std::error::Error for Error {}

/// A result whose error is the contract's [`Error`] unless said otherwise.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod json_shapes {
    use super::*;
    use serde_json::json;

    fn ws() -> Workspace {
        Workspace {
            id: "ACTIVE!1".into(),
            name: "N".into(),
            url: "u".into(),
            library: "ACTIVE".into(),
        }
    }

    #[test]
    fn legacy_match_names_its_payload() {
        let linked = serde_json::to_value(LegacyMatch::Linked(ws())).unwrap();
        assert_eq!(linked["kind"], "linked");
        assert_eq!(linked["workspace"]["id"], "ACTIVE!1");
        assert_eq!(
            serde_json::to_value(LegacyMatch::None).unwrap(),
            json!({"kind": "none"})
        );
        let several = LegacyMatch::Several(vec![ws(), ws()]);
        let v = serde_json::to_value(&several).unwrap();
        assert_eq!(v["workspaces"].as_array().unwrap().len(), 2);
        assert_eq!(serde_json::from_value::<LegacyMatch>(v).unwrap(), several);
    }

    #[test]
    fn error_is_kind_and_message() {
        let e = Error::InvalidMatter("no client".into());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v, json!({"kind": "invalid-matter", "message": "no client"}));
        assert_eq!(v["kind"], e.kind());
        assert_eq!(serde_json::from_value::<Error>(v).unwrap(), e);
    }
}
