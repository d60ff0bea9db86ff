//! Settings read through `wasi:config`: flat snake_case keys (valid Spin variable names), with
//! structured values as JSON. Every problem is a `not-configured` error naming the key.

use std::collections::BTreeMap;

use crate::fields::{CustomField, FieldKind, MappableField};
use crate::library_routes::{Destination, LibraryRoute};
use crate::model::{Error, Result};
use crate::naming::NameTemplate;
use crate::platform::Platform;

/// Every key the component reads. `spin.toml` must declare exactly these as variables.
pub const CONFIG_KEYS: &[&str] = &[
    "imanage_base_url",
    "imanage_customer_id",
    "imanage_library",
    "imanage_auth",
    "imanage_client_id",
    "imanage_client_secret",
    "imanage_username",
    "imanage_password",
    "auto_create",
    "close_prefix",
    "owner_policy",
    "root_folder",
    "document_folder",
    "templates",
    "field_map",
    "require_template",
    "sync_fields_on_update",
    "close_action",
    "my_matters",
    "my_matters_on_close",
    "workspace_name",
    "matter_types",
    "clients_field",
    "link_hosts",
    "webhook_secret",
    "actionstep_token",
    "actionstep_matter_types",
    "actionstep_inactive",
    "actionstep_client_id",
    "actionstep_client_secret",
    "actionstep_authorize_url",
    "actionstep_token_url",
    "actionstep_api_base",
    "actionstep_client_participant_type",
    "actionstep_names_ttl_seconds",
    "imanage_timeout_seconds",
    "imanage_max_in_flight",
    "event_deadline_seconds",
    "claim_ttl_seconds",
    "library_routes",
    "change_source",
    "push_team",
    "panel_frame_ancestors",
    "admin_group",
];

/// The iManage group whose members may sign in to the console with iManage (`admin_group`), by
/// default iManage's own administrators' group. A deployment fact: read from the deployment's
/// configuration only, so that nobody signed in can widen who may sign in.
pub fn admin_group(p: &dyn Platform) -> Result<String> {
    Ok(get(p, "admin_group")?.unwrap_or_else(|| DEFAULT_ADMIN_GROUP.into()))
}

/// `admin_group` when the deployment does not set it.
pub const DEFAULT_ADMIN_GROUP: &str = "NRTADMIN";

/// iManage requests that may run together (a workspace's security and folders of one level)
/// sent at once, unless `imanage_max_in_flight` says otherwise. iManage's rate limits are not
/// published (docs/imanage-api.md, "Rate limits and errors": a 429 with `Retry-After` is assumed,
/// and honoured): eight at once is a few times what one client sending in turn puts on the
/// server, and little beside the many users a DMS serves, yet it still covers the widest level
/// of a usual template (the workspace's security and name-value pairs with six top-level
/// folders) in one round trip. More go eight at a time; a firm whose iManage answers 429 sets
/// fewer.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 8;

/// The most `imanage_max_in_flight` may ask for: beyond it, one event alone would be what a
/// rate limit is there to stop.
pub const MAX_IN_FLIGHT_LIMIT: usize = 32;

/// The keys whose values the console's set-up page may save (`saved_settings`), which then win
/// over `wasi:config`: how the integration behaves, which a firm's administrator decides.
///
/// Left out on purpose:
/// - deployment facts: `imanage_base_url` (the host allows outgoing requests to its authority
///   only, so it is the deployment's), `imanage_customer_id` (discovered), `imanage_client_id`
///   (the application registered for this deployment), `link_hosts` (names of that same server);
/// - secrets: `imanage_client_secret`, `webhook_secret`, `actionstep_token`,
///   `actionstep_client_secret` — set where the deployment keeps its secrets, never in a form;
/// - time budgets (`imanage_timeout_seconds`, `event_deadline_seconds`, `claim_ttl_seconds`):
///   they must fit the host's own request deadlines, which only the deployment knows;
/// - the Actionstep and change-feed keys (`actionstep_*`, `change_source`, `push_team`): they
///   belong to the matter system's and the feed's deployment, and the page has no section for
///   them.
///
/// The one exception to "no secrets": the service account's credentials (`imanage_auth`,
/// `imanage_username`, `imanage_password`), which the issue asks to be entered in the console
/// write-only: the password is stored, never shown.
pub const CONSOLE_KEYS: &[&str] = &[
    "imanage_library",
    "imanage_auth",
    "imanage_username",
    "imanage_password",
    "auto_create",
    "close_prefix",
    "close_action",
    "owner_policy",
    "workspace_name",
    "matter_types",
    "field_map",
    "clients_field",
    "root_folder",
    "document_folder",
    "templates",
    "library_routes",
    "require_template",
    "sync_fields_on_update",
    "my_matters",
    "my_matters_on_close",
];

