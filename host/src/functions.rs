//! The exported functions by their WIT names, with JSON out: what `matterlink call` and the
//! end-to-end tests drive. Each function is listed once, in [`functions!`]; its arguments are
//! described by [`Function::takes`] and the value it answers is the component's own domain type,
//! serialised by its serde derive. Nothing here formats text for a terminal: the CLI does.

use std::fmt;
use std::str::FromStr;

use anyhow::Result;
use matterlink_component::audit::Query as AuditQuery;
use matterlink_component::events::Event;
use matterlink_component::model::Matter;
use matterlink_component::security::Member;
use serde::Serialize;
use serde_json::Value;

use crate::api::Answer;
use crate::dry_run::PlannedRequest;
use crate::runtime::Runtime;

/// A call's JSON result: the function's value, or the component's typed error. Failures of the
/// host itself (a trap, a load error) are the outer `Err` of [`Runtime::call`].
pub type Outcome = Answer<Value>;

/// Declares the callable functions once: the enum, its WIT names and its list.
macro_rules! functions {
    ($( $(#[$doc:meta])* $variant:ident => $name:literal, )*) => {
        /// An exported function of `matterlink:imanage/integration` that `matterlink call` runs.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Function {
            $( $(#[$doc])* $variant, )*
        }

        impl Function {
            /// Every callable function, in the order of the WIT interface.
            pub const ALL: &'static [Function] = &[$(Function::$variant,)*];

            /// The function's WIT name, e.g. `on-matter-created`.
            pub fn name(self) -> &'static str {
                match self {
                    $( Function::$variant => $name, )*
                }
            }
        }
    };
}

functions! {
    /// Provision the matter's workspace.
    OnMatterCreated => "on-matter-created",
    /// Rename the workspace after a title change.
    OnMatterUpdated => "on-matter-updated",
    /// Mark the workspace closed.
    OnMatterClosed => "on-matter-closed",
    /// Undo closing.
    OnMatterReopened => "on-matter-reopened",
    /// The profile a matter maps to.
    MapMetadata => "map-metadata",
    /// Link a legacy matter to its one existing workspace.
    ResolveLegacy => "resolve-legacy",
    /// Link a matter to a pasted workspace link.
    LinkWorkspace => "link-workspace",
    /// File a document into the matter's workspace.
    FileDocument => "file-document",
    /// The folders of the matter's workspace.
    ListFolders => "list-folders",
    /// The ✓/✗ connection report.
    CheckConnection => "check-connection",
    /// Handle one event once.
    HandleEvent => "handle-event",
    /// Run the failed events again.
    ReplayEvents => "replay-events",
    /// The failed events waiting for replay.
    FailedEvents => "failed-events",
    /// The audit trail.
    AuditLog => "audit-log",
    /// Security changes on linked workspaces.
    PollChanges => "poll-changes",
    /// Push a matter's team to its workspace.
    ApplyMatterTeam => "apply-matter-team",
    /// Workspaces made in iManage that no matter is linked to.
    ImportWorkspaces => "import-workspaces",
    /// Backfill one legacy matter.
    BackfillMatter => "backfill-matter",
    /// Compare (and repair) a matter's workspace.
    Drift => "drift",
}

/// Exported functions that `matterlink call` deliberately does not run, and why: the
/// export-coverage test names these as its exceptions.
pub const NOT_CALLABLE: &[(&str, &str)] = &[
    (
        "set-admin-password",
        "takes a secret, which must not be an argument on a command line: `matterlink admin password --stdin` runs it",
    ),
    (
        "connect-begin",
        "needs a browser round trip: `matterlink connect` runs it with connect-complete",
    ),
    (
        "connect-complete",
        "takes the code of iManage's redirect: `matterlink connect` runs it",
    ),
    (
        "actionstep-connect-begin",
        "needs a browser round trip: `matterlink connect --actionstep` runs it with actionstep-connect-complete",
    ),
    (
        "actionstep-hooks-install",
        "changes Actionstep, not matterlink: `matterlink actionstep hooks install URL` runs it",
    ),
    (
        "actionstep-hooks-list",
        "`matterlink actionstep hooks list` runs it",
    ),
    (
        "actionstep-hooks-remove",
        "changes Actionstep, not matterlink: `matterlink actionstep hooks remove` runs it",
    ),
    (
        "actionstep-connect-complete",
        "takes the code of Actionstep's redirect: `matterlink connect --actionstep` runs it",
    ),
];

/// One input a function can take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    /// A matter record.
    Matter,
    /// A matter id (or the id of the matter record).
    MatterId,
    /// A pasted workspace link.
    Url,
    /// A document: its content and name, optionally a folder.
    Document,
    /// An event.
    Event,
    /// A paging or acknowledging cursor.
    Cursor,
    /// A list of team members.
    Members,
    /// The `create_missing` switch.
    CreateMissing,
    /// The `fix` switch.
    Fix,
}

/// Why [`Args`] do not fit a function: an input it needs is missing, or one it would ignore was
/// given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgsError {
    /// The function needs this input.
    Missing(Input),
    /// The function takes no such input.
    Unexpected(Input),
}

