//! The sandbox's state: one lock around the in-memory model ([`Inner`]), plus the clock, the
//! counters and the fault injector, and every method tests and the admin endpoints use instead of
//! HTTP. All of `SandboxState`'s methods live here, so that a handler depends on the state and
//! not on another handler's module for them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::config::SandboxConfig;
use crate::error::{ApiError, ApiResult};
use crate::events::{ChangeEvent, EventQueue};
use crate::faults::{FaultCounts, Faults, Injector};
use crate::model::{CustomValue, Document, Folder, Group, User, Workspace};
use crate::seed;
use crate::store::Inner;
use crate::store::{custom_table, same_library};

pub type SharedState = Arc<SandboxState>;

/// What the sandbox has seen: `GET /sandbox/admin/stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Requests outside `/sandbox/admin`, as [`SandboxState::request_count`].
    pub requests: u64,
    pub faults: FaultCounts,
    /// Successful token grants by grant type.
    pub token_grants: BTreeMap<String, u64>,
    /// Change events recorded since start, and how many the queue still holds.
    pub events_recorded: u64,
    pub events_retained: u64,
}

/// Everything a client of the API can change: workspaces and templates, folders, documents and
/// lookup values, to compare before and after (`SandboxState::content`).
#[derive(Debug, Clone, PartialEq)]
pub struct Content {
    pub workspaces: Vec<Workspace>,
    pub folders: Vec<Folder>,
    pub documents: Vec<Document>,
    /// Lookup tables by library and field (`ACTIVE/custom1`).
    pub customs: BTreeMap<String, Vec<CustomValue>>,
}

/// The sandbox's shared state. Held as [`SharedState`]; its methods are what tests inspect.
#[derive(Debug)]
pub struct SandboxState {
    config: SandboxConfig,
    clock: Clock,
    requests: AtomicU64,
    /// The same requests by method, so that a test can tell look-ups (GET) from changes.
    methods: Mutex<BTreeMap<String, u64>>,
    /// Requests refused 411 for a chunked body (`SandboxConfig::refuse_chunked`).
    chunked_refused: AtomicU64,
    base_url: OnceLock<String>,
    inner: Mutex<Inner>,
    injector: Injector,
    /// Successful token grants by grant type.
    grants: Mutex<BTreeMap<String, u64>>,
}

impl SandboxState {
    /// A state with the default seed (see the crate docs).
    pub fn new(config: SandboxConfig) -> SandboxState {
        let mut inner = seed::seed();
        inner.events = EventQueue::new(config.event_retention);
        inner.auto_approve = config.auto_approve.clone();
        SandboxState {
            injector: Injector::new(config.faults.clone()),
            grants: Mutex::new(BTreeMap::new()),
            config,
            clock: Clock::default(),
            requests: AtomicU64::new(0),
            methods: Mutex::new(BTreeMap::new()),
            chunked_refused: AtomicU64::new(0),
            base_url: OnceLock::new(),
            inner: Mutex::new(inner),
        }
    }

    /// [`SandboxState::new`], shared, as the crate's `router` wants it.
    pub fn shared(config: SandboxConfig) -> SharedState {
        Arc::new(SandboxState::new(config))
    }

