//! The set-up page natively: its sections and ids, where values come from, the choices iManage
//! offers, saving (refused beside the field, values kept; stored, versioned, audited) and the
//! password that never shows.

use serde_json::json;

use crate::console::tests::{get, signed_in, text};
use crate::http_parts::Reply;
use crate::platform::{HttpResponse, Platform};
use crate::saved_settings::{self, Overlay};
use crate::settings::Settings;
use crate::testing::FakePlatform;

/// An iManage that signs the service account in, lists two libraries and a template per
/// library.
fn imanage(p: &FakePlatform) {
    p.respond_with(|r| {
        let body = if r.url.contains("/oauth2/token") {
            json!({"access_token": "a", "token_type": "bearer", "expires_in": 5400})
        } else if r.url.ends_with("/api") {
            json!({"data": {"user": {"customer_id": 1, "id": "JSMITH"},
                "work": {"libraries": [{"alias": "ACTIVE"}, {"alias": "BRANCH"}]}}})
        } else if r.url.contains("/libraries/BRANCH/templates") {
            json!({"data": [{"id": "BRANCH!300", "name": "Branch conveyancing"}]})
        } else if r.url.contains("/templates") {
            json!({"data": [{"id": "ACTIVE!200", "name": "Conveyancing"},
                            {"id": "ACTIVE!100", "name": "Litigation"}]})
        } else {
            json!({"data": []})
        };
        HttpResponse {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    });
}

fn csrf_of(page: &str) -> String {
    page.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a csrf field")
        .to_string()
}

/// Posts the set-up form with `pairs` (the csrf added).
fn post(p: &dyn Platform, cookie: &str, csrf: &str, pairs: &[(&str, &str)]) -> Reply {
    let mut body = url::form_urlencoded::Serializer::new(String::new());
    body.append_pair("csrf", csrf);
    for (k, v) in pairs {
        body.append_pair(k, v);
    }
    send_dyn(p, "/admin/setup/settings", cookie, body.finish().as_bytes())
}

fn send_dyn(p: &dyn Platform, target: &str, cookie: &str, body: &[u8]) -> Reply {
    let head = crate::webhooks::Head {
        method: "POST".into(),
        target: target.into(),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("cookie".into(), cookie.into()),
        ],
    };
    crate::console::handle(p, &head, |_| crate::http_parts::LimitedBody {
        bytes: body.to_vec(),
        too_large: false,
    })
}

/// The form fields as a browser would send them back unchanged: every text input's, select's
/// and checked checkbox's value (good enough for this page's markup).
fn fields_of(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let attr = |tag: &str, name: &str| -> Option<String> {
        let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
        Some(html_unescape(&tag[at..at + tag[at..].find('"')?]))
    };
    for tag in page.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if tag.starts_with("input ") {
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            let kind = attr(tag, "type").unwrap_or_default();
            if name == "csrf" || (kind == "checkbox" && !tag.contains(" checked")) {
                continue;
            }
            out.push((name, attr(tag, "value").unwrap_or_default()));
        }
    }
    // Selects: the selected option's value.
    for part in page.split("<select ").skip(1) {
        let name = attr(&format!(" {}", &part[..part.find('>').unwrap()]), "name").unwrap();
        let body = &part[..part.find("</select>").unwrap()];
        let chosen = body
            .split("<option ")
            .find(|o| o.contains(" selected>"))
            .and_then(|o| attr(&format!(" {o}"), "value"))
            .unwrap_or_default();
        out.push((name, chosen));
    }
    if let Some(at) = page.find("name=\"library_routes\"") {
        let rest = &page[at..];
        let v = &rest[rest.find('>').unwrap() + 1..rest.find("</textarea>").unwrap()];
        out.push(("library_routes".into(), html_unescape(v)));
    }
    out
}

fn html_unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    out.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

