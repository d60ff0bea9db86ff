//! iManage as it really shapes things, end to end through the real `.wasm` against a sandbox set
//! to behave like the stricter real deployments: request framing, security member shapes, the
//! change-event queue's shapes, typed custom fields, paging, and folder and document profiles.

use imanage_sandbox::SandboxConfig;
use matterlink_e2e::{call, fixture, Env};
use matterlink_host::{Args, Function};

fn file_args(matter_id: &str, name: &str, content: Vec<u8>) -> Args {
    Args {
        matter_id: Some(matter_id.into()),
        name: Some(name.into()),
        content: Some(content),
        ..Args::default()
    }
}

/// A gateway that answers 411 to chunked bodies: sign-in, provisioning (JSON bodies) and an upload
/// larger than one 4 KiB write must all go through with `Content-Length`. Against the old client,
/// which framed every body chunked, the very first sign-in was refused.
#[tokio::test]
async fn every_body_carries_content_length() {
    let env = Env::start_with(SandboxConfig {
        refuse_chunked: true,
        ..SandboxConfig::default()
    })
    .await;
    let rt = env.runtime();
    let ws = call(
        &rt,
        Function::OnMatterCreated,
        &fixture("matter-basic.json"),
    )
    .await
    .expect("provisioned through a chunk-refusing gateway");
    assert!(ws["id"].as_str().is_some());
    let content: Vec<u8> = (0..50_000).map(|i| (i % 251) as u8).collect();
    let doc = rt
        .call(
            Function::FileDocument,
            file_args("1042", "Invoice 7.pdf", content.clone()),
        )
        .await
        .unwrap()
        .expect("filed through a chunk-refusing gateway");
    let stored = env.state().document(doc.as_str().unwrap()).unwrap();
    assert_eq!(stored.content, content);
    assert_eq!(env.state().chunked_refusals(), 0);
}
