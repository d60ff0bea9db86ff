//! The console's OAuth flows natively, iManage scripted with the fake platform's responder:
//! the redirect URI, the state and its cookie, expiry, group membership, and that a sign-in's
//! token is never the integration's.

use super::*;
use crate::console::password;
use crate::http_parts::LimitedBody;
use crate::platform::{HttpRequest, HttpResponse};
use crate::testing::FakePlatform;

fn head(target: &str, host: &str, cookie: Option<&str>, extra: &[(&str, &str)]) -> Head {
    let mut headers = vec![("host".to_string(), host.to_string())];
    if let Some(c) = cookie {
        headers.push(("cookie".into(), c.into()));
    }
    for (k, v) in extra {
        headers.push((k.to_string(), v.to_string()));
    }
    Head {
        method: "GET".into(),
        target: target.into(),
        headers,
    }
}

fn get_at(p: &FakePlatform, target: &str, host: &str, cookie: Option<&str>) -> Reply {
    crate::console::handle(p, &head(target, host, cookie, &[]), |_| LimitedBody {
        bytes: Vec::new(),
        too_large: false,
    })
}

fn get(p: &FakePlatform, target: &str, cookie: Option<&str>) -> Reply {
    get_at(p, target, "127.0.0.1:8080", cookie)
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

fn set_cookie<'r>(r: &'r Reply, name: &str) -> Option<&'r str> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .map(|(_, v)| v.as_str())
        .find(|v| v.starts_with(&format!("{name}=")))
}

fn cookie_value(r: &Reply, name: &str) -> Option<String> {
    set_cookie(r, name)
        .and_then(|v| v.split(';').next())
        .and_then(|v| v.split_once('='))
        .map(|(_, v)| v.to_string())
}