/// Keys whose values are secrets: never echoed in messages or logs.
pub const SECRET_KEYS: &[&str] = &[
    "imanage_client_secret",
    "imanage_password",
    "webhook_secret",
    "actionstep_token",
    "actionstep_client_secret",
];

/// How matterlink signs in to iManage (`imanage_auth`).
#[derive(Clone, PartialEq, Eq)]
pub enum Auth {
    /// The password grant with a service account's credentials; its tokens are refreshed like
    /// any others, and the password signs in again when a refresh is refused.
    ServiceAccount {
        /// The service account (`imanage_username`).
        username: String,
        /// Its password (`imanage_password`); never shown.
        password: String,
    },
    /// The authorization-code grant with PKCE: an administrator signs in once in a browser
    /// (`matterlink connect`) and the tokens are refreshed from then on.
    OAuth,
}

impl Auth {
    /// How check-connection and messages name the way in.
    pub fn label(&self) -> &'static str {
        match self {
            Auth::ServiceAccount { .. } => "service account",
            Auth::OAuth => "OAuth",
        }
    }
}

// Hand-written: the password must never reach a log through `{:?}`.
impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::ServiceAccount { username, .. } => f
                .debug_struct("ServiceAccount")
                .field("username", username)
                .finish_non_exhaustive(),
            Auth::OAuth => f.write_str("OAuth"),
        }
    }
}

/// Who owns a new workspace (`owner_policy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerPolicy {
    /// The workspace is owned by the person acting in the matter system (`acting_user`).
    CurrentUser,
    /// The workspace is owned by the connected service account.
    ServiceAccount,
}

/// How closure is marked besides the title prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseAction {
    /// Nothing besides the title prefix.
    None,
    /// A boolean custom field (custom25..custom28) set to true.
    Flag(CustomField),
    /// `default_security` set to `view`.
    View,
    /// The matter's custom2 lookup value disabled.
    DisableLookup,
}

impl CloseAction {
    fn parse(value: &str) -> Result<CloseAction> {
        let bad = || {
            Error::NotConfigured(format!(
                "`close_action` must be none, flag:customN (a boolean field custom25..custom28), view or disable_lookup, not {value:?}"
            ))
        };
        Ok(match value {
            "none" => CloseAction::None,
            "view" => CloseAction::View,
            "disable_lookup" => CloseAction::DisableLookup,
            other => {
                let field = other
                    .strip_prefix("flag:")
                    .and_then(CustomField::parse)
                    .ok_or_else(bad)?;
                if field.kind() != FieldKind::Boolean {
                    return Err(bad());
                }
                CloseAction::Flag(field)
            }
        })
    }
}

/// What closing does to the My Matters entries provisioning made (`my_matters_on_close`). A key
/// of its own rather than a `close_action` value: a firm may want a workspace both made
/// read-only and taken off its lawyers' lists, and `close_action` names one mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MyMattersOnClose {
    /// The workspace stays on the lists (closed matters are still opened from there).
    Keep,
    /// Closing takes it off; reopening puts it back.
    Remove,
}

