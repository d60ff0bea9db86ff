//! Actionstep: its REST hooks as they are (`hook`), its API (`auth`: the connection, `client`:
//! reads, `names`: real names for a matter, `resthooks`: matterlink's hooks), and hook deliveries handled so that a hook never
//! switches itself off (`deliver`).

pub mod auth;
pub mod client;
pub mod deliver;
pub mod hook;
pub mod names;
pub mod resthooks;