fn query(url: &str) -> std::collections::HashMap<String, String> {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

fn json(status: u16, body: serde_json::Value) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

/// iManage as a test scripts it: whoever signs in is `user`, and `members` are the group's.
fn imanage(p: &FakePlatform, user: &'static str, members: &'static [&'static str]) {
    p.respond_with(move |r: &HttpRequest| {
        let path = url::Url::parse(&r.url).unwrap().path().to_string();
        if path == "/auth/oauth2/token" {
            let form = String::from_utf8_lossy(&r.body).into_owned();
            if !form.contains("code=good-code") {
                return json(400, serde_json::json!({"error": "invalid_grant", "error_description": "unknown code"}));
            }
            json(200, serde_json::json!({"access_token": "person-access-token", "refresh_token": "person-refresh-token", "expires_in": 3600}))
        } else if path == "/auth/oauth2/revoke" {
            json(200, serde_json::json!({}))
        } else if path == "/api" {
            json(200, serde_json::json!({"data": {"user": {"id": user, "customer_id": 1},
                "work": {"libraries": [{"alias": "ACTIVE"}]}}}))
        } else if path.ends_with("/members") {
            let list: Vec<_> = members.iter().map(|m| serde_json::json!({"id": m, "type": "user"})).collect();
            json(200, serde_json::json!({"data": list, "total_count": members.len()}))
        } else {
            json(404, serde_json::json!({"error": "not here"}))
        }
    });
}

/// Starts a sign-in; returns the state and the binding cookie as a browser would send it.
fn begin(p: &FakePlatform) -> (String, String) {
    let r = get(p, "/admin/signin/imanage?next=%2Fadmin%2Fops", None);
    assert_eq!(r.status, 303, "{}", text(&r));
    let state = query(r.header("location").unwrap())["state"].clone();
    let cookie = cookie_value(&r, BINDING_COOKIE).unwrap();
    assert_eq!(cookie, state);
    (state, format!("{BINDING_COOKIE}={cookie}"))
}

fn callback(p: &FakePlatform, state: &str, code: &str, cookie: Option<&str>) -> Reply {
    get(
        p,
        &format!("/admin/oauth/callback?code={code}&state={state}"),
        cookie,
    )
}

fn audit_records(p: &FakePlatform) -> Vec<serde_json::Value> {
    p.kv.borrow()
        .iter()
        .filter(|(k, _)| k.starts_with("audit/record/"))
        .map(|(_, v)| serde_json::from_slice(v).unwrap())
        .collect()
}

fn nothing_holds(p: &FakePlatform, secret: &str) {
    for (k, v) in p.kv.borrow().iter() {
        assert!(
            !k.contains(secret) && !String::from_utf8_lossy(v).contains(secret),
            "{k} holds {secret}"
        );
    }
}

#[test]
fn the_origin_is_the_browsers_https_unless_loopback_or_a_proxy_says() {
    let h = |host: &str, extra: &[(&str, &str)]| origin(&head("/admin", host, None, extra));
    assert_eq!(
        h("127.0.0.1:8080", &[]).as_deref(),
        Some("http://127.0.0.1:8080")
    );
    assert_eq!(h("localhost", &[]).as_deref(), Some("http://localhost"));
    assert_eq!(h("[::1]:3000", &[]).as_deref(), Some("http://[::1]:3000"));
    assert_eq!(
        h("firm.example", &[]).as_deref(),
        Some("https://firm.example")
    );
    assert_eq!(
        h("firm.example:8443", &[("x-forwarded-proto", "http")]).as_deref(),
        Some("http://firm.example:8443")
    );
    assert_eq!(
        h("127.0.0.1:80", &[("x-forwarded-proto", "HTTPS, http")]).as_deref(),
        Some("https://127.0.0.1:80")
    );
    // Anything but https/http from the proxy is ignored.
    assert_eq!(
        h("firm.example", &[("x-forwarded-proto", "javascript")]).as_deref(),
        Some("https://firm.example")
    );
    for odd in ["", "evil.com/path", "a b", "x@y", "host\"q"] {
        assert_eq!(h(odd, &[]), None, "{odd:?}");
    }
    let none = Head {
        method: "GET".into(),
        target: "/".into(),
        headers: vec![],
    };
    assert_eq!(origin(&none), None);
    // Below a tenant's prefix, the callback is the tenant's.
    let ctx = Ctx {
        base: "/t/acme/admin".into(),
        cookies: cookies::Scope {
            path: "/t/acme/admin".into(),
            secure: true,
        },
        session: None,
    };
    assert_eq!(
        redirect_uri(&ctx, &head("/", "firm.example", None, &[])).as_deref(),
        Some("https://firm.example/t/acme/admin/oauth/callback")
    );
}

#[test]
fn the_sign_in_page_offers_imanage_only_when_it_is_configured() {
    let p = FakePlatform::configured();
    let r = get(&p, "/admin/signin?next=%2Fadmin%2Fops", None);
    let html = text(&r);
    assert!(html.contains("id=\"signin-imanage\""), "{html}");
    assert!(
        html.contains("/admin/signin/imanage?next=%2Fadmin%2Fops"),
        "{html}"
    );
    assert!(html.contains("NRTADMIN"));
    p.unset_config("imanage_base_url");
    let html = text(&get(&p, "/admin/signin", None));
    assert!(!html.contains("signin-imanage"), "{html}");
    let r = get(&p, "/admin/signin/imanage", None);
    assert_eq!(r.status, 503);
    assert!(text(&r).contains("not configured"));
}

#[test]
fn a_sign_in_begins_with_pkce_and_a_lax_cookie_bound_to_its_state() {
    let p = FakePlatform::configured();
    let r = get(&p, "/admin/signin/imanage?next=%2Fadmin%2Fops", None);
    assert_eq!(r.status, 303);
    let location = r.header("location").unwrap();
    assert!(
        location.starts_with("http://127.0.0.1:9/auth/oauth2/authorize?"),
        "{location}"
    );
    let q = query(location);
    assert_eq!(
        q["redirect_uri"],
        "http://127.0.0.1:8080/admin/oauth/callback"
    );
    assert_eq!(q["client_id"], "matterlink");
    assert_eq!(q["code_challenge_method"], "S256");
    let cookie = set_cookie(&r, BINDING_COOKIE).unwrap();
    assert_eq!(
        cookie,
        format!(
            "{BINDING_COOKIE}={}; Path=/admin/oauth; Max-Age=600; HttpOnly; SameSite=Lax",
            q["state"]
        )
    );
    // Kept under the state's digest; the verifier only there, its challenge in the URL.
    let key = pending_key(&q["state"]);
    let pending: Pending = serde_json::from_slice(&p.kv.borrow()[&key]).unwrap();
    assert_eq!(pending.purpose, Purpose::SignIn);
    assert_eq!(pending.next, "/admin/ops");
    assert_eq!(
        q["code_challenge"],
        crate::auth::pkce::challenge(&pending.verifier)
    );
    assert!(!location.contains(&pending.verifier));
    nothing_holds(&p, &q["state"]);
    // Not on loopback: Secure, and the callback is https.
    let r = get_at(&p, "/admin/signin/imanage", "firm.example", None);
    assert!(set_cookie(&r, BINDING_COOKIE)
        .unwrap()
        .ends_with("; Secure"));
    assert_eq!(
        query(r.header("location").unwrap())["redirect_uri"],
        "https://firm.example/admin/oauth/callback"
    );
    // `next` never leaves the console.
    let r = get(
        &p,
        "/admin/signin/imanage?next=https%3A%2F%2Fevil.example%2F",
        None,
    );
    let state = query(r.header("location").unwrap())["state"].clone();
    let pending: Pending = serde_json::from_slice(&p.kv.borrow()[&pending_key(&state)]).unwrap();
    assert_eq!(pending.next, "/admin");
    assert!(
        p.sent.borrow().is_empty(),
        "nothing sent before the callback"
    );
}

#[test]
fn a_member_signs_in_and_the_persons_token_is_revoked_never_kept() {
    let p = FakePlatform::configured();
    imanage(&p, "SANDY", &["OTHER", "sandy"]);
    let (state, cookie) = begin(&p);
    let r = callback(&p, &state, "good-code", Some(&cookie));
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    assert!(html.contains("Signed in as SANDY"), "{html}");
    assert!(
        html.contains("<meta http-equiv=\"refresh\" content=\"0;url=/admin/ops\">"),
        "{html}"
    );
    assert!(
        html.contains("id=\"continue\" href=\"/admin/ops\""),
        "{html}"
    );
    // The session cookie is the console's usual one; the binding cookie is cleared.
    let session_set = set_cookie(&r, session::COOKIE).unwrap();
    assert!(session_set.contains("SameSite=Strict") && session_set.contains("HttpOnly"));
    assert!(set_cookie(&r, BINDING_COOKIE)
        .unwrap()
        .contains("Max-Age=0"));
    let token = cookie_value(&r, session::COOKIE).unwrap();
    let s = session::find(&p, &token).unwrap().expect("a session");
    assert_eq!((s.user.as_str(), s.via), ("SANDY", session::Via::Imanage));
    // It opens the console.
    let r = get(&p, "/admin", Some(&format!("{}={token}", session::COOKIE)));
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("SANDY"));
    // The person's tokens went to the endpoints that needed them, then were revoked, and
    // nothing of them (nor of who they are) became the integration's.
    assert!(p.kv.borrow().get(keys::TOKENS).is_none());
    assert!(p.kv.borrow().get(keys::DISCOVERY).is_none());
    nothing_holds(&p, "person-access-token");
    nothing_holds(&p, "person-refresh-token");
    let sent = p.sent.borrow();
    let revoked: Vec<String> = sent
        .iter()
        .filter(|r| r.url.ends_with("/auth/oauth2/revoke"))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    assert!(revoked[0].contains("token=person-refresh-token"));
    assert!(revoked[1].contains("token=person-access-token"));
    let members = sent.iter().find(|r| r.url.contains("/members")).unwrap();
    assert!(
        members
            .url
            .contains("/customers/1/libraries/ACTIVE/groups/NRTADMIN/members"),
        "{}",
        members.url
    );
    assert!(members
        .headers
        .iter()
        .any(|(k, v)| k == "x-auth-token" && v == "person-access-token"));
    let token_request = sent.iter().find(|r| r.url.ends_with("/token")).unwrap();
    let form = String::from_utf8_lossy(&token_request.body).into_owned();
    assert!(form.contains("grant_type=authorization_code"));
    assert!(form.contains("code_verifier="));
    drop(sent);
    let audit = audit_records(&p);
    assert!(audit.iter().any(|r| r["action"] == "console-signin"
        && r["outcome"] == "ok"
        && r["detail"].as_str().unwrap().contains("SANDY")));
    // The same answer again is refused: a state is good once.
    let r = callback(&p, &state, "good-code", Some(&cookie));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("already used"));
}