/// What a call needs besides the function: each function uses some of these.
#[derive(Debug, Clone, Default)]
pub struct Args {
    /// The matter record.
    pub matter: Option<Matter>,
    /// A pasted workspace link (link-workspace).
    pub url: Option<String>,
    /// For file-document, list-folders and apply-matter-team; taken from `matter` when absent.
    pub matter_id: Option<String>,
    /// A folder id from list-folders (file-document).
    pub folder: Option<String>,
    /// The document's file name (file-document).
    pub name: Option<String>,
    /// The document's bytes (file-document).
    pub content: Option<Vec<u8>>,
    /// The filing's idempotency key (file-document); by default a digest of matter, folder,
    /// name and content.
    pub idempotency_key: Option<String>,
    /// handle-event.
    pub event: Option<Event>,
    /// audit-log.
    pub audit: AuditQuery,
    /// backfill-matter: provision matters that have no workspace yet.
    pub create_missing: bool,
    /// drift: repair what differs.
    pub fix: bool,
    /// poll-changes (acknowledges the batch it names) and import-workspaces.
    pub cursor: Option<String>,
    /// apply-matter-team: the team as it should be on the workspace.
    pub members: Option<Vec<Member>>,
}

impl From<Event> for Args {
    fn from(e: Event) -> Args {
        Args {
            event: Some(e),
            ..Args::default()
        }
    }
}

impl From<Matter> for Args {
    fn from(m: Matter) -> Args {
        Args {
            matter: Some(m),
            ..Args::default()
        }
    }
}

impl Args {
    fn matter_id(&self) -> Option<&str> {
        self.matter_id
            .as_deref()
            .or(self.matter.as_ref().map(|m| m.id.as_str()))
    }

    fn has(&self, input: Input) -> bool {
        match input {
            Input::Matter => self.matter.is_some(),
            Input::MatterId => self.matter_id().is_some(),
            Input::Url => self.url.is_some(),
            Input::Document => {
                self.content.is_some()
                    || self.name.is_some()
                    || self.folder.is_some()
                    || self.idempotency_key.is_some()
            }
            Input::Event => self.event.is_some(),
            Input::Cursor => self.cursor.is_some(),
            Input::Members => self.members.is_some(),
            Input::CreateMissing => self.create_missing,
            Input::Fix => self.fix,
        }
    }
}

