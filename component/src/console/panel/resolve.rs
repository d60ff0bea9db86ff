//! A matter without a link (a legacy matter): its record as the host platform passed it (the
//! query) or as corrected in the form, the result of `resolve_legacy` — linked (the workspace
//! is shown), several candidates to pick from, or none — and the box to paste a workspace link,
//! linked by `link_workspace` (the one place for the linking rules, whose refusals the page
//! shows as the CLI does).

use askama::Template;

use super::super::page::{self, Chrome};
use super::super::{Ctx, Request};
use super::{url_segment, workspace};
use crate::http_parts::Reply;
use crate::model::{Client, LegacyMatch, Matter};
use crate::platform::Platform;

/// The matter's record as the page carries it: query parameters on `GET`, fields on `POST`.
#[derive(Default)]
pub struct Record {
    /// The primary client's id.
    pub client_id: String,
    /// The primary client's name.
    pub client_name: String,
    /// The firm's file reference.
    pub file_reference: String,
    /// The matter's title.
    pub title: String,
    /// The matter type.
    pub matter_type: String,
}

/// The names of the record's fields, in the query and in forms.
const FIELDS: [&str; 5] = [
    "client_id",
    "client_name",
    "file_reference",
    "title",
    "matter_type",
];

impl Record {
    fn read(get: impl Fn(&str) -> Option<String>) -> Record {
        let f = |k: &str| get(k).map(|v| v.trim().to_string()).unwrap_or_default();
        Record {
            client_id: f("client_id"),
            client_name: f("client_name"),
            file_reference: f("file_reference"),
            title: f("title"),
            matter_type: f("matter_type"),
        }
    }

    /// The fields as (name, value) pairs, for hidden inputs.
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let values = [
            &self.client_id,
            &self.client_name,
            &self.file_reference,
            &self.title,
            &self.matter_type,
        ];
        FIELDS
            .iter()
            .zip(values)
            .map(|(k, v)| (*k, v.clone()))
            .collect()
    }

    /// The matter as `resolve_legacy` and `link_workspace` take it.
    fn matter(&self, id: &str) -> Matter {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_string());
        let clients = if self.client_id.is_empty() {
            Vec::new()
        } else {
            vec![Client {
                id: self.client_id.clone(),
                name: some(&self.client_name).unwrap_or_else(|| self.client_id.clone()),
            }]
        };
        Matter {
            id: id.to_string(),
            title: self.title.clone(),
            matter_type: self.matter_type.clone(),
            clients,
            file_reference: some(&self.file_reference),
            assigned_to: None,
            priority: None,
            status: None,
            acting_user: None,
        }
    }
}

/// A workspace that matched, to pick.
struct Candidate {
    n: usize,
    id: String,
    name: String,
    url: String,
}

#[derive(Template)]
#[template(path = "console/panel_resolve.html")]
struct ResolvePage {
    chrome: Chrome,
    matter_id: String,
    record: Vec<(&'static str, String)>,
    client_id: String,
    client_name: String,
    file_reference: String,
    title: String,
    matter_type: String,
    /// Whether `resolve_legacy` ran (a title was known).
    resolved: bool,
    /// Why it could not run or failed.
    resolve_error: Option<String>,
    candidates: Vec<Candidate>,
    pasted: String,
    paste_error: Option<String>,
}

/// `GET /matters/{id}` of a matter without a link: resolves it when the query says enough.
pub fn show(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    let record = Record::read(|k| req.head.query(k));
    page_for(p, ctx, req, id, record, String::new(), None)
}

/// Runs `resolve_legacy` for `record` (when it has a title) and renders the result; a matter
/// that became linked shows its workspace.
fn page_for(
    p: &dyn Platform,
    ctx: &Ctx,
    req: &Request<'_>,
    id: &str,
    record: Record,
    pasted: String,
    paste_error: Option<String>,
) -> Reply {
    let mut resolved = false;
    let mut resolve_error = None;
    let mut candidates = Vec::new();
    if !record.title.is_empty() {
        match crate::resolve_legacy(p, &record.matter(id)) {
            Ok(LegacyMatch::Linked(_)) if paste_error.is_none() => {
                return workspace::show(p, ctx, req, id, None);
            }
            Ok(LegacyMatch::Linked(_)) => {}
            Ok(LegacyMatch::None) => resolved = true,
            Ok(LegacyMatch::Several(found)) => {
                resolved = true;
                candidates = found
                    .into_iter()
                    .enumerate()
                    .map(|(i, w)| Candidate {
                        n: i + 1,
                        id: w.id,
                        name: w.name,
                        url: w.url,
                    })
                    .collect();
            }
            Err(e) => resolve_error = Some(e.message().to_string()),
        }
    }
    let status = if paste_error.is_some() { 422 } else { 200 };
    page::render(
        status,
        &ResolvePage {
            chrome: Chrome::new(ctx, "matters"),
            matter_id: id.to_string(),
            record: record.pairs(),
            client_id: record.client_id,
            client_name: record.client_name,
            file_reference: record.file_reference,
            title: record.title,
            matter_type: record.matter_type,
            resolved,
            resolve_error,
            candidates,
            pasted,
            paste_error,
        },
    )
}

/// `POST /matters/{id}/link`: links the workspace of `url` — a candidate's (its button) or a
/// pasted link — through `link_workspace`; a refusal is shown beside the paste box, with what
/// was pasted kept.
pub fn link(p: &dyn Platform, ctx: &Ctx, req: &Request<'_>, id: &str) -> Reply {
    if let Err(e) = crate::validate::id("matter id", id) {
        return page::error(ctx, &e);
    }
    let form = req.form();
    let record = Record::read(|k| form.get(k).map(String::from));
    let url = form.text("url").to_string();
    if url.is_empty() {
        let why = "Paste the link of the workspace (or of one of its folders) from iManage Work.";
        return page_for(p, ctx, req, id, record, url, Some(why.into()));
    }
    match crate::link_workspace(p, &record.matter(id), &url) {
        Ok(_) => page::redirect(&ctx.url(&format!("/matters/{}?linked=1", url_segment(id)))),
        Err(e) => {
            let why = e.message().to_string();
            page_for(p, ctx, req, id, record, url, Some(why))
        }
    }
}
