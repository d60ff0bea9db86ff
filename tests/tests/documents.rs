//! file-document and list-folders: invoices filed into the matter's workspace.

use matterlink_e2e::{call, fixture, Env};
use matterlink_host::{Args, Function};

fn pdf(size: usize) -> Vec<u8> {
    let mut bytes = b"%PDF-1.4\n".to_vec();
    bytes.extend((0..size).map(|i| (i % 251) as u8));
    bytes
}

fn file_args(matter_id: &str, folder: Option<&str>, name: &str, content: Vec<u8>) -> Args {
    Args {
        matter_id: Some(matter_id.into()),
        folder: folder.map(String::from),
        name: Some(name.into()),
        content: Some(content),
        ..Args::default()
    }
}

/// An upload that iManage commits and then answers 500 (or drops) is not filed again: the
/// retry looks in the folder first and answers the document already there.
#[tokio::test]
async fn a_document_committed_before_a_failure_is_filed_once() {
    let env = Env::start().await;
    let rt = env.runtime();
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let state = env.state();
    // Every creating request from now on commits and then fails: only the upload creates.
    state.set_faults(imanage_sandbox::Faults {
        commit_then_fail_rate: 1.0,
        seed: Some(1),
        ..Default::default()
    });
    let filed = rt
        .call(
            Function::FileDocument,
            file_args("1042", None, "Invoice 2026-002.pdf", pdf(1000)),
        )
        .await
        .unwrap();
    let faults = state.stats().faults;
    state.set_faults(imanage_sandbox::Faults::default());
    assert!(
        faults.commit_then_fail >= 1,
        "the upload was failed after its commit"
    );
    let id = filed.expect("the document found after the failure is the answer");
    let doc = state.document(id.as_str().unwrap()).unwrap();
    let in_folder = state.documents_in(&doc.folder_id);
    assert_eq!(
        in_folder.len(),
        1,
        "filed once, not once per attempt: {in_folder:?}"
    );
}

/// A platform delivers at least once: the same filing again answers the first document and
/// files nothing, by default (same matter, folder, name and content) and under the caller's
/// key; another key files anew, and a key reused for another document is refused.
#[tokio::test]
async fn a_repeated_filing_answers_the_first_document() {
    let env = Env::start().await;
    let rt = env.runtime();
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let state = env.state();
    let file = |args: Args| {
        let rt = &rt;
        async move { rt.call(Function::FileDocument, args).await.unwrap() }
    };
    let keyed = |key: &str, content: Vec<u8>| Args {
        idempotency_key: Some(key.into()),
        ..file_args("1042", None, "Invoice 7.pdf", content)
    };

    let first = file(file_args("1042", None, "Invoice 7.pdf", pdf(500)))
        .await
        .unwrap();
    let folder = state.document(first.as_str().unwrap()).unwrap().folder_id;
    let again = file(file_args("1042", None, "Invoice 7.pdf", pdf(500)))
        .await
        .unwrap();
    assert_eq!(again, first, "the repeat answers the first document");
    assert_eq!(state.documents_in(&folder).len(), 1, "and files nothing");

    // Other content under the same name is another filing.
    let other = file(file_args("1042", None, "Invoice 7.pdf", pdf(501)))
        .await
        .unwrap();
    assert_ne!(other, first);
    assert_eq!(state.documents_in(&folder).len(), 2);

    // The caller's own keys: the same document under a new key is filed again on purpose; a
    // repeat of that key answers its document.
    let by_key = file(keyed("delivery-1", pdf(500))).await.unwrap();
    assert!(by_key != first && by_key != other, "{by_key}");
    assert_eq!(file(keyed("delivery-1", pdf(500))).await.unwrap(), by_key);
    assert_eq!(state.documents_in(&folder).len(), 3);

    let before = env.kv().snapshot();
    let err = file(keyed("delivery-1", pdf(502))).await.unwrap_err();
    assert_eq!(err.kind(), "rejected", "{}", err.message());
    assert!(
        err.message().contains("idempotency key"),
        "{}",
        err.message()
    );
    let err = file(keyed("", pdf(500))).await.unwrap_err();
    assert_eq!(err.kind(), "invalid-matter", "{}", err.message());
    assert_eq!(state.documents_in(&folder).len(), 3, "nothing filed");
    assert_eq!(env.kv().snapshot(), before, "nothing stored");

    // A repeat is audited as such, the first filing as `ok`.
    let audit = rt
        .call(Function::AuditLog, Args::default())
        .await
        .unwrap()
        .unwrap();
    let outcomes: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "file-document")
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["unchanged", "ok", "ok", "unchanged", "ok"],
        "newest first"
    );
}

