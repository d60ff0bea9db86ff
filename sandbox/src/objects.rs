//! What several route modules need of workspaces and folders: finding one by the id in a path
//! (404 otherwise), the guard that keeps templates read-only (403), and their API form. Kept below
//! the handlers so that workspaces, folders, security, documents, templates and the Sync API share
//! it without depending on one another.

use std::collections::HashSet;

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::error::{ApiError, ApiResult};
use crate::fields::{custom_kind, filter_text, lookup_parent, FieldKind};
use crate::model::{Folder, FolderKind, Workspace};
use crate::store::{library_of, Inner};

/// The API form of a workspace or template.
pub fn render_workspace(inner: &Inner, ws: &Workspace, base: &str) -> Value {
    let number = inner.parse_id(&ws.id).map_or(0, |(n, _)| n);
    let library = library_of(&ws.id);
    let mut out = json!({
        "id": ws.id,
        "wstype": "workspace",
        "database": library,
        "name": ws.name,
        "description": ws.description,
        "owner": ws.owner,
        "default_security": ws.default_security.as_str(),
        "create_date": ws.create_date,
        "edit_date": ws.edit_date,
        "iwl": format!("iwl:dms=sandbox&&lib={library}&&num={number}&&type=W"),
        "workspace_url": format!("{base}/work/link/w/{}", ws.id),
        "has_subfolders": inner.folders.values().any(|f| f.parent_id == ws.id),
        "is_template": ws.is_template,
    });
    if let Some(subclass) = &ws.subclass {
        out["subclass"] = json!(subclass);
    }
    for (field, value) in &ws.custom {
        out[field] = value.clone();
        if custom_kind(field) == Some(FieldKind::Lookup) {
            let parent = lookup_parent(field).and_then(|p| ws.custom_text(p));
            if let Some(found) =
                inner.custom_value(library, field, &filter_text(value), parent.as_deref())
            {
                out[format!("{field}_description")] = json!(found.description);
            }
        }
    }
    out
}

/// 403 for writes to a template: the seeded ones are named by configurations and must stay put.
pub fn workspace_writable(ws: &Workspace) -> ApiResult<()> {
    if ws.is_template {
        Err(
            ApiError::new(StatusCode::FORBIDDEN, "Forbidden").with_message(
                "ReadOnly",
                format!(
                    "{} is a template; templates are read-only in the sandbox",
                    ws.id
                ),
                None,
            ),
        )
    } else {
        Ok(())
    }
}

/// The workspace (or template) number for a path id, or 404.
pub fn find_workspace(inner: &Inner, id: &str) -> ApiResult<u64> {
    inner
        .workspace_number(id)
        .ok_or_else(|| ApiError::not_found(format!("workspace {id} not found")))
}

/// Which folders have subfolders or documents, computed once per listing rather than per folder.
pub struct FolderIndex {
    with_subfolders: HashSet<String>,
    with_documents: HashSet<String>,
}

impl FolderIndex {
    pub fn new(inner: &Inner) -> FolderIndex {
        FolderIndex {
            with_subfolders: inner
                .folders
                .values()
                .map(|f| f.parent_id.clone())
                .collect(),
            with_documents: inner
                .documents
                .values()
                .map(|d| d.folder_id.clone())
                .collect(),
        }
    }

    /// The index for one folder's answer: it looks for that folder's children and documents
    /// rather than copying every folder's parent id in the store, which made each folder
    /// created cost as much as the store is large (and the benchmark's runs quadratic).
    fn of_one(inner: &Inner, folder_id: &str) -> FolderIndex {
        let only_it = |yes: bool| {
            if yes {
                HashSet::from([folder_id.to_string()])
            } else {
                HashSet::new()
            }
        };
        FolderIndex {
            with_subfolders: only_it(inner.folders.values().any(|f| f.parent_id == folder_id)),
            with_documents: only_it(inner.documents.values().any(|d| d.folder_id == folder_id)),
        }
    }
}

pub fn render_folder(index: &FolderIndex, folder: &Folder) -> Value {
    let mut out = json!({
        "id": folder.id,
        "wstype": folder.kind.wstype(),
        "database": library_of(&folder.id),
        "name": folder.name,
        "description": folder.description,
        "parent_id": folder.parent_id,
        "workspace_id": folder.workspace_id,
        "default_security": folder.default_security.as_str(),
        "view_type": folder.view_type.as_str(),
        "has_documents": index.with_documents.contains(&folder.id),
        "has_subfolders": index.with_subfolders.contains(&folder.id),
        "create_date": folder.create_date,
        "edit_date": folder.edit_date,
    });
    if let Some(profile) = &folder.profile {
        out["profile"] = profile.clone();
    }
    if let Some(search) = &folder.searchprofile {
        out["searchprofile"] = search.clone();
    }
    out
}

/// 400 for documents or subfolders put into a search folder, and documents put into a tab:
/// neither holds them in iManage.
pub fn folder_holds(folder: &Folder, what: &str) -> ApiResult<()> {
    let refused = match folder.kind {
        FolderKind::Folder => false,
        FolderKind::Tab => what == "documents",
        FolderKind::SearchFolder => true,
    };
    if refused {
        return Err(ApiError::invalid_field(
            "id",
            format!(
                "{} is a {}, which holds no {what}",
                folder.id,
                folder.kind.wstype()
            ),
        ));
    }
    Ok(())
}

/// The API form of one folder, for answers about a single folder.
pub fn render_one_folder(inner: &Inner, folder: &Folder) -> Value {
    render_folder(&FolderIndex::of_one(inner, &folder.id), folder)
}

/// The folder number for a path id, or 404.
pub fn find_folder(inner: &Inner, id: &str) -> ApiResult<u64> {
    inner
        .folder_number(id)
        .ok_or_else(|| ApiError::not_found(format!("folder {id} not found")))
}

/// 403 when the folder's workspace is a template.
pub fn folder_writable(inner: &Inner, workspace_id: &str) -> ApiResult<()> {
    match inner
        .workspace_number(workspace_id)
        .and_then(|n| inner.workspaces.get(&n))
    {
        Some(ws) => workspace_writable(ws),
        None => Ok(()),
    }
}
