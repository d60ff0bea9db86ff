//! A backfill run by the console. A component has no background threads, so a backfill started
//! from an uploaded CSV is a job in key-value, run a few matters at a time by `step` (each
//! `POST …/step` of the page, repeated by its script or by the administrator's button) until
//! every row has its outcome.
//!
//! Exactly once per matter, whatever is retried or repeated: a step holds the job's claim
//! (`claim`), so two tabs or two hosts never run rows at the same time; it records a row's
//! outcome before it moves the job to the next row; and a row whose outcome is already recorded
//! (a step that stopped between the two writes) is counted, not run again. A step that dies
//! inside `backfill_matter` leaves its row to the next step, which is safe: backfill-matter of a
//! matter linked meanwhile answers `already-linked`.
//!
//! The decision per matter is `backfill::backfill_matter`'s; the report's columns are those of
//! the CLI's `matterlink backfill --report FILE.csv`.

use serde::{Deserialize, Serialize};

use crate::backfill::{backfill_matter, Outcome};
use crate::claim::{self, Attempt};
use crate::matters_csv::{self, csv_line, Row};
use crate::model::{Error, Result, Workspace};
use crate::platform::Platform;
use crate::settings::Settings;
use crate::{audit, keys, random};

/// A backfill job as key-value keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// Its id: 32 hex digits.
    pub id: String,
    /// The uploaded file's name, as the browser gave it.
    pub file_name: String,
    /// Who started it (the console's signed-in user).
    pub started_by: String,
    /// When, seconds since the epoch.
    pub started_at: u64,
    /// Provision matters that have no workspace (the CLI's `--create-missing`).
    pub create_missing: bool,
    /// How many rows the file has.
    pub total: u64,
}

/// How far a job has come: the next row to run and what the rows before it came to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Rows done: the index of the next row to run.
    pub done: u64,
    /// Linked to their one existing workspace, or linked before.
    pub linked: u64,
    /// Provisioned (create-missing).
    pub created: u64,
    /// No workspace found: a person pastes its link (or reruns with create-missing).
    pub none: u64,
    /// Several candidates: a person picks one.
    pub several: u64,
    /// Out of the integration's scope.
    pub skipped: u64,
    /// Failed, or an unreadable row.
    pub failed: u64,
    /// When a step last recorded an outcome, seconds since the epoch.
    pub updated_at: u64,
}

/// What happened to one row: the one list of outcomes a backfill reports, whether the CLI
/// (`matterlink backfill`) or the console ran it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Linked before this backfill.
    AlreadyLinked,
    /// Its one existing workspace was linked.
    Linked,
    /// A workspace was provisioned.
    Created,
    /// No single workspace matched: a person pastes its link.
    NeedsUrl,
    /// The integration does not apply to it.
    Skipped,
    /// It failed; `error` and `reason` say why.
    Failed,
}

impl Kind {
    /// Done matters are skipped by a rerun; the others are tried again.
    pub fn is_done(self) -> bool {
        matches!(self, Kind::AlreadyLinked | Kind::Linked | Kind::Created)
    }

    /// The label progress counts it under.
    pub fn label(self) -> &'static str {
        match self {
            Kind::AlreadyLinked | Kind::Linked => "linked",
            Kind::Created => "created",
            Kind::NeedsUrl => "needs a URL",
            Kind::Skipped => "skipped",
            Kind::Failed => "failed",
        }
    }

    /// As the report writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::AlreadyLinked => "already-linked",
            Kind::Linked => "linked",
            Kind::Created => "created",
            Kind::NeedsUrl => "needs-url",
            Kind::Skipped => "skipped",
            Kind::Failed => "failed",
        }
    }
}

