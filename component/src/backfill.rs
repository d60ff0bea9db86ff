//! backfill-matter: what a firm's backfill does with one legacy matter. The host only schedules
//! matters (concurrency, rate, resume, report); the decision per matter is made here:
//!
//! already linked → leave it; else resolve-legacy: exactly one workspace → linked; several →
//! a person must choose (needs a URL, with the candidates); none → provisioned when
//! `create_missing`, otherwise a person must paste its URL (or rerun with create-missing).

use serde::{Deserialize, Serialize};

use crate::legacy::find_and_link;
use crate::model::{Error, LegacyMatch, Matter, Result, Workspace};
use crate::platform::Platform;
use crate::provision::on_matter_created;
use crate::settings::Settings;
use crate::{audit, links, validate};

/// What `backfill_matter` did with one legacy matter. In JSON, tagged by `kind`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Outcome {
    /// Linked before this backfill (by an event, a paste or an earlier run): nothing was done.
    AlreadyLinked {
        /// The workspace it was linked to.
        workspace: Workspace,
    },
    /// Exactly one existing workspace carried the matter's id or file reference; now linked.
    Linked {
        /// The workspace now linked.
        workspace: Workspace,
    },
    /// No workspace existed, so one was provisioned (`create_missing`).
    Created {
        /// The workspace provisioned and linked.
        workspace: Workspace,
    },
    /// No single workspace was found. `candidates` are the workspaces to choose from (empty when
    /// none matched); a person links one with link-workspace.
    NeedsUrl {
        /// The workspaces a person may choose from.
        candidates: Vec<Workspace>,
    },
}

/// backfill-matter: leaves a linked matter alone, links its one existing workspace, reports the
/// candidates when there are several or none, or provisions it when `create_missing`. Audited
/// as `backfill`.
pub fn backfill_matter(p: &dyn Platform, m: &Matter, create_missing: bool) -> Result<Outcome> {
    // A client is needed only when the matter may be provisioned; linking needs none.
    validate::matter(m, create_missing)?;
    let s = Settings::load(p)?;
    s.check_scope(m)?;
    let result = decide(p, &s, m, create_missing);
    let (outcome, detail) = match &result {
        Ok(Outcome::AlreadyLinked { workspace }) => {
            ("unchanged", format!("already linked to {}", workspace.id))
        }
        Ok(Outcome::Linked { workspace }) => ("ok", format!("linked workspace {}", workspace.id)),
        Ok(Outcome::Created { workspace }) => ("ok", format!("created workspace {}", workspace.id)),
        Ok(Outcome::NeedsUrl { candidates }) if candidates.is_empty() => (
            "none",
            "no workspace found; needs a URL or --create-missing".to_string(),
        ),
        Ok(Outcome::NeedsUrl { candidates }) => (
            "several",
            format!(
                "needs a URL: {} candidates ({})",
                candidates.len(),
                candidates
                    .iter()
                    .map(|w| w.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
        // A refused record changes nothing, not even the audit trail (as everywhere else).
        Err(Error::InvalidMatter(_)) => return result,
        Err(e) => (e.kind(), e.message().to_string()),
    };
    audit::record(p, "backfill", &m.id, outcome, detail)?;
    result
}

/// Not audited: the matter's one record is `backfill_matter`'s, which says all a resolve-legacy
/// record would (a second record cost two key-value writes per matter).
fn decide(p: &dyn Platform, s: &Settings, m: &Matter, create_missing: bool) -> Result<Outcome> {
    if let Some(link) = links::get(p, &m.id)? {
        return Ok(Outcome::AlreadyLinked {
            workspace: link.workspace,
        });
    }
    Ok(match find_and_link(p, s, m)? {
        LegacyMatch::Linked(workspace) => Outcome::Linked { workspace },
        LegacyMatch::Several(candidates) => Outcome::NeedsUrl { candidates },
        LegacyMatch::None if create_missing => Outcome::Created {
            workspace: on_matter_created(p, m)?,
        },
        LegacyMatch::None => Outcome::NeedsUrl {
            candidates: Vec::new(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::links::Link;
    use crate::testing::FakePlatform;

    fn legacy() -> Matter {
        serde_json::from_str(include_str!("../../tests/fixtures/matter-legacy.json")).unwrap()
    }

    #[test]
    fn an_already_linked_matter_needs_no_imanage_call_and_is_audited() {
        let p = FakePlatform::configured();
        let ws = Workspace {
            id: "ACTIVE!7".into(),
            name: "n".into(),
            url: "u".into(),
            library: "ACTIVE".into(),
        };
        links::store(&p, &Link::new("88231", ws.clone(), None, 1, "created")).unwrap();
        let out = backfill_matter(&p, &legacy(), true).unwrap();
        assert_eq!(out, Outcome::AlreadyLinked { workspace: ws });
        assert!(p.sent.borrow().is_empty());
        let log = audit::read(&p, &audit::Query::default()).unwrap();
        assert_eq!(
            (log[0].action.as_str(), log[0].outcome.as_str()),
            ("backfill", "unchanged")
        );
    }

    #[test]
    fn failures_are_audited_and_bad_records_are_not() {
        let p = FakePlatform::configured(); // its network always fails
        let err = backfill_matter(&p, &legacy(), false).unwrap_err();
        assert_eq!(err.kind(), "unavailable");
        let log = audit::read(&p, &audit::Query::default()).unwrap();
        assert_eq!(log[0].outcome, "unavailable");

        let q = FakePlatform::configured();
        let mut m = legacy();
        m.clients.clear();
        let err = backfill_matter(&q, &m, true).unwrap_err();
        assert_eq!(err.kind(), "invalid-matter");
        assert!(q.kv.borrow().is_empty());
    }

    #[test]
    fn out_of_scope_matter_types_are_skipped_untouched() {
        let p = FakePlatform::configured();
        p.set_config("matter_types", r#"["Litigation"]"#);
        let err = backfill_matter(&p, &legacy(), true).unwrap_err();
        assert_eq!(err.kind(), "skipped");
        assert!(p.sent.borrow().is_empty());
    }

    #[test]
    fn outcomes_serialise_with_their_kind() {
        let v = serde_json::to_value(Outcome::NeedsUrl { candidates: vec![] }).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"kind": "needs-url", "candidates": []})
        );
    }
}
