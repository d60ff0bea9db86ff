//! The real Spin CLI running the real `.wasm` as an HTTP trigger, for the tests that only a
//! Spin run can make honest (its key-value stores, its variables). Spin is found through
//! `$SPIN` or at `../shared/tools/spin` beside the repository; without it the tests say plainly
//! that they skipped, since a fresh clone has no `../shared`.

use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use matterlink_host::EMBEDDED_COMPONENT;

/// How long one `spin up` may take to answer `/v1/health`: it compiles the component first,
/// on a machine that may be busy with builds.
const STARTUP: Duration = Duration::from_secs(240);

/// The Spin binary, or `None` after saying that the test is skipped.
pub fn binary(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("SPIN")
        .map(PathBuf::from)
        .or_else(|| Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/tools/spin")))
        .filter(|p| p.is_file());
    if found.is_none() {
        eprintln!("skipped {test}: no Spin binary (set SPIN, or put it at ../shared/tools/spin)");
    }
    found
}

/// A loopback port free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory holding the component and a copy of the repository's `spin.toml` whose `source`
/// names it: `spin up` then runs exactly the `.wasm` the host embeds, with no `spin build`.
pub struct App {
    spin: PathBuf,
    dir: tempfile::TempDir,
}

impl App {
    /// The app, with a runtime config choosing a Redis `default` store when `redis_url` is set.
    pub fn new(spin: PathBuf, redis_url: Option<&str>) -> App {
        let dir = tempfile::tempdir().unwrap();
        let wasm = dir.path().join("matterlink_component.wasm");
        // `MATTERLINK_SPIN_WASM` runs another build (say, an older one, to see a test fail).
        let component = match std::env::var_os("MATTERLINK_SPIN_WASM") {
            Some(path) => std::fs::read(path).expect("MATTERLINK_SPIN_WASM is readable"),
            None => EMBEDDED_COMPONENT.to_vec(),
        };
        std::fs::write(&wasm, component).unwrap();
        let repo_manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml");
        let mut m: toml::Table = std::fs::read_to_string(repo_manifest)
            .unwrap()
            .parse()
            .unwrap();
        let c = m
            .get_mut("component")
            .and_then(|c| c.get_mut("matterlink"))
            .and_then(toml::Value::as_table_mut)
            .expect("spin.toml has [component.matterlink]");
        c.insert("source".into(), wasm.display().to_string().into());
        c.remove("build");
        std::fs::write(dir.path().join("spin.toml"), toml::to_string(&m).unwrap()).unwrap();
        if let Some(url) = redis_url {
            // The runtime config the repository ships (deploy/spin/), pointed at this Redis.
            let shipped = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../deploy/spin/runtime-config.toml"
            );
            let mut rc: toml::Table = std::fs::read_to_string(shipped).unwrap().parse().unwrap();
            let store = rc
                .get_mut("key_value_store")
                .and_then(|s| s.get_mut("default"))
                .and_then(toml::Value::as_table_mut)
                .expect("deploy/spin/runtime-config.toml has [key_value_store.default]");
            assert_eq!(store["type"].as_str(), Some("redis"));
            store.insert("url".into(), url.into());
            std::fs::write(
                dir.path().join("runtime-config.toml"),
                toml::to_string(&rc).unwrap(),
            )
            .unwrap();
        }
        App { spin, dir }
    }

    /// Starts `spin up` on a free loopback port with these `--variable`s.
    pub fn up(&self, name: &str, variables: &[(&str, &str)]) -> Spin {
        let state = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = std::fs::File::create(state.path().join("spin.log")).unwrap();
        let mut cmd = Command::new(&self.spin);
        cmd.arg("up")
            .arg("-f")
            .arg(self.dir.path().join("spin.toml"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--state-dir")
            .arg(state.path())
            // `spin up` runs the trigger as a child process of its own, which killing `spin up`
            // alone would leave serving after the test: both go in a group of their own, and
            // the group is stopped.
            .process_group(0);
        let rc = self.dir.path().join("runtime-config.toml");
        if rc.exists() {
            cmd.arg("--runtime-config-file").arg(rc);
        }
        for (k, v) in variables {
            cmd.args(["--variable", &format!("{k}={v}")]);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spin starts");
        Spin {
            name: name.into(),
            child,
            url: format!("http://127.0.0.1:{port}"),
            state,
        }
    }
}

/// One running `spin up` and its trigger process, stopped (killed, `spin up` reaped) on drop.
pub struct Spin {
    /// For messages.
    pub name: String,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: tempfile::TempDir,
}

impl Spin {
    /// Waits until `/v1/health` answers; panics with Spin's output if it never does.
    pub async fn ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + STARTUP;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("{} exited ({status}):\n{}", self.name, self.log());
            }
            if let Ok(r) = client.get(format!("{}/v1/health", self.url)).send().await {
                if r.status().is_success() {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "{} did not come up in {STARTUP:?}:\n{}",
            self.name,
            self.log()
        );
    }

    /// What Spin printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.state.path().join("spin.log")).unwrap_or_default()
    }
}

impl Drop for Spin {
    fn drop(&mut self) {
        // The group `up` made, led by `spin up` (its id is the group's).
        let group = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) takes no pointers; a group that is gone already just fails.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}
