//! `matterlink secret`: 256 fresh random bits, URL-safe, every time.

use std::process::Command;

fn secret() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_matterlink"))
        .arg("secret")
        .env_clear()
        .output()
        .expect("matterlink runs");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.ends_with('\n'));
    text.trim_end().to_string()
}

#[test]
fn prints_256_url_safe_random_bits() {
    let (a, b) = (secret(), secret());
    // 32 bytes in unpadded base64 are 43 characters.
    assert_eq!(a.len(), 43, "{a}");
    assert!(
        a.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "not URL-safe: {a}"
    );
    assert_ne!(a, b, "two secrets must differ");
}
