//! The matterlink host: runs `matterlink.wasm` in wasmtime and supplies its imports. The
//! `matterlink` CLI (src/main.rs and src/cli/) is a thin layer over this library; a platform
//! written in Rust embeds the library without it (see `examples/embed.rs`).
//!
//! Read it top down: the embedding API, then what the component is given (its capabilities),
//! then the operations built on calls, then the servers.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use matterlink_host::{ConfigStore, Runtime, RuntimeOptions, EMBEDDED_COMPONENT};
//!
//! let mut config = ConfigStore::default();
//! config.set("imanage_base_url", "https://imanage.example.com");
//! config.set("imanage_library", "ACTIVE");
//! let runtime = Runtime::new(RuntimeOptions {
//!     component: EMBEDDED_COMPONENT,
//!     data_dir: std::path::Path::new("/var/lib/matterlink"),
//!     config,
//!     allowed_base_url: None,
//! })?;
//! let report = runtime.check_connection().await?;
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

// The embedding API: load once, call typed functions.
pub mod api;
mod bindings;
mod convert;
pub mod functions;
pub mod runtime;

/// The component's domain types, which every typed call takes and returns.
pub mod domain {
    pub use matterlink_component::audit::{Query as AuditQuery, Record as AuditRecord};
    pub use matterlink_component::backfill::Outcome as BackfillOutcome;
    pub use matterlink_component::drift::{Difference, Report as DriftReport};
    pub use matterlink_component::events::{
        DeadLetter, Event, EventType, Outcome as EventOutcome, ReplayReport,
    };
    pub use matterlink_component::feed::{Batch, Change, ChangeKind, Source};
    pub use matterlink_component::import::{ImportPage, WorkspaceImport};
    pub use matterlink_component::model::{
        Client, ConnectRequest, Error, Folder, LegacyMatch, Matter, ProfileField, Workspace,
    };
    pub use matterlink_component::security::{AccessLevel, Member, TrusteeType};
    pub use matterlink_component::team::TeamOutcome;
}

// Capabilities: what each instance is given.
pub mod clock;
pub mod config;
pub mod dry_run;
pub mod http;
pub mod http_pool;
pub mod keyvalue;
pub mod logging;
pub mod metrics;
mod private_fs;
mod state;

// Operations at firm scale, built on calls.
pub mod backfill;
pub mod batch;
pub mod drift;
pub mod matters_file;

// Servers and front doors.
pub mod connect;
#[cfg(feature = "sandbox")]
pub mod demo;
pub mod serve;
pub mod tenants;

pub use api::{Answer, Instance};
pub use config::ConfigStore;
pub use domain::{Error, Event, EventType, Matter};
pub use functions::{Args, Function, Outcome};
pub use runtime::{Runtime, RuntimeOptions, EMBEDDED_COMPONENT};
