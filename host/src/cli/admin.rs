//! `matterlink admin password --stdin`: the admin console's local administrator password, for
//! a first set-up before iManage is connected. Read from standard input only (never an argument,
//! which `ps` and shell history would keep); the component stores it as an Argon2id hash.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

use super::{load_runtime, usage, Global};

/// `matterlink admin`.
#[derive(Parser, Debug)]
pub struct Args {
    #[command(subcommand)]
    command: Admin,
}

#[derive(Subcommand, Debug)]
enum Admin {
    /// Set the console's local administrator password (12 to 256 characters), read from
    /// standard input (one line; the trailing newline is not part of it).
    Password {
        /// Read the password from standard input (required: a password is never an argument).
        #[arg(long)]
        stdin: bool,
    },
}

/// Runs `matterlink admin …`.
pub async fn run(g: &Global, args: Args) -> Result<ExitCode> {
    match args.command {
        Admin::Password { stdin } => {
            if !stdin {
                return Ok(usage(
                    "give the password on standard input with --stdin, e.g. `matterlink admin password --stdin < file`",
                ));
            }
            let mut raw = String::new();
            if std::io::stdin().read_to_string(&mut raw).is_err() {
                return Ok(usage("standard input is not text"));
            }
            // One line: the newline `echo` or a file ends it with is not part of the password.
            let password = raw.strip_suffix('\n').unwrap_or(&raw);
            let password = password.strip_suffix('\r').unwrap_or(password);
            let runtime = load_runtime(g).await?;
            match runtime.set_admin_password(password).await? {
                Ok(()) => {
                    println!("The console's administrator password is set. Sign in at /admin.");
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    Ok(ExitCode::from(1))
                }
            }
        }
    }
}