/// Ten deliveries of one filing at once, in ten instances sharing the store, over a slow
/// iManage: one document, and every delivery answers it.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_repeats_file_once() {
    let env = Env::start().await;
    let rt = std::sync::Arc::new(env.runtime());
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let state = env.state();
    state.set_faults(imanage_sandbox::Faults {
        latency_ms: 20,
        ..Default::default()
    });
    let mut deliveries = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let rt = rt.clone();
        deliveries.spawn(async move {
            rt.call(
                Function::FileDocument,
                file_args("1042", None, "Invoice 9.pdf", pdf(2000)),
            )
            .await
            .unwrap()
        });
    }
    let mut ids = std::collections::BTreeSet::new();
    while let Some(answer) = deliveries.join_next().await {
        let id = answer
            .unwrap()
            .expect("every delivery answers the document");
        ids.insert(id.as_str().unwrap().to_string());
    }
    state.set_faults(imanage_sandbox::Faults::default());
    assert_eq!(ids.len(), 1, "one document for all: {ids:?}");
    let id = ids.first().unwrap();
    let folder = state.document(id).unwrap().folder_id;
    assert_eq!(state.documents_in(&folder).len(), 1);
}

/// A filing that stopped after iManage stored the upload and before its receipt said so (its
/// receipt still `pending`, as a crash leaves it) is found in the folder, not filed again.
#[tokio::test]
async fn a_filing_cut_short_after_the_upload_is_found_not_repeated() {
    use matterlink_component::document_receipts::request_digest;
    let env = Env::start().await;
    let rt = env.runtime();
    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let content = pdf(300);
    let first = rt
        .call(
            Function::FileDocument,
            file_args("1042", None, "Invoice 8.pdf", content.clone()),
        )
        .await
        .unwrap()
        .unwrap();
    let request = request_digest("1042", None, "Invoice 8.pdf", &content);
    let key = format!("document/receipt/1042/{request}");
    let kv = env.kv();
    assert_eq!(
        kv.get_json(&key).unwrap()["document_id"],
        first,
        "the receipt names the document"
    );
    kv.set_json(
        &key,
        &serde_json::json!({"state": "pending", "request": request}),
    );
    let again = rt
        .call(
            Function::FileDocument,
            file_args("1042", None, "Invoice 8.pdf", content),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, first);
    let folder = env
        .state()
        .document(first.as_str().unwrap())
        .unwrap()
        .folder_id;
    assert_eq!(env.state().documents_in(&folder).len(), 1);
    assert_eq!(kv.get_json(&key).unwrap()["state"], "filed");
}

#[tokio::test]
async fn invoices_go_to_the_document_folder_or_a_picked_folder() {
    let env = Env::start().await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let ws_id = ws["id"].as_str().unwrap();

    let invoice = pdf(100_000); // well over one 4 KiB write: streamed in chunks
    let doc_id = rt
        .call(
            Function::FileDocument,
            file_args("1042", None, "Invoice 2026-001.pdf", invoice.clone()),
        )
        .await
        .unwrap()
        .unwrap();
    let doc_id = doc_id.as_str().unwrap();
    let state = env.state();
    let stored = state.document(doc_id).expect("document stored");
    assert_eq!(stored.content, invoice, "bytes arrive intact");
    assert_eq!(stored.name, "Invoice 2026-001");
    assert_eq!(stored.extension, "pdf");
    let docs_folder = state
        .folders_of(ws_id)
        .into_iter()
        .find(|f| f.name == "Generated Documents")
        .unwrap();
    assert_eq!(stored.folder_id, docs_folder.id);

    let folders = rt
        .call(
            Function::ListFolders,
            Args {
                matter_id: Some("1042".into()),
                ..Args::default()
            },
        )
        .await
        .unwrap()
        .unwrap();
    let paths: Vec<&str> = folders
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"Pleadings/Filed"), "{paths:?}");
    assert!(
        paths.contains(&"Documents/Generated Documents"),
        "{paths:?}"
    );
    let filed = folders
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "Pleadings/Filed")
        .unwrap();
    let filed_id = filed["id"].as_str().unwrap();
    let picked = rt
        .call(
            Function::FileDocument,
            file_args("1042", Some(filed_id), "Statement of claim.pdf", pdf(10)),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        state.document(picked.as_str().unwrap()).unwrap().folder_id,
        filed_id
    );
}

