//! Builds the component for `wasm32-wasip2` and hands its path to the host crate, which embeds
//! it: `matterlink demo` must work on a fresh machine with nothing but this repository.
//!
//! The nested cargo uses its own target directory (the outer build holds the lock on the
//! normal one) and a clean environment (clippy's and the outer build's flags are not for it).
//! `MATTERLINK_COMPONENT_WASM` points at a prebuilt `.wasm` instead, for packagers.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR"));
    let embedded = out.join("matterlink.wasm");
    println!("cargo:rerun-if-env-changed=MATTERLINK_COMPONENT_WASM");
    if let Ok(prebuilt) = env::var("MATTERLINK_COMPONENT_WASM") {
        println!("cargo:rerun-if-changed={prebuilt}");
        std::fs::copy(&prebuilt, &embedded).expect("copying MATTERLINK_COMPONENT_WASM");
        println!("cargo:rustc-env=MATTERLINK_WASM={}", embedded.display());
        return;
    }

    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().expect("workspace root");
    for watched in [
        "component/src",
        // The console's templates and assets are compiled into the component.
        "component/templates",
        "component/assets",
        "component/Cargo.toml",
        "wit",
        "Cargo.lock",
        "Cargo.toml",
    ] {
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
            "matterlink-component",
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
        .expect("running cargo for the component");
    assert!(
        status.success(),
        "building the component failed; is the target installed? `rustup target add wasm32-wasip2`"
    );
    let built: &Path = &target_dir.join("wasm32-wasip2/release/matterlink_component.wasm");
    std::fs::copy(built, &embedded).expect("copying the component");
    println!("cargo:rustc-env=MATTERLINK_WASM={}", embedded.display());
}
