//! The console's operations pages through `matterlink serve`, the real `.wasm` and the sandbox,
//! driven over HTTP as a browser without JavaScript drives them: sign in with the password, see
//! an event that failed while iManage was down on the failed-events page, replay it from its
//! button once iManage is back, and find it gone and audited; upload a CSV of legacy matters,
//! step the backfill to the end and download its report.

use matterlink_e2e::{fixture, signed, unix_now, Env, Server, WEBHOOK_SECRET};
use reqwest::{header, redirect, Method, StatusCode};
use serde_json::json;

const PASSWORD: &str = "a long console password";

/// A browser with a cookie jar of one cookie (the session) that does not follow redirects, so
/// each answer can be looked at.
struct Browser {
    c: reqwest::Client,
    base: String,
    session: String,
    csrf: String,
}

fn cookie(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// The value of the first hidden `csrf` field of a page.
fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a form with a CSRF token")
        .to_string()
}

impl Browser {
    async fn sign_in(base: &str) -> Browser {
        let c = reqwest::Client::builder()
            .redirect(redirect::Policy::none())
            .build()
            .unwrap();
        let form = c.get(format!("{base}/admin/signin")).send().await.unwrap();
        let form_cookie = cookie(&form, "matterlink_signin").expect("the sign-in form's cookie");
        let token = csrf_of(&form.text().await.unwrap());
        let r = c
            .post(format!("{base}/admin/signin"))
            .header(header::COOKIE, format!("matterlink_signin={form_cookie}"))
            .form(&[
                ("csrf", token.as_str()),
                ("password", PASSWORD),
                ("next", "/admin/ops"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let session = cookie(&r, "matterlink_session").expect("a session");
        let mut b = Browser {
            c,
            base: base.to_string(),
            session,
            csrf: String::new(),
        };
        let (status, html) = b.get("/admin/ops").await;
        assert_eq!(status, StatusCode::OK, "{html}");
        b.csrf = csrf_of(&html);
        b
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, format!("{}{path}", self.base))
            .header(
                header::COOKIE,
                format!("matterlink_session={}", self.session),
            )
    }

    async fn get(&self, path: &str) -> (StatusCode, String) {
        let r = self.request(Method::GET, path).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// Posts a form with the session's token; the answer's status and `Location`.
    async fn post(&self, path: &str) -> (StatusCode, String) {
        let r = self
            .request(Method::POST, path)
            .form(&[("csrf", self.csrf.as_str())])
            .send()
            .await
            .unwrap();
        let location = r
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        (r.status(), location)
    }

    /// Uploads `csv` as the backfill form does (multipart, the token a field of it).
    async fn upload(&self, csv: &str, create_missing: bool) -> reqwest::Response {
        let b = "----matterlinkE2eBoundary";
        let mut body = format!(
            "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"legacy.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n",
            self.csrf
        );
        if create_missing {
            body.push_str(&format!(
                "--{b}\r\nContent-Disposition: form-data; name=\"create_missing\"\r\n\r\non\r\n"
            ));
        }
        body.push_str(&format!("--{b}--\r\n"));
        self.request(Method::POST, "/admin/ops/backfill")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={b}"),
            )
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

async fn serve(env: &Env) -> Server {
    let mut config = env.config();
    config.set("webhook_secret", WEBHOOK_SECRET);
    let rt = env.runtime_with(config);
    rt.set_admin_password(PASSWORD)
        .await
        .expect("the host runs the call")
        .expect("the password is stored");
    Server::start(rt).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_event_is_replayed_from_the_operations_page() {
    let env = Env::start().await;
    let s = serve(&env).await;
    let b = Browser::sign_in(&s.url).await;

    // iManage answers 500 to everything: the event fails and waits as a dead letter.
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let event = json!({"id": "evt-ops-1", "type": "matter.created", "matter": fixture("matter-basic.json")});
    let r = signed(
        &reqwest::Client::new(),
        Method::POST,
        &format!("{}/v1/events", s.url),
        serde_json::to_vec(&event).unwrap(),
        unix_now(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);

    let (status, html) = b.get("/admin/ops").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("<strong id=\"count-failed\">1</strong>"),
        "{html}"
    );
    let (_, html) = b.get("/admin/ops/failed").await;
    assert!(html.contains("id=\"replay-evt-ops-1\""), "{html}");
    assert!(html.contains("unavailable"), "the reason is shown: {html}");

    // Still down: the replay reports it still fails, and the letter counts the attempt.
    let (status, to) = b.post("/admin/ops/failed/evt-ops-1/replay").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(to.contains("result=failing"), "{to}");
    assert_eq!(
        env.kv().get_json("event/dead/evt-ops-1").unwrap()["attempts"],
        2
    );
    let (_, html) = b.get(to.split('#').next().unwrap()).await;
    assert!(
        html.contains("id=\"replay-notice\"") && html.contains("still fails: unavailable"),
        "{html}"
    );

    // iManage is back: the replay from the page provisions the workspace, once.
    env.state().set_faults(imanage_sandbox::Faults::default());
    let (status, to) = b.post("/admin/ops/failed/evt-ops-1/replay").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        to,
        "/admin/ops/failed?replayed=evt-ops-1&result=succeeded#replay-notice"
    );
    let (_, html) = b.get(to.split('#').next().unwrap()).await;
    assert!(
        html.contains("Event evt-ops-1 was replayed and went through."),
        "{html}"
    );
    assert!(
        !html.contains("id=\"replay-evt-ops-1\""),
        "gone from the list"
    );
    assert_eq!(env.state().workspaces().len(), 1);
    assert!(env.kv().get_json("event/dead/evt-ops-1").is_none());
    assert!(env.kv().get_json("event/done/evt-ops-1").is_some());
    // A second click (another tab) runs nothing.
    let (_, to) = b.post("/admin/ops/failed/evt-ops-1/replay").await;
    assert!(to.contains("result=gone"), "{to}");
    assert_eq!(env.state().workspaces().len(), 1);

    // The audit trail shows the provisioning and the replay, with who asked for it.
    let matter = fixture("matter-basic.json").id;
    let (status, html) = b.get(&format!("/admin/ops/audit?matter={matter}")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"audit\""));
    assert!(
        html.contains("replayed from the console by admin: it went through"),
        "{html}"
    );
    assert!(html.contains("<td>provision</td>"), "{html}");
    let (status, html) = b.get("/admin/ops/audit?outcome=unavailible").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"filter-outcome-error\""), "{html}");

    // Without the session's token, a replay is refused.
    let r = b
        .request(Method::POST, "/admin/ops/failed/replay-all")
        .form(&[("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_is_uploaded_stepped_to_done_and_reported() {
    let env = Env::start().await;
    env.state().seed_legacy_workspaces();
    let s = serve(&env).await;
    let b = Browser::sign_in(&s.url).await;
    let before = env.state().workspaces().len();

    // One found by its matter id, one with two candidates by its file reference, one with none.
    let csv = "id,title,matter_type,client_id,client_name,file_reference\n\
        88231,Estate of M. Okafor,Probate,C-777,Okafor Family,OLD-1999-0713\n\
        88233,Ngata Trust dispute,Litigation,C-300,Ngata Trust,OLD-2011-0042\n\
        N-1,Brand new,Litigation,C-1,Client One,\n";
    let r = b.upload(csv, true).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    let job = r.headers()[header::LOCATION].to_str().unwrap().to_string();
    assert!(job.starts_with("/admin/ops/backfill/"), "{job}");
    let (_, html) = b.get(&job).await;
    assert!(
        html.contains("<span data-count=\"done\">0</span> / 3"),
        "{html}"
    );
    assert!(html.contains("id=\"backfill-continue\""));
    assert_eq!(
        env.state().workspaces().len(),
        before,
        "nothing runs on upload"
    );

    // Continue until done, as the button does without JavaScript.
    let mut steps = 0;
    loop {
        let (status, to) = b.post(&format!("{job}/step")).await;
        assert_eq!((status, to.as_str()), (StatusCode::SEE_OTHER, job.as_str()));
        steps += 1;
        let (_, html) = b.get(&job).await;
        if html.contains("id=\"backfill-report\"") {
            assert!(
                html.contains("<span data-count=\"done\">3</span> / 3"),
                "{html}"
            );
            break;
        }
        assert!(steps < 10, "the backfill never finished: {html}");
    }
    // Another step of a finished job runs nothing more.
    let (status, _) = b.post(&format!("{job}/step")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        env.state().workspaces().len(),
        before + 1,
        "one created, once"
    );
    assert!(env.kv().get_json("link/matter/88231").is_some());
    assert!(
        env.kv().get_json("link/matter/88233").is_none(),
        "a person picks"
    );
    assert!(env.kv().get_json("link/matter/N-1").is_some());

    let r = b
        .request(Method::GET, &format!("{job}/report.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"backfill-"));
    let report = r.text().await.unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 4, "{report}");
    assert!(lines[0].starts_with("line,matter_id,outcome,workspace_id"));
    assert!(
        lines[1].starts_with("2,88231,linked,ACTIVE!501,"),
        "{report}"
    );
    assert!(lines[2].starts_with("3,88233,needs-url,,,,"), "{report}");
    assert!(
        lines[2].contains("Ngata Trust dispute (volume 1)"),
        "{report}"
    );
    assert!(lines[3].starts_with("4,N-1,created,ACTIVE!"), "{report}");
    s.stop().await;
}
