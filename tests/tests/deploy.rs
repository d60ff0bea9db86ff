//! The deployment files in deploy/ name only settings that exist, keep secrets in Secrets,
//! and probe a route the component serves. (deploy/spin/runtime-config.toml is run by a real
//! Spin in spin_redis.rs.)

use matterlink_component::settings::{CONFIG_KEYS, SECRET_KEYS};
use matterlink_host::config::HOST_ENV;

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/../deploy/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The YAML documents of a file, each as its lines.
fn documents(text: &str) -> Vec<Vec<&str>> {
    text.split("\n---\n").map(|d| d.lines().collect()).collect()
}

fn kind<'a>(doc: &[&'a str]) -> &'a str {
    doc.iter()
        .find_map(|l| l.strip_prefix("kind: "))
        .unwrap_or_default()
}

/// `MATTERLINK_*` keys set in a document (`KEY: value` lines).
fn matterlink_keys<'a>(doc: &[&'a str]) -> Vec<&'a str> {
    doc.iter()
        .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k))
        .filter(|k| k.starts_with("MATTERLINK_"))
        .collect()
}

#[test]
fn kubernetes_names_real_settings_and_keeps_secrets_in_its_secret() {
    let text = read("kubernetes/matterlink.yaml");
    let docs = documents(&text);
    let mut seen = 0;
    for doc in &docs {
        for key in matterlink_keys(doc) {
            seen += 1;
            let setting = key.trim_start_matches("MATTERLINK_").to_ascii_lowercase();
            assert!(
                CONFIG_KEYS.contains(&setting.as_str()) || HOST_ENV.contains(&key),
                "{key} is neither a setting nor a host variable"
            );
            if SECRET_KEYS.contains(&setting.as_str()) || key == "MATTERLINK_STORE" {
                assert_eq!(kind(doc), "Secret", "{key} must come from the Secret");
            }
        }
    }
    assert!(seen >= 5, "the manifest sets its settings");
    let deployment = docs.iter().find(|d| kind(d) == "Deployment").unwrap();
    let probes = deployment
        .iter()
        .filter(|l| l.trim() == "path: /v1/health")
        .count();
    assert_eq!(probes, 2, "readiness and liveness on /v1/health");
}

#[test]
fn spinkube_variables_are_spin_variables_and_secrets_come_from_a_secret() {
    let text = read("spinkube/spinapp.yaml");
    let app = documents(&text)
        .into_iter()
        .find(|d| kind(d) == "SpinApp")
        .unwrap();
    let lines: Vec<&str> = app.to_vec();
    let mut named = 0;
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.trim().strip_prefix("- name: ") else {
            continue;
        };
        named += 1;
        assert!(CONFIG_KEYS.contains(&name), "{name} is not a Spin variable");
        let from_secret = lines
            .get(i + 1)
            .is_some_and(|next| next.trim() == "valueFrom:");
        assert_eq!(
            from_secret,
            SECRET_KEYS.contains(&name),
            "{name}: secrets, and only secrets, come from the Secret"
        );
    }
    assert!(named >= 5);
}
