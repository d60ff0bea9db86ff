//! file-document and list-folders: generated documents (invoices) go into the matter's
//! document folder, or into a folder of its workspace that the user picked from list-folders.

use serde_json::{json, Value};

use crate::claim::{self, Attempt, Claim};
use crate::document_receipts::{self as receipts, Receipt};
use crate::fields::{clean, NAME_LIMIT};
use crate::imanage::api::{client_matter_profile, seg, DocumentEntry, FolderNode, Parent};
use crate::imanage::client::Answer;
use crate::imanage::{json as ijson, once, Imanage};
use crate::links::{self, Link};
use crate::model::{Error, Folder, Result};
use crate::platform::Method;
use crate::platform::Platform;
use crate::settings::Settings;
use crate::transport::{status_error, Retry};
use crate::{audit, keys, validate};

/// Largest document accepted (iManage Cloud's own upload limit is far higher; this bounds the
/// component's memory, which holds the whole body).
pub const MAX_DOCUMENT_BYTES: usize = 64 << 20;

fn link_of(p: &dyn Platform, matter_id: &str) -> Result<Link> {
    validate::id("matter id", matter_id)?;
    links::get(p, matter_id)?
        .ok_or_else(|| Error::NotLinked(format!("matter {matter_id} has no linked workspace")))
}

/// Every folder of the workspace with its path from the root, in tree order, siblings by name.
/// (iManage lists folders in the order they were made, and folders made together — a
/// workspace's folders of one level — were made in no particular order.)
pub fn folder_tree(nodes: &[FolderNode], root: &str) -> Vec<Folder> {
    fn walk(nodes: &[FolderNode], parent: &str, prefix: &str, out: &mut Vec<Folder>) {
        let mut children: Vec<&FolderNode> =
            nodes.iter().filter(|n| n.parent_id == parent).collect();
        children.sort_unstable_by(|a, b| (&a.name, &a.id).cmp(&(&b.name, &b.id)));
        for n in children {
            let path = if prefix.is_empty() {
                n.name.clone()
            } else {
                format!("{prefix}/{}", n.name)
            };
            out.push(Folder {
                id: n.id.clone(),
                name: n.name.clone(),
                path: path.clone(),
            });
            walk(nodes, &n.id, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(nodes, root, "", &mut out);
    out
}

/// list-folders: the folders of the matter's workspace, with their paths from its root.
pub fn list_folders(p: &dyn Platform, matter_id: &str) -> Result<Vec<Folder>> {
    let link = link_of(p, matter_id)?;
    let s = Settings::load(p)?;
    let api = links::api(p, &s, Some(&link));
    Ok(folder_tree(
        &api.folders_of(&link.workspace.id)?,
        &link.workspace.id,
    ))
}

/// A folder of a workspace with what is in it, for the matter panel.
#[derive(Debug, Clone)]
pub struct FolderContents {
    /// The folder, with its path from the workspace root.
    pub folder: Folder,
    /// How deep it is: 0 at the top of the workspace.
    pub depth: usize,
    /// The documents directly in it.
    pub documents: Vec<DocumentEntry>,
}

/// A linked matter's workspace as the matter panel shows it.
#[derive(Debug, Clone)]
pub struct WorkspaceContents {
    /// The matter's link (the workspace's id, name, URL and library).
    pub link: Link,
    /// The workspace's profile as iManage answers it (owner, `customN` fields, …).
    pub profile: Value,
    /// Every folder, in tree order, with its documents.
    pub folders: Vec<FolderContents>,
}

/// The most folders whose documents one look at a workspace lists: each costs a request.
pub const MAX_LISTED_FOLDERS: usize = 100;

/// A linked matter's workspace, its folder tree and the documents in each folder (the first
/// [`MAX_LISTED_FOLDERS`] folders'); `not-linked` for a matter without a workspace, and for a
/// workspace iManage no longer has.
pub fn workspace_contents(p: &dyn Platform, matter_id: &str) -> Result<WorkspaceContents> {
    let link = link_of(p, matter_id)?;
    let s = Settings::load(p)?;
    let api = links::api(p, &s, Some(&link));
    let profile = api.get_workspace(&link.workspace.id)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "matter {matter_id}'s workspace {} is no longer in iManage",
            link.workspace.id
        ))
    })?;
    let nodes = api.folders_of(&link.workspace.id)?;
    let tree = folder_tree(&nodes, &link.workspace.id);
    let mut depth_of = std::collections::BTreeMap::new();
    let mut folders = Vec::with_capacity(tree.len());
    for (n, folder) in tree.into_iter().enumerate() {
        let parent = nodes
            .iter()
            .find(|f| f.id == folder.id)
            .map(|f| f.parent_id.as_str())
            .unwrap_or_default();
        let depth = depth_of.get(parent).map_or(0, |d| d + 1);
        depth_of.insert(folder.id.clone(), depth);
        let documents = if n < MAX_LISTED_FOLDERS {
            api.documents_in(&folder.id)?
        } else {
            Vec::new()
        };
        folders.push(FolderContents {
            folder,
            depth,
            documents,
        });
    }
    Ok(WorkspaceContents {
        link,
        profile,
        folders,
    })
}

