//! The matterlink host: runs `matterlink.wasm` in wasmtime and supplies its imports —
//! allow-listed `wasi:http` (`http`), `wasi:keyvalue` on SQLite (`keyvalue`), and
//! `wasi:config` from TOML and environment (`config`). The `matterlink` CLI is a thin layer
//! over this library; another platform can embed the library without it.

mod bindings;
pub mod calls;
pub mod clock;
pub mod config;
pub mod connect;
pub mod demo;
pub mod dry_run;
pub mod http;
pub mod keyvalue;
pub mod runtime;
pub mod serve;
mod state;
// Operations at firm scale (issue 8).
pub mod backfill;
pub mod batch;
pub mod drift;
pub mod matters_file;

pub use calls::{
    Args, AuditQuery, Event, EventType, Function, Matter, Outcome, TeamMember, TypedError,
};
pub use config::ConfigStore;
pub use runtime::{Runtime, RuntimeOptions, EMBEDDED_COMPONENT};
