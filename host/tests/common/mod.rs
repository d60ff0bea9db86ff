//! What the tests of the `matterlink` binary share: the binary, configured through its
//! environment only (as a deployment would be) against a sandbox, and the fixtures.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

pub mod chaos;
pub mod redis;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use imanage_sandbox::{Sandbox, SandboxConfig};
use tokio::process::Command;

pub const BIN: &str = env!("CARGO_BIN_EXE_matterlink");

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(name)
}

/// `matterlink` for the sandbox's service account and Litigation template, with its data in
/// `data_dir`; nothing else from the test's own environment reaches it.
pub fn matterlink(sandbox: &Sandbox, data_dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("MATTERLINK_DATA_DIR", data_dir)
        .env("MATTERLINK_IMANAGE_BASE_URL", sandbox.base_url())
        .env("MATTERLINK_IMANAGE_LIBRARY", imanage_sandbox::LIBRARY)
        .env("MATTERLINK_IMANAGE_CLIENT_ID", imanage_sandbox::CLIENT_ID)
        .env(
            "MATTERLINK_IMANAGE_CLIENT_SECRET",
            imanage_sandbox::CLIENT_SECRET,
        )
        .env("MATTERLINK_IMANAGE_USERNAME", imanage_sandbox::SERVICE_USER)
        .env(
            "MATTERLINK_IMANAGE_PASSWORD",
            imanage_sandbox::SERVICE_PASSWORD,
        )
        .env("MATTERLINK_TEMPLATES", r#"{"Litigation": "ACTIVE!100"}"#)
        .kill_on_drop(true);
    c
}

/// A sandbox on a loopback port and a data directory of its own, for one test.
pub struct Setup {
    pub sandbox: Sandbox,
    pub data: tempfile::TempDir,
}

impl Setup {
    pub async fn new() -> Setup {
        Setup {
            sandbox: Sandbox::start(
                SocketAddr::from(([127, 0, 0, 1], 0)),
                SandboxConfig::default(),
            )
            .await
            .unwrap(),
            data: tempfile::tempdir().unwrap(),
        }
    }
}
