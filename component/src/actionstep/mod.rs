//! Actionstep: its REST hooks as they are (`hook`), and their deliveries handled so that a hook
//! never switches itself off (`deliver`).

pub mod deliver;
pub mod hook;
