//! The iManage sandbox: an in-memory emulator of the iManage Work API v2 (see
//! `docs/imanage-api.md`). Law-firm admins try matterlink against it, and the end-to-end tests
//! use it as their iManage.
//!
//! Seed: customer [`CUSTOMER_ID`], library [`LIBRARY`], the service account [`SERVICE_USER`] /
//! [`SERVICE_PASSWORD`], the OAuth application [`CLIENT_ID`] / [`CLIENT_SECRET`], users `JSMITH`,
//! `LWONG`, `APATEL`, `MCHEN`, groups `LITIGATION`, `PROPERTY`, `NRTADMIN`, and the templates
//! [`LITIGATION_TEMPLATE`] (`ACTIVE!100`, items `ACTIVE!101..109`: an email folder, a folder
//! with a profile inheriting `%workspace_value%`, a folder with its own security, an optional
//! folder marked only in its name-value pairs, a tab with a folder in it and a search folder,
//! and the template's own name-value pairs) and [`PROPERTY_TEMPLATE`] (`ACTIVE!200`, folders
//! `ACTIVE!201..206`). New objects are numbered from `ACTIVE!1000`.
//! A second library, [`BRANCH_LIBRARY`], holds the template [`BRANCH_TEMPLATE`] (`BRANCH!300`);
//! object numbers are one sequence across both libraries, lookup tables are per library.
//!
//! Beyond the plain API: the authorization-code flow with PKCE and token revocation, fault and
//! latency injection ([`Faults`]), the change-event queue and the Sync API. Each endpoint's
//! public source, or "assumed", is in docs/imanage-api.md and in its module's docs: tabs, search
//! folders and name-value pairs in `contents.rs`, My Matters (assumed) in `my_matters.rs`. The sandbox's own
//! endpoints need no token and are never subject to faults:
//!
//! | endpoint | body / answer |
//! |---|---|
//! | `GET`, `PUT /sandbox/admin/faults` | [`Faults`] as JSON (PUT: fields left out are off) |
//! | `GET /sandbox/admin/stats` | [`Stats`] |
//! | `POST /sandbox/admin/reset-counters` | answers the zeroed [`Stats`] |
//! | `POST /sandbox/admin/revoke-tokens` | 204; every token ends |
//! | `POST /sandbox/admin/advance-clock` | `{"seconds": n}` → `{"now": "…"}` |
//! | `PUT /sandbox/admin/auto-approve` | `{"user": "JSMITH"}` or `{"user": null}` |
//! | `POST /sandbox/admin/workspace-security` | `{"workspace": "ACTIVE!1000", "trustee": "LWONG", "type": "user", "access_level": "no_access"}` (`null` removes) → `{"workspace", "members"}`; recorded as a change event |
//!
//! The API endpoints and where their shape comes from (see docs/imanage-api.md for the sources
//! by name; "assumed" means no public source):
//!
//! | endpoint | source |
//! |---|---|
//! | `POST /auth/oauth2/token`, `GET /auth/oauth2/authorize`, `GET /auth/logout` | public clients |
//! | `POST /auth/oauth2/revoke` | assumed (RFC 7009) |
//! | `GET /api` | public clients |
//! | `GET /customers/{cid}/libraries` | assumed |
//! | `GET`, `POST /customs/{field}`; `GET`, `PATCH /customs/{field}/{id}` | public clients (409 on a duplicate: assumed); the list paged like workspaces |
//! | `GET`, `POST /workspaces`; `GET`, `PATCH`, `DELETE /workspaces/{id}`; `…/children` | public clients; paging by `limit`/`offset`/`total`, capped by `page_size` |
//! | `POST /workspaces/search` | public clients (top-level criteria: assumed) |
//! | `GET`, `POST /workspaces/{id}/security`, `…/folders/{id}/security` | public clients; member shape per library (`member_shapes`); members paged like workspaces: assumed |
//! | `GET /templates` | public clients; paged like workspaces; `GET /templates/{id}`: assumed |
//! | `GET /folders?container_id=` | public clients; paged like workspaces |
//! | `POST /workspaces/{id}/folders`, `POST /folders/{id}/subfolders`, `GET`, `PATCH`, `DELETE /folders/{id}`, `…/children` | public clients (a folder `profile` with `%workspace_value%` is refused: assumed) |
//! | `GET /workspaces/{id}/name-value-pairs` | public clients; `PATCH` body: assumed |
//! | `GET /folders/{id}/name-value-pairs` | Mukhami/clio-imanage-v2 (`IMCC_IsOptional`, `iMan___8`/`iMan___9`) |
//! | `POST /workspaces/{id}/tabs`, `POST /workspaces/{id}/search-folders` | one public C# client; their `GET` listings: assumed, paged like workspaces |
//! | `GET`, `POST /users/{user}/my-matters`, `DELETE /users/{user}/my-matters/{id}` | assumed |
//! | `POST /folders/{id}/documents` | public clients; `inherit_profile_from_folder` and `warnings[]`: Power Automate swagger |
//! | `GET /folders/{id}/documents` | assumed; paged like workspaces |
//! | `GET /documents/{id}`, `…/download` | public clients |
//! | `GET /users`, `GET /groups` | public clients; `GET /groups/{id}/members`: assumed; all paged like workspaces |
//! | `GET /change-events`, shape `event_queue_shape` = `assumed` | assumed: this product's guess (see docs/imanage-api.md, "Change feed") |
//! | `GET /change-events`, shape `action_type`; `GET /change-events/queues` | one open-source connector's design notes (`action_type`, `item_type`, `root_id`, `overflow`, the last event id as cursor); the `cursor` parameter name and the queue objects: assumed |
//! | `GET /change-events`, shape `unknown` | assumed: a 200 in neither shape, for clients to refuse |
//! | `POST /sync/…` | Definely's Sync API client (paths, paging); item fields assumed |
//!
//! Typed custom fields refuse a wrongly typed value with the error envelope: custom17–20 take
//! JSON integers only, custom25–28 booleans only (Power Automate swagger), custom21–24 ISO-8601
//! dates. `SandboxConfig` also sets `refuse_chunked` (411 for chunked bodies), `page_size` (the
//! most items any page of any list holds, the change-event queue and the Sync API included) and
//! `event_queue_shape` ([`QueueShape`]).
//!
//! [`SandboxState::seed_legacy_workspaces`] adds workspaces made before matterlink
//! ([`LEGACY_WORKSPACES`], `ACTIVE!501..504`); `matterlink sandbox` starts with them.

