//! The sandbox's state: one lock around the in-memory model, plus the clock and the request
//! counter, and the inspection methods tests use instead of HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, SystemTime};

use crate::auth::AuthCode;
use crate::clock::Clock;
use crate::error::{ApiError, ApiResult};
use crate::events::EventQueue;
use crate::faults::Injector;
use crate::model::{CustomValue, Document, Folder, Group, User, Workspace};
use crate::SandboxConfig;

pub type SharedState = Arc<SandboxState>;

#[derive(Debug, Clone)]
pub(crate) struct OAuthClient {
    pub client_id: String,
    pub client_secret: String,
}

/// Tokens descend from one grant (a sign-in or a code) through refreshes; they share its
/// `family`, so that revoking a refresh token, or replaying a code, ends the whole line.
#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub user: String,
    pub expires_at: SystemTime,
    pub family: u64,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub user: String,
    pub client_id: String,
    pub expires_at: SystemTime,
    pub family: u64,
    pub scope: String,
}

/// Everything behind the lock. Objects are keyed by the number in their id (`ACTIVE!1000` → 1000),
/// so that listings come out in creation order.
#[derive(Debug)]
pub(crate) struct Inner {
    pub customer_id: u64,
    /// The preferred library (discovery's `preferred_library`).
    pub library: String,
    /// Every library of the customer, the preferred one first. Object numbers come from one
    /// sequence across them, so a number alone still names one object; the id's library prefix
    /// must match the object's own.
    pub libraries: Vec<String>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub clients: Vec<OAuthClient>,
    pub access_tokens: HashMap<String, AccessToken>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    /// Authorization codes, kept after use until they expire so that a replay can be recognised.
    pub codes: HashMap<String, AuthCode>,
    pub next_family: u64,
    /// The user `GET /auth/oauth2/authorize` approves as without a form, when set.
    pub auto_approve: Option<String>,
    /// Lookup tables by library and field name (`ACTIVE/custom1`, see [`custom_table`]): each
    /// library keeps its own, as in iManage.
    pub customs: BTreeMap<String, Vec<CustomValue>>,
    /// Workspaces and templates.
    pub workspaces: BTreeMap<u64, Workspace>,
    pub folders: BTreeMap<u64, Folder>,
    pub documents: BTreeMap<u64, Document>,
    pub next_number: u64,
    pub events: EventQueue,
    /// Workspaces by custom value, for searches (kept with every create, update and delete).
    pub custom_index: crate::custom_index::CustomIndex,
}

impl Inner {
    /// One counter for every new object, as iManage numbers workspaces, folders and documents
    /// from one sequence.
    pub fn allocate_number(&mut self) -> u64 {
        let n = self.next_number;
        self.next_number += 1;
        n
    }

    pub fn allocate_family(&mut self) -> u64 {
        self.next_family += 1;
        self.next_family
    }

    /// End every token of a family.
    pub fn revoke_family(&mut self, family: u64) {
        self.access_tokens.retain(|_, t| t.family != family);
        self.refresh_tokens.retain(|_, t| t.family != family);
    }

    pub fn object_id_in(&self, library: &str, number: u64) -> String {
        format!("{library}!{number}")
    }

    /// The library as the customer spells it, if it is one of the customer's.
    pub fn known_library(&self, library: &str) -> Option<&str> {
        self.libraries
            .iter()
            .find(|l| l.eq_ignore_ascii_case(library))
            .map(String::as_str)
    }