/// The configuration, read and checked once per call.
#[derive(Clone)]
pub struct Settings {
    /// Scheme + authority (+ optional path prefix) of the iManage server, without trailing `/`.
    pub base_url: String,
    /// The customer id (`imanage_customer_id`); discovered when unset.
    pub customer_id: Option<String>,
    /// The library workspaces are made in (`imanage_library`) unless a route says otherwise.
    pub library: String,
    /// The OAuth client id (`imanage_client_id`).
    pub client_id: String,
    /// The OAuth client secret (`imanage_client_secret`), for clients that have one.
    pub client_secret: Option<String>,
    /// How matterlink signs in (`imanage_auth`).
    pub auth: Auth,
    /// Whether on-matter-created provisions a workspace (`auto_create`).
    pub auto_create: bool,
    /// Put before a closed matter's workspace name (`close_prefix`).
    pub close_prefix: String,
    /// Who owns new workspaces (`owner_policy`).
    pub owner_policy: OwnerPolicy,
    /// The top-level folder every new workspace gets (`root_folder`).
    pub root_folder: String,
    /// The folder beneath `root_folder` that documents are filed into (`document_folder`).
    pub document_folder: String,
    /// Matter type → template workspace id.
    pub templates: BTreeMap<String, String>,
    /// Which custom field each mappable matter field is written to (`field_map`).
    pub field_map: BTreeMap<MappableField, CustomField>,
    /// A matter type without a template is an error instead of a plain workspace.
    pub require_template: bool,
    /// On update, every mapped field is written, not only the name.
    pub sync_fields_on_update: bool,
    /// How closure is marked besides the prefix (`close_action`).
    pub close_action: CloseAction,
    /// New workspaces go on the owner's and the assigned lawyer's My Matters list (`my_matters`).
    pub my_matters: bool,
    /// Whether closing takes them off again (`my_matters_on_close`).
    pub my_matters_on_close: MyMattersOnClose,
    /// How a workspace is named (`workspace_name`).
    pub workspace_name: NameTemplate,
    /// Matter types the integration applies to; `None`: all.
    pub matter_types: Option<Vec<String>>,
    /// A free-text field that keeps every client (id and name) of a matter.
    pub clients_field: Option<CustomField>,
    /// Hosts besides the base URL's that serve the same iManage (vanity names), for pasted links.
    pub link_hosts: Vec<String>,
    /// How long one iManage request may take before it counts as failed (and is retried).
    pub request_timeout_s: u64,
    /// How many iManage requests that may run together are sent at once
    /// (`imanage_max_in_flight`; see `DEFAULT_MAX_IN_FLIGHT`).
    pub max_in_flight: usize,
    /// How long one event (one exported call) may spend retrying before it gives up and is
    /// kept for replay.
    pub event_deadline_s: u64,
    /// After this long a provisioning claim is presumed abandoned by a crashed process.
    pub claim_ttl_s: u64,
    /// Other libraries than `library`, chosen by attributes of the matter.
    pub library_routes: Vec<LibraryRoute>,
}

// Hand-written so that a stray `{:?}` can never print the password or client secret.
impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("base_url", &self.base_url)
            .field("library", &self.library)
            .field("auth", &self.auth)
            .field("templates", &self.templates)
            .finish_non_exhaustive()
    }
}

fn missing(key: &str) -> Error {
    Error::NotConfigured(format!("`{key}` is not set"))
}

fn get(p: &dyn Platform, key: &str) -> Result<Option<String>> {
    Ok(p.config(key)?
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty()))
}

fn require(p: &dyn Platform, key: &str) -> Result<String> {
    get(p, key)?.ok_or_else(|| missing(key))
}

/// The fewest characters a shared secret (`webhook_secret`, `actionstep_token`) may have: it is
/// the only thing between the internet and the routes, so it must be too long to guess.
pub const MIN_SECRET_CHARS: usize = 32;

/// A shared secret (`webhook_secret`, `actionstep_token`): set, and at least
/// [`MIN_SECRET_CHARS`] long; otherwise `not-configured`, naming the key but never the value.
pub fn shared_secret(p: &dyn Platform, key: &str) -> Result<String> {
    let value = get(p, key)?.ok_or_else(|| {
        Error::NotConfigured(format!(
            "`{key}` is not set, so no caller can be authenticated"
        ))
    })?;
    let chars = value.chars().count();
    if chars < MIN_SECRET_CHARS {
        return Err(Error::NotConfigured(format!(
            "`{key}` is {chars} characters long; it must have at least {MIN_SECRET_CHARS} (e.g. `openssl rand -hex 32`)"
        )));
    }
    Ok(value)
}

