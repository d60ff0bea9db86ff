//! Builds the minimal component (`bench/minimal`) for `wasm32-wasip2` and hands its path to the
//! benchmark, which serves it as the floor of `matterlink serve`; and again with its feature
//! `store-floor`, the floor with a signed duplicate's key-value work. As `host/build.rs` does for
//! matterlink: a nested cargo in `target/component-build` (so the two share compiled
//! dependencies) with a clean environment.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("workspace root");
    for watched in ["bench/minimal", "wit", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let target_dir = root.join("target").join("component-build");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    // The plain build and the store floor's (feature `store-floor`): one after the other, since
    // both write the same artifact, which is copied out in between.
    for (features, file, variable) in [
        ("", "minimal.wasm", "MATTERLINK_MINIMAL_WASM"),
        (
            "store-floor",
            "minimal-store.wasm",
            "MATTERLINK_MINIMAL_STORE_WASM",
        ),
    ] {
        let out = out_dir.join(file);
        build(root, &target_dir, features, &out);
        println!("cargo:rustc-env={variable}={}", out.display());
    }
}

/// Builds `bench/minimal` with `features` for wasm32 and copies the component to `out`.
fn build(root: &Path, target_dir: &Path, features: &str, out: &Path) {
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
            "--features",
            features,
        ])
        .arg("--target-dir")
        .arg(target_dir)
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
    std::fs::copy(
        target_dir.join("wasm32-wasip2/release/matterlink_minimal.wasm"),
        out,
    )
    .expect("copying the minimal component");
}
