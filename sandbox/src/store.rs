//! The in-memory model behind the sandbox's lock: every object, lookup table, token and event,
//! with the id rules iManage applies. Handlers work on it through `SandboxState::lock`; the seed
//! builds its first value.

use std::collections::{BTreeMap, HashMap};

use crate::custom_index::CustomIndex;
use crate::events::EventQueue;
use crate::lookup_table::LookupTable;
use crate::model::{CustomValue, Document, Folder, Group, User, Workspace};
use crate::tokens::{AccessToken, AuthCode, OAuthClient, RefreshToken};

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
    pub customs: BTreeMap<String, LookupTable>,
    /// Workspaces and templates.
    pub workspaces: BTreeMap<u64, Workspace>,
    pub folders: BTreeMap<u64, Folder>,
    pub documents: BTreeMap<u64, Document>,
    pub next_number: u64,
    pub events: EventQueue,
    /// Workspaces by custom value, for searches (kept with every create, update and delete).
    pub custom_index: CustomIndex,
    /// Each user's My Matters list (user id → workspace ids, in the order added). Its REST path
    /// is not public: `my_matters.rs` models it (assumed).
    pub my_matters: BTreeMap<String, Vec<String>>,
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
            .find(id, parent)
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