/// The origins that may frame the matter panel (`panel_frame_ancestors`: space-separated
/// origins such as `https://practice.example.com`), for a host platform that embeds it; none
/// when unset. A deployment fact: read from the deployment's configuration only. Framing does
/// not carry the console's `SameSite=Strict` session across sites: see `console::panel`. Each must be
/// a plain `http(s)` origin (no path, query or wildcard), since it goes into the panel's
/// Content-Security-Policy as it is.
pub fn panel_frame_ancestors(p: &dyn Platform) -> Result<Vec<String>> {
    let Some(value) = get(p, "panel_frame_ancestors")? else {
        return Ok(Vec::new());
    };
    value
        .split_whitespace()
        .map(|origin| {
            let bad = || {
                Error::NotConfigured(format!(
                    "`panel_frame_ancestors` must list origins such as https://practice.example.com, separated by spaces; {origin:?} is not one"
                ))
            };
            let u = url::Url::parse(origin).map_err(|_| bad())?;
            let plain = matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some()
                && u.username().is_empty()
                && u.password().is_none()
                && u.path() == "/"
                && u.query().is_none()
                && u.fragment().is_none()
                && !origin.trim_end_matches('/').ends_with('/');
            let serialized = u.origin().ascii_serialization();
            // A host may hold characters that mean something in a policy (`;`, `'`, `*`):
            // only those of DNS names, IP addresses and ports pass.
            let policy_safe = serialized
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-.:/[]".contains(c));
            if plain && policy_safe {
                Ok(serialized)
            } else {
                Err(bad())
            }
        })
        .collect()
}

/// What an `Inactive` Actionstep action is treated as (`actionstep_inactive`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactive {
    /// Like an active action: it gets a workspace and its changes are followed (the default).
    Active,
    /// Like a closed one: its workspace is closed, and it gets none if it has none yet.
    Closed,
    /// Left alone: no workspace, no change.
    Ignored,
}

/// The settings of the Actionstep hook route, read apart from [`Settings`] so that a hook whose
/// own settings are fine is not refused for an iManage setting (it is kept for replay instead).
#[derive(Debug, Clone)]
pub struct ActionstepHook {
    /// Action type id → matter type (`actionstep_matter_types`): an override of the type's name.
    pub matter_types: BTreeMap<String, String>,
    /// What an `Inactive` action is treated as (`actionstep_inactive`).
    pub inactive: Inactive,
}

impl ActionstepHook {
    /// Reads and checks the hook's settings; a wrong one is `not-configured`, named.
    pub fn load(p: &dyn Platform) -> Result<ActionstepHook> {
        let matter_types = match get(p, "actionstep_matter_types")? {
            Some(json) => serde_json::from_str(&json).map_err(|e| {
                Error::NotConfigured(format!(
                    "`actionstep_matter_types` must be a JSON object of action type id → matter type: {e}"
                ))
            })?,
            None => BTreeMap::new(),
        };
        let inactive = match get(p, "actionstep_inactive")?.as_deref() {
            None | Some("active") => Inactive::Active,
            Some("closed") => Inactive::Closed,
            Some("ignored") => Inactive::Ignored,
            Some(other) => {
                return Err(Error::NotConfigured(format!(
                    "`actionstep_inactive` must be `active`, `closed` or `ignored`, not {other:?}"
                )))
            }
        };
        Ok(ActionstepHook {
            matter_types,
            inactive,
        })
    }
}

/// Actionstep's OAuth endpoints when no test points elsewhere (Actionstep API wiki).
pub const ACTIONSTEP_AUTHORIZE_URL: &str = "https://go.actionstep.com/api/oauth/authorize";
/// See [`ACTIONSTEP_AUTHORIZE_URL`].
pub const ACTIONSTEP_TOKEN_URL: &str = "https://go.actionstep.com/api/oauth/token";

/// How matterlink talks to Actionstep's API, when it does (`actionstep_client_id` set): without
/// it, hooks are mapped from their ids alone.
#[derive(Clone)]
pub struct ActionstepApi {
    /// The OAuth application (`actionstep_client_id`).
    pub client_id: String,
    /// Its secret (`actionstep_client_secret`); never shown.
    pub client_secret: Option<String>,
    /// Where an administrator signs in (`actionstep_authorize_url`).
    pub authorize_url: String,
    /// The token endpoint (`actionstep_token_url`).
    pub token_url: String,
    /// The API base to use instead of the token answer's `api_endpoint` (`actionstep_api_base`),
    /// ending in `/`.
    pub api_base: Option<String>,
    /// The participant type whose participants are a matter's clients
    /// (`actionstep_client_participant_type`); without it, the primary participants.
    pub client_participant_type: Option<String>,
    /// How long a looked-up name is used before it is looked up again
    /// (`actionstep_names_ttl_seconds`, default an hour).
    pub names_ttl_s: u64,
}

// Hand-written so that the secret never prints.
impl std::fmt::Debug for ActionstepApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActionstepApi")
            .field("client_id", &self.client_id)
            .field("token_url", &self.token_url)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

