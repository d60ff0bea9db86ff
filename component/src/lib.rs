//! matterlink's domain logic: ordinary Rust over the `Platform` capabilities, compiled natively
//! for tests and to `wasm32-wasip2` for the component. The WIT glue lives in `bindings`
//! (wasm only); nothing else knows about WIT.

pub mod audit;
pub mod auth;
pub mod check;
pub mod claim;
pub mod closing;
pub mod connect;
pub mod documents;
pub mod events;
pub mod fields;
pub mod http_parts;
pub mod imanage;
pub mod keys;
pub mod legacy;
pub mod library_routes;
pub mod linking;
pub mod links;
pub mod mapping;
pub mod model;
pub mod naming;
pub mod platform;
pub mod provision;
pub mod random;
pub mod settings;
pub mod updating;
pub mod validate;
pub mod webhooks;
pub mod workspace_url;
// Operations at firm scale (issue 8).
pub mod backfill;
pub mod drift;

pub mod feed;
pub mod import;
pub mod security;
pub mod team;
pub mod transport;

#[cfg(test)]
pub mod testing;

#[cfg(target_arch = "wasm32")]
mod wasi;

pub use backfill::backfill_matter;
pub use check::check_connection;
pub use closing::{on_matter_closed, on_matter_reopened};
pub use documents::{file_document, list_folders};
pub use drift::drift;
pub use legacy::resolve_legacy;
pub use linking::link_workspace;
pub use provision::on_matter_created;
pub use updating::on_matter_updated;

pub use connect::{connect_begin, connect_complete};

use model::{Matter, ProfileField, Result};
use platform::Platform;

/// map-metadata: the profile a matter maps to, without touching iManage.
pub fn map_metadata(p: &dyn Platform, m: &Matter) -> Result<Vec<ProfileField>> {
    validate::matter(m, true)?;
    let s = settings::Settings::load(p)?;
    Ok(mapping::profile(m, &s)?.as_profile_fields())
}

pub use feed::poll_changes;
pub use import::import_workspaces;
pub use team::apply_matter_team;
