//! The matter panel natively: a scripted iManage behind `FakePlatform`, the console's gate in
//! front (session, CSRF), and the pages' HTML.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::{json, Value};

use super::super::{handle, password, session, signin};
use crate::http_parts::{LimitedBody, Reply};
use crate::links::{self, Link};
use crate::model::Workspace;
use crate::platform::{HttpRequest, HttpResponse, Method};
use crate::testing::FakePlatform;
use crate::webhooks::Head;

const BASE: &str = "http://127.0.0.1:9";
const LIB: &str = "http://127.0.0.1:9/work/api/v2/customers/1/libraries/ACTIVE";

/// What the scripted iManage was asked to store.
#[derive(Default)]
struct Imanage {
    /// (folder, file name) of each upload.
    uploads: Vec<(String, String)>,
}

fn ok(v: Value) -> HttpResponse {
    HttpResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: v.to_string().into_bytes(),
    }
}

fn workspace_json(id: &str, name: &str) -> Value {
    json!({"id": id, "name": name, "database": "ACTIVE", "owner": "JSMITH",
           "workspace_url": format!("{BASE}/work/link/w/{id}"),
           "custom1": "C-1", "custom1_description": "Smith Holdings", "custom2": "M-1",
           "custom3": "Litigation", "custom9": "REF-9"})
}

/// iManage with workspace ACTIVE!10 (folders Documents/Generated Documents, Correspondence),
/// two candidates ACTIVE!21 and ACTIVE!22 for matter M-2 and nothing for any other.
fn scripted(p: &FakePlatform) -> Rc<RefCell<Imanage>> {
    let state = Rc::new(RefCell::new(Imanage::default()));
    let seen = state.clone();
    p.respond_with(move |r: &HttpRequest| {
        let url = r.url.as_str();
        if url.ends_with("/auth/oauth2/token") {
            return ok(json!({"access_token": "tok", "refresh_token": "ref", "expires_in": 3600}));
        }
        if url == format!("{BASE}/api") {
            return ok(json!({"data": {"user": {"id": "SVC", "customer_id": 1},
                                      "work": {"libraries": [{"alias": "ACTIVE"}]}}}));
        }
        let path = url.strip_prefix(LIB).unwrap_or(url);
        let (route, query) = path.split_once('?').unwrap_or((path, ""));
        match (r.method, route) {
            (Method::Get, "/workspaces/ACTIVE!10") => {
                ok(json!({"data": workspace_json("ACTIVE!10", "Smith v Jones")}))
            }
            (Method::Get, "/workspaces/ACTIVE!21") => {
                ok(json!({"data": workspace_json("ACTIVE!21", "Old Smith (1)")}))
            }
            (Method::Get, "/folders") if query.contains("ACTIVE%2110") => ok(json!({
                "data": [
                    {"id": "F1", "name": "Documents", "parent_id": "ACTIVE!10"},
                    {"id": "F2", "name": "Generated Documents", "parent_id": "F1"},
                    {"id": "F3", "name": "Correspondence <x>", "parent_id": "ACTIVE!10"}
                ],
                "total_count": 3
            })),
            (Method::Get, "/folders") => ok(json!({"data": [], "total_count": 0})),
            (Method::Get, "/folders/F2/documents") => {
                let docs: Vec<Value> = seen
                    .borrow()
                    .uploads
                    .iter()
                    .filter(|(f, _)| f == "F2")
                    .enumerate()
                    .map(|(i, (_, n))| {
                        let (stem, ext) = n.rsplit_once('.').unwrap();
                        json!({"id": format!("ACTIVE!{}.1", 500 + i), "name": stem,
                               "extension": ext, "version": 1, "size": 8,
                               "edit_date": "2026-12-06T05:00:00Z"})
                    })
                    .collect();
                ok(json!({"data": docs}))
            }
            (Method::Get, r) if r.starts_with("/folders/F") && r.ends_with("/documents") => {
                ok(json!({"data": []}))
            }
            (Method::Get, "/folders/F2") => {
                ok(json!({"data": {"id": "F2", "workspace_id": "ACTIVE!10"}}))
            }
            (Method::Post, "/folders/F2/documents") => {
                let body = String::from_utf8_lossy(&r.body).into_owned();
                let name = body
                    .split("filename=\"")
                    .nth(1)
                    .and_then(|s| s.split('"').next())
                    .unwrap_or_default()
                    .to_string();
                let mut s = seen.borrow_mut();
                s.uploads.push(("F2".into(), name));
                ok(json!({"data": {"id": format!("ACTIVE!{}.1", 499 + s.uploads.len())}}))
            }
            (Method::Get, "/workspaces") if query.contains("custom2=M-2") => ok(json!({
                "data": [workspace_json("ACTIVE!21", "Old Smith (1)"),
                         workspace_json("ACTIVE!22", "Old Smith (2)")],
                "total_count": 2
            })),
            (Method::Get, "/workspaces") => ok(json!({"data": [], "total_count": 0})),
            _ => HttpResponse {
                status: 404,
                headers: vec![],
                body: format!("{{\"error\": \"not scripted: {route}\"}}").into_bytes(),
            },
        }
    });
    state
}