    /// For handlers: a poisoned lock (a panic mid-update) becomes a 500 envelope, since the model
    /// may be half-changed.
    pub(crate) fn lock(&self) -> ApiResult<MutexGuard<'_, Inner>> {
        self.inner.lock().map_err(|_| {
            ApiError::internal("the sandbox state is inconsistent after an earlier failure")
        })
    }

    /// For inspection: tests still want to look after a failure.
    pub(crate) fn read(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.config
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Move the sandbox's clock forward (token expiry, dates of new objects).
    pub fn advance_clock(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// The URL the sandbox was started on, when started through the crate's `Sandbox`.
    pub fn base_url(&self) -> Option<String> {
        self.base_url.get().cloned()
    }

    pub(crate) fn set_base_url(&self, url: String) {
        // Set once at start; a second start on the same state keeps the first URL.
        let _ = self.base_url.set(url);
    }

    pub(crate) fn injector(&self) -> &Injector {
        &self.injector
    }

    pub(crate) fn count_request(&self, method: &str) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        *self
            .methods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(method.to_string())
            .or_insert(0) += 1;
    }

    /// Requests served since start (or the last reset), every route and failure included except
    /// the sandbox's own `/sandbox/admin/*`, so that a test looking at stats does not change them.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    /// [`Self::request_count`] by method (`GET`, `POST`, …).
    pub fn request_methods(&self) -> BTreeMap<String, u64> {
        self.methods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Sets [`Self::request_count`] and [`Self::request_methods`] back to nothing.
    pub fn reset_request_count(&self) {
        self.requests.store(0, Ordering::Relaxed);
        self.methods
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }

    /// Every object a client can change, as it is now.
    pub fn content(&self) -> Content {
        let inner = self.read();
        Content {
            workspaces: inner.workspaces.values().cloned().collect(),
            folders: inner.folders.values().cloned().collect(),
            documents: inner.documents.values().cloned().collect(),
            customs: inner
                .customs
                .iter()
                .map(|(table, values)| (table.clone(), values.values().to_vec()))
                .collect(),
        }
    }

    pub fn customer_id(&self) -> u64 {
        self.read().customer_id
    }

    pub fn library(&self) -> String {
        self.read().library.clone()
    }

    /// Non-template workspaces in creation order.
    pub fn workspaces(&self) -> Vec<Workspace> {
        self.read()
            .workspaces
            .values()
            .filter(|w| !w.is_template)
            .cloned()
            .collect()
    }

    pub fn templates(&self) -> Vec<Workspace> {
        self.read()
            .workspaces
            .values()
            .filter(|w| w.is_template)
            .cloned()
            .collect()
    }

    /// A workspace or template by id (`ACTIVE!1000`).
    pub fn workspace(&self, id: &str) -> Option<Workspace> {
        let inner = self.read();
        inner
            .workspace_number(id)
            .and_then(|n| inner.workspaces.get(&n))
            .cloned()
    }

    /// Every folder of a workspace, any depth, with `parent_id`.
    pub fn folders_of(&self, workspace_id: &str) -> Vec<Folder> {
        let inner = self.read();
        // Compare by number so that "active!1000" finds ACTIVE!1000's folders too.
        let Some(canonical) = inner
            .workspace_number(workspace_id)
            .and_then(|n| inner.workspaces.get(&n))
            .map(|w| w.id.clone())
        else {
            return Vec::new();
        };
        inner.folders_of(&canonical).cloned().collect()
    }

    pub fn folder(&self, id: &str) -> Option<Folder> {
        let inner = self.read();
        inner
            .folder_number(id)
            .and_then(|n| inner.folders.get(&n))
            .cloned()
    }

    /// The values of one lookup table (`custom1`, ...) of the preferred library.
    pub fn custom_values(&self, field: &str) -> Vec<CustomValue> {
        let library = self.library();
        self.custom_values_in(&library, field)
    }

    /// The values of one lookup table of `library`.
    pub fn custom_values_in(&self, library: &str, field: &str) -> Vec<CustomValue> {
        self.read()
            .customs
            .get(&custom_table(library, field))
            .map(|table| table.values().to_vec())
            .unwrap_or_default()
    }

    /// The workspace ids on a user's My Matters list, in the order added.
    pub fn my_matters(&self, user: &str) -> Vec<String> {
        let inner = self.read();
        inner
            .user(user)
            .and_then(|u| inner.my_matters.get(&u.id))
            .cloned()
            .unwrap_or_default()
    }

    /// Every library of the customer, the preferred one first.
    pub fn libraries(&self) -> Vec<String> {
        self.read().libraries.clone()
    }

    pub fn documents_in(&self, folder_id: &str) -> Vec<Document> {
        let inner = self.read();
        let Some(canonical) = inner
            .folder_number(folder_id)
            .and_then(|n| inner.folders.get(&n))
            .map(|f| f.id.clone())
        else {
            return Vec::new();
        };
        inner
            .documents
            .values()
            .filter(|d| d.folder_id == canonical)
            .cloned()
            .collect()
    }

    pub fn document(&self, id: &str) -> Option<Document> {
        let inner = self.read();
        let (n, _) = inner.parse_id(id)?;
        inner
            .documents
            .get(&n)
            .filter(|d| same_library(&d.id, id))
            .cloned()
    }

    pub fn users(&self) -> Vec<User> {
        self.read().users.clone()
    }

    pub fn groups(&self) -> Vec<Group> {
        self.read().groups.clone()
    }

    /// Access tokens currently known (expired ones included until swept).
    pub fn active_token_count(&self) -> usize {
        self.read().access_tokens.len()
    }

    /// The events the queue still holds, oldest first.
    pub fn events(&self) -> Vec<ChangeEvent> {
        self.read().events.retained().cloned().collect()
    }

    pub(crate) fn count_grant(&self, grant_type: &str) {
        let mut grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        *grants.entry(grant_type.to_owned()).or_default() += 1;
    }

    /// Successful token grants of `grant_type` (`password`, `refresh_token`,
    /// `authorization_code`) since start or the last [`SandboxState::reset_counters`].
    pub fn token_grants(&self, grant_type: &str) -> u64 {
        let grants = self.grants.lock().unwrap_or_else(|p| p.into_inner());
        grants.get(grant_type).copied().unwrap_or(0)
    }

    /// Make `GET /auth/oauth2/authorize` approve at once as `user` (skipping the sign-in form),
    /// or show the form again with `None`.
    pub fn set_auto_approve(&self, user: Option<&str>) {
        self.read().auto_approve = user.map(str::to_owned);
    }

    pub fn auto_approve(&self) -> Option<String> {
        self.read().auto_approve.clone()
    }

    /// Adds the workspaces made before matterlink ([`crate::LEGACY_WORKSPACES`]) and the lookup
    /// values they name. Call it on a fresh sandbox: the seeded ids are fixed.
    pub fn seed_legacy_workspaces(&self) {
        seed::legacy_workspaces(&mut self.read());
    }

    /// End every access and refresh token: every client must sign in again.
    pub fn revoke_all_tokens(&self) {
        let mut inner = self.read();
        inner.access_tokens.clear();
        inner.refresh_tokens.clear();
    }

    pub fn faults(&self) -> Faults {
        self.injector().settings()
    }

    /// Replace the fault settings. A `seed` restarts the random sequence; the 429 burst cycle
    /// starts again from its first request.
    pub fn set_faults(&self, faults: Faults) {
        self.injector().set(faults);
    }

    /// The change-event queue answers 403 while on (also `event_queue_forbidden` in [`Faults`]).
    pub(crate) fn count_chunked_refusal(&self) {
        self.chunked_refused.fetch_add(1, Ordering::Relaxed);
    }

    /// How many requests were refused 411 for a chunked body.
    pub fn chunked_refusals(&self) -> u64 {
        self.chunked_refused.load(Ordering::Relaxed)
    }

    pub fn set_event_queue_forbidden(&self, forbidden: bool) {
        self.injector().set_event_queue_forbidden(forbidden);
    }

    pub fn stats(&self) -> Stats {
        // One lock at a time: the grant counter is never held together with the model.
        let (events_recorded, events_retained) = {
            let inner = self.read();
            (inner.events.total(), inner.events.retained().count() as u64)
        };
        Stats {
            requests: self.request_count(),
            faults: self.injector().counts(),
            token_grants: self
                .grants
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone(),
            events_recorded,
            events_retained,
        }
    }

    /// Zero the request, fault and grant counters (the event queue is data, and stays).
    pub fn reset_counters(&self) {
        self.reset_request_count();
        self.injector().reset_counts();
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_for_this_library() {
        let state = SandboxState::new(SandboxConfig::default());
        let inner = state.read();
        assert_eq!(inner.parse_id("ACTIVE!1000"), Some((1000, None)));
        assert_eq!(inner.parse_id("active!12.3"), Some((12, Some(3))));
        assert_eq!(inner.parse_id("BRANCH!300"), Some((300, None)));
        // A number of one library does not find another library's object.
        assert_eq!(inner.workspace_number("BRANCH!100"), None);
        assert_eq!(inner.workspace_number("branch!300"), Some(300));
        for bad in [
            "OTHER!1",
            "ACTIVE!",
            "ACTIVE!x",
            "ACTIVE!1.",
            "ACTIVE!1.2.3",
            "1000",
            "ACTIVE!99999999999999999999999",
        ] {
            assert_eq!(inner.parse_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn seed_is_inspectable() {
        let state = SandboxState::new(SandboxConfig::default());
        assert!(state.workspaces().is_empty());
        assert_eq!(state.templates().len(), 3);
        assert_eq!(state.libraries(), vec!["ACTIVE", "BRANCH"]);
        assert_eq!(state.folders_of("BRANCH!300").len(), 4);
        let litigation = state.folders_of("ACTIVE!100");
        assert_eq!(litigation.len(), 9);
        // Optional only in its name-value pairs, as iManage marks it.
        let billing = litigation.iter().find(|f| f.name == "Billing").unwrap();
        assert_eq!(billing.name_value_pairs["IMCC_IsOptional"], "true");
        let kinds: Vec<_> = litigation.iter().map(|f| f.kind).collect();
        assert!(kinds.contains(&crate::model::FolderKind::Tab));
        assert!(kinds.contains(&crate::model::FolderKind::SearchFolder));
        assert!(state.custom_values("custom1").is_empty());
    }
}
