//! A linked matter's panel: the workspace (name, link into iManage, owner, profile fields), its
//! folder tree with the documents in each folder, and the upload form.

use askama::Template;
use serde_json::Value;

use super::super::multipart;
use super::super::page::{self, Chrome};
use super::super::{Ctx, Request};
use super::url_segment;
use crate::documents::{self, WorkspaceContents};
use crate::fields::{value_text, CustomField};
use crate::http_parts::Reply;
use crate::model::Error;
use crate::platform::Platform;
use crate::settings::Settings;

/// A profile field of the workspace.
struct FieldRow {
    /// `custom2`.
    field: String,
    /// What it holds for matterlink (`Matter`, `File Reference`), when it is mapped.
    label: String,
    /// Its value, and the lookup value's description after it when iManage gives one.
    value: String,
}

/// One folder in the tree: the markup that closes and opens lists before it (constant tags
/// only, see `tree`), its name and how many documents it holds.
struct TreeRow {
    before: String,
    name: String,
    count: usize,
}

/// One document in the documents table.
struct DocRow {
    folder: String,
    name: String,
    id: String,
    version: String,
    size: String,
    edited: String,
}

/// One option of the upload form's folder list.
struct FolderOption {
    value: String,
    path: String,
    selected: bool,
}

#[derive(Template)]
#[template(path = "console/panel.html")]
struct WorkspacePage {
    chrome: Chrome,
    matter_id: String,
    /// The element id and text of the notice a redirect carried: `upload-notice` for a filed
    /// document, `link-notice` for a link just made.
    notice: Option<(&'static str, String)>,
    name: String,
    workspace_id: String,
    library: String,
    url: String,
    owner: String,
    fields: Vec<FieldRow>,
    tree: Vec<TreeRow>,
    tree_end: String,
    documents: Vec<DocRow>,
    folders_unlisted: usize,
    options: Vec<FolderOption>,
    upload_key: String,
    upload_error: Option<String>,
}

/// What a refused upload re-renders with.
pub struct Refusal {
    /// The folder that was chosen.
    pub folder: String,
    /// Why it was refused.
    pub message: String,
}

/// Shows a linked matter's workspace, with the notice a redirect carried (`?filed=`,
/// `?linked=`) or the refusal of an upload (status 422).
pub fn show(
    p: &dyn Platform,
    ctx: &Ctx,
    req: &Request<'_>,
    id: &str,
    refusal: Option<Refusal>,
) -> Reply {
    let contents = match documents::workspace_contents(p, id) {
        Ok(c) => c,
        Err(e) => return page::error(ctx, &e),
    };
    let settings = match Settings::load(p) {
        Ok(s) => s,
        Err(e) => return page::error(ctx, &e),
    };
    let notice = if let Some(doc) = req.head.query("filed") {
        let name = req.head.query("document").unwrap_or_default();
        Some((
            "upload-notice",
            format!("Filed “{name}” as document {doc}."),
        ))
    } else if req.head.query("linked").is_some() {
        Some((
            "link-notice",
            format!(
                "Matter {id} is now linked to workspace “{}”.",
                contents.link.workspace.name
            ),
        ))
    } else {
        None
    };
    let status = if refusal.is_some() { 422 } else { 200 };
    let chosen = refusal.as_ref().map(|r| r.folder.clone());
    render(
        ctx,
        status,
        &settings,
        contents,
        notice,
        chosen,
        refusal.map(|r| r.message),
    )
}

fn render(
    ctx: &Ctx,
    status: u16,
    s: &Settings,
    c: WorkspaceContents,
    notice: Option<(&'static str, String)>,
    chosen: Option<String>,
    upload_error: Option<String>,
) -> Reply {
    let owner = c
        .profile
        .get("owner")
        .and_then(value_text)
        .unwrap_or_default();
    let fields = profile_fields(s, &c.profile);
    let (tree, tree_end) = tree(&c);
    let documents = c
        .folders
        .iter()
        .flat_map(|f| {
            f.documents.iter().map(|d| DocRow {
                folder: f.folder.path.clone(),
                name: if d.extension.is_empty() {
                    d.name.clone()
                } else {
                    format!("{}.{}", d.name, d.extension)
                },
                id: d.id.clone(),
                version: d.version.map(|v| v.to_string()).unwrap_or_default(),
                size: d.size.map(human_size).unwrap_or_default(),
                edited: d.edited.clone().unwrap_or_default(),
            })
        })
        .collect();
    let folders_unlisted = c
        .folders
        .len()
        .saturating_sub(documents::MAX_LISTED_FOLDERS);
    // The default destination is the document folder: the link's, or (for a workspace linked
    // from legacy, which has none yet) the one `file_document` finds or makes.
    let default = c.link.document_folder_id.clone().unwrap_or_default();
    let chosen = chosen.unwrap_or(default);
    let mut options = Vec::new();
    if c.link.document_folder_id.is_none() {
        options.push(FolderOption {
            value: String::new(),
            path: format!(
                "{}/{} (the document folder; made if missing)",
                s.root_folder, s.document_folder
            ),
            selected: chosen.is_empty(),
        });
    }
    options.extend(c.folders.iter().map(|f| FolderOption {
        selected: f.folder.id == chosen,
        value: f.folder.id.clone(),
        path: f.folder.path.clone(),
    }));
    let w = c.link.workspace;
    page::render(
        status,
        &WorkspacePage {
            chrome: Chrome::new(ctx, "matters"),
            matter_id: c.link.matter_id,
            notice,
            name: w.name,
            workspace_id: w.id,
            library: w.library,
            url: w.url,
            owner,
            fields,
            tree,
            tree_end,
            documents,
            folders_unlisted,
            options,
            upload_key: crate::random::token(),
            upload_error,
        },
    )
}

/// The workspace's `customN` fields in number order, labelled with what matterlink keeps in
/// them: Client, Matter and Type (custom1..3, fixed), the mapped fields (`field_map`) and the
/// clients field.
fn profile_fields(s: &Settings, profile: &Value) -> Vec<FieldRow> {
    let Some(object) = profile.as_object() else {
        return Vec::new();
    };
    let mut rows: Vec<(u32, FieldRow)> = object
        .iter()
        .filter_map(|(k, v)| {
            let field = CustomField::parse(k)?;
            let mut value = value_text(v)?;
            if let Some(d) = object.get(&format!("{k}_description")).and_then(value_text) {
                if !d.is_empty() && d != value {
                    value = format!("{value} — {d}");
                }
            }
            let label = match k.as_str() {
                "custom1" => "Client".to_string(),
                "custom2" => "Matter".to_string(),
                "custom3" => "Type".to_string(),
                _ => s
                    .field_map
                    .iter()
                    .find(|(_, f)| **f == field)
                    .map(|(m, _)| m.label().to_string())
                    .or_else(|| (s.clients_field == Some(field)).then(|| "Clients".to_string()))
                    .unwrap_or_default(),
            };
            let number = k.trim_start_matches("custom").parse().unwrap_or(u32::MAX);
            Some((
                number,
                FieldRow {
                    field: k.clone(),
                    label,
                    value,
                },
            ))
        })
        .collect();
    rows.sort_unstable_by(|(n, a), (m, b)| (n, &a.field).cmp(&(m, &b.field)));
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The folder tree as nested lists: before each folder, the tags that close the folders
/// deeper than it and open a list when it is a first child; after the last, the tags that
/// close everything still open. The tags are constants, so the template may print them as
/// they are; names go through the template's escaping.
fn tree(c: &WorkspaceContents) -> (Vec<TreeRow>, String) {
    let close = |from: usize, to: usize| {
        let mut s = String::from("</li>");
        for _ in to..from {
            s.push_str("</ul></li>");
        }
        s
    };
    let mut rows = Vec::new();
    let mut previous: Option<usize> = None;
    for f in &c.folders {
        let before = match previous {
            None => String::new(),
            Some(p) if f.depth > p => "<ul>".to_string(),
            Some(p) => close(p, f.depth),
        };
        previous = Some(f.depth);
        rows.push(TreeRow {
            before,
            name: f.folder.name.clone(),
            count: f.documents.len(),
        });
    }
    let end = previous.map(|p| close(p, 0)).unwrap_or_default();
    (rows, end)
}

/// `1536` → `1.5 KB`. In integers: formatting a float would bring float formatting into the
/// component (tens of KiB) for one decimal.
fn human_size(bytes: u64) -> String {
    let one_decimal = |unit: u64, name: &str| {
        let tenths = (bytes * 10 + unit / 2) / unit;
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    };
    match bytes {
        b if b < 1024 => format!("{b} bytes"),
        b if b < 1024 * 1024 => one_decimal(1024, "KB"),
        _ => one_decimal(1024 * 1024, "MB"),
    }
}

/// `POST /matters/{id}/documents`: files the uploaded file into the chosen folder with the
/// idempotency key the form was rendered with, so that a form sent twice files once.
pub fn upload(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    if let Err(e) = crate::validate::id("matter id", id) {
        return page::error(ctx, &e);
    }
    let content_type = req.head.header("content-type").unwrap_or_default();
    let parts = match multipart::parse(content_type, &req.body) {
        Ok(parts) => parts,
        Err(why) => {
            return page::status(
                ctx,
                400,
                "Upload not understood",
                &format!("The upload could not be read: {why}."),
            )
        }
    };
    let text = |name: &str| {
        multipart::field(&parts, name)
            .map(|p| p.text().trim().to_string())
            .unwrap_or_default()
    };
    let folder = text("folder");
    let key = text("key");
    let refuse = |message: String| {
        show(
            p,
            ctx,
            req,
            id,
            Some(Refusal {
                folder: folder.clone(),
                message,
            }),
        )
    };
    let file = multipart::field(&parts, "file")
        .filter(|f| f.filename.as_deref().is_some_and(|n| !n.is_empty()));
    let Some(file) = file else {
        return refuse("Choose a file to upload.".into());
    };
    // Browsers send a file's bare name; some older ones the whole path from the user's disk.
    let name = file
        .filename
        .as_deref()
        .unwrap_or_default()
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or_default()
        .to_string();
    if file.data.is_empty() {
        return refuse(format!("“{name}” is empty; choose a file with content."));
    }
    let folder_arg = (!folder.is_empty()).then_some(folder.as_str());
    let key_arg = (!key.is_empty()).then_some(key.as_str());
    match crate::file_document(p, id, folder_arg, &name, &file.data, key_arg) {
        Ok(doc) => {
            let q = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("filed", &doc)
                .append_pair("document", &name)
                .finish();
            page::redirect(&ctx.url(&format!("/matters/{}?{q}", url_segment(id))))
        }
        Err(e @ Error::NotLinked(_)) => page::error(ctx, &e),
        Err(e @ (Error::InvalidMatter(_) | Error::Rejected(_) | Error::InvalidUrl(_))) => {
            refuse(e.message().to_string())
        }
        Err(e) => page::error(ctx, &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_say_them() {
        assert_eq!(human_size(10), "10 bytes");
        assert_eq!(human_size(1536), "1.5 KB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MB");
    }
}