// Layers, each using only those below it (no module refers back up; `objects`, `seed` and the
// handlers never call each other sideways either):
// - plain pieces: error, clock, faults, pkce, cursor, fields, tokens, model, events,
//   custom_index, lookup_table, config;
// - the model behind the lock: store; over it, shared lookups and API forms (objects) and the
//   default data (seed); then the shared state (state);
// - per request: extract (authentication, path, body) and inject (the fault middleware);
// - route handlers: auth, admin, discovery, customs, workspaces, folders, contents (tabs,
//   search folders, name-value pairs), templates, security, documents, users, my_matters,
//   change_events, sync;
// - this file, which wires the router and runs the server.
/// The Actionstep emulator, mounted at `/actionstep`.
pub mod actionstep;
mod admin;
mod auth;
mod change_events;
mod clock;
mod config;
mod contents;
mod cursor;
mod custom_index;
mod customs;
mod discovery;
mod documents;
mod error;
mod events;
mod extract;
mod faults;
mod fields;
mod folders;
mod inject;
mod lookup_table;
mod model;
mod my_matters;
mod objects;
mod pkce;
mod security;
mod seed;
mod state;
mod store;
mod sync;
mod templates;
mod tokens;
mod users;
mod workspaces;

use std::any::Any;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;

pub use clock::Clock;
pub use config::{
    MemberShape, QueueShape, SandboxConfig, BRANCH_LIBRARY, CLIENT_ID, CLIENT_SECRET, CUSTOMER_ID,
    LIBRARY, SERVICE_PASSWORD, SERVICE_USER,
};
pub use error::{ApiError, ErrorMessage, OAuthError, DMS_VERSION};
pub use events::{ChangeEvent, ChangeEventType, DEFAULT_EVENT_RETENTION};
pub use faults::{FaultCounts, Faults, RateLimitBurst};
pub use model::{
    AccessLevel, CustomValue, DefaultSecurity, Document, Folder, FolderKind, Group, MemberType,
    SecurityMember, User, ViewType, Workspace,
};
pub use seed::{
    BRANCH_TEMPLATE, FIRST_NEW_NUMBER, LEGACY_WORKSPACES, LITIGATION_TEMPLATE, PROPERTY_TEMPLATE,
};
pub use state::{Content, SandboxState, SharedState, Stats};

