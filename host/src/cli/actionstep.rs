//! `matterlink actionstep hooks install URL | list | remove`: matterlink's REST hooks in
//! Actionstep, registered for every event it follows (the component does the work, with the
//! connection `matterlink connect --actionstep` made). Targets are shown with the hook token
//! replaced by `<redacted>`.

use std::process::ExitCode;

use anyhow::Result;
use matterlink_component::actionstep::resthooks::Hook;

use super::{load_runtime, print_outcome, Global};

/// What to do with Actionstep.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// matterlink's REST hooks in Actionstep.
    Hooks {
        #[command(subcommand)]
        action: Hooks,
    },
}

#[derive(clap::Subcommand)]
enum Hooks {
    /// Register (or restore) a hook for every event matterlink follows, delivering to
    /// URL/v1/actionstep/<actionstep_token>. URL is where Actionstep reaches `matterlink serve`.
    Install {
        /// matterlink's public base URL, e.g. https://matterlink.firm.example
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// Every REST hook of the organisation; matterlink's are marked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Delete matterlink's REST hooks.
    Remove {
        #[arg(long)]
        json: bool,
    },
}

/// Runs the subcommand; exit 1 when the component refused.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let runtime = load_runtime(g).await?;
    let Command::Hooks { action } = a.command;
    let (answer, json) = match action {
        Hooks::Install { url, json } => (runtime.actionstep_hooks_install(&url).await?, json),
        Hooks::List { json } => (runtime.actionstep_hooks_list().await?, json),
        Hooks::Remove { json } => (runtime.actionstep_hooks_remove().await?, json),
    };
    match answer {
        Ok(hooks) if !json => {
            print!("{}", table(&hooks));
            Ok(ExitCode::SUCCESS)
        }
        answer => print_outcome(answer.map(|hooks| serde_json::json!(hooks)), json),
    }
}

/// The hooks as a table for people.
fn table(hooks: &[Hook]) -> String {
    if hooks.is_empty() {
        return "no hooks\n".to_string();
    }
    let mut out = format!(
        "{:<8} {:<26} {:<9} {:<5} {}\n",
        "ID", "EVENT", "STATUS", "OURS", "TARGET"
    );
    for h in hooks {
        out.push_str(&format!(
            "{:<8} {:<26} {:<9} {:<5} {}\n",
            h.id,
            h.event_name,
            h.status,
            if h.ours { "yes" } else { "" },
            h.target_url
        ));
    }
    out
}