#[test]
fn someone_outside_the_group_is_refused_without_a_session() {
    let p = FakePlatform::configured();
    p.set_config("admin_group", "FIRMADMINS");
    imanage(&p, "JSMITH", &["SANDY"]);
    let (state, cookie) = begin(&p);
    let r = callback(&p, &state, "good-code", Some(&cookie));
    let html = text(&r);
    assert_eq!(r.status, 403, "{html}");
    assert!(
        html.contains("JSMITH is not in the administrators&#39; group FIRMADMINS")
            || html.contains("JSMITH is not in the administrators&#x27; group FIRMADMINS"),
        "{html}"
    );
    assert!(set_cookie(&r, session::COOKIE).is_none());
    assert!(p
        .kv
        .borrow()
        .keys()
        .all(|k| !k.starts_with("console/session/")));
    assert!(p
        .sent
        .borrow()
        .iter()
        .any(|r| r.url.contains("/groups/FIRMADMINS/members")));
    let audit = audit_records(&p);
    let last = audit.last().unwrap();
    assert_eq!(last["action"], "console-signin");
    assert_eq!(last["outcome"], "rejected");
    assert!(last["detail"].as_str().unwrap().contains("JSMITH"));
    nothing_holds(&p, "person-access-token");
}

#[test]
fn the_callback_refuses_another_browser_a_forged_state_expiry_and_imanage_errors() {
    let p = FakePlatform::configured();
    imanage(&p, "SANDY", &["SANDY"]);
    let (state, cookie) = begin(&p);
    // No binding cookie (the link opened in another browser), or another flow's.
    for c in [None, Some(format!("{BINDING_COOKIE}=someone-elses"))] {
        let r = callback(&p, &state, "good-code", c.as_deref());
        assert_eq!(r.status, 400);
        assert!(text(&r).contains("not belong to a sign-in begun in this browser"));
    }
    // A state nobody began, with a cookie that matches it (both forged).
    let r = callback(
        &p,
        "forged",
        "good-code",
        Some(&format!("{BINDING_COOKIE}=forged")),
    );
    assert_eq!(r.status, 400);
    // None of that used up the real flow, nor reached iManage.
    assert!(p.sent.borrow().is_empty());
    p.advance(PENDING_TTL_S + 1);
    let r = callback(&p, &state, "good-code", Some(&cookie));
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("longer than 10 minutes"), "{}", text(&r));
    // iManage's own refusal (the person cancelled) and a refused code.
    let (state, cookie) = begin(&p);
    let r = get(
        &p,
        &format!(
            "/admin/oauth/callback?error=access_denied&error_description=cancelled&state={state}"
        ),
        Some(&cookie),
    );
    assert_eq!(r.status, 400);
    assert!(text(&r).contains("cancelled"));
    let (state, cookie) = begin(&p);
    let r = callback(&p, &state, "bad-code", Some(&cookie));
    assert_eq!(r.status, 502);
    assert!(text(&r).contains("unknown code"), "{}", text(&r));
    assert!(p.sent.borrow().iter().all(|r| !r.url.contains("/api")));
    let audit = audit_records(&p);
    let rejected = audit
        .iter()
        .filter(|r| r["action"] == "console-signin" && r["outcome"] == "rejected")
        .count();
    assert_eq!(rejected, 6, "{audit:?}");
    assert!(p
        .kv
        .borrow()
        .keys()
        .all(|k| !k.starts_with("console/session/")));
}