impl ActionstepApi {
    /// The settings, or `None` when `actionstep_client_id` is unset (the API is not used).
    pub fn load(p: &dyn Platform) -> Result<Option<ActionstepApi>> {
        let Some(client_id) = get(p, "actionstep_client_id")? else {
            return Ok(None);
        };
        let url = |key: &str, default: &str| -> Result<String> {
            let v = get(p, key)?.unwrap_or_else(|| default.to_string());
            match url::Url::parse(&v) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(v),
                _ => Err(Error::NotConfigured(format!(
                    "`{key}` must be an http(s) URL"
                ))),
            }
        };
        let api_base = match get(p, "actionstep_api_base")? {
            Some(_) => Some(url("actionstep_api_base", "")?)
                .map(|b| format!("{}/", b.trim_end_matches('/'))),
            None => None,
        };
        let client_participant_type = get(p, "actionstep_client_participant_type")?;
        if let Some(t) = &client_participant_type {
            if !t.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::NotConfigured(format!(
                    "`actionstep_client_participant_type` must be a participant type id, not {t:?}"
                )));
            }
        }
        let names_ttl_s = match get(p, "actionstep_names_ttl_seconds")? {
            Some(v) => v.parse().map_err(|_| {
                Error::NotConfigured(format!(
                    "`actionstep_names_ttl_seconds` must be a number of seconds, not {v:?}"
                ))
            })?,
            None => 3600,
        };
        Ok(Some(ActionstepApi {
            client_id,
            client_secret: get(p, "actionstep_client_secret")?,
            authorize_url: url("actionstep_authorize_url", ACTIONSTEP_AUTHORIZE_URL)?,
            token_url: url("actionstep_token_url", ACTIONSTEP_TOKEN_URL)?,
            api_base,
            client_participant_type,
            names_ttl_s,
        }))
    }

    /// The settings, or `not-configured` saying how to set them.
    pub fn require(p: &dyn Platform) -> Result<ActionstepApi> {
        ActionstepApi::load(p)?.ok_or_else(|| {
            Error::NotConfigured(
                "`actionstep_client_id` is not set: register matterlink as an Actionstep API application and set actionstep_client_id and actionstep_client_secret".into(),
            )
        })
    }
}

fn parse_bool(key: &str, value: &str) -> Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err(Error::NotConfigured(format!(
            "`{key}` must be true or false, not {value:?}"
        ))),
    }
}

