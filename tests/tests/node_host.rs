//! The same `.wasm` under Node.js through jco (examples/node-host): transpiled, given the
//! platform's own wasi:keyvalue and wasi:config modules and preview2-shim for the rest, it
//! provisions matter 1042 against the sandbox twice and the sandbox holds one workspace.
//!
//! Needs `node` and `npm` on PATH (`.ci/run` installs them); without them the test says so and
//! passes. `npm ci` runs only when examples/node-host/node_modules is missing or out of date.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use matterlink_e2e::Env;
use matterlink_host::EMBEDDED_COMPONENT;

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/node-host")
}

/// `name` as the shell would find it on PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

fn run(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("running {command:?}: {e}"));
    println!("$ {command:?} -> {}", output.status);
    print!("{}", String::from_utf8_lossy(&output.stdout));
    eprint!("{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// Whether node_modules holds exactly the versions package.json pins.
fn dependencies_installed(dir: &Path) -> bool {
    let read = |path: PathBuf| -> Option<serde_json::Value> {
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()
    };
    let Some(manifest) = read(dir.join("package.json")) else {
        return false;
    };
    let Some(pinned) = manifest["dependencies"].as_object() else {
        return false;
    };
    dir.join("node_modules/.package-lock.json").is_file()
        && pinned.iter().all(|(name, version)| {
            read(dir.join("node_modules").join(name).join("package.json"))
                .is_some_and(|installed| installed["version"] == *version)
        })
}

#[tokio::test]
async fn the_component_provisions_once_under_node_through_jco() {
    let (Some(node), Some(npm)) = (on_path("node"), on_path("npm")) else {
        println!(
            "skipped: node/npm not found (install nodejs and npm to run the Node embedding example)"
        );
        return;
    };
    let dir = example_dir();
    let env = Env::start().await;
    let base_url = env.sandbox.base_url();
    let work = tempfile::tempdir().expect("temp dir");
    let wasm = work.path().join("matterlink_component.wasm");
    std::fs::write(&wasm, EMBEDDED_COMPONENT).expect("component written");

    // Node runs off the test's thread, so the sandbox on this runtime keeps answering it.
    let output = tokio::task::spawn_blocking(move || {
        if !dependencies_installed(&dir) {
            let install = run(Command::new(&npm)
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(&dir));
            assert!(install.status.success(), "npm ci failed");
        }
        let unit = run(Command::new(&node)
            .args(["--test", "platform.test.mjs"])
            .current_dir(&dir));
        assert!(
            unit.status.success(),
            "the key-value and config modules' tests failed"
        );
        run(Command::new(&node)
            .arg("provision.mjs")
            .arg(&wasm)
            .arg(&base_url)
            .current_dir(&dir))
    })
    .await
    .expect("node ran");

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "provision.mjs failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );

    let state = env.state();
    let for_matter: Vec<String> = state
        .workspaces()
        .into_iter()
        .filter(|w| w.custom_text("custom2").as_deref() == Some("1042"))
        .map(|w| w.id)
        .collect();
    assert_eq!(
        for_matter.len(),
        1,
        "one workspace for matter 1042: {for_matter:?}"
    );
    assert_eq!(state.workspaces().len(), 1, "and no other workspace");
    assert!(
        stdout.contains(&format!("workspace {}", for_matter[0])),
        "the output names the workspace {}:\n{stdout}",
        for_matter[0]
    );
}