/// A password session's cookie.
fn signed_in(p: &FakePlatform) -> String {
    password::set(p, "correct horse battery").unwrap();
    let (token, _) = session::open(p, "admin", session::Via::Password).unwrap();
    format!("{}={token}", session::COOKIE)
}

#[test]
fn connect_makes_the_tokens_the_integrations_for_a_signed_in_administrator() {
    let p = FakePlatform::configured();
    p.set_config("imanage_auth", "oauth");
    imanage(&p, "SANDBOX-ADMIN", &[]);
    // Closed without a session.
    let r = get(&p, "/admin/oauth/connect", None);
    assert_eq!(r.status, 303);
    assert!(r
        .header("location")
        .unwrap()
        .starts_with("/admin/signin?next="));
    let session = signed_in(&p);
    let r = get(&p, "/admin/oauth/connect", Some(&session));
    assert_eq!(r.status, 303, "{}", text(&r));
    let q = query(r.header("location").unwrap());
    assert_eq!(
        q["redirect_uri"],
        "http://127.0.0.1:8080/admin/oauth/callback"
    );
    let binding = format!(
        "{BINDING_COOKIE}={}",
        cookie_value(&r, BINDING_COOKIE).unwrap()
    );
    assert_eq!(binding, format!("{BINDING_COOKIE}={}", q["state"]));
    let pending: Pending =
        serde_json::from_slice(&p.kv.borrow()[&pending_key(&q["state"])]).unwrap();
    assert_eq!(
        (pending.purpose, pending.user.as_str()),
        (Purpose::Connect, "admin")
    );
    // The callback comes without the session's Strict cookie, only with the binding.
    let r = callback(&p, &q["state"], "good-code", Some(&binding));
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    assert!(
        html.contains("connected to iManage as SANDBOX-ADMIN"),
        "{html}"
    );
    assert!(
        html.contains("content=\"0;url=/admin?connected=1\""),
        "{html}"
    );
    assert!(set_cookie(&r, session::COOKIE).is_none());
    let tokens = String::from_utf8(p.kv.borrow()[keys::TOKENS].clone()).unwrap();
    assert!(tokens.contains("person-access-token"));
    assert!(p.sent.borrow().iter().all(|r| !r.url.ends_with("/revoke")));
}

