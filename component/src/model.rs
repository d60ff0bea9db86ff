//! The domain types of the contract (`wit/matterlink.wit`, interface `types`), as plain Rust.
//!
//! The binding layer converts these to and from the generated WIT types one-to-one; keeping them
//! here lets the domain logic compile and be tested natively.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matter {
    pub id: String,
    pub title: String,
    pub matter_type: String,
    pub clients: Vec<Client>,
    #[serde(default)]
    pub file_reference: Option<String>,
    #[serde(default)]
    pub assigned_to: Option<String>,
    #[serde(default)]
    pub priority: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub acting_user: Option<String>,
}

impl Matter {
    /// The primary client; `validate` guarantees there is one.
    pub fn primary_client(&self) -> Option<&Client> {
        self.clients.first()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: String,
    pub name: String,
    pub url: String,
    pub library: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileField {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    pub id: String,
    pub name: String,
    pub path: String,
}

/// The start of a browser sign-in (`connect-begin`): where to send the administrator, and the
/// `state` the answer must carry back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectRequest {
    pub authorize_url: String,
    pub state: String,
    /// Seconds the sign-in may take.
    pub expires_in: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "workspaces", rename_all = "snake_case")]
pub enum LegacyMatch {
    Linked(Workspace),
    None,
    Several(Vec<Workspace>),
}

/// The typed error of every exported function. The variant is the contract; the message is for
/// people and must never carry a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    InvalidMatter(String),
    NotConfigured(String),
    NotConnected(String),
    NotLinked(String),
    InvalidUrl(String),
    Rejected(String),
    Unavailable(String),
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

pub type Result<T, E = Error> = std::result::Result<T, E>;
