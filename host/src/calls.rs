//! Calling the component's exported functions with JSON in and out: the matter record as
//! `matterlink call --matter FILE` reads it (snake_case keys), results as the CLI prints them.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::bindings::types;
use crate::runtime::Runtime;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub id: String,
    pub name: String,
}

/// The WIT `matter` record in JSON.
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

impl From<Matter> for types::Matter {
    fn from(m: Matter) -> Self {
        types::Matter {
            id: m.id,
            title: m.title,
            matter_type: m.matter_type,
            clients: m
                .clients
                .into_iter()
                .map(|c| types::Client {
                    id: c.id,
                    name: c.name,
                })
                .collect(),
            file_reference: m.file_reference,
            assigned_to: m.assigned_to,
            priority: m.priority,
            status: m.status,
            acting_user: m.acting_user,
        }
    }
}

/// The exported functions `matterlink call` knows, by their WIT names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    OnMatterCreated,
    OnMatterClosed,
    MapMetadata,
    ResolveLegacy,
}

impl Function {
    pub const ALL: [Function; 4] = [
        Function::OnMatterCreated,
        Function::OnMatterClosed,
        Function::MapMetadata,
        Function::ResolveLegacy,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::OnMatterCreated => "on-matter-created",
            Function::OnMatterClosed => "on-matter-closed",
            Function::MapMetadata => "map-metadata",
            Function::ResolveLegacy => "resolve-legacy",
        }
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Function {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Function::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Function::ALL.iter().map(|f| f.name()).collect();
                format!("unknown function {s:?}; one of: {}", names.join(", "))
            })
    }
}

/// A typed error returned by the component (the WIT `error` variant).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TypedError {
    pub kind: String,
    pub message: String,
}

impl TypedError {
    pub fn to_json(&self) -> Value {
        json!({"error": {"kind": self.kind, "message": self.message}})
    }
}

impl fmt::Display for TypedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl From<types::Error> for TypedError {
    fn from(e: types::Error) -> Self {
        let (kind, message) = match e {
            types::Error::InvalidMatter(m) => ("invalid-matter", m),
            types::Error::NotConfigured(m) => ("not-configured", m),
            types::Error::NotConnected(m) => ("not-connected", m),
            types::Error::NotLinked(m) => ("not-linked", m),
            types::Error::InvalidUrl(m) => ("invalid-url", m),
            types::Error::Rejected(m) => ("rejected", m),
            types::Error::Unavailable(m) => ("unavailable", m),
        };
        TypedError {
            kind: kind.into(),
            message,
        }
    }
}

pub fn workspace_json(w: &types::Workspace) -> Value {
    json!({"id": w.id, "name": w.name, "url": w.url, "library": w.library})
}

/// The outcome of a call that ran: the function's value, or its typed error. Failures of the
/// host itself (a trap, a load error) are the outer `Err`.
pub type Outcome = std::result::Result<Value, TypedError>;

impl Runtime {
    pub async fn call(&self, function: Function, matter: Matter) -> Result<Outcome> {
        let (mut store, plugin) = self.instantiate().await?;
        let api = plugin.matterlink_imanage_integration();
        let m: types::Matter = matter.into();
        let outcome = match function {
            Function::OnMatterCreated => api
                .call_on_matter_created(&mut store, &m)
                .await?
                .map(|w| workspace_json(&w)),
            Function::OnMatterClosed => api
                .call_on_matter_closed(&mut store, &m)
                .await?
                .map(|w| workspace_json(&w)),
            Function::MapMetadata => api.call_map_metadata(&mut store, &m).await?.map(|fields| {
                Value::Array(
                    fields
                        .iter()
                        .map(|f| json!({"name": f.name, "value": f.value}))
                        .collect(),
                )
            }),
            Function::ResolveLegacy => {
                api.call_resolve_legacy(&mut store, &m)
                    .await?
                    .map(|r| match r {
                        types::LegacyMatch::Linked(w) => {
                            json!({"kind": "linked", "workspace": workspace_json(&w)})
                        }
                        types::LegacyMatch::None => json!({"kind": "none"}),
                        types::LegacyMatch::Several(ws) => json!({
                            "kind": "several",
                            "workspaces": ws.iter().map(workspace_json).collect::<Vec<_>>(),
                        }),
                    })
            }
        };
        Ok(outcome.map_err(TypedError::from))
    }
}
