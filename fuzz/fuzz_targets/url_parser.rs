//! Pasted workspace links: any string must parse to a target or a typed refusal, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use matterlink_component::workspace_url::{parse, LinkContext, LinkTarget};

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    let extra = vec!["dms.firm.com".to_string()];
    for base in ["https://firm.cloudimanage.com", "http://127.0.0.1:8099"] {
        let ctx = LinkContext { base_url: base, extra_hosts: &extra, library: "ACTIVE" };
        if let Ok(target) = parse(input, &ctx) {
            // Whatever is accepted names this library and a well-formed id.
            let (LinkTarget::Workspace { library, id } | LinkTarget::Folder { library, id }) = target;
            assert!(library.eq_ignore_ascii_case("ACTIVE"));
            assert!(id.contains('!'));
        }
    }
});
