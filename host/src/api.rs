//! The typed embedding API: one method per function the component exports, taking and
//! returning the component's own domain types.
//!
//! Every method answers `anyhow::Result<Answer<T>>`: the outer error is the host's (the component
//! did not load, trapped, or the data directory is unusable); the inner [`Answer`] is what the
//! component said: its value, or its typed [`Error`]. A platform written in Rust embeds the host
//! through these methods; the CLI's JSON is produced only where it prints
//! ([`crate::functions`]).
//!
//! Each call runs in a fresh instance ([`Runtime::instance`]): instances are cheap (a pooled slot
//! and copy-on-write memory), and a fresh one shares nothing with the call before it.

use anyhow::Result;
use matterlink_component::actionstep::resthooks::Hook as ActionstepHook;
use matterlink_component::audit::{Query as AuditQuery, Record as AuditRecord};
use matterlink_component::backfill::Outcome as BackfillOutcome;
use matterlink_component::drift::Report as DriftReport;
use matterlink_component::events::{DeadLetter, Event, Outcome as EventOutcome, ReplayReport};
use matterlink_component::feed::Batch;
use matterlink_component::import::ImportPage;
use matterlink_component::model::{
    ConnectRequest, Error, Folder, LegacyMatch, Matter, ProfileField, Workspace,
};
use matterlink_component::security::Member;
use matterlink_component::team::TeamOutcome;
use wasmtime::component::{ComponentNamedList, Lift, Lower};
use wasmtime::Store;

use crate::bindings::types as wit;
use crate::dry_run::PlannedRequest;
use crate::runtime::Runtime;
use crate::state::State;

/// What an exported function answered: its value, or the component's typed error.
pub type Answer<T> = std::result::Result<T, Error>;

/// One instance of the component in its own store, for one call.
pub struct Instance<'r> {
    runtime: &'r Runtime,
    store: Store<State>,
    instance: wasmtime::component::Instance,
}

/// What an export answers as the component's bindings spell it.
type Wit<T> = std::result::Result<T, wit::Error>;

/// Converts the component's answer into domain types.
fn answer<W, T: From<W>>(raw: Wit<W>) -> Answer<T> {
    raw.map(T::from).map_err(Error::from)
}

impl Runtime {
    /// A fresh instance for one call; [`Instance::plan`] then tells what a dry run planned.
    pub async fn instance(&self) -> Result<Instance<'_>> {
        let (store, instance) = self.instantiate().await?;
        Ok(Instance {
            runtime: self,
            store,
            instance,
        })
    }
}