/// file-document: uploads a document into the matter's document folder, or into `folder`;
/// returns the new document's id. Filed once per idempotency key (`document_receipts`): a repeat
/// of a filing, however often retried or delivered at once, answers the first document.
pub fn file_document(
    p: &dyn Platform,
    matter_id: &str,
    folder: Option<&str>,
    name: &str,
    content: &[u8],
    idempotency_key: Option<&str>,
) -> Result<String> {
    let link = link_of(p, matter_id)?;
    let (stem, extension) = split_name(name)?;
    if content.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::Rejected(format!(
            "the document is {} bytes; at most {MAX_DOCUMENT_BYTES} are accepted",
            content.len()
        )));
    }
    let request = receipts::request_digest(matter_id, folder, name, content);
    let slot = receipts::slot(idempotency_key, &request)?;
    let filed = || -> Result<Option<String>> {
        Ok(match receipts::matching(p, matter_id, &slot, &request)? {
            Some(Receipt::Filed { document_id, .. }) => Some(document_id),
            _ => None,
        })
    };
    if let Some(id) = filed()? {
        return repeated(p, matter_id, id);
    }
    let s = Settings::load(p)?;
    let claim = match claim::try_take_key(p, keys::document_claim(matter_id, &slot), s.claim_ttl_s)?
    {
        Attempt::Taken(c) => c,
        Attempt::Busy => {
            let id = claim::wait_for(
                p,
                || {
                    format!(
                        "document {:?} for matter {matter_id} is being filed by another delivery; retry shortly",
                        clean(name, 80)
                    )
                },
                filed,
            )?;
            return repeated(p, matter_id, id);
        }
    };
    let doc = Document {
        matter_id,
        folder,
        stem: &stem,
        extension: &extension,
        content,
        slot: &slot,
        request: &request,
    };
    let result = file_claimed(p, &s, &claim, link, &doc);
    // Released whatever happened: a failed filing must not keep its repeats waiting.
    claim.release()?;
    match result? {
        Filing::New { id, detail } => {
            audit::record(p, "file-document", matter_id, "ok", detail)?;
            Ok(id)
        }
        Filing::Earlier(id) => repeated(p, matter_id, id),
    }
}

/// One filing, as `file_claimed` needs it.
struct Document<'a> {
    matter_id: &'a str,
    folder: Option<&'a str>,
    stem: &'a str,
    extension: &'a str,
    content: &'a [u8],
    slot: &'a str,
    request: &'a str,
}

/// What a claimed filing did.
enum Filing {
    /// Uploaded now; the audit detail.
    New { id: String, detail: String },
    /// Filed before: by a repeat that finished while this one waited for the claim, or by an
    /// attempt that stopped before writing its receipt (found in the folder).
    Earlier(String),
}

/// A repeat of a filing: the first document, audited as `unchanged`.
fn repeated(p: &dyn Platform, matter_id: &str, id: String) -> Result<String> {
    audit::record(
        p,
        "file-document",
        matter_id,
        "unchanged",
        format!("document {id}, filed before under the same idempotency key"),
    )?;
    Ok(id)
}