impl Settings {
    /// Reads and checks every setting; the first missing or wrong one is `not-configured`, named.
    pub fn load(p: &dyn Platform) -> Result<Settings> {
        let base_url = parse_base_url(&require(p, "imanage_base_url")?)?;
        let library = require(p, "imanage_library")?;
        if !crate::library_routes::valid_library(&library) {
            return Err(Error::NotConfigured(format!(
                "`imanage_library` must be letters, digits and `_`, not {library:?}"
            )));
        }
        let customer_id = get(p, "imanage_customer_id")?;
        if let Some(id) = &customer_id {
            if !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::NotConfigured(format!(
                    "`imanage_customer_id` must be a number, not {id:?}"
                )));
            }
        }
        let auth = match get(p, "imanage_auth")?.as_deref() {
            None | Some("service_account") => Auth::ServiceAccount {
                username: require(p, "imanage_username")?,
                password: require(p, "imanage_password")?,
            },
            // The account is whoever signs in through `matterlink connect`: no credentials here.
            Some("oauth") => Auth::OAuth,
            Some(other) => {
                return Err(Error::NotConfigured(format!(
                    "`imanage_auth` must be `service_account` or `oauth`, not {other:?}"
                )))
            }
        };
        let owner_policy = match get(p, "owner_policy")?.as_deref() {
            None | Some("service_account") => OwnerPolicy::ServiceAccount,
            Some("current_user") => OwnerPolicy::CurrentUser,
            Some(other) => {
                return Err(Error::NotConfigured(format!(
                    "`owner_policy` must be `current_user` or `service_account`, not {other:?}"
                )))
            }
        };
        let auto_create = match get(p, "auto_create")? {
            Some(v) => parse_bool("auto_create", &v)?,
            None => true,
        };
        let templates = match get(p, "templates")? {
            Some(json) => serde_json::from_str::<BTreeMap<String, String>>(&json).map_err(|e| {
                Error::NotConfigured(format!(
                    "`templates` must be a JSON object of matter type → template id: {e}"
                ))
            })?,
            None => BTreeMap::new(),
        };
        let field_map = match get(p, "field_map")? {
            Some(json) => crate::fields::parse_field_map(&json)?,
            None => BTreeMap::new(),
        };
        let flag = |key: &str| -> Result<bool> {
            match get(p, key)? {
                Some(v) => parse_bool(key, &v),
                None => Ok(false),
            }
        };
        let json_list = |key: &str| -> Result<Option<Vec<String>>> {
            get(p, key)?
                .map(|json| {
                    serde_json::from_str::<Vec<String>>(&json).map_err(|e| {
                        Error::NotConfigured(format!("`{key}` must be a JSON list of strings: {e}"))
                    })
                })
                .transpose()
        };
        let clients_field = match get(p, "clients_field")? {
            None => None,
            Some(name) => {
                let field = CustomField::parse(&name).filter(|f| f.kind() == FieldKind::Text);
                if field.is_none() || field_map.values().any(|f| Some(*f) == field) {
                    return Err(Error::NotConfigured(format!(
                        "`clients_field` must be a free-text field (custom13..custom16, custom31) not used by `field_map`, not {name:?}"
                    )));
                }
                field
            }
        };
        let seconds = |key: &str, default: u64| -> Result<u64> {
            match get(p, key)? {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=86_400).contains(n))
                    .ok_or_else(|| {
                        Error::NotConfigured(format!(
                            "`{key}` must be a number of seconds from 1 to 86400, not {v:?}"
                        ))
                    }),
            }
        };
        let event_deadline_s = seconds("event_deadline_seconds", 120)?;
        let claim_ttl_s = seconds("claim_ttl_seconds", 120)?;
        // A claim's holder renews it before each write (or each round of writes sent together,
        // as a workspace's folders of one level are), and one write or round (with its retries)
        // ends within the event's deadline: a shorter TTL would let a redelivery take over a
        // holder that is still inside one slow write, and both would create the same folder.
        if claim_ttl_s < event_deadline_s {
            return Err(Error::NotConfigured(format!(
                "`claim_ttl_seconds` ({claim_ttl_s}) must be at least `event_deadline_seconds` ({event_deadline_s}): a claim must outlive every retry of one write"
            )));
        }
        let max_in_flight = match get(p, "imanage_max_in_flight")? {
            None => DEFAULT_MAX_IN_FLIGHT,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_IN_FLIGHT_LIMIT).contains(n))
                .ok_or_else(|| {
                    Error::NotConfigured(format!(
                        "`imanage_max_in_flight` must be a number from 1 to {MAX_IN_FLIGHT_LIMIT}, not {v:?}"
                    ))
                })?,
        };
        Ok(Settings {
            request_timeout_s: seconds("imanage_timeout_seconds", 30)?,
            max_in_flight,
            event_deadline_s,
            claim_ttl_s,
            require_template: flag("require_template")?,
            sync_fields_on_update: flag("sync_fields_on_update")?,
            close_action: match get(p, "close_action")? {
                Some(v) => CloseAction::parse(&v)?,
                None => CloseAction::None,
            },
            my_matters: flag("my_matters")?,
            my_matters_on_close: match get(p, "my_matters_on_close")?.as_deref() {
                None | Some("keep") => MyMattersOnClose::Keep,
                Some("remove") => MyMattersOnClose::Remove,
                Some(other) => {
                    return Err(Error::NotConfigured(format!(
                        "`my_matters_on_close` must be `keep` or `remove`, not {other:?}"
                    )))
                }
            },
            workspace_name: match get(p, "workspace_name")? {
                Some(t) => NameTemplate::parse(&t)?,
                None => NameTemplate::default(),
            },
            matter_types: json_list("matter_types")?,
            clients_field,
            link_hosts: json_list("link_hosts")?.unwrap_or_default(),
            library_routes: match get(p, "library_routes")? {
                Some(json) => crate::library_routes::parse(&json)?,
                None => Vec::new(),
            },
            base_url,
            customer_id,
            library,
            client_id: require(p, "imanage_client_id")?,
            client_secret: get(p, "imanage_client_secret")?,
            auth,
            auto_create,
            close_prefix: get(p, "close_prefix")?.unwrap_or_else(|| "CLOSED".into()),
            owner_policy,
            root_folder: get(p, "root_folder")?.unwrap_or_else(|| "Documents".into()),
            document_folder: get(p, "document_folder")?
                .unwrap_or_else(|| "Generated Documents".into()),
            templates,
            field_map,
        })
    }
}

