//! The console's operations pages through `matterlink serve`, the real `.wasm` and the sandbox,
//! driven over HTTP as a browser without JavaScript drives them: sign in with the password, see
//! an event that failed while iManage was down on the failed-events page, replay it from its
//! button once iManage is back, and find it gone and audited; upload a CSV of legacy matters,
//! step the backfill to the end and download its report.

use matterlink_e2e::console::{input_value, multipart, Console, Page};
use matterlink_e2e::{fixture, post_event, Env, Server, WEBHOOK_SECRET};
use reqwest::StatusCode;
use serde_json::json;

const PASSWORD: &str = "a long console password";

/// The shared console client, with the session's CSRF token at hand and answers in the shapes
/// these tests read: a status with the page, or with where a 303 sends the browser.
struct Browser {
    c: Console,
    csrf: String,
}

impl Browser {
    async fn sign_in(base: &str) -> Browser {
        let mut c = Console::new(base);
        c.sign_in(PASSWORD).await;
        let page = c.get("/admin/ops").await;
        assert_eq!(page.status, 200, "{}", page.html);
        let csrf = input_value(&page.html, "csrf");
        Browser { c, csrf }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let page = self.c.get(path).await;
        (status(page.status), page.html)
    }

    /// Posts a form with the session's token, or with `csrf` instead; the answer's status and
    /// `Location`.
    async fn post_with(&mut self, path: &str, csrf: &str) -> (StatusCode, String) {
        let page = self.c.post_form(path, &[("csrf", csrf)]).await;
        (status(page.status), page.location.unwrap_or_default())
    }

    async fn post(&mut self, path: &str) -> (StatusCode, String) {
        let csrf = self.csrf.clone();
        self.post_with(path, &csrf).await
    }

    /// Uploads `csv` as the backfill form does (multipart, the token a field of it).
    async fn upload(&mut self, csv: &str, create_missing: bool) -> Page {
        let mut fields = vec![("csrf", self.csrf.as_str())];
        if create_missing {
            fields.push(("create_missing", "on"));
        }
        let b = "----matterlinkE2eBoundary";
        let body = multipart(
            b,
            &fields,
            ("file", "legacy.csv", "text/csv", csv.as_bytes()),
        );
        self.c.post_multipart("/admin/ops/backfill", body, b).await
    }
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap()
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
    let mut b = Browser::sign_in(&s.url).await;

    // iManage answers 500 to everything: the event fails and waits as a dead letter.
    env.state().set_faults(imanage_sandbox::Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let event = json!({"id": "evt-ops-1", "type": "matter.created", "matter": fixture("matter-basic.json")});
    let r = post_event(&s.url, &event).await;
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
    let (status, _) = b.post_with("/admin/ops/failed/replay-all", "forged").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_is_uploaded_stepped_to_done_and_reported() {
    let env = Env::start().await;
    env.state().seed_legacy_workspaces();
    let s = serve(&env).await;
    let mut b = Browser::sign_in(&s.url).await;
    let before = env.state().workspaces().len();

    // One found by its matter id, one with two candidates by its file reference, one with none.
    let csv = "id,title,matter_type,client_id,client_name,file_reference\n\
        88231,Estate of M. Okafor,Probate,C-777,Okafor Family,OLD-1999-0713\n\
        88233,Ngata Trust dispute,Litigation,C-300,Ngata Trust,OLD-2011-0042\n\
        N-1,Brand new,Litigation,C-1,Client One,\n";
    let r = b.upload(csv, true).await;
    assert_eq!(r.status, 303, "{}", r.html);
    let job = r.location.expect("where the job is");
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

    let r = b.c.get(&format!("{job}/report.csv")).await;
    assert_eq!(r.status, 200);
    assert!(r.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment; filename=\"backfill-"));
    let report = r.html;
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