impl Instance<'_> {
    /// Calls the export `name` of `matterlink:imanage/integration` with `params`: only that
    /// export is looked up and type-checked, in this instance (see [`Runtime::instantiate_in`]).
    async fn call<P, R>(&mut self, name: &str, params: P) -> Result<Wit<R>>
    where
        P: ComponentNamedList + Lower + Send + Sync,
        Wit<R>: Lift + Send + Sync + 'static,
        (Wit<R>,): ComponentNamedList,
    {
        let f =
            self.runtime
                .integration_export::<P, Wit<R>>(&mut self.store, &self.instance, name)?;
        Ok(f.call_async(&mut self.store, params).await?.0)
    }

    /// In a dry run, the iManage requests this instance planned instead of sending (and
    /// forgets them); empty otherwise.
    pub fn plan(&self) -> Vec<PlannedRequest> {
        self.runtime.take_plan(&self.store)
    }

    /// `on-matter-created`: provision the matter's workspace, or return the one linked.
    pub async fn on_matter_created(&mut self, m: &Matter) -> Result<Answer<Workspace>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::Workspace> = self.call("on-matter-created", (&m,)).await?;
        Ok(answer(raw))
    }

    /// `on-matter-updated`: rename (and with `sync_fields_on_update` refresh) the workspace;
    /// `None` when the matter has none.
    pub async fn on_matter_updated(&mut self, m: &Matter) -> Result<Answer<Option<Workspace>>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<Option<wit::Workspace>> = self.call("on-matter-updated", (&m,)).await?;
        Ok(raw.map(|w| w.map(Into::into)).map_err(Into::into))
    }

    /// `on-matter-closed`: mark the linked workspace closed.
    pub async fn on_matter_closed(&mut self, m: &Matter) -> Result<Answer<Workspace>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::Workspace> = self.call("on-matter-closed", (&m,)).await?;
        Ok(answer(raw))
    }

    /// `on-matter-reopened`: undo exactly what closing did.
    pub async fn on_matter_reopened(&mut self, m: &Matter) -> Result<Answer<Workspace>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::Workspace> = self.call("on-matter-reopened", (&m,)).await?;
        Ok(answer(raw))
    }

    /// `map-metadata`: the profile fields the matter maps to, without touching iManage.
    pub async fn map_metadata(&mut self, m: &Matter) -> Result<Answer<Vec<ProfileField>>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<Vec<wit::ProfileField>> = self.call("map-metadata", (&m,)).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `resolve-legacy`: find (and link) the one existing workspace of a legacy matter.
    pub async fn resolve_legacy(&mut self, m: &Matter) -> Result<Answer<LegacyMatch>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::LegacyMatch> = self.call("resolve-legacy", (&m,)).await?;
        Ok(answer(raw))
    }

    /// `link-workspace`: link the matter to the workspace of a pasted link.
    pub async fn link_workspace(&mut self, m: &Matter, url: &str) -> Result<Answer<Workspace>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::Workspace> = self.call("link-workspace", (&m, url)).await?;
        Ok(answer(raw))
    }

    /// `file-document`: file `content` as `name` into the matter's document folder, or into
    /// `folder`; answers the new document's id, the first one's for a repeat under the same
    /// `idempotency_key` (by default a digest of matter, folder, name and content).
    pub async fn file_document(
        &mut self,
        matter_id: &str,
        folder: Option<&str>,
        name: &str,
        content: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<Answer<String>> {
        let params = (matter_id, folder, name, content, idempotency_key);
        let raw: Wit<String> = self.call("file-document", params).await?;
        Ok(raw.map_err(Into::into))
    }

    /// `list-folders`: the folders of the matter's workspace.
    pub async fn list_folders(&mut self, matter_id: &str) -> Result<Answer<Vec<Folder>>> {
        let raw: Wit<Vec<wit::Folder>> = self.call("list-folders", (matter_id,)).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `check-connection`: the ✓/✗ report; a failing check is the typed error's message.
    pub async fn check_connection(&mut self) -> Result<Answer<String>> {
        let raw: Wit<String> = self.call("check-connection", ()).await?;
        Ok(raw.map_err(Into::into))
    }

    /// `set-admin-password`: the console's local administrator password, stored hashed.
    pub async fn set_admin_password(&mut self, password: &str) -> Result<Answer<()>> {
        let raw: Wit<()> = self.call("set-admin-password", (password,)).await?;
        Ok(raw.map_err(Into::into))
    }

    /// `handle-event`: handle a delivery once; a redelivered id is answered from its record.
    pub async fn handle_event(&mut self, e: &Event) -> Result<Answer<EventOutcome>> {
        let e: wit::Event = e.clone().into();
        let raw: Wit<wit::EventOutcome> = self.call("handle-event", (&e,)).await?;
        Ok(answer(raw))
    }

    /// `replay-events`: run every failed event again, oldest first.
    pub async fn replay_events(&mut self) -> Result<Answer<ReplayReport>> {
        let raw: Wit<wit::ReplayReport> = self.call("replay-events", ()).await?;
        Ok(answer(raw))
    }

    /// `failed-events`: the failed events waiting for replay, oldest first.
    pub async fn failed_events(&mut self) -> Result<Answer<Vec<DeadLetter>>> {
        let raw: Wit<Vec<wit::FailedEvent>> = self.call("failed-events", ()).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `audit-log`: the audit records `q` selects, newest first.
    pub async fn audit_log(&mut self, q: &AuditQuery) -> Result<Answer<Vec<AuditRecord>>> {
        let q: wit::AuditQuery = q.clone().into();
        let raw: Wit<Vec<wit::AuditRecord>> = self.call("audit-log", (&q,)).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `connect-begin`: iManage's sign-in URL for a browser that will come back to
    /// `redirect_uri`.
    pub async fn connect_begin(&mut self, redirect_uri: &str) -> Result<Answer<ConnectRequest>> {
        let raw: Wit<wit::ConnectRequest> = self.call("connect-begin", (redirect_uri,)).await?;
        Ok(answer(raw))
    }

    /// `connect-complete`: finish signing in with the redirect's code and state; answers the
    /// account that signed in.
    pub async fn connect_complete(
        &mut self,
        code: &str,
        state: &str,
        redirect_uri: &str,
    ) -> Result<Answer<String>> {
        let params = (code, state, redirect_uri);
        let raw: Wit<String> = self.call("connect-complete", params).await?;
        Ok(raw.map_err(Into::into))
    }

    /// `actionstep-connect-begin`: Actionstep's sign-in URL for a browser that will come back
    /// to `redirect_uri`.
    pub async fn actionstep_connect_begin(
        &mut self,
        redirect_uri: &str,
    ) -> Result<Answer<ConnectRequest>> {
        let raw: Wit<wit::ConnectRequest> = self
            .call("actionstep-connect-begin", (redirect_uri,))
            .await?;
        Ok(answer(raw))
    }

    /// `actionstep-connect-complete`: finish connecting to Actionstep with the redirect's code
    /// and state; answers the organisation and API base.
    pub async fn actionstep_connect_complete(
        &mut self,
        code: &str,
        state: &str,
        redirect_uri: &str,
    ) -> Result<Answer<String>> {
        let params = (code, state, redirect_uri);
        let raw: Wit<String> = self.call("actionstep-connect-complete", params).await?;
        Ok(raw.map_err(Into::into))
    }

    /// `actionstep-hooks-install`: matterlink's REST hooks in Actionstep, delivering to
    /// `public_url`.
    pub async fn actionstep_hooks_install(
        &mut self,
        public_url: &str,
    ) -> Result<Answer<Vec<ActionstepHook>>> {
        let raw: Wit<Vec<wit::ActionstepHook>> =
            self.call("actionstep-hooks-install", (public_url,)).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `actionstep-hooks-list`: every REST hook of the Actionstep organisation.
    pub async fn actionstep_hooks_list(&mut self) -> Result<Answer<Vec<ActionstepHook>>> {
        let raw: Wit<Vec<wit::ActionstepHook>> = self.call("actionstep-hooks-list", ()).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `actionstep-hooks-remove`: matterlink's REST hooks deleted.
    pub async fn actionstep_hooks_remove(&mut self) -> Result<Answer<Vec<ActionstepHook>>> {
        let raw: Wit<Vec<wit::ActionstepHook>> = self.call("actionstep-hooks-remove", ()).await?;
        Ok(raw.map(all).map_err(Into::into))
    }

    /// `poll-changes`: security changes since `cursor` (passing a batch's cursor acknowledges
    /// it).
    pub async fn poll_changes(&mut self, cursor: Option<&str>) -> Result<Answer<Batch>> {
        let raw: Wit<wit::ChangeBatch> = self.call("poll-changes", (cursor,)).await?;
        Ok(answer(raw))
    }

    /// `apply-matter-team`: make the linked workspace's members exactly `members`.
    pub async fn apply_matter_team(
        &mut self,
        matter_id: &str,
        members: &[Member],
    ) -> Result<Answer<TeamOutcome>> {
        let members: Vec<wit::TeamMember> = members.iter().cloned().map(Into::into).collect();
        let params = (matter_id, members.as_slice());
        let raw: Wit<wit::TeamOutcome> = self.call("apply-matter-team", params).await?;
        Ok(answer(raw))
    }

    /// `import-workspaces`: a page of workspaces no matter is linked to yet.
    pub async fn import_workspaces(&mut self, cursor: Option<&str>) -> Result<Answer<ImportPage>> {
        let raw: Wit<wit::ImportPage> = self.call("import-workspaces", (cursor,)).await?;
        Ok(answer(raw))
    }

    /// `backfill-matter`: link, report or (with `create_missing`) provision a legacy matter.
    pub async fn backfill_matter(
        &mut self,
        m: &Matter,
        create_missing: bool,
    ) -> Result<Answer<BackfillOutcome>> {
        let m: wit::Matter = m.clone().into();
        let params = (&m, create_missing);
        let raw: Wit<wit::BackfillOutcome> = self.call("backfill-matter", params).await?;
        Ok(answer(raw))
    }

    /// `drift`: compare the matter with its workspace; with `fix`, repair what differs.
    pub async fn drift(&mut self, m: &Matter, fix: bool) -> Result<Answer<DriftReport>> {
        let m: wit::Matter = m.clone().into();
        let raw: Wit<wit::DriftReport> = self.call("drift", (&m, fix)).await?;
        Ok(answer(raw))
    }
}

fn all<A, B: From<A>>(items: Vec<A>) -> Vec<B> {
    items.into_iter().map(B::from).collect()
}

/// The same functions on [`Runtime`] itself, each in a fresh [`Instance`]: what an embedding
/// platform usually wants.
macro_rules! one_call_each {
    ($( $(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*) -> $ret:ty; )*) => {
        impl Runtime {
            $(
                $(#[$doc])*
                pub async fn $name(&self $(, $arg: $ty)*) -> Result<Answer<$ret>> {
                    self.instance().await?.$name($($arg),*).await
                }
            )*
        }
    };
}

one_call_each! {
    /// [`Instance::on_matter_created`] in a fresh instance.
    ///
    /// ```no_run
    /// # async fn example(runtime: &matterlink_host::Runtime) -> anyhow::Result<()> {
    /// use matterlink_host::domain::Matter;
    /// let matter: Matter = serde_json::from_str(
    ///     r#"{"id": "1042", "title": "Smith v Jones", "matter_type": "Litigation",
    ///         "clients": [{"id": "C-100", "name": "Smith Holdings"}]}"#,
    /// )?;
    /// match runtime.on_matter_created(&matter).await? {
    ///     Ok(workspace) => println!("{} {}", workspace.id, workspace.url),
    ///     Err(e) => eprintln!("{}: {}", e.kind(), e.message()),
    /// }
    /// # Ok(()) }
    /// ```
    fn on_matter_created(m: &Matter) -> Workspace;
    /// [`Instance::on_matter_updated`] in a fresh instance.
    fn on_matter_updated(m: &Matter) -> Option<Workspace>;
    /// [`Instance::on_matter_closed`] in a fresh instance.
    fn on_matter_closed(m: &Matter) -> Workspace;
    /// [`Instance::on_matter_reopened`] in a fresh instance.
    fn on_matter_reopened(m: &Matter) -> Workspace;
    /// [`Instance::map_metadata`] in a fresh instance.
    fn map_metadata(m: &Matter) -> Vec<ProfileField>;
    /// [`Instance::resolve_legacy`] in a fresh instance.
    fn resolve_legacy(m: &Matter) -> LegacyMatch;
    /// [`Instance::link_workspace`] in a fresh instance.
    fn link_workspace(m: &Matter, url: &str) -> Workspace;
    /// [`Instance::file_document`] in a fresh instance.
    fn file_document(
        matter_id: &str,
        folder: Option<&str>,
        name: &str,
        content: &[u8],
        idempotency_key: Option<&str>
    ) -> String;
    /// [`Instance::list_folders`] in a fresh instance.
    fn list_folders(matter_id: &str) -> Vec<Folder>;
    /// [`Instance::check_connection`] in a fresh instance.
    fn check_connection() -> String;
    /// [`Instance::set_admin_password`] in a fresh instance.
    fn set_admin_password(password: &str) -> ();
    /// [`Instance::handle_event`] in a fresh instance.
    fn handle_event(e: &Event) -> EventOutcome;
    /// [`Instance::replay_events`] in a fresh instance.
    fn replay_events() -> ReplayReport;
    /// [`Instance::failed_events`] in a fresh instance.
    fn failed_events() -> Vec<DeadLetter>;
    /// [`Instance::audit_log`] in a fresh instance.
    fn audit_log(q: &AuditQuery) -> Vec<AuditRecord>;
    /// [`Instance::connect_begin`] in a fresh instance.
    fn connect_begin(redirect_uri: &str) -> ConnectRequest;
    /// [`Instance::connect_complete`] in a fresh instance.
    fn connect_complete(code: &str, state: &str, redirect_uri: &str) -> String;
    /// [`Instance::actionstep_connect_begin`] in a fresh instance.
    fn actionstep_connect_begin(redirect_uri: &str) -> ConnectRequest;
    /// [`Instance::actionstep_connect_complete`] in a fresh instance.
    fn actionstep_connect_complete(code: &str, state: &str, redirect_uri: &str) -> String;
    /// [`Instance::actionstep_hooks_install`] in a fresh instance.
    fn actionstep_hooks_install(public_url: &str) -> Vec<ActionstepHook>;
    /// [`Instance::actionstep_hooks_list`] in a fresh instance.
    fn actionstep_hooks_list() -> Vec<ActionstepHook>;
    /// [`Instance::actionstep_hooks_remove`] in a fresh instance.
    fn actionstep_hooks_remove() -> Vec<ActionstepHook>;
    /// [`Instance::poll_changes`] in a fresh instance.
    fn poll_changes(cursor: Option<&str>) -> Batch;
    /// [`Instance::apply_matter_team`] in a fresh instance.
    fn apply_matter_team(matter_id: &str, members: &[Member]) -> TeamOutcome;
    /// [`Instance::import_workspaces`] in a fresh instance.
    fn import_workspaces(cursor: Option<&str>) -> ImportPage;
    /// [`Instance::backfill_matter`] in a fresh instance.
    fn backfill_matter(m: &Matter, create_missing: bool) -> BackfillOutcome;
    /// [`Instance::drift`] in a fresh instance.
    fn drift(m: &Matter, fix: bool) -> DriftReport;
}