/// One row's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The line of the file the matter came from.
    pub line: u64,
    /// The matter's id (empty when the row had none).
    pub matter_id: String,
    /// What happened.
    pub kind: Kind,
    /// The workspace linked or created.
    pub workspace: Option<Workspace>,
    /// For `needs-url`: the workspaces to choose from.
    pub candidates: Vec<Workspace>,
    /// The error kind of a failure (`unavailable`, `invalid-row`, …).
    pub error: Option<String>,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
}

impl Progress {
    fn count(&mut self, e: &Entry) {
        let n = match e.kind {
            Kind::AlreadyLinked | Kind::Linked => &mut self.linked,
            Kind::Created => &mut self.created,
            Kind::NeedsUrl if e.candidates.is_empty() => &mut self.none,
            Kind::NeedsUrl => &mut self.several,
            Kind::Skipped => &mut self.skipped,
            Kind::Failed => &mut self.failed,
        };
        *n += 1;
        self.done += 1;
    }
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It ran this many rows (possibly 0 when the job was already done).
    Ran(u64),
    /// Another step holds the job (another tab, another host): nothing was run.
    Busy,
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| Error::Unavailable(e.to_string()))
}

fn read<T: for<'de> Deserialize<'de>>(p: &dyn Platform, key: &str) -> Result<Option<T>> {
    p.kv_get(key)?
        .map(|raw| {
            serde_json::from_slice(&raw).map_err(|e| {
                Error::Unavailable(format!("key-value record {key} is unreadable: {e}"))
            })
        })
        .transpose()
}