/// Files `doc` while holding its claim: the receipt is `pending` before the upload and `filed`
/// after it, so that a later attempt knows whether to look in the folder first.
fn file_claimed(
    p: &dyn Platform,
    s: &Settings,
    claim: &Claim<'_>,
    mut link: Link,
    doc: &Document<'_>,
) -> Result<Filing> {
    let matter_id = doc.matter_id;
    let earlier_attempt = match receipts::matching(p, matter_id, doc.slot, doc.request)? {
        Some(Receipt::Filed { document_id, .. }) => return Ok(Filing::Earlier(document_id)),
        Some(Receipt::Pending { .. }) => true,
        None => false,
    };
    let api = links::api(p, s, Some(&link));
    // The workspace's client and matter go on the document (and on a document folder made now),
    // so that iManage search and retention see the document as the matter's.
    let workspace = api.get_workspace(&link.workspace.id)?.ok_or_else(|| {
        Error::NotLinked(format!(
            "matter {matter_id}'s workspace {} is no longer in iManage",
            link.workspace.id
        ))
    })?;
    let client_matter = client_matter_profile(&workspace);
    let target = match doc.folder {
        Some(id) => {
            let nodes = api.folders_of(&link.workspace.id)?;
            if !nodes.iter().any(|n| n.id == id) {
                return Err(Error::Rejected(format!(
                    "folder {id:?} is not in matter {matter_id}'s workspace {}; pick one from list-folders",
                    link.workspace.id
                )));
            }
            id.to_string()
        }
        None => document_folder(&api, &mut link, &client_matter)?,
    };
    let (stem, extension, content) = (doc.stem, doc.extension, doc.content);
    let receipt = |document_id: &str| Receipt::Filed {
        request: doc.request.to_string(),
        document_id: document_id.to_string(),
    };
    if earlier_attempt {
        if let Some(id) = find_document(&api, &target, stem, content.len())? {
            receipts::put(p, matter_id, doc.slot, &receipt(&id))?;
            return Ok(Filing::Earlier(id));
        }
    }
    let mut doc_profile = json!({
        "name": stem,
        "extension": extension,
        "size": content.len(),
        "class": "DOC",
        "author": api.account()?,
        "default_security": "inherit",
    });
    if let Value::Object(cm) = &client_matter {
        for (k, v) in cm {
            doc_profile[k] = v.clone();
        }
    }
    let mut profile = json!({
        "doc_profile": doc_profile,
        "warnings_for_required_and_disabled_fields": true,
    });
    // A folder with a profile of its own may hold more than client and matter (class, other
    // fields a firm sets on its folders): the document takes those too.
    if api.folder_has_profile(&target)? {
        profile["inherit_profile_from_folder"] = json!(true);
    }
    let boundary = format!("matterlink-{}", crate::random::token());
    let body = multipart(&boundary, &profile, &format!("{stem}.{extension}"), content);
    let path = format!("/folders/{}/documents", seg(&target));
    let content_type = format!("multipart/form-data; boundary={boundary}");
    let warnings = std::cell::RefCell::new(Vec::new());
    let upload = || match api.call_raw(
        Method::Post,
        &path,
        &content_type,
        body.clone(),
        Retry::Never,
    )? {
        Answer::Ok(v) => {
            *warnings.borrow_mut() = upload_warnings(&v);
            document_id(ijson::data(&v))
        }
        Answer::Status(status, why) => Err(status_error(Method::Post, &path, status, &why)),
    };
    receipts::put(
        p,
        matter_id,
        doc.slot,
        &Receipt::Pending {
            request: doc.request.to_string(),
        },
    )?;
    // A slow holder whose claim was taken over stops here rather than upload beside the taker.
    claim.renew()?;
    // After a failed upload, the folder is searched for it before the next try.
    let id = once::create_once(&api, upload, || {
        find_document(&api, &target, stem, content.len())
    })?;
    receipts::put(p, matter_id, doc.slot, &receipt(&id))?;
    let warnings = warnings.into_inner();
    let mut detail = format!("document {id} in folder {target}");
    if !warnings.is_empty() {
        // The WIT answer is the document id alone; the warnings are kept in the audit record
        // (`matterlink log`) and logged, so that whoever files can see what iManage flagged.
        detail.push_str(&format!("; iManage warned: {}", warnings.join("; ")));
        eprintln!("matterlink: file-document for matter {matter_id}: {detail}");
    }
    Ok(Filing::New { id, detail })
}