#[tokio::test]
async fn documents_are_refused_for_unlinked_matters_foreign_folders_and_bad_names() {
    let env = Env::start().await;
    let rt = env.runtime();
    let err = rt
        .call(
            Function::FileDocument,
            file_args("1042", None, "a.pdf", pdf(1)),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "not-linked");

    call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .unwrap();
    let other = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-legacy.json"),
    )
    .await
    .unwrap();
    let foreign = env.state().folders_of(other["id"].as_str().unwrap())[0]
        .id
        .clone();
    let err = rt
        .call(
            Function::FileDocument,
            file_args("1042", Some(&foreign), "a.pdf", pdf(1)),
        )
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(err.kind(), "rejected");
    assert!(
        err.message().contains("not in matter 1042"),
        "{}",
        err.message()
    );

    for bad in [
        "../../etc/passwd",
        "no-extension",
        "evil\r\nX-Header: 1.pdf",
    ] {
        let err = rt
            .call(Function::FileDocument, file_args("1042", None, bad, pdf(1)))
            .await
            .unwrap()
            .unwrap_err();
        assert_eq!(err.kind(), "invalid-matter", "{bad:?}");
    }
    let all_docs: usize = env
        .state()
        .workspaces()
        .iter()
        .flat_map(|w| env.state().folders_of(&w.id))
        .map(|f| env.state().documents_in(&f.id).len())
        .sum();
    assert_eq!(all_docs, 0, "nothing was filed");
}

#[tokio::test]
async fn check_connection_reports_each_check() {
    let env = Env::start().await;
    let report = call_check(&env, env.config()).await.unwrap();
    for line in [
        "✓ token",
        "✓ discovery",
        "✓ library",
        "✓ template Litigation",
        "✓ field File Reference",
    ] {
        assert!(report.contains(line), "{line} missing from:\n{report}");
    }

    let mut wrong = env.config();
    wrong.set("imanage_password", "wrong");
    let err = call_check(&env, wrong).await.unwrap_err();
    assert_eq!(err.kind(), "not-connected");
    assert!(err.message().contains("✗ token"), "{}", err.message());
    assert!(
        !err.message().contains("wrong"),
        "the password is not echoed"
    );

    let mut missing = env.config();
    missing.set(
        "templates",
        r#"{"Litigation": "ACTIVE!100", "Probate": "ACTIVE!999"}"#,
    );
    let err = call_check(&env, missing).await.unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(
        err.message().contains("✓ template Litigation"),
        "{}",
        err.message()
    );
    assert!(
        err.message().contains("✗ template Probate: ACTIVE!999"),
        "{}",
        err.message()
    );

    // A title can never be an integer: since typed custom fields, such a map is refused when the
    // configuration loads, and check says so on its configuration line.
    let mut mistyped = env.config();
    mistyped.set("field_map", r#"{"Title": "custom17"}"#);
    let err = call_check(&env, mistyped).await.unwrap_err();
    assert_eq!(err.kind(), "not-configured");
    assert!(
        err.message()
            .contains("✗ configuration: `field_map` maps \"Title\" to custom17"),
        "{}",
        err.message()
    );
}

async fn call_check(
    env: &Env,
    config: matterlink_host::ConfigStore,
) -> Result<String, matterlink_host::Error> {
    env.runtime_with(config)
        .call(Function::CheckConnection, Args::default())
        .await
        .unwrap()
        .map(|v| v.as_str().unwrap().to_string())
}
