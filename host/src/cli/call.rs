//! `matterlink call FUNCTION …`: one exported function, its result printed.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Result;
use matterlink_host::functions::{ArgsError, Input};
use matterlink_host::Function;

use super::{
    load_runtime_for, parse_json, print, print_outcome, read_input, read_matter, usage, Global,
};

/// `call`'s arguments: each function uses some of them.
#[derive(clap::Args)]
pub struct Args {
    /// The exported function to call.
    #[arg(value_parser = function_parser())]
    function: Function,
    /// A file holding the matter record as JSON (snake_case keys); `-` reads standard input.
    #[arg(long)]
    matter: Option<PathBuf>,
    /// A pasted workspace link (link-workspace).
    #[arg(long)]
    url: Option<String>,
    /// The matter's id, for file-document and list-folders without a matter file.
    #[arg(long)]
    matter_id: Option<String>,
    /// The document to file (file-document); `-` reads standard input.
    #[arg(long)]
    file: Option<PathBuf>,
    /// The document's name with its extension; defaults to the file's name.
    #[arg(long)]
    name: Option<String>,
    /// A folder id from list-folders; defaults to the matter's document folder.
    #[arg(long)]
    folder: Option<String>,
    /// file-document: files once per key, a repeat answering the first document (default: a
    /// digest of matter, folder, name and content, so an identical repeat files nothing).
    #[arg(long)]
    idempotency_key: Option<String>,
    /// A file holding an event as JSON, `{"id", "type": "matter.created", "matter": {...}}`
    /// (handle-event); `-` reads standard input.
    #[arg(long)]
    event: Option<PathBuf>,
    /// Print the result, or the typed error, as one line of JSON on stdout.
    #[arg(long)]
    json: bool,
    /// The `next_cursor` of the previous poll-changes (acknowledges that batch) or
    /// import-workspaces page.
    #[arg(long)]
    cursor: Option<String>,
    /// apply-matter-team: a file holding the team as JSON, `[{"id": "JSMITH", "trustee_type":
    /// "user", "access_level": "full_access"}, ...]` (`type`, as iManage spells it, is accepted
    /// for `trustee_type`); `-` reads standard input.
    #[arg(long)]
    members: Option<PathBuf>,
    /// Change nothing: print the iManage requests that would be made (reads go through),
    /// keep key-value writes in memory.
    #[arg(long)]
    dry_run: bool,
    /// backfill-matter: provision the matter when no workspace is found.
    #[arg(long)]
    create_missing: bool,
    /// drift: repair the differences through the normal paths.
    #[arg(long)]
    fix: bool,
}

/// The function names as clap's possible values, so that `call --help` lists every function
/// of [`Function::ALL`] and a mistyped name gets clap's "a similar value exists" tip.
fn function_parser() -> impl clap::builder::TypedValueParser<Value = Function> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(Function::ALL.iter().map(|f| f.name()))
        // Every possible value is a function's name, so this parse cannot fail.
        .map(|name| name.parse::<Function>().expect("a function's own name"))
}

/// How the CLI spells what a function is missing or would ignore.
fn describe(function: Function, problem: ArgsError) -> String {
    let f = function;
    match problem {
        ArgsError::Missing(input) => match input {
            Input::Matter => format!("{f} needs --matter FILE"),
            Input::MatterId => format!("{f} needs --matter-id ID (or --matter FILE)"),
            Input::Url => format!("{f} needs --url URL"),
            Input::Document => {
                format!("{f} needs --file PATH (and --name when reading standard input)")
            }
            Input::Event => format!("{f} needs --event FILE"),
            Input::Members => format!("{f} needs --members FILE"),
            Input::Cursor => format!("{f} needs --cursor C"),
            Input::CreateMissing => format!("{f} needs --create-missing"),
            Input::Fix => format!("{f} needs --fix"),
        },
        ArgsError::Unexpected(input) => match input {
            Input::Matter => format!("{f} takes no matter"),
            Input::MatterId => format!("{f} takes no --matter-id"),
            Input::Url => format!("{f} takes no --url"),
            Input::Document => {
                format!("{f} takes no --file, --name, --folder or --idempotency-key")
            }
            Input::Event => format!("{f} takes no --event"),
            Input::Members => format!("{f} takes no --members"),
            Input::Cursor => format!("{f} takes no --cursor"),
            Input::CreateMissing => format!("{f} takes no --create-missing"),
            Input::Fix => format!("{f} takes no --fix"),
        },
    }
}

/// Reads a JSON input file into `T`, or says what is wrong with it.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> Result<T, String> {
    let bytes = read_input(path)?;
    parse_json(path, &bytes, what)
}

/// The function's arguments from the command line; a usage error says what is wrong.
fn gather(a: &Args) -> Result<matterlink_host::Args, String> {
    let mut args = matterlink_host::Args {
        url: a.url.clone(),
        matter_id: a.matter_id.clone(),
        folder: a.folder.clone(),
        name: a.name.clone(),
        idempotency_key: a.idempotency_key.clone(),
        cursor: a.cursor.clone(),
        create_missing: a.create_missing,
        fix: a.fix,
        ..Default::default()
    };
    if let Some(path) = &a.members {
        args.members = Some(read_json(path, "a JSON list of team members")?);
    }
    if let Some(path) = &a.matter {
        args.matter = Some(read_matter(path)?);
    }
    if let Some(path) = &a.event {
        args.event = Some(read_json(path, "a valid event")?);
    }
    if let Some(path) = &a.file {
        args.content = Some(read_input(path)?);
        if args.name.is_none() && path != Path::new("-") {
            args.name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        }
    }
    a.function
        .check_args(&args)
        .map_err(|e| describe(a.function, e))?;
    Ok(args)
}

/// Runs `call`.
pub async fn run(g: &Global, a: Args) -> Result<ExitCode> {
    let args = match gather(&a) {
        Ok(args) => args,
        Err(e) => return Ok(usage(e)),
    };
    let runtime = load_runtime_for(g, a.dry_run).await?;
    if a.dry_run {
        let (outcome, plan) = runtime.call_planned(a.function, args).await?;
        return print::dry_call(outcome, &plan, a.json);
    }
    print_outcome(runtime.call(a.function, args).await?, a.json)
}
