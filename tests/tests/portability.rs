//! The component imports only what Spin ≥ 3.1 and the bundled host both provide, and exports
//! the contract: the portable set that lets one `.wasm` run in every home (ARCHITECTURE.md).

use matterlink_e2e::{component_imports_and_exports, import_allowed};

#[test]
fn imports_stay_inside_the_allowed_list() {
    let (imports, _) = component_imports_and_exports();
    let refused: Vec<_> = imports.iter().filter(|i| !import_allowed(i)).collect();
    assert!(
        refused.is_empty(),
        "imports outside the portable list: {refused:?}"
    );
    for needed in [
        "wasi:http/outgoing-handler@0.2.12",
        "wasi:keyvalue/store@0.2.0-draft2",
        "wasi:keyvalue/atomics@0.2.0-draft2",
        "wasi:config/store@0.2.0-draft-2024-09-27",
    ] {
        assert!(
            imports.iter().any(|i| i == needed),
            "{needed} missing from {imports:?}"
        );
    }
}

#[test]
fn exports_the_contract_and_the_incoming_handler() {
    let (_, exports) = component_imports_and_exports();
    assert!(
        exports
            .iter()
            .any(|e| e == "matterlink:imanage/integration@0.1.0"),
        "{exports:?}"
    );
    assert!(
        exports
            .iter()
            .any(|e| e.starts_with("wasi:http/incoming-handler@0.2.")),
        "{exports:?}"
    );
}

#[test]
fn the_check_refuses_platform_specific_and_wrong_versions() {
    for bad in [
        "fermyon:spin/key-value@2.0.0",
        "spin:key-value/key-value@3.0.0",
        "wasi:keyvalue/store@0.2.0-draft",
        "wasi:config/store@0.2.0-rc.1",
        "wasi:http/handler@0.3.0",
        "wasi:sockets/tcp@0.2.12",
        "wasi:http/types",
    ] {
        assert!(!import_allowed(bad), "{bad} must be refused");
    }
    assert!(import_allowed("wasi:http/types@0.2.6"));
}