fn as_pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn the_page_has_its_sections_sources_and_ids() {
    let p = FakePlatform::configured();
    p.set_config("close_prefix", "ARCHIVED");
    p.set_config("webhook_secret", "w".repeat(40).as_str());
    let cookie = signed_in(&p);
    let r = get(&p, "/admin", Some(&cookie));
    assert_eq!(r.status, 200);
    let html = text(&r);
    for heading in [
        "1. Connection",
        "2. Integration settings",
        "3. Metadata mapping",
        "4. Document destination",
        "5. Matter type template mapping",
        "6. Verify",
    ] {
        assert!(html.contains(heading), "{heading}");
    }
    for id in [
        "connection-status",
        "connect-imanage",
        "library",
        "show-library",
        "close_prefix",
        "close-preview",
        "workspace_name",
        "name-preview",
        "map-title",
        "map-file_reference",
        "map-assigned_to",
        "map-priority",
        "map-status",
        "new-matter-type",
        "new-template",
        "add-template",
        "save-settings",
        "verify",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "id {id}");
    }
    assert!(html.contains("href=\"/admin/oauth/connect\""));
    // iManage cannot be reached here: said so, and the library is free text.
    assert!(html.contains("Not connected to iManage"), "{html}");
    assert!(html.contains("id=\"imanage-problem\""));
    assert!(html
        .contains("<input type=\"text\" id=\"library\" name=\"imanage_library\" value=\"ACTIVE\""));
    // Where values come from.
    let source_of = |id: &str| {
        let at = html.find(&format!("id=\"{id}-source\">")).expect(id) + id.len() + 13;
        html[at..at + html[at..].find('<').unwrap()].to_string()
    };
    assert_eq!(source_of("close_prefix"), "Set by the deployment");
    assert_eq!(source_of("root_folder"), "Default");
    assert!(
        html.contains("ARCHIVED - Smith v Jones"),
        "server-side preview"
    );
    assert!(html.contains("id=\"name-preview\" for=\"workspace_name\">Smith v Jones<"));
    // Secrets: only whether they are set.
    assert!(!html.contains("password-value"));
    assert!(!html.contains("client-secret-value"));
    assert!(!html.contains(&"w".repeat(40)));
    assert!(html.contains("<code>webhook_secret</code></th><td>set</td>"));
    assert!(html.contains("A password is set by the deployment"));
    // The checks run only on demand.
    assert!(!html.contains("id=\"checks\""));
    let r = get(&p, "/admin/setup/verify", Some(&cookie));
    let html = text(&r);
    assert!(html.contains("<table id=\"checks\">"));
    assert!(
        html.contains("<tr class=\"check ok\"><td>✓ configuration: loaded"),
        "{html}"
    );
    assert!(html.contains("<tr class=\"check bad\"><td>✗ token:"));
}

#[test]
fn libraries_and_templates_come_from_imanage() {
    let p = FakePlatform::configured();
    imanage(&p);
    let cookie = signed_in(&p);
    let html = text(&get(&p, "/admin", Some(&cookie)));
    assert!(
        html.contains("Connected as JSMITH, token valid 90 min"),
        "{html}"
    );
    assert!(html.contains("<option value=\"BRANCH\">BRANCH</option>"));
    assert!(html.contains("<option value=\"ACTIVE\" selected>ACTIVE</option>"));
    assert!(html.contains("<option value=\"ACTIVE!200\">Conveyancing (ACTIVE!200)</option>"));
    assert!(html.contains("<option value=\"custom25\">custom25 (boolean)</option>"));
    assert!(
        !html.contains("<option value=\"custom1\">"),
        "locked fields are not offered"
    );
    // Choosing BRANCH shows its templates, and saves nothing.
    let fields = fields_of(&html);
    let fields = with(
        &fields,
        &[
            ("imanage_library", "BRANCH"),
            ("action", "show-library"),
            ("close_prefix", "TYPED"),
        ],
    );
    let r = post(&p, &cookie, &csrf_of(&html), &as_pairs(&fields));
    assert_eq!(r.status, 200, "{}", text(&r));
    let html = text(&r);
    assert!(html.contains("Branch conveyancing (BRANCH!300)"), "{html}");
    assert!(!html.contains("ACTIVE!200"));
    assert!(html.contains("value=\"TYPED\""), "what was typed is kept");
    assert_eq!(p.kv_get(crate::keys::CONSOLE_SETTINGS).unwrap(), None);
    // And so does ?library= (a GET).
    let html = text(&get(&p, "/admin?library=BRANCH", Some(&cookie)));
    assert!(html.contains("BRANCH!300"));
}

#[test]
fn a_refused_save_is_said_beside_the_field_and_keeps_the_form() {
    let p = FakePlatform::configured();
    imanage(&p);
    let cookie = signed_in(&p);
    let html = text(&get(&p, "/admin", Some(&cookie)));
    let fields = with(
        &fields_of(&html),
        &[
            ("map.file_reference", "custom25"),
            ("close_prefix", "ENDED"),
            ("action", "save"),
        ],
    );
    let r = post(&p, &cookie, &csrf_of(&html), &as_pairs(&fields));
    assert_eq!(r.status, 422, "{}", text(&r));
    let html = text(&r);
    let at = html
        .find("id=\"map-file_reference-error\"")
        .expect("the error beside the field");
    let beside = html_unescape(&html[at..at + 200]);
    assert!(
        beside.starts_with("id=\"map-file_reference-error\">`field_map` maps \"File Reference\" to custom25, a Boolean field"),
        "{beside}"
    );
    assert!(html.contains("<select id=\"map-file_reference\" name=\"map.file_reference\" aria-describedby=\"map-file_reference-source map-file_reference-error\" aria-invalid=\"true\">"));
    assert!(
        html.contains("<option value=\"custom25\" selected>"),
        "the choice is kept"
    );
    assert!(html.contains("value=\"ENDED\""), "other values are kept");
    assert!(html.contains("ENDED - Smith v Jones"));
    assert_eq!(
        p.kv_get(crate::keys::CONSOLE_SETTINGS).unwrap(),
        None,
        "nothing saved"
    );
    // A Settings::load error lands on its field.
    let fields = with(
        &fields,
        &[("map.file_reference", ""), ("workspace_name", "{nope}")],
    );
    let html = text(&post(&p, &cookie, &csrf_of(&html), &as_pairs(&fields)));
    assert!(
        html.contains("id=\"workspace_name-error\">`workspace_name`"),
        "{html}"
    );
}