/// How long [`Sandbox::shutdown`] lets open connections finish before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A running sandbox. Dropping it stops the server too, without waiting.
pub struct Sandbox {
    state: SharedState,
    actionstep: actionstep::SharedActionstep,
    base_url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl Sandbox {
    /// Bind `addr` (use 127.0.0.1:0 for an ephemeral port) and serve in a tokio task.
    pub async fn start(addr: SocketAddr, config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        // A wildcard address is not one a client can connect to; loopback is.
        let host = match local.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
            ip => ip,
        };
        let base_url = format!("http://{}", SocketAddr::new(host, local.port()));
        let state = SandboxState::shared(config);
        state.set_base_url(base_url.clone());
        let actionstep = actionstep::ActionstepState::shared();
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router_with_actionstep(state.clone(), actionstep.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    // A dropped sender (the Sandbox dropped) stops the server as well.
                    let _ = stopped.await;
                })
                .await
        });
        Ok(Sandbox {
            state,
            actionstep,
            base_url,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn state(&self) -> SharedState {
        self.state.clone()
    }

    /// The Actionstep emulator's state.
    pub fn actionstep(&self) -> actionstep::SharedActionstep {
        self.actionstep.clone()
    }

    /// `http://127.0.0.1:PORT/actionstep`: the Actionstep emulator's base, no trailing slash.
    pub fn actionstep_url(&self) -> String {
        format!("{}{}", self.base_url, actionstep::PREFIX)
    }

    /// Stop accepting, let requests in flight finish (for a few seconds at most), and return.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The iManage sandbox's routes and, under [`actionstep::PREFIX`], the Actionstep emulator's.
/// The Actionstep routes are outside the iManage fault layer: an iManage outage leaves
/// Actionstep up (it has its own switch, `PUT /actionstep/admin/down`).
pub fn router_with_actionstep(
    state: SharedState,
    actionstep: actionstep::SharedActionstep,
) -> Router {
    Router::new()
        .nest(actionstep::PREFIX, actionstep::router(actionstep))
        .merge(router(state))
}

/// The sandbox's routes over `state`, for embedding in another server.
pub fn router(state: SharedState) -> Router {
    const LIB: &str = "/work/api/v2/customers/{cid}/libraries/{lib}";
    let at = |path: &str| format!("{LIB}{path}");
    Router::new()
        .route("/auth/oauth2/token", post(auth::token))
        .route(
            "/auth/oauth2/authorize",
            get(auth::authorize_form).post(auth::authorize_submit),
        )
        .route("/auth/oauth2/revoke", post(auth::revoke))
        .route("/auth/logout", get(auth::logout))
        .route("/api", get(discovery::api))
        .route(
            "/work/api/v2/customers/{cid}/libraries",
            get(discovery::libraries),
        )
        .route(
            &at("/customs/{field}"),
            get(customs::list).post(customs::create),
        )
        .route(
            &at("/customs/{field}/{id}"),
            get(customs::get).patch(customs::update),
        )
        .route(
            &at("/workspaces"),
            get(workspaces::list).post(workspaces::create),
        )
        .route(&at("/workspaces/search"), post(workspaces::search_post))
        .route(
            &at("/workspaces/{id}"),
            get(workspaces::get)
                .patch(workspaces::update)
                .delete(workspaces::delete),
        )
        .route(&at("/workspaces/{id}/children"), get(workspaces::children))
        .route(
            &at("/workspaces/{id}/folders"),
            get(workspaces::children).post(folders::create_root),
        )
        .route(
            &at("/workspaces/{id}/security"),
            get(security::get_workspace).post(security::post_workspace),
        )
        .route(
            &at("/workspaces/{id}/tabs"),
            get(contents::list_tabs).post(contents::create_tab),
        )
        .route(
            &at("/workspaces/{id}/search-folders"),
            get(contents::list_search_folders).post(contents::create_search_folder),
        )
        .route(
            &at("/workspaces/{id}/name-value-pairs"),
            get(contents::workspace_pairs).patch(contents::patch_workspace_pairs),
        )
        .route(
            &at("/folders/{id}/name-value-pairs"),
            get(contents::folder_pairs),
        )
        .route(
            &at("/users/{user}/my-matters"),
            get(my_matters::list).post(my_matters::add),
        )
        .route(
            &at("/users/{user}/my-matters/{id}"),
            axum::routing::delete(my_matters::remove),
        )
        .route(&at("/templates"), get(templates::list))
        .route(&at("/templates/{id}"), get(templates::get))
        .route(&at("/folders"), get(folders::list))
        .route(
            &at("/folders/{id}"),
            get(folders::get)
                .patch(folders::update)
                .delete(folders::delete),
        )
        .route(&at("/folders/{id}/children"), get(folders::children))
        .route(
            &at("/folders/{id}/subfolders"),
            get(folders::children).post(folders::create_sub),
        )
        .route(
            &at("/folders/{id}/documents"),
            post(documents::upload)
                .layer(DefaultBodyLimit::max(documents::MAX_UPLOAD_BYTES))
                .get(documents::list_in_folder),
        )
        .route(
            &at("/folders/{id}/security"),
            get(security::get_folder).post(security::post_folder),
        )
        .route(&at("/documents/{id}"), get(documents::get))
        .route(&at("/documents/{id}/download"), get(documents::download))
        .route(&at("/users"), get(users::list_users))
        .route(&at("/groups"), get(users::list_groups))
        .route(&at("/groups/{id}/members"), get(users::group_members))
        .route(&at("/change-events"), get(change_events::list))
        .route(&at("/change-events/queues"), get(change_events::queues))
        .route(&at("/sync/workspaces/crawl"), post(sync::crawl_workspaces))
        .route(
            &at("/sync/containers/security/allowed-trustees/search"),
            post(sync::allowed_trustees),
        )
        .route(
            &at("/sync/containers/security/denied-trustees/search"),
            post(sync::denied_trustees),
        )
        .route(
            &at("/sync/groups/members/search"),
            post(sync::group_members),
        )
        .route(
            "/sandbox/admin/faults",
            get(admin::get_faults).put(admin::put_faults),
        )
        .route("/sandbox/admin/stats", get(admin::stats))
        .route("/sandbox/admin/reset-counters", post(admin::reset_counters))
        .route("/sandbox/admin/revoke-tokens", post(admin::revoke_tokens))
        .route("/sandbox/admin/advance-clock", post(admin::advance_clock))
        .route("/sandbox/admin/auto-approve", put(admin::put_auto_approve))
        .route(
            "/sandbox/admin/workspace-security",
            post(admin::workspace_security),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(CatchPanicLayer::custom(panic_to_envelope))
        // Inside the counter, so that refused requests are counted as requests too.
        .layer(middleware::from_fn_with_state(
            state.clone(),
            inject::inject,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            refuse_chunked,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .with_state(state)
}

async fn count_request(State(state): State<SharedState>, request: Request, next: Next) -> Response {
    if !inject::is_admin(request.uri().path()) {
        state.count_request(request.method().as_str());
    }
    next.run(request).await
}

/// `SandboxConfig::refuse_chunked`: a body framed `Transfer-Encoding: chunked` gets 411 Length
/// Required before any handler runs, as a gateway in front of iManage answers it.
async fn refuse_chunked(
    State(state): State<SharedState>,
    request: Request,
    next: Next,
) -> Response {
    let chunked = request
        .headers()
        .get_all(axum::http::header::TRANSFER_ENCODING)
        .iter()
        .any(|v| {
            v.to_str()
                .is_ok_and(|v| v.to_ascii_lowercase().contains("chunked"))
        });
    if chunked && state.config().refuse_chunked && !inject::is_admin(request.uri().path()) {
        state.count_chunked_refusal();
        return ApiError::new(StatusCode::LENGTH_REQUIRED, "Length Required")
            .with_message(
                "LengthRequired",
                "a request body must carry Content-Length",
                None,
            )
            .into_response();
    }
    next.run(request).await
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").with_message(
        "MethodNotAllowed",
        "this endpoint does not support the method",
        None,
    )
}

/// A handler bug must still answer in the envelope, and must not take the connection down.
fn panic_to_envelope(_panic: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::internal("the sandbox failed while handling the request").into_response()
}