impl Settings {
    /// The library (and its templates) a matter's workspace belongs in: the first of
    /// `library_routes` that takes the matter, else `imanage_library` with `templates`.
    pub fn destination(&self, m: &crate::model::Matter) -> Destination<'_> {
        match self.library_routes.iter().find(|r| r.takes(m)) {
            Some(route) => Destination {
                library: &route.library,
                templates: &route.templates,
            },
            None => Destination {
                library: &self.library,
                templates: &self.templates,
            },
        }
    }

    /// Every library the configuration sends matters to, `imanage_library` first.
    pub fn libraries(&self) -> Vec<&str> {
        let mut all = vec![self.library.as_str()];
        for route in &self.library_routes {
            if !all.iter().any(|l| l.eq_ignore_ascii_case(&route.library)) {
                all.push(&route.library);
            }
        }
        all
    }

    /// Whether the integration applies to this matter's type (`matter_types`).
    pub fn check_scope(&self, m: &crate::model::Matter) -> Result<()> {
        match &self.matter_types {
            Some(types) if !types.contains(&m.matter_type) => Err(Error::Skipped(format!(
                "matter type {:?} is not among `matter_types`; matter {} was left alone",
                m.matter_type, m.id
            ))),
            _ => Ok(()),
        }
    }
}

/// Accepts `https://host[:port][/prefix]`; `http` only for loopback hosts (the sandbox).
fn parse_base_url(raw: &str) -> Result<String> {
    let bad = |why: &str| Error::NotConfigured(format!("`imanage_base_url` {why}"));
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    let host = url.host_str().ok_or_else(|| bad("has no host"))?;
    let loopback = host == "localhost" || host == "127.0.0.1" || host == "[::1]";
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => return Err(bad("must use https (http is allowed for loopback only)")),
        other => return Err(bad(&format!("has unsupported scheme {other:?}"))),
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad("must not carry a query, fragment or credentials"));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn base_url_rules() {
        assert_eq!(
            parse_base_url("https://firm.cloudimanage.com/").unwrap(),
            "https://firm.cloudimanage.com"
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:9000").unwrap(),
            "http://127.0.0.1:9000"
        );
        assert!(parse_base_url("http://firm.cloudimanage.com").is_err());
        assert!(parse_base_url("ftp://x").is_err());
        assert!(parse_base_url("not a url").is_err());
        assert!(parse_base_url("https://u:p@host").is_err());
    }

    #[test]
    fn missing_key_is_named() {
        let p = FakePlatform::configured();
        p.unset_config("imanage_library");
        let err = Settings::load(&p).unwrap_err();
        assert_eq!(
            err,
            Error::NotConfigured("`imanage_library` is not set".into())
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let p = FakePlatform::configured();
        let s = Settings::load(&p).unwrap();
        let shown = format!("{s:?}");
        assert!(shown.contains("svc"), "{shown}");
        assert!(!shown.contains("password-value"));
        assert!(!shown.contains("client-secret-value"));
    }

    #[test]
    fn oauth_needs_no_service_account() {
        let p = FakePlatform::configured();
        p.unset_config("imanage_username");
        p.unset_config("imanage_password");
        assert!(Settings::load(&p).is_err());
        p.set_config("imanage_auth", "oauth");
        assert_eq!(Settings::load(&p).unwrap().auth, Auth::OAuth);
    }

    #[test]
    fn routes_pick_the_library_and_its_templates() {
        let p = FakePlatform::configured();
        p.set_config("templates", r#"{"Litigation": "ACTIVE!100"}"#);
        p.set_config(
            "library_routes",
            r#"[{"library": "BRANCH", "when": {"matter_type": "Conveyancing"},
                 "templates": {"Conveyancing": "BRANCH!300"}}]"#,
        );
        let s = Settings::load(&p).unwrap();
        let mut m: crate::model::Matter =
            serde_json::from_str(include_str!("../../tests/fixtures/matter-basic.json")).unwrap();
        assert_eq!(s.destination(&m).library, "ACTIVE");
        assert_eq!(s.destination(&m).templates["Litigation"], "ACTIVE!100");
        m.matter_type = "Conveyancing".into();
        assert_eq!(s.destination(&m).library, "BRANCH");
        assert_eq!(s.destination(&m).templates["Conveyancing"], "BRANCH!300");
        assert_eq!(s.libraries(), vec!["ACTIVE", "BRANCH"]);
    }

    #[test]
    fn shared_secrets_must_be_set_and_long() {
        let p = FakePlatform::configured();
        for key in ["webhook_secret", "actionstep_token"] {
            match shared_secret(&p, key) {
                Err(Error::NotConfigured(msg)) => assert!(msg.contains("not set"), "{msg}"),
                other => panic!("{key}: {other:?}"),
            }
            let short = "s".repeat(MIN_SECRET_CHARS - 1);
            p.set_config(key, &format!("  {short}  "));
            match shared_secret(&p, key) {
                Err(Error::NotConfigured(msg)) => {
                    assert!(msg.contains(key) && msg.contains("31 characters"), "{msg}");
                    assert!(!msg.contains(&short), "the message shows the secret: {msg}");
                }
                other => panic!("{key}: {other:?}"),
            }
            let long = "s".repeat(MIN_SECRET_CHARS);
            p.set_config(key, &long);
            assert_eq!(shared_secret(&p, key).unwrap(), long);
        }
    }

    #[test]
    fn bad_values_are_not_configured() {
        for (key, value) in [
            ("auto_create", "maybe"),
            ("owner_policy", "everyone"),
            ("templates", "[1,2]"),
            ("imanage_library", "ACT IVE"),
            ("imanage_customer_id", "abc"),
            ("imanage_auth", "magic"),
            ("close_action", "flag:custom13"),
            ("close_action", "explode"),
            ("my_matters", "sometimes"),
            ("my_matters_on_close", "view"),
            ("workspace_name", "{nope}"),
            ("matter_types", "Litigation"),
            ("clients_field", "custom2"),
            ("require_template", "sometimes"),
            ("imanage_timeout_seconds", "0"),
            ("imanage_max_in_flight", "0"),
            ("imanage_max_in_flight", "33"),
            ("event_deadline_seconds", "soon"),
            // Longer than the default claim TTL (120 s): a claim could go stale mid-write.
            ("event_deadline_seconds", "121"),
            ("claim_ttl_seconds", "119"),
            ("library_routes", "[{\"library\": \"X\"}]"),
        ] {
            let p = FakePlatform::configured();
            p.set_config(key, value);
            match Settings::load(&p) {
                Err(Error::NotConfigured(msg)) => assert!(msg.contains(key), "{msg}"),
                other => panic!("{key}={value}: {other:?}"),
            }
        }
    }
}

