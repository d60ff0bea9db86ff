//! The console's gate, natively: closed by default, the password sign-in, cookies, CSRF, the
//! rate limit and the headers every page carries.

use super::*;
use crate::testing::FakePlatform;

pub(super) fn get(p: &FakePlatform, target: &str, cookie: Option<&str>) -> Reply {
    send(p, "GET", target, cookie, &[], b"")
}

pub(super) fn send(
    p: &FakePlatform,
    method: &str,
    target: &str,
    cookie: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:8080".to_string()),
        (
            "content-type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    if let Some(c) = cookie {
        headers.push(("cookie".into(), c.into()));
    }
    for (k, v) in extra {
        headers.push((k.to_string(), v.to_string()));
    }
    let head = Head {
        method: method.into(),
        target: target.into(),
        headers,
    };
    handle(p, &head, |_| LimitedBody {
        bytes: body.to_vec(),
        too_large: false,
    })
}

pub(super) fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

pub(super) fn cookie_value(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// The sign-in form's token (from its cookie) and a form body with the password.
fn sign_in_form(p: &FakePlatform, password: &str) -> (String, Vec<u8>) {
    let form = get(p, "/admin/signin", None);
    let token = cookie_value(&form, signin::FORM_COOKIE).expect("form cookie");
    assert!(text(&form).contains(&token), "the form repeats its token");
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("csrf", &token)
        .append_pair("password", password)
        .append_pair("next", "/admin/ops")
        .finish();
    (
        format!("{}={token}", signin::FORM_COOKIE),
        body.into_bytes(),
    )
}

pub(super) fn signed_in(p: &FakePlatform) -> String {
    password::set(p, "correct horse battery").unwrap();
    let (cookie, body) = sign_in_form(p, "correct horse battery");
    let r = send(p, "POST", "/admin/signin", Some(&cookie), &[], &body);
    assert_eq!(r.status, 303, "{}", text(&r));
    assert_eq!(r.header("location"), Some("/admin/ops"));
    let token = cookie_value(&r, session::COOKIE).expect("session cookie");
    format!("{}={token}", session::COOKIE)
}

#[test]
fn every_page_but_sign_in_is_closed_without_a_session() {
    let p = FakePlatform::configured();
    let r = get(&p, "/admin/ops/audit?outcome=ok", None);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.header("location"),
        Some("/admin/signin?next=%2Fadmin%2Fops%2Faudit%3Foutcome%3Dok")
    );
    let r = send(&p, "POST", "/admin/setup/settings", None, &[], b"a=b");
    assert_eq!(r.status, 401);
    let r = get(&p, "/admin", Some("matterlink_session=forged"));
    assert_eq!(r.status, 303);
    // Without a password set, the sign-in page says how to set one.
    let r = get(&p, "/admin/signin", None);
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("matterlink admin password --stdin"));
}

#[test]
fn the_password_opens_a_session_in_a_strict_http_only_cookie() {
    let p = FakePlatform::configured();
    let session = signed_in(&p);
    let r = get(&p, "/admin", Some(&session));
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(text(&r).contains("Signed in as"));
    // Signing in again shows the cookie's attributes: loopback, so not Secure.
    let (cookie, body) = sign_in_form(&p, "correct horse battery");
    let r = send(&p, "POST", "/admin/signin", Some(&cookie), &[], &body);
    let set = r
        .headers
        .iter()
        .find(|(k, v)| k == "set-cookie" && v.starts_with(session::COOKIE))
        .unwrap()
        .1
        .clone();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        set.contains("Path=/admin;") && !set.contains("Secure"),
        "{set}"
    );
}

#[test]
fn cookies_are_secure_off_loopback_and_scoped_to_the_tenant_prefix() {
    let p = FakePlatform::configured();
    password::set(&p, "correct horse battery").unwrap();
    let head = Head {
        method: "GET".into(),
        target: "/admin/signin".into(),
        headers: vec![
            ("host".into(), "matterlink.example.com".into()),
            ("x-forwarded-prefix".into(), "/t/acme".into()),
        ],
    };
    let r = handle(&p, &head, |_| LimitedBody::default());
    let set = r.header("set-cookie").unwrap();
    assert!(
        set.contains("Path=/t/acme/admin;") && set.ends_with("; Secure"),
        "{set}"
    );
    assert!(text(&r).contains("action=\"/t/acme/admin/signin\""));
    // A prefix that is not a plain path is ignored, not echoed into links.
    for bad in ["//evil.example", "/a/../b", "/x\"y", "https://evil"] {
        let head = Head {
            headers: vec![("x-forwarded-prefix".into(), bad.into())],
            ..head.clone()
        };
        let r = handle(&p, &head, |_| LimitedBody::default());
        assert!(text(&r).contains("action=\"/admin/signin\""), "{bad}");
    }
}