impl Function {
    /// The inputs this function needs (`true`) or may take (`false`); anything else given is
    /// refused rather than silently ignored.
    pub fn takes(self) -> &'static [(Input, bool)] {
        use Input::*;
        match self {
            Function::OnMatterCreated
            | Function::OnMatterUpdated
            | Function::OnMatterClosed
            | Function::OnMatterReopened
            | Function::MapMetadata
            | Function::ResolveLegacy => &[(Matter, true)],
            Function::LinkWorkspace => &[(Matter, true), (Url, true)],
            Function::FileDocument => &[(MatterId, true), (Matter, false), (Document, true)],
            Function::ListFolders => &[(MatterId, true), (Matter, false)],
            Function::CheckConnection
            | Function::ReplayEvents
            | Function::FailedEvents
            | Function::AuditLog => &[],
            Function::HandleEvent => &[(Event, true)],
            Function::PollChanges | Function::ImportWorkspaces => &[(Cursor, false)],
            Function::ApplyMatterTeam => &[(MatterId, true), (Matter, false), (Members, true)],
            Function::BackfillMatter => &[(Matter, true), (CreateMissing, false)],
            Function::Drift => &[(Matter, true), (Fix, false)],
        }
    }

    /// Whether `args` carry what this function needs, and nothing it would ignore.
    pub fn check_args(self, args: &Args) -> std::result::Result<(), ArgsError> {
        let takes = self.takes();
        if let Some((input, _)) = takes.iter().find(|(i, needed)| *needed && !args.has(*i)) {
            return Err(ArgsError::Missing(*input));
        }
        if self == Function::FileDocument && (args.content.is_none() || args.name.is_none()) {
            return Err(ArgsError::Missing(Input::Document));
        }
        const EVERY: [Input; 9] = [
            Input::Matter,
            Input::MatterId,
            Input::Url,
            Input::Document,
            Input::Event,
            Input::Cursor,
            Input::Members,
            Input::CreateMissing,
            Input::Fix,
        ];
        for input in EVERY {
            // An id is "given" only when passed as such: a matter record always carries one.
            let given = match input {
                Input::MatterId => args.matter_id.is_some(),
                other => args.has(other),
            };
            if given && !takes.iter().any(|(i, _)| *i == input) {
                return Err(ArgsError::Unexpected(input));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Function {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a callable function; suggests the nearest one and lists them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFunction(pub String);

impl UnknownFunction {
    /// The function whose name is nearest to the unknown one, when it is near enough to be a
    /// typo (a few edits, not a different word).
    pub fn suggestion(&self) -> Option<Function> {
        Function::ALL
            .iter()
            .map(|f| (strsim::levenshtein(&self.0, f.name()), *f))
            .filter(|(distance, _)| *distance <= 3)
            .min_by_key(|(distance, _)| *distance)
            .map(|(_, f)| f)
    }
}

impl fmt::Display for UnknownFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<_> = Function::ALL.iter().map(|f| f.name()).collect();
        write!(f, "unknown function {:?}", self.0)?;
        if let Some(near) = self.suggestion() {
            write!(f, "; did you mean {:?}?", near.name())?;
        }
        write!(f, "; the functions are: {}", names.join(", "))
    }
}

impl std::error::Error for UnknownFunction {}

impl FromStr for Function {
    type Err = UnknownFunction;

    fn from_str(s: &str) -> std::result::Result<Self, UnknownFunction> {
        Function::ALL
            .iter()
            .copied()
            .find(|f| f.name() == s)
            .ok_or_else(|| UnknownFunction(s.to_string()))
    }
}

fn json<T: Serialize>(answer: Answer<T>) -> Result<Outcome> {
    Ok(match answer {
        Ok(v) => Ok(serde_json::to_value(v)?),
        Err(e) => Err(e),
    })
}

impl Runtime {
    /// Calls `function` once in a fresh instance, answering JSON. The arguments must fit
    /// ([`Function::check_args`]); ones that do not are a host error here, not a typed error.
    pub async fn call(&self, function: Function, args: impl Into<Args>) -> Result<Outcome> {
        Ok(self.call_planned(function, args).await?.0)
    }

    /// [`Runtime::call`], also returning the iManage requests a dry run planned instead of
    /// sending (always empty outside a dry run).
    pub async fn call_planned(
        &self,
        function: Function,
        args: impl Into<Args>,
    ) -> Result<(Outcome, Vec<PlannedRequest>)> {
        let args = args.into();
        if let Err(e) = function.check_args(&args) {
            anyhow::bail!("{function}: {e:?}");
        }
        let mut call = self.instance().await?;
        let matter = args.matter.clone().unwrap_or_else(empty_matter);
        let m = &matter;
        let id = args.matter_id().unwrap_or_default().to_string();
        let outcome = match function {
            Function::OnMatterCreated => json(call.on_matter_created(m).await?)?,
            Function::OnMatterUpdated => json(call.on_matter_updated(m).await?)?,
            Function::OnMatterClosed => json(call.on_matter_closed(m).await?)?,
            Function::OnMatterReopened => json(call.on_matter_reopened(m).await?)?,
            Function::MapMetadata => json(call.map_metadata(m).await?)?,
            Function::ResolveLegacy => json(call.resolve_legacy(m).await?)?,
            Function::LinkWorkspace => {
                let url = args.url.as_deref().unwrap_or_default();
                json(call.link_workspace(m, url).await?)?
            }
            Function::FileDocument => {
                let name = args.name.as_deref().unwrap_or_default();
                let content = args.content.as_deref().unwrap_or_default();
                json(
                    call.file_document(
                        &id,
                        args.folder.as_deref(),
                        name,
                        content,
                        args.idempotency_key.as_deref(),
                    )
                    .await?,
                )?
            }
            Function::ListFolders => json(call.list_folders(&id).await?)?,
            Function::CheckConnection => json(call.check_connection().await?)?,
            Function::HandleEvent => {
                let event = args.event.as_ref().expect("checked by check_args");
                json(call.handle_event(event).await?)?
            }
            Function::ReplayEvents => json(call.replay_events().await?)?,
            Function::FailedEvents => json(call.failed_events().await?)?,
            Function::AuditLog => json(call.audit_log(&args.audit).await?)?,
            Function::PollChanges => json(call.poll_changes(args.cursor.as_deref()).await?)?,
            Function::ApplyMatterTeam => {
                let members = args.members.as_deref().unwrap_or_default();
                json(call.apply_matter_team(&id, members).await?)?
            }
            Function::ImportWorkspaces => {
                json(call.import_workspaces(args.cursor.as_deref()).await?)?
            }
            Function::BackfillMatter => json(call.backfill_matter(m, args.create_missing).await?)?,
            Function::Drift => json(call.drift(m, args.fix).await?)?,
        };
        Ok((outcome, call.plan()))
    }
}

/// Never sent: `check_args` guarantees a matter for every function that reads one.
fn empty_matter() -> Matter {
    Matter {
        id: String::new(),
        title: String::new(),
        matter_type: String::new(),
        clients: Vec::new(),
        file_reference: None,
        assigned_to: None,
        priority: None,
        status: None,
        acting_user: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for f in Function::ALL {
            assert_eq!(f.name().parse::<Function>().unwrap(), *f);
        }
        let e = "on-matter-create".parse::<Function>().unwrap_err();
        assert!(
            e.to_string()
                .contains(r#"did you mean "on-matter-created"?"#),
            "{e}"
        );
        assert_eq!(
            "faild-events".parse::<Function>().unwrap_err().suggestion(),
            Some(Function::FailedEvents)
        );
        // A different word is not a typo: no suggestion, only the list.
        let e = "provision".parse::<Function>().unwrap_err();
        assert_eq!(e.suggestion(), None);
        assert!(!e.to_string().contains("did you mean"), "{e}");
    }

    fn matter() -> Matter {
        Matter {
            id: "1".into(),
            ..empty_matter()
        }
    }

    #[test]
    fn arguments_are_checked_both_ways() {
        let f = Function::LinkWorkspace;
        assert_eq!(
            f.check_args(&matter().into()),
            Err(ArgsError::Missing(Input::Url))
        );
        let with_url = Args {
            url: Some("u".into()),
            ..matter().into()
        };
        assert_eq!(f.check_args(&with_url), Ok(()));
        assert_eq!(
            Function::OnMatterCreated.check_args(&with_url),
            Err(ArgsError::Unexpected(Input::Url))
        );
        assert_eq!(
            Function::CheckConnection.check_args(&matter().into()),
            Err(ArgsError::Unexpected(Input::Matter))
        );
        let by_id = Args {
            matter_id: Some("1".into()),
            ..Args::default()
        };
        assert_eq!(Function::ListFolders.check_args(&by_id), Ok(()));
        assert_eq!(
            Function::CheckConnection.check_args(&by_id),
            Err(ArgsError::Unexpected(Input::MatterId))
        );
        let doc_without_name = Args {
            content: Some(vec![1]),
            ..by_id.clone()
        };
        assert_eq!(
            Function::FileDocument.check_args(&doc_without_name),
            Err(ArgsError::Missing(Input::Document))
        );
        assert_eq!(
            Function::Drift.check_args(&Args {
                create_missing: true,
                ..matter().into()
            }),
            Err(ArgsError::Unexpected(Input::CreateMissing))
        );
    }
}

#[cfg(test)]
mod readme {
    use super::Function;

    /// The README's list of functions: the bullet lines `- \`name\` …` after "The functions".
    fn readme_functions() -> Vec<String> {
        let readme = include_str!("../../README.md");
        let start = readme
            .find("The functions, as `matterlink call --help` lists them")
            .expect("the README lists the functions");
        readme[start..]
            .lines()
            .skip_while(|l| !l.starts_with("- `"))
            .take_while(|l| l.starts_with("- `"))
            .filter_map(|l| l.strip_prefix("- `")?.split('`').next().map(String::from))
            .collect()
    }

    /// One list: a function added to `functions!` without a README line (or a README line for
    /// a function that is gone) fails here.
    #[test]
    fn the_readme_lists_every_function_in_order() {
        let names: Vec<&str> = Function::ALL.iter().map(|f| f.name()).collect();
        assert_eq!(readme_functions(), names);
    }
}