#[test]
fn connect_is_refused_for_a_service_account() {
    let p = FakePlatform::configured();
    let session = signed_in(&p);
    let r = get(&p, "/admin/oauth/connect", Some(&session));
    assert_eq!(r.status, 409);
    assert!(text(&r).contains("service account"));
    assert!(set_cookie(&r, BINDING_COOKIE).is_none());
}

#[test]
fn flows_at_once_each_keep_their_own_record() {
    // Two flows at once each have their own record; finishing one leaves the other.
    let p = FakePlatform::configured();
    imanage(&p, "SANDY", &["SANDY"]);
    let (first, first_cookie) = begin(&p);
    let (second, _) = begin(&p);
    assert_ne!(first, second);
    let r = callback(&p, &first, "good-code", Some(&first_cookie));
    assert_eq!(r.status, 200);
    assert!(p.kv.borrow().contains_key(&pending_key(&second)));
    assert!(p.kv.borrow().get(keys::CONNECT_PENDING).is_none());
}

#[test]
fn a_connection_kept_despite_a_library_the_account_does_not_see_says_so() {
    let p = FakePlatform::configured();
    p.set_config("imanage_auth", "oauth");
    p.respond_with(|r: &HttpRequest| {
        if r.url.ends_with("/auth/oauth2/token") {
            json(
                200,
                serde_json::json!({"access_token": "a", "refresh_token": "r", "expires_in": 3600}),
            )
        } else {
            json(
                200,
                serde_json::json!({"data": {"user": {"id": "SVC", "customer_id": 1},
                "work": {"libraries": [{"alias": "OTHER"}]}}}),
            )
        }
    });
    let session = signed_in(&p);
    let r = get(&p, "/admin/oauth/connect", Some(&session));
    let q = query(r.header("location").unwrap());
    let binding = format!("{BINDING_COOKIE}={}", q["state"]);
    let r = callback(&p, &q["state"], "good-code", Some(&binding));
    let html = text(&r);
    assert_eq!(r.status, 409, "{html}");
    assert!(
        html.contains("Connected, but the settings need a fix"),
        "{html}"
    );
    assert!(html.contains("OTHER"), "{html}");
    assert!(p.kv.borrow().contains_key(keys::TOKENS));
    // A refused code stores nothing and says "Not connected".
    let r = get(&p, "/admin/oauth/connect", Some(&session));
    let q = query(r.header("location").unwrap());
    p.respond_with(|_| json(400, serde_json::json!({"error": "invalid_grant"})));
    let before = p.kv.borrow()[keys::TOKENS].clone();
    let binding = format!("{BINDING_COOKIE}={}", q["state"]);
    let r = callback(&p, &q["state"], "good-code", Some(&binding));
    assert_eq!(r.status, 502);
    assert!(text(&r).contains("Not connected"));
    assert_eq!(p.kv.borrow()[keys::TOKENS], before);
}

#[test]
fn abandoned_flows_cannot_fill_the_store() {
    let p = FakePlatform::configured();
    let flows = |p: &FakePlatform| {
        p.kv.borrow()
            .keys()
            .filter(|k| k.starts_with("console/oauth/"))
            .count()
    };
    for _ in 0..MAX_PENDING {
        assert_eq!(get(&p, "/admin/signin/imanage", None).status, 303);
    }
    let r = get(&p, "/admin/signin/imanage", None);
    assert_eq!(r.status, 503);
    assert!(text(&r).contains("administrator password"), "{}", text(&r));
    assert_eq!(flows(&p), MAX_PENDING);
    // Once they have expired, the next sign-in sweeps them away.
    p.advance(PENDING_TTL_S);
    assert_eq!(get(&p, "/admin/signin/imanage", None).status, 303);
    assert_eq!(flows(&p), 1);
    // Only GET starts one.
    let head = Head {
        method: "HEAD".into(),
        ..self::head("/admin/signin/imanage", "127.0.0.1:8080", None, &[])
    };
    let r = crate::console::handle(&p, &head, |_| LimitedBody {
        bytes: Vec::new(),
        too_large: false,
    });
    assert_eq!(r.status, 405);
    assert_eq!(flows(&p), 1);
}
