//! The `integration` exports: each converts its arguments in, calls the domain function with a
//! fresh `WasiPlatform`, and converts the answer out.

use super::bindings::exports::matterlink::imanage::integration::Guest as Integration;
use super::bindings::exports::matterlink::imanage::types as wit;
use super::convert::{list, out, out_list, out_option};
use super::WasiPlatform;
use crate::{audit, events};

/// The component: what `export!` binds the exports to.
pub struct Component;

type Answer<T> = Result<T, wit::Error>;

impl Integration for Component {
    fn on_matter_created(m: wit::Matter) -> Answer<wit::Workspace> {
        out(crate::on_matter_created(&WasiPlatform::new(), &m.into()))
    }

    fn on_matter_updated(m: wit::Matter) -> Answer<Option<wit::Workspace>> {
        out_option(crate::on_matter_updated(&WasiPlatform::new(), &m.into()))
    }

    fn on_matter_closed(m: wit::Matter) -> Answer<wit::Workspace> {
        out(crate::on_matter_closed(&WasiPlatform::new(), &m.into()))
    }

    fn on_matter_reopened(m: wit::Matter) -> Answer<wit::Workspace> {
        out(crate::on_matter_reopened(&WasiPlatform::new(), &m.into()))
    }

    fn map_metadata(m: wit::Matter) -> Answer<Vec<wit::ProfileField>> {
        out_list(crate::map_metadata(&WasiPlatform::new(), &m.into()))
    }

    fn resolve_legacy(m: wit::Matter) -> Answer<wit::LegacyMatch> {
        out(crate::resolve_legacy(&WasiPlatform::new(), &m.into()))
    }

    fn link_workspace(m: wit::Matter, url: String) -> Answer<wit::Workspace> {
        out(crate::link_workspace(&WasiPlatform::new(), &m.into(), &url))
    }

    fn file_document(
        matter_id: String,
        folder: Option<String>,
        name: String,
        content: Vec<u8>,
        idempotency_key: Option<String>,
    ) -> Answer<String> {
        let p = WasiPlatform::new();
        out(crate::file_document(
            &p,
            &matter_id,
            folder.as_deref(),
            &name,
            &content,
            idempotency_key.as_deref(),
        ))
    }

    fn list_folders(matter_id: String) -> Answer<Vec<wit::Folder>> {
        out_list(crate::list_folders(&WasiPlatform::new(), &matter_id))
    }

    fn check_connection() -> Answer<String> {
        out(crate::check_connection(&WasiPlatform::new()))
    }

    fn set_admin_password(password: String) -> Answer<()> {
        out(crate::set_admin_password(&WasiPlatform::new(), &password))
    }

    fn handle_event(e: wit::Event) -> Answer<wit::EventOutcome> {
        out(events::handle(&WasiPlatform::new(), &e.into()))
    }

    fn replay_events() -> Answer<wit::ReplayReport> {
        out(crate::replay_events(&WasiPlatform::new()))
    }

    fn audit_log(q: wit::AuditQuery) -> Answer<Vec<wit::AuditRecord>> {
        out_list(audit::read(&WasiPlatform::new(), &q.into()))
    }

    fn failed_events() -> Answer<Vec<wit::FailedEvent>> {
        out_list(events::failed(&WasiPlatform::new()))
    }

    fn connect_begin(redirect_uri: String) -> Answer<wit::ConnectRequest> {
        out(crate::connect_begin(&WasiPlatform::new(), &redirect_uri))
    }

    fn connect_complete(code: String, state: String, redirect_uri: String) -> Answer<String> {
        let p = WasiPlatform::new();
        out(crate::connect_complete(&p, &code, &state, &redirect_uri))
    }

    fn actionstep_connect_begin(redirect_uri: String) -> Answer<wit::ConnectRequest> {
        out(crate::actionstep::auth::connect_begin(
            &WasiPlatform::new(),
            &redirect_uri,
        ))
    }

    fn actionstep_connect_complete(
        code: String,
        state: String,
        redirect_uri: String,
    ) -> Answer<String> {
        let p = WasiPlatform::new();
        out(crate::actionstep::auth::connect_complete(
            &p,
            &code,
            &state,
            &redirect_uri,
        ))
    }

    fn actionstep_hooks_install(public_url: String) -> Answer<Vec<wit::ActionstepHook>> {
        out_list(crate::actionstep::resthooks::install(
            &WasiPlatform::new(),
            &public_url,
        ))
    }

    fn actionstep_hooks_list() -> Answer<Vec<wit::ActionstepHook>> {
        out_list(crate::actionstep::resthooks::list(&WasiPlatform::new()))
    }

    fn actionstep_hooks_remove() -> Answer<Vec<wit::ActionstepHook>> {
        out_list(crate::actionstep::resthooks::remove(&WasiPlatform::new()))
    }

    fn poll_changes(cursor: Option<String>) -> Answer<wit::ChangeBatch> {
        out(crate::poll_changes(&WasiPlatform::new(), cursor.as_deref()))
    }

    fn apply_matter_team(
        matter_id: String,
        members: Vec<wit::TeamMember>,
    ) -> Answer<wit::TeamOutcome> {
        let p = WasiPlatform::new();
        out(crate::apply_matter_team(&p, &matter_id, &list(members)))
    }

    fn import_workspaces(cursor: Option<String>) -> Answer<wit::ImportPage> {
        out(crate::import_workspaces(
            &WasiPlatform::new(),
            cursor.as_deref(),
        ))
    }

    fn backfill_matter(m: wit::Matter, create_missing: bool) -> Answer<wit::BackfillOutcome> {
        let p = WasiPlatform::new();
        out(crate::backfill_matter(&p, &m.into(), create_missing))
    }

    fn drift(m: wit::Matter, fix: bool) -> Answer<wit::DriftReport> {
        out(crate::drift(&WasiPlatform::new(), &m.into(), fix))
    }
}
