//! Webhook event bodies: any bytes must be read as an event or refused, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use matterlink_component::events::parse;

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = parse(data) {
        // Whatever is accepted has an id safe to use as a key-value key.
        assert!(!e.id.is_empty() && e.id.len() <= 64 && !e.id.contains('/'));
    }
});