    /// The number of an id of one of the customer's libraries: `ACTIVE!1000`, also
    /// `ACTIVE!1000.1` for documents (then with its version). The library part is compared
    /// case-insensitively, as iManage does.
    pub fn parse_id(&self, raw: &str) -> Option<(u64, Option<u32>)> {
        let (library, rest) = raw.split_once('!')?;
        self.known_library(library)?;
        let (number, version) = match rest.split_once('.') {
            Some((number, version)) => (number, Some(version)),
            None => (rest, None),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(number) || !version.is_none_or(all_digits) {
            return None;
        }
        let version = match version {
            Some(v) => Some(v.parse().ok()?),
            None => None,
        };
        Some((number.parse().ok()?, version))
    }

    pub fn workspace_number(&self, raw: &str) -> Option<u64> {
        match self.parse_id(raw)? {
            (n, None)
                if self
                    .workspaces
                    .get(&n)
                    .is_some_and(|w| same_library(&w.id, raw)) =>
            {
                Some(n)
            }
            _ => None,
        }
    }

    pub fn folder_number(&self, raw: &str) -> Option<u64> {
        match self.parse_id(raw)? {
            (n, None)
                if self
                    .folders
                    .get(&n)
                    .is_some_and(|f| same_library(&f.id, raw)) =>
            {
                Some(n)
            }
            _ => None,
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id.eq_ignore_ascii_case(id))
    }

    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id.eq_ignore_ascii_case(id))
    }

    pub fn custom_value(
        &self,
        library: &str,
        field: &str,
        id: &str,
        parent: Option<&str>,
    ) -> Option<&CustomValue> {
        self.customs
            .get(&custom_table(library, field))?
            .iter()
            .find(|v| v.id == id && parent.is_none_or(|p| v.parent.as_deref() == Some(p)))
    }

    /// Every folder under `workspace_id`, at any depth.
    pub fn folders_of<'a>(
        &'a self,
        workspace_id: &'a str,
    ) -> impl Iterator<Item = &'a Folder> + 'a {
        self.folders
            .values()
            .filter(move |f| f.workspace_id == workspace_id)
    }

    /// Remove a folder with everything beneath it.
    pub fn remove_folder_tree(&mut self, root: u64) {
        let mut pending = vec![root];
        while let Some(number) = pending.pop() {
            let Some(folder) = self.folders.remove(&number) else {
                continue;
            };
            self.documents.retain(|_, d| d.folder_id != folder.id);
            pending.extend(
                self.folders
                    .iter()
                    .filter(|(_, f)| f.parent_id == folder.id)
                    .map(|(n, _)| *n),
            );
        }
    }
}

/// The library part of an object id (`ACTIVE` of `ACTIVE!1000.1`).
pub(crate) fn library_of(id: &str) -> &str {
    id.split_once('!').map_or("", |(library, _)| library)
}

/// Whether two ids name the same library.
pub(crate) fn same_library(a: &str, b: &str) -> bool {
    library_of(a).eq_ignore_ascii_case(library_of(b))
}

/// The key of a library's lookup table for `field` in [`Inner::customs`].
pub(crate) fn custom_table(library: &str, field: &str) -> String {
    format!("{}/{field}", library.to_ascii_uppercase())
}

/// The sandbox's shared state. Held as [`SharedState`]; its methods are what tests inspect.
#[derive(Debug)]
pub struct SandboxState {
    config: SandboxConfig,
    clock: Clock,
    requests: AtomicU64,
    base_url: OnceLock<String>,
    inner: Mutex<Inner>,
    injector: Injector,
    /// Successful token grants by grant type.
    pub(crate) grants: Mutex<BTreeMap<String, u64>>,
}

impl SandboxState {
    /// A state with the default seed (see the crate docs).
    pub fn new(config: SandboxConfig) -> SandboxState {
        let mut inner = crate::seed::seed();
        inner.events = EventQueue::new(config.event_retention);
        inner.auto_approve = config.auto_approve.clone();
        SandboxState {
            injector: Injector::new(config.faults.clone()),
            grants: Mutex::new(BTreeMap::new()),
            config,
            clock: Clock::default(),
            requests: AtomicU64::new(0),
            base_url: OnceLock::new(),
            inner: Mutex::new(inner),
        }
    }

    /// [`SandboxState::new`], shared, as [`crate::router`] wants it.
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

    /// The URL the sandbox was started on, when started through [`crate::Sandbox`].
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

    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    /// Requests served since start (or the last reset), every route and failure included except
    /// the sandbox's own `/sandbox/admin/*`, so that a test looking at stats does not change them.
    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    pub fn reset_request_count(&self) {
        self.requests.store(0, Ordering::Relaxed);
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
        assert_eq!(litigation.len(), 6);
        assert!(litigation.iter().any(|f| f.name == "Billing" && f.optional));
        assert!(state.custom_values("custom1").is_empty());
    }
}
