//! Speaking the iManage Work API v2 (see ../shared/imanage-api.md).
//!
//! `client` owns transport concerns (auth, retries, envelopes); `api` the typed operations the
//! flows use; `json` the tolerant readers of iManage's answers.

pub mod api;
pub mod client;
pub mod json;

pub use client::Imanage;
pub mod security;
