//! `matterlink secret`: a fresh random value for `webhook_secret` or `actionstep_token`.

use std::process::ExitCode;

use anyhow::{Context, Result};
use base64::Engine;

/// 256 bits: as strong as the HMAC-SHA256 it keys, and far over the 32-character minimum.
const BYTES: usize = 32;

/// Prints 256 random bits as URL-safe base64 (43 characters, no padding), fit for a URL path
/// (the Actionstep hook's token) as well as a header key.
pub fn run() -> Result<ExitCode> {
    println!("{}", fresh()?);
    Ok(ExitCode::SUCCESS)
}

/// 256 random bits as URL-safe base64 (also what `tenant add` and `tenant rotate-secret` make).
pub fn fresh() -> Result<String> {
    let mut bytes = [0u8; BYTES];
    getrandom::fill(&mut bytes).context("reading the system's random source")?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}
