//! The change feed, the team push and the workspace import from the command line: `--cursor`,
//! `--members`, their usage errors, and the JSON a script reads.

use serde_json::{json, Value};
use tokio::process::Command;

mod common;

use common::{fixture, Setup};

impl Setup {
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = common::matterlink(&self.sandbox, &self.data.path().join("data"));
        c.env("MATTERLINK_PUSH_TEAM", "true").arg("call").args(args);
        c
    }

    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.cmd(args).output().await.unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    async fn json(&self, args: &[&str]) -> Value {
        let (code, stdout, stderr) = self.run(args).await;
        assert_eq!(code, 0, "{args:?}: {stderr}{stdout}");
        serde_json::from_str(&stdout).unwrap()
    }

    fn file(&self, name: &str, content: &str) -> String {
        let path = self.data.path().join(name);
        std::fs::write(&path, content).unwrap();
        path.to_string_lossy().into_owned()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn feed_team_and_import_from_the_command_line() {
    let s = Setup::new().await;
    let matter = fixture("matter-basic.json");
    let matter = matter.to_str().unwrap();
    s.json(&["on-matter-created", "--matter", matter, "--json"])
        .await;

    let start = s.json(&["poll-changes", "--json"]).await;
    assert_eq!(start["changes"], json!([]));
    assert_eq!(start["source"], "event_queue");
    let cursor = start["next_cursor"].as_str().unwrap().to_string();

    let team = s.file(
        "team.json",
        r#"[{"id": "JSMITH", "type": "user", "access_level": "full_access"},
            {"id": "LWONG", "trustee_type": "user", "access_level": "no_access"}]"#,
    );
    let args = [
        "apply-matter-team",
        "--matter-id",
        "1042",
        "--members",
        &team,
        "--json",
    ];
    let applied = s.json(&args).await;
    assert_eq!(applied["unchanged"], false);
    assert_eq!(
        applied["included"],
        json!([{"id": "LWONG", "trustee_type": "user", "access_level": "no_access"}])
    );
    assert_eq!(s.json(&args).await["unchanged"], true);

    let batch = s
        .json(&["poll-changes", "--cursor", &cursor, "--json"])
        .await;
    let walled = batch["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["trustee_id"] == "LWONG")
        .expect("the wall is in the feed");
    assert_eq!(walled["kind"], "added");
    assert_eq!(walled["access_level"], "no_access");
    assert_eq!(walled["matter_id"], "1042");

    let imports = s.json(&["import-workspaces", "--json"]).await;
    assert_eq!(imports, json!({"workspaces": [], "next_cursor": null}));

    for bad in [
        vec!["poll-changes", "--members", team.as_str()],
        vec!["apply-matter-team", "--matter-id", "1042"],
        vec!["apply-matter-team", "--members", team.as_str()],
        vec!["check-connection", "--cursor", "x"],
    ] {
        let (code, _, stderr) = s.run(&bad).await;
        assert_eq!(code, 2, "{bad:?}: {stderr}");
    }
    let broken = s.file(
        "broken.json",
        r#"[{"id": "JSMITH", "access_level": "owner"}]"#,
    );
    let (code, _, stderr) = s
        .run(&[
            "apply-matter-team",
            "--matter-id",
            "1042",
            "--members",
            &broken,
        ])
        .await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("team members"), "{stderr}");
}