/// Whether `id` has the shape of a job id, so a path segment is never used as a key unchecked.
pub fn is_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Starts a job over the matters of `csv` (read by `matters_csv::rows`, whose refusal of the
/// file comes back as `invalid-matter`) and records it in the audit trail. The file is kept as
/// uploaded and read again by each step: the same bytes give the same rows. The job's record is
/// written last, so a job that can be found has its file and progress.
pub fn start(
    p: &dyn Platform,
    csv: &[u8],
    create_missing: bool,
    started_by: &str,
    file_name: &str,
) -> Result<Job> {
    let rows = matters_csv::rows(csv).map_err(Error::InvalidMatter)?;
    if rows.is_empty() {
        return Err(Error::InvalidMatter(
            "the file has a header but no matters".into(),
        ));
    }
    let job = Job {
        id: random::token(),
        file_name: file_name.to_string(),
        started_by: started_by.to_string(),
        started_at: p.now(),
        create_missing,
        total: rows.len() as u64,
    };
    p.kv_set(&keys::backfill_rows(&job.id), csv)?;
    p.kv_set(
        &keys::backfill_progress(&job.id),
        &to_json(&Progress::default())?,
    )?;
    p.kv_set(&keys::backfill_job(&job.id), &to_json(&job)?)?;
    audit::record(
        p,
        "backfill-start",
        "",
        "ok",
        format!(
            "backfill {} of {} ({} rows{}) started by {started_by}",
            job.id,
            file_name,
            job.total,
            if create_missing {
                ", create missing"
            } else {
                ""
            }
        ),
    )?;
    Ok(job)
}

/// The job `id`, if there is one.
pub fn load(p: &dyn Platform, id: &str) -> Result<Option<Job>> {
    if !is_id(id) {
        return Ok(None);
    }
    read(p, &keys::backfill_job(id))
}

/// Every job, newest first.
pub fn list(p: &dyn Platform) -> Result<Vec<Job>> {
    let mut jobs = Vec::new();
    for key in p.kv_keys(keys::BACKFILL_JOBS)? {
        if let Some(j) = read::<Job>(p, &key)? {
            jobs.push(j);
        }
    }
    jobs.sort_unstable_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
    Ok(jobs)
}

/// How far job `id` has come.
pub fn progress(p: &dyn Platform, id: &str) -> Result<Progress> {
    Ok(read(p, &keys::backfill_progress(id))?.unwrap_or_default())
}

/// Every outcome recorded so far, in the file's order.
pub fn entries(p: &dyn Platform, job: &Job) -> Result<Vec<Entry>> {
    let done = progress(p, &job.id)?.done;
    let mut out = Vec::new();
    for n in 0..done {
        if let Some(e) = read(p, &keys::backfill_entry(&job.id, n))? {
            out.push(e);
        }
    }
    Ok(out)
}

/// Runs the next rows of `job` through `backfill_matter` until every row is done or
/// `budget_s` seconds (by `Platform::now`) have passed; at least one row per step, so that a
/// step always moves the job on.
pub fn step(p: &dyn Platform, job: &Job, budget_s: u64) -> Result<Step> {
    // A configuration that cannot load would fail every row alike: stop the job instead, so it
    // can go on once the configuration is fixed.
    let s = Settings::load(p)?;
    let claim = match claim::try_take_key(p, keys::backfill_claim(&job.id), s.claim_ttl_s)? {
        Attempt::Taken(c) => c,
        Attempt::Busy => return Ok(Step::Busy),
    };
    let result = run_rows(p, job, budget_s, &claim);
    // The outcomes are recorded either way; a failed release only delays the next step until
    // the claim goes stale.
    let _ = claim.release();
    result
}

fn run_rows(p: &dyn Platform, job: &Job, budget_s: u64, claim: &claim::Claim<'_>) -> Result<Step> {
    let started = p.now();
    let csv = p.kv_get(&keys::backfill_rows(&job.id))?.unwrap_or_default();
    // Read when the job started; unreadable now only if the record was damaged.
    let rows = matters_csv::rows(&csv).map_err(|e| {
        Error::Unavailable(format!(
            "backfill {}: its file cannot be read again: {e}",
            job.id
        ))
    })?;
    let mut ran = 0;
    loop {
        let mut prog = progress(p, &job.id)?;
        let Some(row) = rows.get(prog.done as usize) else {
            break;
        };
        if ran > 0 && p.now().saturating_sub(started) >= budget_s {
            break;
        }
        // Still ours? A step slower than the claim's TTL may have been overtaken: it stops
        // rather than run a row beside the step that took over.
        claim.renew()?;
        let key = keys::backfill_entry(&job.id, prog.done);
        let entry = match read::<Entry>(p, &key)? {
            // Recorded by a step that stopped before it moved the job on: count it only.
            Some(e) => e,
            None => {
                let e = run_row(p, row, job.create_missing);
                p.kv_set(&key, &to_json(&e)?)?;
                e
            }
        };
        prog.count(&entry);
        prog.updated_at = p.now();
        p.kv_set(&keys::backfill_progress(&job.id), &to_json(&prog)?)?;
        ran += 1;
    }
    Ok(Step::Ran(ran))
}

fn run_row(p: &dyn Platform, row: &Row, create_missing: bool) -> Entry {
    let mut e = Entry {
        line: row.line,
        matter_id: row.matter_id.clone().unwrap_or_default(),
        kind: Kind::Failed,
        workspace: None,
        candidates: Vec::new(),
        error: None,
        reason: None,
    };
    let m = match &row.matter {
        Ok(m) => m,
        Err(reason) => {
            e.error = Some("invalid-row".into());
            e.reason = Some(reason.clone());
            return e;
        }
    };
    match backfill_matter(p, m, create_missing) {
        Ok(Outcome::AlreadyLinked { workspace }) => {
            e.kind = Kind::AlreadyLinked;
            e.workspace = Some(workspace);
        }
        Ok(Outcome::Linked { workspace }) => {
            e.kind = Kind::Linked;
            e.workspace = Some(workspace);
        }
        Ok(Outcome::Created { workspace }) => {
            e.kind = Kind::Created;
            e.workspace = Some(workspace);
        }
        Ok(Outcome::NeedsUrl { candidates }) => {
            e.kind = Kind::NeedsUrl;
            e.candidates = candidates;
        }
        Err(Error::Skipped(why)) => {
            e.kind = Kind::Skipped;
            e.reason = Some(why);
        }
        Err(err) => {
            e.error = Some(err.kind().to_string());
            e.reason = Some(err.message().to_string());
        }
    }
    e
}

/// The columns of a backfill report as CSV: the CLI's `matterlink backfill --report FILE.csv`
/// and a console job's report alike.
pub const REPORT_COLUMNS: [&str; 10] = [
    "line",
    "matter_id",
    "outcome",
    "workspace_id",
    "workspace_name",
    "workspace_url",
    "candidates",
    "error",
    "reason",
    "earlier_run",
];

/// One matter's row of a report as CSV, in [`REPORT_COLUMNS`]' order: a workspace as its id,
/// name and URL; each candidate as `name <url>`, what a person needs to pick one and paste it.
#[allow(clippy::too_many_arguments)]
pub fn report_row<'w>(
    line: u64,
    matter_id: &str,
    kind: Kind,
    workspace: Option<(&str, &str, &str)>,
    candidates: impl Iterator<Item = (&'w str, &'w str)>,
    error: Option<&str>,
    reason: Option<&str>,
    earlier_run: bool,
) -> [String; 10] {
    let (id, name, url) = workspace.unwrap_or_default();
    let candidates = candidates
        .map(|(name, url)| format!("{name} <{url}>"))
        .collect::<Vec<_>>()
        .join("; ");
    [
        line.to_string(),
        matter_id.into(),
        kind.as_str().into(),
        id.into(),
        name.into(),
        url.into(),
        candidates,
        error.unwrap_or_default().into(),
        reason.unwrap_or_default().into(),
        earlier_run.to_string(),
    ]
}

