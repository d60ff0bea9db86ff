//! An emulator of Actionstep's API, beside the iManage one under [`PREFIX`] (`/actionstep`):
//! what matterlink needs of Actionstep, in the shapes public sources show (docs/imanage-api.md,
//! "Actionstep", says which are confirmed and which assumed).
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /actionstep/api/oauth/authorize` | code flow with PKCE (S256 required); approves at once and redirects |
//! | `POST /actionstep/api/oauth/token` | `authorization_code` / `refresh_token` (client by form or Basic); answers `api_endpoint` (`…/actionstep/api/`) and `orgkey` |
//! | `GET /actionstep/api/rest/actions/{id}?include=actionType,assignedTo` | the action, included records under `linked` |
//! | `GET /actionstep/api/rest/actiontypes/{id}`, `…/participants/{id}`, `…/participanttypes` | records |
//! | `GET /actionstep/api/rest/actionparticipants?action=&participantType=&include=participant` | a matter's participants in a role |
//! | `POST`, `GET /actionstep/api/rest/resthooks`, `DELETE …/resthooks/{id}` | hook subscriptions |
//! | `POST /actionstep/admin/actions`, `PATCH …/actions/{id}` | create or change an action: fires `ActionCreated` / `ActionUpdated` |
//! | `POST`, `DELETE /actionstep/admin/actions/{id}/participants` | fires `ActionParticipantAdded` / `…Deleted` |
//! | `POST /actionstep/admin/participants` | a new person or company |
//! | `GET /actionstep/admin/hooks` | hooks, every delivery, every hook switched off |
//! | `PUT /actionstep/admin/hook-shape`, `PUT /actionstep/admin/down` | the body shape hooks are sent in; an API outage |
//!
//! Hooks are delivered as Actionstep does: any answer but 200 disables the hook, 401 deletes it.
//! Seed: see [`seed`] (client participant type [`seed::CLIENT_TYPE`], lawyers with the iManage
//! sandbox's users' emails).
//!
//! Layers, as in the iManage sandbox: plain pieces (`error`, `model`) → `store` → `seed` →
//! `state` → per request `extract`, and `deliver` → handlers (`oauth`, `api`, `resthooks`,
//! `admin`) → this file's router.

mod admin;
mod api;
mod deliver;
mod error;
mod extract;
pub mod model;
mod oauth;
mod resthooks;
pub mod seed;
mod state;
mod store;

use axum::routing::{get, patch, post};
use axum::Router;

pub use state::{ActionChange, ActionstepState, NewAction, SharedActionstep};
pub use store::HookShape;

/// Where the emulator is mounted in the sandbox.
pub const PREFIX: &str = "/actionstep";
/// The OAuth application's client id.
pub const CLIENT_ID: &str = "matterlink-actionstep-sandbox";
/// Its secret (published: this is an emulator).
pub const CLIENT_SECRET: &str = "actionstep-sandbox-secret";
/// The organisation the token answer names.
pub const ORG_KEY: &str = "sandboxlaw";

/// The emulator's routes, relative to [`PREFIX`].
pub fn router(state: SharedActionstep) -> Router {
    Router::new()
        .route("/api/oauth/authorize", get(oauth::authorize))
        .route("/api/oauth/token", post(oauth::token))
        .route("/api/rest/actions/{id}", get(api::action))
        .route("/api/rest/actiontypes/{id}", get(api::action_type))
        .route("/api/rest/participants/{id}", get(api::participant))
        .route("/api/rest/participanttypes", get(api::participant_types))
        .route(
            "/api/rest/actionparticipants",
            get(api::action_participants),
        )
        .route(
            "/api/rest/resthooks",
            get(resthooks::list).post(resthooks::create),
        )
        .route(
            "/api/rest/resthooks/{id}",
            axum::routing::delete(resthooks::delete),
        )
        .route("/admin/actions", post(admin::create_action))
        .route("/admin/actions/{id}", patch(admin::change_action))
        .route(
            "/admin/actions/{id}/participants",
            post(admin::add_participant).delete(admin::remove_participant),
        )
        .route("/admin/participants", post(admin::create_participant))
        .route("/admin/hooks", get(admin::hooks))
        .route("/admin/hook-shape", axum::routing::put(admin::hook_shape))
        .route("/admin/down", axum::routing::put(admin::down))
        .with_state(state)
}
