//! Speaking the iManage Work API v2 (see docs/imanage-api.md).
//!
//! `client` owns transport concerns (tokens, retries, envelopes); `api` the typed operations the
//! flows use; `template` what a template holds and how its parts are made; `my_matters` the
//! (assumed) My Matters list; `discovery` what `GET /api` says about the connection; `json` the
//! tolerant readers of iManage's answers.

pub mod api;
pub mod client;
pub mod discovery;
pub mod json;
pub mod my_matters;
pub mod once;

pub use client::{Call, Imanage};
pub mod security;
pub mod template;
