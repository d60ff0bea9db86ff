//! Builds the minimal component (`bench/minimal`) for `wasm32-wasip2` and hands its path to the
//! benchmark, which serves it as the floor of `matterlink serve`. As `host/build.rs` does for
//! matterlink: a nested cargo in `target/component-build` (so the two share compiled
//! dependencies) with a clean environment.

use std::env;
use std::path::PathBuf;
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("workspace root");
    for watched in ["bench/minimal", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("component-build");
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-wasip2",
            "-p",
            "matterlink-minimal",
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTC_WORKSPACE_WRAPPER")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_MAKEFLAGS")
        .status()
        .expect("running cargo for the minimal component");
    assert!(status.success(), "building bench/minimal failed");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join("minimal.wasm");
    std::fs::copy(
        target_dir.join("wasm32-wasip2/release/matterlink_minimal.wasm"),
        &out,
    )
    .expect("copying the minimal component");
    println!("cargo:rustc-env=MATTERLINK_MINIMAL_WASM={}", out.display());
}
