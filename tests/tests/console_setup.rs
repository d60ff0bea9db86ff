//! The console's set-up page through `matterlink serve`, the sandbox and the real `.wasm`: sign
//! in with the password, see the sandbox's libraries, be refused a File Reference → boolean
//! mapping beside the field (nothing saved), save a valid one, and see every caller of the
//! component — here `map-metadata`, what `matterlink call` runs — use what the console saved.

use matterlink_e2e::console::{input_value, unescape, Console};
use matterlink_e2e::{call, fixture, Env, Server};
use matterlink_host::Function;
use serde_json::json;

const PASSWORD: &str = "correct horse battery staple";

fn attr(tag: &str, name: &str) -> Option<String> {
    let at = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    Some(unescape(&tag[at..at + tag[at..].find('"')?]))
}

/// The settings form's fields as a browser sends them back unchanged (inputs, ticked
/// checkboxes, selects' chosen options, the textarea), plus the csrf token.
fn form_fields(page: &str) -> Vec<(String, String)> {
    let start = page
        .find("id=\"settings-form\"")
        .expect("the settings form");
    let form = &page[start..start + page[start..].find("</form>").unwrap()];
    let mut out = vec![("csrf".to_string(), input_value(page, "csrf"))];
    for tag in form.split('<').skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(rest) = tag.strip_prefix("input ") {
            let rest = format!(" {rest}");
            let Some(name) = attr(&rest, "name") else {
                continue;
            };
            let kind = attr(&rest, "type").unwrap_or_default();
            if name == "csrf" || (kind == "checkbox" && !rest.contains(" checked")) {
                continue;
            }
            out.push((name, attr(&rest, "value").unwrap_or_default()));
        }
    }
    for part in form.split("<select ").skip(1) {
        let name = attr(&format!(" {}", &part[..part.find('>').unwrap()]), "name").unwrap();
        let options = &part[..part.find("</select>").unwrap()];
        let chosen = options
            .split("<option ")
            .find(|o| o.contains(" selected>"))
            .and_then(|o| attr(&format!(" {o}"), "value"))
            .unwrap_or_default();
        out.push((name, chosen));
    }
    let at = form.find("name=\"library_routes\"").unwrap();
    let rest = &form[at..];
    out.push((
        "library_routes".into(),
        unescape(&rest[rest.find('>').unwrap() + 1..rest.find("</textarea>").unwrap()]),
    ));
    out
}

/// Owned pairs as the console client takes them.
fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

fn changed(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .cloned()
        .collect();
    out.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    out
}

#[tokio::test]
async fn the_set_up_page_saves_settings_every_caller_uses() {
    let env = Env::start().await;
    let rt = env.runtime();
    rt.instance()
        .await
        .unwrap()
        .set_admin_password(PASSWORD)
        .await
        .unwrap()
        .unwrap();
    let server = Server::start(env.runtime()).await;
    let mut b = Console::new(&server.url);

    // Sign in with the password.
    b.sign_in(PASSWORD).await;

    // The page: the service account signs in, discovery lists the sandbox's libraries and the
    // library's templates fill the drop-downs.
    let answer = b.get("/admin").await;
    let page = answer.html;
    assert_eq!(answer.status, 200, "{page}");
    assert!(page.contains("Connected as"), "{page}");
    assert!(
        page.contains("<option value=\"BRANCH\">BRANCH</option>"),
        "{page}"
    );
    assert!(page.contains("<option value=\"ACTIVE\" selected>ACTIVE</option>"));
    assert!(
        page.contains("(ACTIVE!200)"),
        "the library's templates: {page}"
    );
    assert!(!page.contains(imanage_sandbox::SERVICE_PASSWORD));
    assert!(!page.contains(imanage_sandbox::CLIENT_SECRET));
    let fields = form_fields(&page);

    // File Reference → a boolean field: refused beside the field, nothing saved.
    let refused = changed(
        &fields,
        &[("map.file_reference", "custom25"), ("action", "save")],
    );
    let answer = b.post_form("/admin/setup/settings", &pairs(&refused)).await;
    let page = answer.html;
    assert_eq!(answer.status, 422, "{page}");
    assert!(
        page.contains("<p class=\"field-error\" id=\"map-file_reference-error\">"),
        "{page}"
    );
    assert!(
        page.contains("<option value=\"custom25\" selected>"),
        "the choice is kept"
    );
    assert!(
        env.kv().get_json("console/settings").is_none(),
        "nothing saved"
    );

    // File Reference → a free-text field: saved.
    let valid = changed(
        &fields,
        &[("map.file_reference", "custom16"), ("action", "save")],
    );
    let answer = b.post_form("/admin/setup/settings", &pairs(&valid)).await;
    assert_eq!(answer.status, 303, "{}", answer.html);
    assert_eq!(answer.location.as_deref(), Some("/admin?saved=1"));
    let saved = env.kv().get_json("console/settings").expect("saved");
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["saved_by"], "admin");
    let map: serde_json::Value =
        serde_json::from_str(saved["values"]["field_map"].as_str().unwrap()).unwrap();
    assert_eq!(map["File Reference"], "custom16");
    assert!(env.kv().get_json("console/settings/v1").is_some());

    // The page after saving: the notice, where the value comes from, the checks.
    let answer = b.get("/admin?saved=1").await;
    let page = answer.html;
    assert_eq!(answer.status, 200);
    assert!(page.contains("id=\"saved-notice\""));
    assert!(page.contains("Saved in the console by admin at "));
    assert!(page.contains("<table id=\"checks\">"));
    assert!(
        page.contains("<tr class=\"check ok\"><td>✓ configuration: loaded"),
        "{page}"
    );
    assert!(
        page.contains("<tr class=\"check ok\"><td>✓ field File Reference: custom16"),
        "{page}"
    );
    assert!(
        !page.contains("class=\"check bad\""),
        "every check passes: {page}"
    );

    // Every caller of the component reads it: map-metadata (what `matterlink call` runs).
    let fields = call(&rt, Function::MapMetadata, &fixture("matter-basic.json"))
        .await
        .unwrap();
    let fields = fields.as_array().unwrap();
    assert!(
        fields.contains(&json!({"name": "custom16", "value": "LIT-2026-0042"})),
        "{fields:?}"
    );
    assert!(
        !fields.iter().any(|f| f["name"] == "custom13"),
        "{fields:?}"
    );

    // The audit trail says who saved which keys, never a value.
    let trail = env
        .kv()
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("audit/record/"))
        .filter_map(|k| env.kv().get_json(&k))
        .find(|r| r["action"] == "settings")
        .expect("audited");
    let detail = trail["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("admin saved version 1: changed "),
        "{detail}"
    );
    assert!(detail.contains("field_map"), "{detail}");
    server.stop().await;
}
