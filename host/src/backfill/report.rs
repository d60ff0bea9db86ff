//! The backfill report: every matter of the file with what happened to it, as JSON (grouped
//! by outcome, with a summary) or CSV (one row per matter), chosen by the file's extension.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What happened to one matter: the component's, so that a backfill run by the CLI and one
/// started in the console report alike.
pub use matterlink_component::backfill_job::Kind;

/// A workspace as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceRef {
    /// The workspace id, e.g. `ACTIVE!1000`.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its link in iManage Work.
    pub url: String,
}

impl From<matterlink_component::model::Workspace> for WorkspaceRef {
    fn from(w: matterlink_component::model::Workspace) -> Self {
        WorkspaceRef {
            id: w.id,
            name: w.name,
            url: w.url,
        }
    }
}

/// One matter's line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The line of the file the matter came from.
    pub line: u64,
    /// The matter's id.
    pub matter_id: String,
    /// What happened.
    pub kind: Kind,
    /// The workspace linked or created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workspace: Option<WorkspaceRef>,
    /// For `needs-url`: the workspaces to choose from (empty when none matched).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<WorkspaceRef>,
    /// The error kind of a failure (`unavailable`, `invalid-matter`, `invalid-row`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Why it failed or was skipped, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Done by an earlier run of the same file, so skipped by this one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub earlier_run: bool,
}

impl Entry {
    /// An entry with nothing but its outcome.
    pub fn new(line: u64, matter_id: &str, kind: Kind) -> Entry {
        Entry {
            line,
            matter_id: matter_id.to_string(),
            kind,
            workspace: None,
            candidates: Vec::new(),
            error: None,
            reason: None,
            earlier_run: false,
        }
    }

    /// A failed entry with its error kind and reason.
    pub fn failed(line: u64, matter_id: &str, error: &str, reason: String) -> Entry {
        let mut e = Entry::new(line, matter_id, Kind::Failed);
        e.error = Some(error.to_string());
        e.reason = Some(reason);
        e
    }
}

/// Counts over the whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Every matter of the file, run or not.
    pub matters: usize,
    /// Linked now or before (`already-linked` included).
    pub linked: usize,
    /// Provisioned now.
    pub created: usize,
    /// Waiting for a person to paste a link.
    pub needs_url: usize,
    /// Left alone by the integration's settings.
    pub skipped: usize,
    /// Failed (rerun to retry).
    pub failed: usize,
    /// Done by an earlier run and skipped now (counted in linked/created too).
    pub done_before: usize,
    /// Not run this time (`--limit`, or Ctrl-C): a rerun takes them.
    pub not_run: usize,
}

/// The report of one backfill run.
pub struct Report {
    /// The matters file.
    pub file: PathBuf,
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Every matter run or done before, in file order.
    pub entries: Vec<Entry>,
    /// The counts.
    pub summary: Summary,
}

impl Report {
    /// The report of `entries`, with `not_run` matters left for a rerun.
    pub fn new(file: &Path, dry_run: bool, entries: Vec<Entry>, not_run: usize) -> Report {
        let mut s = Summary {
            matters: entries.len() + not_run,
            not_run,
            ..Summary::default()
        };
        for e in &entries {
            match e.kind {
                Kind::AlreadyLinked | Kind::Linked => s.linked += 1,
                Kind::Created => s.created += 1,
                Kind::NeedsUrl => s.needs_url += 1,
                Kind::Skipped => s.skipped += 1,
                Kind::Failed => s.failed += 1,
            }
            s.done_before += usize::from(e.earlier_run);
        }
        Report {
            file: file.to_path_buf(),
            dry_run,
            entries,
            summary: s,
        }
    }

    fn group(&self, kinds: &[Kind]) -> Vec<&Entry> {
        self.entries
            .iter()
            .filter(|e| kinds.contains(&e.kind))
            .collect()
    }

    /// The report as JSON: the summary and the entries grouped by outcome.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "file": self.file.display().to_string(),
            "dry_run": self.dry_run,
            "summary": self.summary,
            "linked": self.group(&[Kind::Linked, Kind::AlreadyLinked]),
            "created": self.group(&[Kind::Created]),
            // Each with its `candidates`, empty when none was found: readers index it blindly.
            "needs_url": self.group(&[Kind::NeedsUrl]).into_iter().map(|e| {
                let mut v = json!(e);
                v["candidates"] = json!(e.candidates);
                v
            }).collect::<Vec<_>>(),
            "skipped": self.group(&[Kind::Skipped]),
            "failed": self.group(&[Kind::Failed]),
        })
    }

    /// Writes the report as JSON or CSV, by the file's extension.
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = match Format::of(path).map_err(anyhow::Error::msg)? {
            Format::Json => serde_json::to_vec_pretty(&self.to_json())?,
            Format::Csv => self.csv()?,
        };
        // Write then rename: an interrupted write never leaves half a report behind.
        let tmp = path.with_extension("partial");
        std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    fn csv(&self) -> Result<Vec<u8>> {
        use matterlink_component::backfill_job::{report_row, REPORT_COLUMNS};
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(REPORT_COLUMNS)?;
        for e in &self.entries {
            w.write_record(report_row(
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
                e.earlier_run,
            ))?;
        }
        w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
    }
}

/// A report file's format.
pub enum Format {
    /// `.json`
    Json,
    /// `.csv`
    Csv,
}

impl Format {
    /// The format a path's extension asks for, or why it is not one.
    pub fn of(path: &Path) -> Result<Format, String> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            _ => Err(format!(
                "the report file {} must end in .json or .csv",
                path.display()
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Report {
        let mut linked = Entry::new(2, "1", Kind::Linked);
        linked.workspace = Some(WorkspaceRef {
            id: "A!1".into(),
            name: "One".into(),
            url: "http://x/w/A!1".into(),
        });
        let mut needs = Entry::new(3, "2", Kind::NeedsUrl);
        needs.candidates = vec![
            WorkspaceRef {
                id: "A!2".into(),
                name: "Two".into(),
                url: "http://x/w/A!2".into(),
            },
            WorkspaceRef {
                id: "A!3".into(),
                name: "Two, again".into(),
                url: "http://x/w/A!3".into(),
            },
        ];
        let failed = Entry::failed(4, "3", "unavailable", "iManage is down".into());
        let none_found = Entry::new(5, "4", Kind::NeedsUrl);
        Report::new(
            Path::new("m.csv"),
            false,
            vec![linked, needs, failed, none_found],
            1,
        )
    }

    #[test]
    fn json_groups_by_outcome() {
        let v = sample().to_json();
        assert_eq!(v["summary"]["matters"], 5);
        assert_eq!(v["summary"]["not_run"], 1);
        assert_eq!(v["linked"][0]["workspace"]["id"], "A!1");
        assert_eq!(v["needs_url"][0]["candidates"][1]["name"], "Two, again");
        assert_eq!(
            v["needs_url"][1]["candidates"],
            json!([]),
            "none found: empty"
        );
        assert_eq!(v["failed"][0]["error"], "unavailable");
        assert_eq!(v["failed"][0]["line"], 4);
    }

    #[test]
    fn csv_has_one_row_per_matter() {
        let text = String::from_utf8(sample().csv().unwrap()).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(&rows[1][2], "needs-url");
        assert_eq!(
            &rows[1][6],
            "Two <http://x/w/A!2>; Two, again <http://x/w/A!3>"
        );
        assert_eq!(&rows[2][8], "iManage is down");
    }
}