#[cfg(test)]
mod frame_ancestors {
    use super::*;
    use crate::testing::FakePlatform;

    #[test]
    fn origins_are_read_plain_and_anything_else_refused() {
        let p = FakePlatform::configured();
        assert_eq!(panel_frame_ancestors(&p).unwrap(), Vec::<String>::new());
        p.set_config(
            "panel_frame_ancestors",
            " https://practice.example.com  http://127.0.0.1:3000/ ",
        );
        assert_eq!(
            panel_frame_ancestors(&p).unwrap(),
            vec!["https://practice.example.com", "http://127.0.0.1:3000"]
        );
        for bad in [
            "practice.example.com",
            "https://x.example.com/path",
            "https://x.example.com?q=1",
            "javascript:alert(1)",
            "https://a.example.com;script-src",
            "'self'",
            "https://*.example.com",
        ] {
            p.set_config("panel_frame_ancestors", bad);
            let e = panel_frame_ancestors(&p).unwrap_err();
            assert_eq!(e.kind(), "not-configured", "{bad}");
            assert!(e.message().contains("panel_frame_ancestors"), "{bad}");
        }
    }
}

#[cfg(test)]
mod blank_values {
    use super::*;
    use crate::testing::FakePlatform;

    /// Under Spin every declared variable has a value, `""` when its default is empty: for every
    /// key, an empty or whitespace-only value must read, and load, exactly as no value at all.
    #[test]
    fn an_empty_value_is_unset_for_every_key() {
        let outcome = |p: &FakePlatform| match Settings::load(p) {
            Ok(s) => Ok(format!("{s:?}")),
            Err(e) => Err((e.kind().to_string(), e.message().to_string())),
        };
        for key in CONFIG_KEYS {
            for blank in ["", "  ", "\t\n"] {
                let p = FakePlatform::configured();
                p.set_config(key, blank);
                assert_eq!(p.config(key).unwrap(), None, "{key} = {blank:?}");
                let with_blank = outcome(&p);
                p.unset_config(key);
                assert_eq!(with_blank, outcome(&p), "{key} = {blank:?}");
            }
        }
    }
}
