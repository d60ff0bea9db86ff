//! spin.toml and the component agree: every key the component reads is a Spin variable mapped
//! into the component (secrets marked secret), the store and outbound host are declared, and
//! the build command is the cargo build.

use std::collections::BTreeSet;

use matterlink_component::settings::{CONFIG_KEYS, SECRET_KEYS};

fn manifest() -> toml::Table {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml");
    std::fs::read_to_string(path).unwrap().parse().unwrap()
}

#[test]
fn variables_are_exactly_the_keys_the_component_reads() {
    let m = manifest();
    let declared: BTreeSet<&str> = m["variables"]
        .as_table()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let read: BTreeSet<&str> = CONFIG_KEYS.iter().copied().collect();
    assert_eq!(declared, read, "[variables] vs CONFIG_KEYS");

    let component = m["component"]["matterlink"].as_table().unwrap();
    let mapped = component["variables"].as_table().unwrap();
    let mapped_keys: BTreeSet<&str> = mapped.keys().map(String::as_str).collect();
    assert_eq!(
        mapped_keys, read,
        "[component.matterlink.variables] vs CONFIG_KEYS"
    );
    for (k, v) in mapped {
        assert_eq!(
            v.as_str().unwrap(),
            format!("{{{{ {k} }}}}"),
            "{k} maps to its variable"
        );
    }
    for (k, v) in m["variables"].as_table().unwrap() {
        let secret = v
            .get("secret")
            .and_then(toml::Value::as_bool)
            .unwrap_or(false);
        assert_eq!(
            secret,
            SECRET_KEYS.contains(&k.as_str()),
            "{k}: secret = {secret}"
        );
    }
}

#[test]
fn store_outbound_host_trigger_and_build() {
    let m = manifest();
    assert_eq!(m["spin_manifest_version"].as_integer(), Some(2));
    let c = m["component"]["matterlink"].as_table().unwrap();
    assert_eq!(
        c["key_value_stores"].as_array().unwrap(),
        &vec![toml::Value::from("default")]
    );
    assert_eq!(
        c["allowed_outbound_hosts"].as_array().unwrap(),
        &vec![toml::Value::from("{{ imanage_base_url }}")]
    );
    let command = c["build"]["command"].as_str().unwrap();
    assert!(
        command.contains("cargo build")
            && command.contains("--target wasm32-wasip2")
            && command.contains("--release"),
        "{command}"
    );
    assert_eq!(
        c["source"].as_str().unwrap(),
        "target/wasm32-wasip2/release/matterlink_component.wasm"
    );
    let trigger = &m["trigger"]["http"].as_array().unwrap()[0];
    assert_eq!(trigger["component"].as_str(), Some("matterlink"));
    assert_eq!(trigger["route"].as_str(), Some("/..."));
}
