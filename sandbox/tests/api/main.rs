//! The sandbox over real HTTP, as matterlink and firm admins use it.

mod harness;

mod auth;
mod customs;
mod documents;
mod errors;
mod folders;
mod security;
mod templates;
mod workspaces;
