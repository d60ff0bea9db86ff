//! The sandbox over real HTTP, as matterlink and firm admins use it.

mod harness;

mod actionstep;
mod auth;
mod binary;
mod customs;
mod documents;
mod errors;
mod events;
mod faults;
mod folders;
mod libraries;
mod oauth;
mod security;
mod sync;
mod templates;
mod workspaces;
