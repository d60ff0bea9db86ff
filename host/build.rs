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
        let bytes = std::fs::read(&prebuilt).expect("reading MATTERLINK_COMPONENT_WASM");
        std::fs::write(&embedded, without_debug_names(&bytes)).expect("writing the component");
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
    let bytes = std::fs::read(built).expect("reading the component");
    std::fs::write(&embedded, without_debug_names(&bytes)).expect("writing the component");
    println!("cargo:rustc-env=MATTERLINK_WASM={}", embedded.display());
}

/// The component without its `component-name` custom section: the debug names of its instances
/// and functions (16 KB), which `strip = true` leaves, as it strips only the core module inside.
/// Nothing reads them but a debugger; the artifact that ships (embedded here) is smaller without
/// them. Only top-level sections are walked: id, LEB128 size, payload.
fn without_debug_names(wasm: &[u8]) -> Vec<u8> {
    fn leb(bytes: &[u8], mut at: usize) -> (usize, usize) {
        let (mut value, mut shift) = (0usize, 0);
        loop {
            let byte = bytes[at];
            at += 1;
            value |= usize::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                return (value, at);
            }
        }
    }
    assert!(
        wasm.starts_with(b"\0asm"),
        "the component to embed is not a WebAssembly file"
    );
    let mut out = wasm[..8].to_vec();
    let mut at = 8;
    while at < wasm.len() {
        let (size, payload) = leb(wasm, at + 1);
        let end = payload + size;
        let named = |name: &[u8]| {
            let (len, start) = leb(wasm, payload);
            &wasm[start..start + len] == name
        };
        if !(wasm[at] == 0 && named(b"component-name")) {
            out.extend_from_slice(&wasm[at..end]);
        }
        at = end;
    }
    out
}