fn send(
    p: &FakePlatform,
    method: &str,
    target: &str,
    cookie: &str,
    ct: &str,
    body: &[u8],
) -> Reply {
    let head = Head {
        method: method.into(),
        target: target.into(),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("content-type".into(), ct.into()),
            ("cookie".into(), cookie.into()),
        ],
    };
    handle(p, &head, |_| LimitedBody {
        bytes: body.to_vec(),
        too_large: false,
    })
}

fn get(p: &FakePlatform, target: &str, cookie: &str) -> Reply {
    send(p, "GET", target, cookie, "", b"")
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn set_cookie(r: &Reply, name: &str) -> String {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
        .expect("cookie")
}

/// Signs in with the password; the session cookie and its CSRF token.
fn signed_in(p: &FakePlatform) -> (String, String) {
    password::set(p, "correct horse battery").unwrap();
    let form = get(p, "/admin/signin", "");
    let token = set_cookie(&form, signin::FORM_COOKIE);
    let body = format!("csrf={token}&password=correct+horse+battery&next=%2Fadmin");
    let r = send(
        p,
        "POST",
        "/admin/signin",
        &format!("{}={token}", signin::FORM_COOKIE),
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", text(&r));
    let cookie = format!("{}={}", session::COOKIE, set_cookie(&r, session::COOKIE));
    let page = text(&get(p, "/admin/matters", &cookie));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a csrf field")
        .to_string();
    (cookie, csrf)
}

fn link_m1(p: &FakePlatform, document_folder: Option<&str>) {
    let w = Workspace {
        id: "ACTIVE!10".into(),
        name: "Smith v Jones".into(),
        url: format!("{BASE}/work/link/w/ACTIVE!10"),
        library: "ACTIVE".into(),
    };
    links::store(
        p,
        &Link::new("M-1", w, document_folder.map(String::from), 5, "created"),
    )
    .unwrap();
}

/// The value of the element with `id`'s `attr`, or its text up to the next tag.
fn by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    rest[rest.find('>').unwrap() + 1..]
        .split('<')
        .next()
        .unwrap()
        .to_string()
}

fn multipart(
    csrf: &str,
    key: &str,
    folder: &str,
    file: Option<(&str, &[u8])>,
) -> (String, Vec<u8>) {
    let mut b = Vec::new();
    for (k, v) in [("csrf", csrf), ("key", key), ("folder", folder)] {
        b.extend_from_slice(
            format!("--BB\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    let (name, data) = file.unwrap_or(("", b""));
    b.extend_from_slice(
        format!("--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").as_bytes(),
    );
    b.extend_from_slice(data);
    b.extend_from_slice(b"\r\n--BB--\r\n");
    ("multipart/form-data; boundary=BB".into(), b)
}

#[test]
fn a_linked_matter_shows_its_workspace_folders_and_fields() {
    let p = FakePlatform::configured();
    p.set_config("field_map", r#"{"File Reference": "custom9"}"#);
    scripted(&p);
    let (cookie, _) = signed_in(&p);
    link_m1(&p, Some("F2"));
    let r = get(&p, "/admin/matters/M-1", &cookie);
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    assert_eq!(by_id(&html, "workspace-name"), "Smith v Jones");
    assert_eq!(by_id(&html, "workspace-owner"), "JSMITH");
    assert!(html.contains(&format!(
        "id=\"open-in-imanage\" href=\"{BASE}/work/link/w/ACTIVE!10\""
    )));
    assert!(
        html.contains("File Reference <span class=\"muted\">(custom9)</span></th><td>REF-9"),
        "{html}"
    );
    assert!(html.contains("C-1 — Smith Holdings"));
    // Nested: Generated Documents inside Documents; names escaped.
    let tree = &html[html.find("id=\"folders\"").unwrap()..];
    let tree = &tree[..tree.find("</section>").unwrap()];
    assert!(tree.contains("Documents</span> <span class=\"muted\">(0 documents)</span><ul><li><span class=\"folder\">Generated Documents"), "{tree}");
    // Siblings in name order (list-folders sorts them), Correspondence beside Documents.
    assert!(
        tree.contains("Correspondence &#60;x&#62;</span> <span class=\"muted\">(0 documents)</span></li><li><span class=\"folder\">Documents</span>"),
        "{tree}"
    );
    // The upload form defaults to the document folder.
    assert!(
        html.contains("<option value=\"F2\" selected>Documents/Generated Documents</option>"),
        "{html}"
    );
    assert!(html.contains("enctype=\"multipart/form-data\""));
    // Framed by nobody by default.
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}

#[test]
fn an_upload_files_once_per_form_and_says_what_it_filed() {
    let p = FakePlatform::configured();
    let im = scripted(&p);
    let (cookie, csrf) = signed_in(&p);
    link_m1(&p, Some("F2"));
    let html = text(&get(&p, "/admin/matters/M-1", &cookie));
    let key = html
        .split("name=\"key\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let (ct, body) = multipart(&csrf, &key, "F2", Some(("Brief.pdf", b"%PDF-1.4")));
    let first = send(
        &p,
        "POST",
        "/admin/matters/M-1/documents",
        &cookie,
        &ct,
        &body,
    );
    assert_eq!(first.status, 303, "{}", text(&first));
    // The same form sent again (a double click, a reload of the POST) files nothing new.
    let again = send(
        &p,
        "POST",
        "/admin/matters/M-1/documents",
        &cookie,
        &ct,
        &body,
    );
    assert_eq!(again.status, 303);
    assert_eq!(first.header("location"), again.header("location"));
    assert_eq!(
        im.borrow().uploads,
        vec![("F2".to_string(), "Brief.pdf".to_string())]
    );
    let location = first.header("location").unwrap().to_string();
    assert!(
        location.starts_with("/admin/matters/M-1?filed=ACTIVE%21500.1"),
        "{location}"
    );
    let after = text(&get(&p, &location, &cookie));
    assert_eq!(
        by_id(&after, "upload-notice"),
        "Filed “Brief.pdf” as document ACTIVE!500.1."
    );
    assert!(after.contains("<td>Documents/Generated Documents</td><td><span title=\"ACTIVE!500.1\">Brief.pdf</span></td><td>1</td><td>8 bytes</td>"), "{after}");
    // A new form has a new key: another upload of the same file is filed again.
    assert!(!after.contains(&key));
}

#[test]
fn refused_uploads_say_why_beside_the_file() {
    let p = FakePlatform::configured();
    let im = scripted(&p);
    let (cookie, csrf) = signed_in(&p);
    link_m1(&p, Some("F2"));
    let (ct, body) = multipart(&csrf, "k1", "F2", Some(("no-extension", b"data")));
    let r = send(
        &p,
        "POST",
        "/admin/matters/M-1/documents",
        &cookie,
        &ct,
        &body,
    );
    assert_eq!(r.status, 422);
    let html = text(&r);
    assert!(
        by_id(&html, "upload-file-error").contains("has no extension"),
        "{html}"
    );
    assert!(html.contains("aria-describedby=\"upload-file-error\""));
    let (ct, body) = multipart(&csrf, "k2", "F2", None);
    let r = send(
        &p,
        "POST",
        "/admin/matters/M-1/documents",
        &cookie,
        &ct,
        &body,
    );
    assert_eq!(r.status, 422);
    assert_eq!(
        by_id(&text(&r), "upload-file-error"),
        "Choose a file to upload."
    );
    // Without the CSRF field, nothing is read further.
    let (ct, body) = multipart("forged", "k3", "F2", Some(("a.pdf", b"x")));
    assert_eq!(
        send(
            &p,
            "POST",
            "/admin/matters/M-1/documents",
            &cookie,
            &ct,
            &body
        )
        .status,
        403
    );
    // Not linked: said plainly.
    let (ct, body) = multipart(&csrf, "k4", "", Some(("a.pdf", b"x")));
    let r = send(
        &p,
        "POST",
        "/admin/matters/M-9/documents",
        &cookie,
        &ct,
        &body,
    );
    assert_eq!(r.status, 404);
    assert!(text(&r).contains("M-9 has no linked workspace"));
    assert!(im.borrow().uploads.is_empty());
}

#[test]
fn several_candidates_are_offered_and_one_is_linked() {
    let p = FakePlatform::configured();
    scripted(&p);
    let (cookie, csrf) = signed_in(&p);
    let r = get(
        &p,
        "/admin/matters/M-2?client_id=C-1&title=Smith%20v%20Jones&file_reference=REF-9",
        &cookie,
    );
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    assert!(
        html.contains("id=\"link-1\"") && html.contains("id=\"link-2\""),
        "{html}"
    );
    assert!(!html.contains("id=\"link-3\""));
    assert!(html.contains("Old Smith (2)"));
    assert!(
        html.contains("id=\"link-url\""),
        "the paste box is offered too"
    );
    // The resolve form keeps what the host platform passed.
    assert!(html.contains("name=\"file_reference\" value=\"REF-9\""));
    assert!(links::get(&p, "M-2").unwrap().is_none());
    // Pick the first: its form posts the candidate's link with the record.
    let body = format!(
        "csrf={csrf}&client_id=C-1&title=Smith+v+Jones&url={}",
        url::form_urlencoded::byte_serialize(format!("{BASE}/work/link/w/ACTIVE!21").as_bytes())
            .collect::<String>()
    );
    let r = send(
        &p,
        "POST",
        "/admin/matters/M-2/link",
        &cookie,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(r.header("location"), Some("/admin/matters/M-2?linked=1"));
    let link = links::get(&p, "M-2").unwrap().unwrap();
    let html = text(&get(&p, "/admin/matters/M-2?linked=1", &cookie));
    assert_eq!(
        by_id(&html, "link-notice"),
        "Matter M-2 is now linked to workspace “Old Smith (1)”."
    );
    assert_eq!(
        (link.workspace.id.as_str(), link.how.as_str()),
        ("ACTIVE!21", "pasted")
    );
}

#[test]
fn none_found_offers_the_paste_box_and_shows_its_refusal() {
    let p = FakePlatform::configured();
    scripted(&p);
    let (cookie, csrf) = signed_in(&p);
    let html = text(&get(&p, "/admin/matters/M-3?title=Lost", &cookie));
    assert!(
        by_id(&html, "resolve-result").contains("No workspace in iManage matches"),
        "{html}"
    );
    // Without a title, nothing is searched; the form asks for the record.
    let html = text(&get(&p, "/admin/matters/M-3", &cookie));
    assert!(!html.contains("id=\"resolve-result\""));
    assert!(html.contains("id=\"resolve\"") && html.contains("id=\"resolve-submit\""));
    // A link of another host is refused with the reason the CLI gives, and kept in the box.
    let pasted = "https://evil.example.com/work/link/w/ACTIVE!10";
    let body = format!(
        "csrf={csrf}&title=Lost&url={}",
        url::form_urlencoded::byte_serialize(pasted.as_bytes()).collect::<String>()
    );
    let r = send(
        &p,
        "POST",
        "/admin/matters/M-3/link",
        &cookie,
        "application/x-www-form-urlencoded",
        body.as_bytes(),
    );
    assert_eq!(r.status, 422);
    let html = text(&r);
    let m = crate::model::Matter {
        id: "M-3".into(),
        title: "Lost".into(),
        matter_type: String::new(),
        clients: vec![],
        file_reference: None,
        assigned_to: None,
        priority: None,
        status: None,
        acting_user: None,
    };
    let cli = crate::link_workspace(&p, &m, pasted).unwrap_err();
    let shown = by_id(&html, "link-url-error");
    assert!(shown.contains("evil.example.com"), "{shown}");
    assert_eq!(
        shown,
        askama::filters::escape(cli.message(), askama::filters::Html)
            .unwrap()
            .to_string()
    );
    assert!(
        html.contains(&format!("value=\"{pasted}\"")),
        "what was pasted is kept"
    );
    assert!(links::get(&p, "M-3").unwrap().is_none());
}

#[test]
fn ids_are_validated_and_the_index_opens_matters() {
    let p = FakePlatform::configured();
    scripted(&p);
    let (cookie, _) = signed_in(&p);
    assert_eq!(get(&p, "/admin/matters/bad%20id", &cookie).status, 422);
    let r = get(&p, "/admin/matters?id=M-1", &cookie);
    assert_eq!(r.header("location"), Some("/admin/matters/M-1"));
    let r = get(&p, "/admin/matters?id=..%2Fx", &cookie);
    assert_eq!(r.status, 422);
    assert!(text(&r).contains("id=\"matter-id-error\""));
    link_m1(&p, None);
    let html = text(&get(&p, "/admin/matters", &cookie));
    assert!(
        html.contains("href=\"/admin/matters/M-1\">M-1</a></td><td>Smith v Jones"),
        "{html}"
    );
}

#[test]
fn the_panel_may_be_framed_by_the_configured_origins_only() {
    let p = FakePlatform::configured();
    scripted(&p);
    let (cookie, _) = signed_in(&p);
    p.set_config(
        "panel_frame_ancestors",
        "https://practice.example.com http://localhost:3000",
    );
    let r = get(&p, "/admin/matters", &cookie);
    let csp = r.header("content-security-policy").unwrap();
    assert!(
        csp.contains("frame-ancestors https://practice.example.com http://localhost:3000;"),
        "{csp}"
    );
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'self'"));
    assert_eq!(r.header("x-frame-options"), None);
    // The rest of the console still may not be framed.
    let r = get(&p, "/admin", &cookie);
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
    // A wrong value frames nothing.
    p.set_config("panel_frame_ancestors", "https://x.example.com/path");
    let r = get(&p, "/admin/matters", &cookie);
    assert!(r
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(r.header("x-frame-options"), Some("DENY"));
}