#[test]
fn a_valid_save_is_stored_versioned_audited_and_read_by_every_caller() {
    let p = FakePlatform::configured();
    imanage(&p);
    let cookie = signed_in(&p);
    let html = text(&get(&p, "/admin", Some(&cookie)));
    let csrf = csrf_of(&html);
    // Add a template row: re-rendered, unsaved, other values kept.
    let fields = with(
        &fields_of(&html),
        &[
            ("map.file_reference", "custom13"),
            ("new_matter_type", "Conveyancing"),
            ("new_template", "ACTIVE!200"),
            ("action", "add-template"),
        ],
    );
    let r = post(&p, &cookie, &csrf, &as_pairs(&fields));
    assert_eq!(r.status, 200);
    let html = text(&r);
    assert!(
        html.contains("id=\"remove-template-Conveyancing\""),
        "{html}"
    );
    assert!(html.contains("<option value=\"custom13\" selected>"));
    assert_eq!(p.kv_get(crate::keys::CONSOLE_SETTINGS).unwrap(), None);
    // Save, with a new service-account password.
    let fields = with(
        &fields_of(&html),
        &[
            ("imanage_password", "console-pw-secret"),
            ("action", "save"),
        ],
    );
    let r = post(&p, &cookie, &csrf, &as_pairs(&fields));
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(r.header("location"), Some("/admin?saved=1"));
    let saved = saved_settings::load(&p).unwrap().unwrap();
    assert_eq!(saved.version, 1);
    assert_eq!(saved.saved_by, "admin");
    assert_eq!(saved.values["imanage_password"], "console-pw-secret");
    // Every caller reads it through the overlay.
    let s = Settings::load(&Overlay::wrap(&p)).unwrap();
    assert_eq!(s.templates["Conveyancing"], "ACTIVE!200");
    assert_eq!(
        s.field_map[&crate::fields::MappableField::FileReference].name(),
        "custom13"
    );
    let trail = crate::audit::read(&p, &crate::audit::Query::default()).unwrap();
    let record = trail
        .iter()
        .find(|r| r.action == "settings")
        .expect("audited");
    assert!(
        record.detail.contains("field_map") && record.detail.contains("templates"),
        "{}",
        record.detail
    );
    assert!(!record.detail.contains("console-pw-secret"));
    // The page after the redirect: the notice, the sources, never the password.
    let o = Overlay::wrap(&p);
    let html = text(&get_dyn(&o, "/admin?saved=1", &cookie));
    assert!(html.contains("id=\"saved-notice\""));
    assert!(html.contains("Saved in the console by admin at "), "{html}");
    assert!(!html.contains("console-pw-secret"));
    assert!(html.contains("A password is stored in the console"));
    assert!(
        html.contains("<table id=\"checks\">"),
        "a save runs the checks"
    );
    // Saving again with an empty password field keeps it.
    let fields = with(
        &fields_of(&html),
        &[("action", "save"), ("close_prefix", "ENDED")],
    );
    let r = post(&o, &cookie, &csrf, &as_pairs(&fields));
    assert_eq!(r.header("location"), Some("/admin?saved=2"));
    let saved = saved_settings::load(&p).unwrap().unwrap();
    assert_eq!(saved.values["imanage_password"], "console-pw-secret");
    assert_eq!(saved.values["close_prefix"], "ENDED");
    // Remove the row again.
    let html = text(&get_dyn(&o, "/admin", &cookie));
    let fields = with(&fields_of(&html), &[("remove", "Conveyancing")]);
    let html = text(&post(&o, &cookie, &csrf, &as_pairs(&fields)));
    assert!(!html.contains("id=\"remove-template-Conveyancing\""));
}

fn get_dyn(p: &dyn Platform, target: &str, cookie: &str) -> Reply {
    let head = crate::webhooks::Head {
        method: "GET".into(),
        target: target.into(),
        headers: vec![
            ("host".into(), "127.0.0.1:8080".into()),
            ("cookie".into(), cookie.into()),
        ],
    };
    crate::console::handle(p, &head, |_| crate::http_parts::LimitedBody {
        bytes: Vec::new(),
        too_large: false,
    })
}
