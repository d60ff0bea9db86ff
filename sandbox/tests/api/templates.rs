use imanage_sandbox::{LITIGATION_TEMPLATE, PROPERTY_TEMPLATE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::harness::{expect_envelope, Harness};

#[tokio::test]
async fn templates_are_listed_with_their_folder_trees() {
    let h = Harness::start().await;
    let templates = h.get_ok(&h.lib("/templates")).await;
    let list = templates["results"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["id"], LITIGATION_TEMPLATE);
    assert_eq!(list[0]["name"], "Litigation Template");
    assert_eq!(list[0]["wstype"], "workspace");
    assert_eq!(list[0]["is_template"], true);
    assert_eq!(list[0]["default_security"], "private");
    assert_eq!(list[1]["id"], PROPERTY_TEMPLATE);
    assert_eq!(list[1]["default_security"], "public");

    let top = h.get_ok(&h.lib("/workspaces/ACTIVE!100/children")).await;
    let top: Vec<(&str, &str)> = top["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), f["wstype"].as_str().unwrap()))
        .collect();
    assert_eq!(
        top,
        [
            ("Correspondence", "folder"),
            ("Pleadings", "folder"),
            ("Evidence", "folder"),
            ("Billing", "folder"),
            ("Court", "tab"),
            ("Orders", "search"),
        ]
    );
    // Optional only by its name-value pairs, as iManage marks it.
    let pairs: Value = h
        .get(&h.lib("/folders/ACTIVE!106/name-value-pairs"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        pairs,
        json!({"data": [{"name": "IMCC_IsOptional", "value": "true"}]})
    );
    let tabs = h.get_ok(&h.lib("/workspaces/ACTIVE!100/tabs")).await;
    assert_eq!(tabs["results"][0]["name"], "Court");
    let searches = h
        .get_ok(&h.lib("/workspaces/ACTIVE!100/search-folders"))
        .await;
    assert_eq!(searches["results"][0]["searchprofile"]["class"], "ORDER");
    let template_pairs: Value = h
        .get(&h.lib("/workspaces/ACTIVE!100/name-value-pairs"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(template_pairs["data"][0]["name"], "PracticeArea");
    let pleadings = h.get_ok(&h.lib("/folders/ACTIVE!102/children")).await;
    let subs: Vec<&str> = pleadings["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(subs, ["Filed", "Drafts"]);

    let property = h.get_ok(&h.lib("/folders?container_id=ACTIVE!200")).await;
    let flat: Vec<(&str, &str)> = property["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["parent_id"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        flat,
        [
            ("Contracts", "ACTIVE!200"),
            ("Due Diligence", "ACTIVE!200"),
            ("Searches", "ACTIVE!202"),
            ("Settlement", "ACTIVE!200"),
            ("Correspondence", "ACTIVE!200"),
            ("Board Minutes", "ACTIVE!200"),
        ]
    );
    assert!(h
        .get_ok(&h.lib("/folders/ACTIVE!106"))
        .await
        .get("optional")
        .is_none());
    assert_eq!(
        h.get_ok(&h.lib("/workspaces/ACTIVE%21100")).await["is_template"],
        true
    );
    assert_eq!(
        h.get_ok(&h.lib("/templates/ACTIVE!200")).await["name"],
        "Property Template"
    );

    let security = h.get_ok(&h.lib("/workspaces/ACTIVE!100/security")).await;
    assert_eq!(
        security,
        json!({"default_security": "private", "members": [
            {"id": "LITIGATION", "type": "group", "access_level": "read_write"},
            {"id": "JSMITH", "type": "user", "access_level": "full_access"},
        ]})
    );
}

#[tokio::test]
async fn templates_are_read_only() {
    let h = Harness::start().await;
    let forbidden = [
        h.patch(&h.lib("/workspaces/ACTIVE!100"), &json!({"name": "x"}))
            .await,
        h.delete(&h.lib("/workspaces/ACTIVE!200")).await,
        h.post(
            &h.lib("/workspaces/ACTIVE!100/folders"),
            &json!({"name": "x"}),
        )
        .await,
        h.post(
            &h.lib("/folders/ACTIVE!102/subfolders"),
            &json!({"name": "x"}),
        )
        .await,
        h.delete(&h.lib("/folders/ACTIVE!101")).await,
        h.post(
            &h.lib("/workspaces/ACTIVE!100/security"),
            &json!({"default_security": "public"}),
        )
        .await,
    ];
    for response in forbidden {
        expect_envelope(response, StatusCode::FORBIDDEN).await;
    }
    assert_eq!(h.sandbox.state().folders_of(LITIGATION_TEMPLATE).len(), 9);
    let listed: Value = h.get(&h.lib("/workspaces")).await.json().await.unwrap();
    assert!(listed["data"]["results"].as_array().unwrap().is_empty());
}
