//! Many firms in one host. A tenant is one organisation with its own configuration (the same
//! keys as the default tenant's), its own key-value namespace (and so its own tokens, audit
//! trail, failed events and change feed), and its own outbound allow-list. The component never
//! learns about tenants: each instance is simply handed its tenant's capabilities
//! ([`crate::Runtime::for_tenant`]).
//!
//! - `name`: tenant names, validated like matter ids;
//! - `record`: what is kept of a tenant (configuration and secrets, kept apart);
//! - `registry`: the tenants, kept in the shared key-value backend under a host-only label, so
//!   that every process on the same store sees the same tenants;
//! - `live`: the tenants a running `serve` has loaded, refreshed while it runs.

mod live;
mod name;
mod record;
mod registry;

pub use live::{LiveTenants, RELOAD_INTERVAL};
pub use name::{TenantName, TenantNameError};
pub use record::TenantRecord;
pub use registry::{Registry, RegistryError, REGISTRY_STORE};