#[test]
fn a_wrong_password_or_a_forged_form_opens_nothing() {
    let p = FakePlatform::configured();
    password::set(&p, "correct horse battery").unwrap();
    let (cookie, body) = sign_in_form(&p, "wrong password here");
    let r = send(&p, "POST", "/admin/signin", Some(&cookie), &[], &body);
    assert_eq!(r.status, 401);
    assert!(cookie_value(&r, session::COOKIE).is_none());
    assert!(text(&r).contains("not right"));
    // The right password without the form's cookie (a cross-site form) is refused.
    let (_, body) = sign_in_form(&p, "correct horse battery");
    let r = send(&p, "POST", "/admin/signin", None, &[], &body);
    assert_eq!(r.status, 403);
    assert!(cookie_value(&r, session::COOKIE).is_none());
    assert!(p
        .kv
        .borrow()
        .keys()
        .all(|k| !k.starts_with("console/session/")));
}

#[test]
fn sign_in_is_rate_limited_even_for_the_right_password() {
    let p = FakePlatform::configured();
    password::set(&p, "correct horse battery").unwrap();
    for _ in 0..session::MAX_FAILURES {
        let (cookie, body) = sign_in_form(&p, "guess guess guess");
        let r = send(&p, "POST", "/admin/signin", Some(&cookie), &[], &body);
        assert_eq!(r.status, 401);
    }
    let (cookie, body) = sign_in_form(&p, "correct horse battery");
    let r = send(&p, "POST", "/admin/signin", Some(&cookie), &[], &body);
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    assert!(cookie_value(&r, session::COOKIE).is_none());
}

#[test]
fn after_sign_in_only_pages_of_this_console_are_next() {
    let p = FakePlatform::configured();
    password::set(&p, "correct horse battery").unwrap();
    for (next, expected) in [
        ("https://evil.example/admin", "/admin"),
        ("//evil.example/admin", "/admin"),
        ("/admin/../x", "/admin/../x"),
        ("/administrator", "/admin"),
        ("/admin/matters/M-1", "/admin/matters/M-1"),
    ] {
        let (cookie, _) = sign_in_form(&p, "");
        let token = cookie.split('=').nth(1).unwrap();
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("csrf", token)
            .append_pair("password", "correct horse battery")
            .append_pair("next", next)
            .finish();
        let r = send(
            &p,
            "POST",
            "/admin/signin",
            Some(&cookie),
            &[],
            body.as_bytes(),
        );
        assert_eq!(r.header("location"), Some(expected), "{next}");
    }
}

#[test]
fn posts_need_the_sessions_csrf_token() {
    let p = FakePlatform::configured();
    let session = signed_in(&p);
    let r = send(
        &p,
        "POST",
        "/admin/setup/settings",
        Some(&session),
        &[],
        b"csrf=forged",
    );
    assert_eq!(r.status, 403);
    let r = send(
        &p,
        "POST",
        "/admin/signout",
        Some(&session),
        &[],
        b"csrf=forged",
    );
    assert_eq!(r.status, 403);
    assert_eq!(get(&p, "/admin", Some(&session)).status, 200);
}

#[test]
fn signing_out_ends_the_session() {
    let p = FakePlatform::configured();
    let session = signed_in(&p);
    let page = text(&get(&p, "/admin", Some(&session)));
    let csrf = page
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_string();
    let r = send(
        &p,
        "POST",
        "/admin/signout",
        Some(&session),
        &[],
        format!("csrf={csrf}").as_bytes(),
    );
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    assert_eq!(get(&p, "/admin", Some(&session)).status, 303);
}

#[test]
fn pages_carry_a_strict_policy_and_are_never_cached() {
    let p = FakePlatform::configured();
    let r = get(&p, "/admin/signin", None);
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    let css = get(&p, "/admin/assets/console.css", None);
    assert_eq!(css.status, 200);
    assert!(css.header("content-type").unwrap().starts_with("text/css"));
    assert_eq!(get(&p, "/admin/assets/nope.js", None).status, 404);
}

#[test]
fn uploads_without_a_session_are_refused_before_the_body_is_read() {
    let p = FakePlatform::configured();
    let head = Head {
        method: "POST".into(),
        target: "/admin/matters/M-1/documents".into(),
        headers: vec![],
    };
    let r = handle(&p, &head, |_| panic!("the body must not be read"));
    assert_eq!(r.status, 401);
}
