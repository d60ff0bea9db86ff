//! link-workspace: link a legacy matter to the workspace of a link a person pasted.

use serde_json::Value;

use crate::imanage::api::seg;
use crate::imanage::client::Answer;
use crate::imanage::{json, Imanage};
use crate::links::{self, Link};
use crate::model::{Error, Matter, Result, Workspace};
use crate::platform::{Method, Platform};
use crate::settings::Settings;
use crate::transport::{status_error, Retry};
use crate::workspace_url::{self, LinkContext, LinkTarget};
use crate::{audit, validate};

/// link-workspace: links the matter to the workspace of a link a person pasted (a workspace or
/// folder link).
pub fn link_workspace(p: &dyn Platform, m: &Matter, url: &str) -> Result<Workspace> {
    validate::matter(m, false)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    // A pasted link must be in the library the matter belongs in (`library_routes`).
    let library = s.destination(m).library;
    let ctx = LinkContext {
        base_url: &s.base_url,
        extra_hosts: &s.link_hosts,
        library,
    };
    let target = workspace_url::parse(url, &ctx).map_err(|e| Error::InvalidUrl(e.to_string()))?;
    let api = Imanage::in_library(p, &s, library);
    let workspace_id = match target {
        LinkTarget::Workspace { id, .. } => id,
        LinkTarget::Folder { id, .. } => workspace_of_folder(&api, &id)?,
    };
    let found = api.get_workspace(&workspace_id)?.ok_or_else(|| {
        Error::InvalidUrl(format!(
            "the link points at workspace {workspace_id}, which does not exist in library {library}"
        ))
    })?;
    if found.get("is_template").and_then(Value::as_bool) == Some(true) {
        return Err(Error::InvalidUrl(format!(
            "{workspace_id} is a template, not a matter's workspace"
        )));
    }
    let workspace = api.workspace_from(&found)?;
    if let Some(owner) = links::owner_of(p, &workspace.id)? {
        if owner != m.id {
            return Err(Error::InvalidUrl(format!(
                "workspace {} is already linked to matter {owner}",
                workspace.id
            )));
        }
    }
    if let Some(existing) = links::get(p, &m.id)? {
        if existing.workspace.id == workspace.id {
            return Ok(existing.workspace);
        }
        return Err(Error::Rejected(format!(
            "matter {} is already linked to workspace {}",
            m.id, existing.workspace.id
        )));
    }
    links::store(
        p,
        &Link::new(&m.id, workspace.clone(), None, p.now(), "pasted"),
    )
    .map_err(|e| match e {
        // Lost a race with another matter linking the same workspace.
        Error::Rejected(why) => Error::InvalidUrl(why),
        other => other,
    })?;
    audit::record(
        p,
        "link-workspace",
        &m.id,
        "ok",
        format!("linked workspace {}", workspace.id),
    )?;
    Ok(workspace)
}

fn workspace_of_folder(api: &Imanage<'_>, folder_id: &str) -> Result<String> {
    let path = format!("/folders/{}", seg(folder_id));
    match api.call(Method::Get, &path, None, Retry::Safe)? {
        Answer::Ok(v) => json::str_field(json::data(&v), "workspace_id")
            .map(String::from)
            .ok_or_else(|| {
                Error::InvalidUrl(format!("folder {folder_id} belongs to no workspace"))
            }),
        Answer::Status(404, _) => Err(Error::InvalidUrl(format!(
            "the link points at folder {folder_id}, which does not exist"
        ))),
        Answer::Status(status, why) => Err(status_error(Method::Get, &path, status, &why)),
    }
}
