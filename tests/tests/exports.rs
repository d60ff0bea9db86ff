//! Every function the built component exports is reachable from the command line: a new export
//! without a `matterlink call` function (or a named reason not to have one) fails here.

use matterlink_host::functions::NOT_CALLABLE;
use matterlink_host::{Function, EMBEDDED_COMPONENT};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::Component;
use wasmtime::Engine;

/// The function names of the `matterlink:imanage/integration` instance the component exports.
fn exported_functions() -> Vec<String> {
    let engine = Engine::default();
    let component = Component::new(&engine, EMBEDDED_COMPONENT).expect("component compiles");
    let ty = component.component_type();
    let (_, integration) = ty
        .exports(&engine)
        .find(|(name, _)| name.starts_with("matterlink:imanage/integration@"))
        .expect("the component exports the integration interface");
    let ComponentItem::ComponentInstance(instance) = integration.ty else {
        panic!("the integration export is an instance");
    };
    instance
        .exports(&engine)
        .filter(|(_, item)| matches!(item.ty, ComponentItem::ComponentFunc(_)))
        .map(|(name, _)| name.to_string())
        .collect()
}

fn uncovered(exported: &[String]) -> Vec<String> {
    exported
        .iter()
        .filter(|name| {
            name.parse::<Function>().is_err() && !NOT_CALLABLE.iter().any(|(n, _)| n == name)
        })
        .cloned()
        .collect()
}

#[test]
fn every_export_has_a_cli_function_or_a_named_exception() {
    let exported = exported_functions();
    assert!(
        exported.len() >= Function::ALL.len(),
        "read too few exports: {exported:?}"
    );
    let missing = uncovered(&exported);
    assert!(
        missing.is_empty(),
        "exported but not callable with `matterlink call` (add them to host/src/functions.rs, \
         or to NOT_CALLABLE with the reason): {missing:?}"
    );
}

#[test]
fn every_cli_function_and_exception_is_exported() {
    let exported = exported_functions();
    let names = Function::ALL
        .iter()
        .map(|f| f.name())
        .chain(NOT_CALLABLE.iter().map(|(n, _)| *n));
    for name in names {
        assert!(
            exported.iter().any(|e| e == name),
            "{name} is listed by the host but the component does not export it: {exported:?}"
        );
    }
}

#[test]
fn the_check_can_fail() {
    // A function the host has never heard of is reported, so the test above is not vacuous.
    let mut exported = exported_functions();
    exported.push("archive-matter".to_string());
    assert_eq!(uncovered(&exported), vec!["archive-matter".to_string()]);
}