/// The report as CSV, one row per matter done so far (`earlier_run` is always `false`: a
/// console job runs each row once).
pub fn report_csv(p: &dyn Platform, job: &Job) -> Result<Vec<u8>> {
    let mut out = csv_line(&REPORT_COLUMNS);
    for e in entries(p, job)? {
        let row = report_row(
            e.line,
            &e.matter_id,
            e.kind,
            e.workspace
                .as_ref()
                .map(|w| (w.id.as_str(), w.name.as_str(), w.url.as_str())),
            e.candidates
                .iter()
                .map(|c| (c.name.as_str(), c.url.as_str())),
            e.error.as_deref(),
            e.reason.as_deref(),
            false,
        );
        out.push_str(&csv_line(&row.each_ref().map(String::as_str)));
    }
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::{self, Link};
    use crate::testing::FakePlatform;

    const CSV: &[u8] = b"id,title,matter_type,client_id,client_name,file_reference\n\
        88231,Smith v Jones,Litigation,C-1,Acme,LIT-1\n\
        ,No id,Litigation,C-1,Acme,\n\
        88232,Brown v Green,Litigation,C-1,Acme,LIT-2\n";

    fn linked(p: &FakePlatform, matter: &str, ws: &str) {
        let w = Workspace {
            id: ws.into(),
            name: format!("ws {ws}"),
            url: format!("https://imanage/{ws}"),
            library: "ACTIVE".into(),
        };
        links::store(p, &Link::new(matter, w, None, 1, "created")).unwrap();
    }

    fn job(p: &FakePlatform) -> Job {
        start(p, CSV, false, "admin", "m.csv").unwrap()
    }

    #[test]
    fn steps_run_each_row_once_in_order_and_resume() {
        let p = FakePlatform::configured(); // its network always fails
        linked(&p, "88231", "ACTIVE!1");
        let j = job(&p);
        assert_eq!(load(&p, &j.id).unwrap(), Some(j.clone()));
        assert_eq!(list(&p).unwrap(), vec![j.clone()]);
        // A budget of 0 runs one row per step.
        assert_eq!(step(&p, &j, 0).unwrap(), Step::Ran(1));
        assert_eq!(progress(&p, &j.id).unwrap().linked, 1);
        assert!(p.sent.borrow().is_empty(), "a linked matter needs no call");
        assert_eq!(step(&p, &j, 0).unwrap(), Step::Ran(1));
        assert_eq!(progress(&p, &j.id).unwrap().failed, 1, "the row with no id");
        // The last row fails (iManage unreachable): recorded, counted, the job done.
        assert_eq!(step(&p, &j, 60).unwrap(), Step::Ran(1));
        let prog = progress(&p, &j.id).unwrap();
        assert_eq!((prog.done, prog.linked, prog.failed), (3, 1, 2));
        let sent = p.sent.borrow().len();
        assert_eq!(
            step(&p, &j, 60).unwrap(),
            Step::Ran(0),
            "done: nothing more"
        );
        assert_eq!(p.sent.borrow().len(), sent);
        let es = entries(&p, &j).unwrap();
        let kinds: Vec<_> = es.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec![Kind::AlreadyLinked, Kind::Failed, Kind::Failed]);
        assert_eq!(es[1].error.as_deref(), Some("invalid-row"));
        assert_eq!(es[2].error.as_deref(), Some("unavailable"));
        // One audit record per matter run (the row with no id is never a matter), and the start.
        let log = audit::read(&p, &audit::Query::default()).unwrap();
        let actions: Vec<_> = log.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, vec!["backfill", "backfill", "backfill-start"]);

        let report = String::from_utf8(report_csv(&p, &j).unwrap()).unwrap();
        let mut lines = report.lines();
        assert_eq!(
            lines.next(),
            Some("line,matter_id,outcome,workspace_id,workspace_name,workspace_url,candidates,error,reason,earlier_run")
        );
        assert!(lines
            .next()
            .unwrap()
            .starts_with("2,88231,already-linked,ACTIVE!1,ws ACTIVE!1,https://imanage/ACTIVE!1,"));
        assert_eq!(report.lines().count(), 4);
    }

    #[test]
    fn a_recorded_outcome_is_counted_not_run_again() {
        let p = FakePlatform::configured();
        let j = job(&p);
        // A step recorded row 0's outcome and stopped before it moved the job on.
        let e = Entry {
            line: 2,
            matter_id: "88231".into(),
            kind: Kind::Created,
            workspace: None,
            candidates: Vec::new(),
            error: None,
            reason: None,
        };
        p.kv_set(&keys::backfill_entry(&j.id, 0), &to_json(&e).unwrap())
            .unwrap();
        assert_eq!(step(&p, &j, 0).unwrap(), Step::Ran(1));
        assert!(p.sent.borrow().is_empty(), "row 0 not run again");
        assert!(audit::read(&p, &audit::Query::default())
            .unwrap()
            .iter()
            .all(|r| r.action != "backfill"));
        assert_eq!(progress(&p, &j.id).unwrap().created, 1);
    }

    #[test]
    fn a_step_while_another_holds_the_job_runs_nothing() {
        let p = FakePlatform::configured();
        let j = job(&p);
        let s = Settings::load(&p).unwrap();
        let Attempt::Taken(other) =
            claim::try_take_key(&p, keys::backfill_claim(&j.id), s.claim_ttl_s).unwrap()
        else {
            panic!("free")
        };
        assert_eq!(step(&p, &j, 60).unwrap(), Step::Busy);
        assert_eq!(progress(&p, &j.id).unwrap().done, 0);
        other.release().unwrap();
        assert_eq!(step(&p, &j, 0).unwrap(), Step::Ran(1));
        // A file the CLI would refuse is refused here, and starts nothing.
        let err = start(&p, b"id,title\n1,t\n", false, "admin", "x.csv").unwrap_err();
        assert!(err.message().contains("matter_type"), "{err}");
        assert_eq!(list(&p).unwrap().len(), 1);
        // Ids that are not a job's are never read as keys.
        assert!(!is_id("../x") && load(&p, "nope").unwrap().is_none());
    }
}