/// The `warnings[]` of an upload answer (top level, or inside `data`), each as `field: message`.
fn upload_warnings(v: &Value) -> Vec<String> {
    let list = v
        .get("warnings")
        .or_else(|| ijson::data(v).get("warnings"))
        .and_then(Value::as_array);
    list.map(|ws| {
        ws.iter()
            .map(|w| match w {
                Value::String(s) => clean(s, NAME_LIMIT),
                other => {
                    let text = ["message", "code_message", "code"]
                        .iter()
                        .find_map(|k| ijson::str_field(other, k))
                        .unwrap_or("(no message)");
                    match ijson::str_field(other, "field") {
                        Some(f) => format!("{}: {}", clean(f, 40), clean(text, NAME_LIMIT)),
                        None => clean(text, NAME_LIMIT),
                    }
                }
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The matter's document folder; for a workspace linked from legacy, `root_folder` /
/// `document_folder` are found or created first (with the workspace's client and matter) and
/// remembered in the link.
fn document_folder(api: &Imanage<'_>, link: &mut Link, profile: &Value) -> Result<String> {
    if let Some(id) = &link.document_folder_id {
        return Ok(id.clone());
    }
    let s = api.settings();
    let nodes = api.folders_of(&link.workspace.id)?;
    let mut parent = link.workspace.id.clone();
    for name in [&s.root_folder, &s.document_folder] {
        parent = match nodes
            .iter()
            .find(|n| n.parent_id == parent && n.name == *name)
        {
            Some(n) => n.id.clone(),
            None => {
                let at = if parent == link.workspace.id {
                    Parent::Workspace(&link.workspace.id)
                } else {
                    Parent::Folder(&parent)
                };
                api.create_folder(at, name, profile)?.id
            }
        };
    }
    link.document_folder_id = Some(parent.clone());
    links::store(api.p(), link)?;
    Ok(parent)
}

fn find_document(
    api: &Imanage<'_>,
    folder: &str,
    name: &str,
    size: usize,
) -> Result<Option<String>> {
    let path = format!("/folders/{}/documents", seg(folder));
    let list = api.list_all(&path, &[])?;
    Ok(list
        .iter()
        .filter(|d| ijson::str_field(d, "name") == Some(name))
        .filter(|d| d.get("size").and_then(Value::as_u64) == Some(size as u64))
        .filter_map(|d| document_id(d).ok())
        .next_back())
}

fn document_id(d: &Value) -> Result<String> {
    ijson::str_field(d, "id")
        .map(String::from)
        .ok_or_else(|| Error::Unavailable("iManage stored the document but returned no id".into()))
}

/// `Invoice 2026-001.pdf` → (`Invoice 2026-001`, `pdf`). Names become multipart headers and
/// iManage profile values: control characters, quotes and path separators are refused.
pub fn split_name(name: &str) -> Result<(String, String)> {
    let bad =
        |why: &str| Error::InvalidMatter(format!("document name {:?} {why}", clean(name, 80)));
    if name.chars().any(|c| {
        c.is_control() || matches!(c, '"' | '\\' | '/' | ':' | '*' | '?' | '<' | '>' | '|')
    }) {
        return Err(bad("contains a character not allowed in file names"));
    }
    let (stem, ext) = name
        .rsplit_once('.')
        .ok_or_else(|| bad("has no extension"))?;
    let stem = clean(stem, NAME_LIMIT);
    if stem.is_empty()
        || ext.is_empty()
        || ext.len() > 10
        || !ext.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(bad("needs a name and a short extension such as .pdf"));
    }
    Ok((stem, ext.to_ascii_lowercase()))
}

/// A multipart/form-data body with the `profile` JSON part and the `file` part, as
/// docs/imanage-api.md ("Documents") describes the upload.
pub fn multipart(boundary: &str, profile: &Value, file_name: &str, content: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(content.len() + 512);
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"profile\"\r\nContent-Type: application/json\r\n\r\n{profile}\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(content);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_and_hostile_names_refused() {
        assert_eq!(
            split_name("Invoice 2026-001.PDF").unwrap(),
            ("Invoice 2026-001".into(), "pdf".into())
        );
        assert_eq!(
            split_name("a.b.docx").unwrap(),
            ("a.b".into(), "docx".into())
        );
        for bad in [
            "noext",
            ".pdf",
            "x.",
            "../../etc/passwd.pdf",
            "a\"b.pdf",
            "a\r\nb.pdf",
            "x.toolongextension",
            "x.p f",
        ] {
            assert!(split_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tree_paths() {
        let n = |id: &str, name: &str, parent: &str| FolderNode {
            id: id.into(),
            name: name.into(),
            parent_id: parent.into(),
        };
        let tree = folder_tree(
            &[
                n("2", "Filed", "1"),
                n("1", "Pleadings", "W"),
                n("3", "Evidence", "W"),
            ],
            "W",
        );
        let paths: Vec<_> = tree.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["Evidence", "Pleadings", "Pleadings/Filed"]);
    }

    #[test]
    fn multipart_has_both_parts() {
        let body = multipart(
            "B",
            &json!({"doc_profile": {"name": "x"}}),
            "x.pdf",
            b"%PDF-1.4",
        );
        let text = String::from_utf8(body).unwrap();
        assert!(text.starts_with("--B\r\nContent-Disposition: form-data; name=\"profile\""));
        assert!(text.contains("filename=\"x.pdf\"\r\nContent-Type: application/octet-stream\r\n\r\n%PDF-1.4\r\n--B--\r\n"));
    }
}
