//! The operations pages, natively: through `console::handle` with a signed-in session, as a
//! browser drives them.

use crate::console::{handle, password, session, signin};
use crate::events::{self, Event, EventType};
use crate::http_parts::{LimitedBody, Reply};
use crate::platform::Platform;
use crate::testing::FakePlatform;
use crate::webhooks::Head;
use crate::{audit, backfill_job, keys};

struct Browser<'a> {
    p: &'a FakePlatform,
    cookie: String,
    csrf: String,
}

fn send(
    p: &FakePlatform,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut all = vec![("host".to_string(), "127.0.0.1:8080".to_string())];
    for (k, v) in headers {
        all.push((k.to_string(), v.to_string()));
    }
    let head = Head {
        method: method.into(),
        target: target.into(),
        headers: all,
    };
    handle(p, &head, |_| LimitedBody {
        bytes: body.to_vec(),
        too_large: false,
    })
}

fn cookie_value(r: &Reply, name: &str) -> Option<String> {
    r.headers
        .iter()
        .filter(|(k, _)| k == "set-cookie")
        .find_map(|(_, v)| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

fn text(r: &Reply) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

impl<'a> Browser<'a> {
    fn sign_in(p: &'a FakePlatform) -> Browser<'a> {
        password::set(p, "correct horse battery").unwrap();
        let form = send(p, "GET", "/admin/signin", &[], b"");
        let token = cookie_value(&form, signin::FORM_COOKIE).unwrap();
        let body = format!("csrf={token}&password=correct+horse+battery&next=%2Fadmin%2Fops");
        let cookie = format!("{}={token}", signin::FORM_COOKIE);
        let r = send(
            p,
            "POST",
            "/admin/signin",
            &[
                ("cookie", &cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        );
        assert_eq!(r.status, 303, "{}", text(&r));
        let cookie = format!(
            "{}={}",
            session::COOKIE,
            cookie_value(&r, session::COOKIE).unwrap()
        );
        let page = send(p, "GET", "/admin/ops", &[("cookie", &cookie)], b"");
        let html = text(&page);
        let csrf = html
            .split("name=\"csrf\" value=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap()
            .to_string();
        Browser { p, cookie, csrf }
    }

    fn get(&self, target: &str) -> Reply {
        send(self.p, "GET", target, &[("cookie", &self.cookie)], b"")
    }

    fn post(&self, target: &str, fields: &str) -> Reply {
        let body = if fields.is_empty() {
            format!("csrf={}", self.csrf)
        } else {
            format!("csrf={}&{fields}", self.csrf)
        };
        send(
            self.p,
            "POST",
            target,
            &[
                ("cookie", &self.cookie),
                ("content-type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
    }

    fn upload(&self, target: &str, csrf: &str, csv: &[u8], create_missing: bool) -> Reply {
        let b = "XyZzYboundary";
        let mut body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"legacy.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(csv);
        body.extend_from_slice(format!("\r\n--{b}\r\n").as_bytes());
        if create_missing {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"create_missing\"\r\n\r\non\r\n",
            );
            body.extend_from_slice(format!("--{b}\r\n").as_bytes());
        }
        // Close the body: replace the trailing delimiter's line break with `--`.
        body.truncate(body.len() - 2);
        body.extend_from_slice(b"--\r\n");
        send(
            self.p,
            "POST",
            target,
            &[
                ("cookie", &self.cookie),
                (
                    "content-type",
                    &format!("multipart/form-data; boundary={b}"),
                ),
            ],
            &body,
        )
    }
}

fn event(id: &str, kind: EventType) -> Event {
    Event {
        id: id.into(),
        kind,
        matter: serde_json::from_str(include_str!("../../../../tests/fixtures/matter-basic.json"))
            .unwrap(),
    }
}

#[test]
fn the_overview_links_the_pages_and_counts_what_waits() {
    let p = FakePlatform::configured(); // its network always fails
    events::handle(&p, &event("e1", EventType::Created)).unwrap_err();
    events::handle(&p, &event("e2", EventType::Closed)).unwrap_err();
    let b = Browser::sign_in(&p);
    let r = b.get("/admin/ops");
    assert_eq!(r.status, 200, "{}", text(&r));
    let html = text(&r);
    assert!(
        html.contains("<strong id=\"count-failed\">2</strong>"),
        "{html}"
    );
    for page in ["/ops/failed", "/ops/feed", "/ops/audit", "/ops/backfill"] {
        assert!(html.contains(&format!("href=\"/admin{page}\"")), "{page}");
    }
    assert!(html.contains("Not polled yet"));
    // Under a tenant's prefix, links follow it.
    let r = send(
        &p,
        "GET",
        "/admin/ops/",
        &[("cookie", &b.cookie), ("x-forwarded-prefix", "/t/acme")],
        b"",
    );
    assert!(text(&r).contains("href=\"/t/acme/admin/ops/failed\""));
    assert_eq!(b.get("/admin/ops/nope").status, 404);
    assert_eq!(b.get("/admin/ops/failed/replay-all").status, 405);
    assert_eq!(b.post("/admin/ops/audit", "").status, 405);
}

#[test]
fn the_audit_trail_filters_and_refuses_a_misspelt_outcome_beside_its_field() {
    let p = FakePlatform::configured();
    audit::record(&p, "provision", "M-1", "ok", "made <ws>".into()).unwrap();
    p.advance(86_400 * 3);
    audit::record(&p, "close", "M-2", "unavailable", "down".into()).unwrap();
    let b = Browser::sign_in(&p);
    let r = b.get("/admin/ops/audit");
    assert_eq!(r.status, 200);
    let html = text(&r);
    assert!(html.contains("id=\"audit\""));
    assert!(
        html.contains("made &#60;ws&#62;") && !html.contains("<ws>"),
        "escaped: {html}"
    );
    let r = b.get("/admin/ops/audit?outcome=unavailable&matter=");
    let html = text(&r);
    assert!(
        html.contains("down") && !html.contains("made &#60;ws&#62;"),
        "{html}"
    );
    assert!(html.contains("<option value=\"unavailable\" selected>"));
    let r = b.get("/admin/ops/audit?matter=M-1");
    assert!(text(&r).contains("made &#60;ws&#62;") && !text(&r).contains(">down<"));
    // The first record is at the clock's start; a since-date after it leaves only the second.
    let first_day = crate::console::operations::time::iso(p.now() - 86_400 * 3);
    let since = &crate::console::operations::time::iso(p.now())[..10];
    let r = b.get(&format!("/admin/ops/audit?since={since}"));
    let html = text(&r);
    assert!(
        html.contains("down") && !html.contains("made &#60;ws&#62;"),
        "{html}"
    );
    let r = b.get(&format!("/admin/ops/audit?until={}", &first_day[..10]));
    let html = text(&r);
    assert!(
        !html.contains("down") && html.contains("made &#60;ws&#62;"),
        "{html}"
    );

    let r = b.get("/admin/ops/audit?outcome=unavailible&since=yesterday&limit=0&matter=a%2Fb");
    assert_eq!(r.status, 422);
    let html = text(&r);
    for field in ["outcome", "since", "limit", "matter"] {
        assert!(
            html.contains(&format!("id=\"filter-{field}-error\"")),
            "{field}: {html}"
        );
        assert!(html.contains(&format!("aria-describedby=\"filter-{field}-error\"")));
    }
    assert!(html.contains("&#34;unavailible&#34; is not an outcome"));
    assert!(
        html.contains("value=\"yesterday\""),
        "what was typed is kept"
    );
    assert!(
        !html.contains("id=\"audit\""),
        "no table from refused filters"
    );
}

#[test]
fn a_failed_event_is_replayed_alone_from_its_button_with_a_notice_and_an_audit_record() {
    let p = FakePlatform::configured(); // its network always fails
    events::handle(&p, &event("e1", EventType::Created)).unwrap_err();
    events::handle(&p, &event("e2", EventType::Closed)).unwrap_err();
    let b = Browser::sign_in(&p);
    let html = text(&b.get("/admin/ops/failed"));
    assert!(html.contains("id=\"replay-e1\"") && html.contains("id=\"replay-e2\""));
    assert!(html.contains("action=\"/admin/ops/failed/e2/replay\""));
    assert!(html.contains("id=\"replay-all\""));
    assert!(html.contains("unavailable"), "the reason is shown");

    // Without the session's token, nothing is replayed.
    let r = send(
        &p,
        "POST",
        "/admin/ops/failed/e2/replay",
        &[
            ("cookie", &b.cookie),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        b"csrf=forged",
    );
    assert_eq!(r.status, 403);
    assert_eq!(events::failed(&p).unwrap()[1].attempts, 1);

    // Still failing: one more attempt on e2 only, and the notice says why.
    let r = b.post("/admin/ops/failed/e2/replay", "");
    assert_eq!(r.status, 303);
    let to = r.header("location").unwrap().to_string();
    assert_eq!(
        to,
        "/admin/ops/failed?replayed=e2&result=failing#replay-notice"
    );
    let attempts: Vec<_> = events::failed(&p)
        .unwrap()
        .iter()
        .map(|d| d.attempts)
        .collect();
    assert_eq!(attempts, vec![1, 2]);
    let html = text(&b.get(to.split('#').next().unwrap()));
    assert!(html.contains("id=\"replay-notice\""), "{html}");
    assert!(
        html.contains("Event e2 was replayed and still fails: not-linked"),
        "{html}"
    );
    let log = audit::read(&p, &audit::Query::default()).unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].outcome.as_str()),
        ("replay", "not-linked")
    );
    assert!(log[0].detail.contains("by admin"), "{}", log[0].detail);

    // The cause is gone (the matter type is out of scope now): it goes through, and is gone.
    p.set_config("matter_types", r#"["Conveyancing"]"#);
    let r = b.post("/admin/ops/failed/e2/replay", "");
    assert_eq!(
        r.header("location"),
        Some("/admin/ops/failed?replayed=e2&result=succeeded#replay-notice")
    );
    let html = text(&b.get("/admin/ops/failed?replayed=e2&result=succeeded"));
    assert!(html.contains("Event e2 was replayed and went through."));
    assert!(!html.contains("id=\"replay-e2\"") && html.contains("id=\"replay-e1\""));
    let log = audit::read(&p, &audit::Query::default()).unwrap();
    assert_eq!(
        (log[0].action.as_str(), log[0].outcome.as_str()),
        ("replay", "ok")
    );

    // Replayed twice (a second tab): nothing left to run.
    let r = b.post("/admin/ops/failed/e2/replay", "");
    assert!(r.header("location").unwrap().contains("result=gone"));
    // Replay all takes the rest.
    let r = b.post("/admin/ops/failed/replay-all", "");
    assert_eq!(
        r.header("location"),
        Some("/admin/ops/failed?all=1&succeeded=1&failing=0&held=0#replay-notice")
    );
    assert!(events::failed(&p).unwrap().is_empty());
    let html = text(&b.get("/admin/ops/failed?all=1&succeeded=1&failing=0&held=0"));
    assert!(
        html.contains("Replayed all: 1 went through, 0 still failing."),
        "{html}"
    );
    assert!(html.contains("No failed event is waiting"));
}

#[test]
fn held_actionstep_deliveries_are_listed_with_the_failed_events() {
    let p = FakePlatform::configured();
    crate::held::keep(
        &p,
        crate::actionstep::deliver::SOURCE,
        crate::held::Body::Read(b"{nope"),
        "malformed",
        "not a hook",
    )
    .unwrap();
    let b = Browser::sign_in(&p);
    let html = text(&b.get("/admin/ops/failed"));
    assert!(
        html.contains("not a hook") && html.contains("id=\"held\""),
        "{html}"
    );
    assert!(text(&b.get("/admin/ops")).contains("id=\"count-held\">1<"));
}

#[test]
fn the_feed_page_shows_source_last_poll_lag_cursor_and_the_oldest_unacknowledged_change() {
    use crate::feed::change::{Batch, Change, Delta, Source};
    use crate::feed::state::{FeedState, Pending};
    let p = FakePlatform::configured();
    let b = Browser::sign_in(&p);
    let html = text(&b.get("/admin/ops/feed"));
    assert!(html.contains("id=\"feed-state\"") && html.contains("has not been polled yet"));

    let mut st = FeedState::start();
    st.acked = 4;
    st.last_source = Some(Source::Sync);
    st.last_polled_at = Some(p.now());
    let member = |id: &str| crate::security::Member {
        id: id.into(),
        trustee_type: crate::security::TrusteeType::User,
        access_level: crate::security::AccessLevel::ReadWrite,
    };
    let mut a = Change::new(
        "M-1",
        "ACTIVE!1",
        Delta::Added(member("JSMITH")),
        None,
        p.now() - 30,
    );
    a.id = st.cursor(5) + ".1";
    let mut c = Change::new(
        "M-2",
        "ACTIVE!2",
        Delta::Added(member("AJONES")),
        None,
        p.now() - 90,
    );
    c.id = st.cursor(5) + ".2";
    st.pending = Some(Pending {
        seq: 5,
        batch: Batch {
            changes: vec![a, c],
            next_cursor: st.cursor(5),
            source: Source::Sync,
            notes: Vec::new(),
        },
        queue_position: None,
        snapshots: Vec::new(),
    });
    p.kv_set(keys::FEED_STATE, &serde_json::to_vec(&st).unwrap())
        .unwrap();
    p.advance(120);
    let html = text(&b.get("/admin/ops/feed"));
    assert!(html.contains("Sync API crawl"), "{html}");
    assert!(
        html.contains("lag <span id=\"feed-lag\">2 min</span>"),
        "{html}"
    );
    assert!(html.contains(&st.cursor(4)));
    assert!(html.contains("2 changes"));
    assert!(
        html.contains(&format!("{}.2", st.cursor(5))) && html.contains("matter M-2"),
        "the oldest: {html}"
    );
    p.set_config("change_source", "carrier-pigeon");
    let html = text(&b.get("/admin/ops/feed"));
    assert!(
        html.contains("carrier-pigeon"),
        "a bad setting is shown: {html}"
    );
}

const CSV: &[u8] = b"id,title,matter_type,client_id,client_name\n\
    88231,Smith v Jones,Litigation,C-1,Acme\n\
    ,No id,Litigation,C-1,Acme\n\
    88232,Brown v Green,Litigation,C-1,Acme\n";

#[test]
fn a_backfill_is_uploaded_stepped_to_done_and_its_report_downloaded() {
    let p = FakePlatform::configured(); // its network always fails
    let b = Browser::sign_in(&p);
    let html = text(&b.get("/admin/ops/backfill"));
    for id in ["backfill-file", "backfill-start", "backfill-create-missing"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(html.contains("enctype=\"multipart/form-data\""));

    // The CSRF token travels in the multipart body.
    assert_eq!(
        b.upload("/admin/ops/backfill", "forged", CSV, false).status,
        403
    );
    assert!(backfill_job::list(&p).unwrap().is_empty());
    // A misspelt column is refused beside the file field, as the CLI refuses it.
    let r = b.upload(
        "/admin/ops/backfill",
        &b.csrf,
        b"id,title,matter_type,file_refrence\n1,t,x,r\n",
        true,
    );
    assert_eq!(r.status, 422);
    let html = text(&r);
    assert!(
        html.contains("id=\"backfill-file-error\"") && html.contains("file_refrence"),
        "{html}"
    );
    assert!(
        html.contains("name=\"create_missing\" value=\"on\" checked"),
        "kept"
    );

    let r = b.upload("/admin/ops/backfill", &b.csrf, CSV, false);
    assert_eq!(r.status, 303, "{}", text(&r));
    let job_url = r.header("location").unwrap().to_string();
    let job = backfill_job::list(&p).unwrap().remove(0);
    assert_eq!(job_url, format!("/admin/ops/backfill/{}", job.id));
    assert_eq!(
        (job.total, job.started_by.as_str(), job.file_name.as_str()),
        (3, "admin", "legacy.csv")
    );
    let html = text(&b.get(&job_url));
    assert!(html.contains("id=\"backfill-progress\"") && html.contains("id=\"backfill-continue\""));
    assert!(
        html.contains("<span data-count=\"done\">0</span> / 3"),
        "{html}"
    );
    assert!(!html.contains("id=\"backfill-report\""));

    // Without scripts: one step, then the page again (the fake clock stands still, so the
    // step's budget takes every row).
    let r = b.post(&format!("{job_url}/step"), "");
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some(job_url.as_str()));
    let html = text(&b.get(&job_url));
    assert!(
        html.contains("<span data-count=\"done\">3</span> / 3"),
        "{html}"
    );
    assert!(html.contains("id=\"backfill-report\"") && !html.contains("id=\"backfill-continue\""));
    assert!(html.contains("invalid-row"));

    // The script's step asks for JSON; a finished job runs nothing more.
    let r = send(
        &p,
        "POST",
        &format!("{job_url}/step"),
        &[
            ("cookie", &b.cookie),
            ("content-type", "application/x-www-form-urlencoded"),
            ("accept", "application/json"),
        ],
        format!("csrf={}", b.csrf).as_bytes(),
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["finished"], true);
    assert_eq!(v["progress"]["done"], 3);
    assert_eq!(v["progress"]["failed"], 3, "{v}");

    let r = b.get(&format!("{job_url}/report.csv"));
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/csv"));
    assert_eq!(
        r.header("content-disposition"),
        Some(format!("attachment; filename=\"backfill-{}.csv\"", job.id).as_str())
    );
    let csv = text(&r);
    assert!(
        csv.starts_with("line,matter_id,outcome,workspace_id,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4);
    assert_eq!(
        b.get("/admin/ops/backfill/0123456789abcdef0123456789abcdef")
            .status,
        404
    );
    assert_eq!(b.get("/admin/ops/backfill/..%2Fx/report.csv").status, 404);
}
