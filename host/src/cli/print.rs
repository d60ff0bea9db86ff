//! How `backfill`, `drift` and dry runs
//! print their results: a readable summary, or JSON with `--json`. Exit codes follow `call`'s:
//! 0 all went through; 1 something failed or still differs; 2 usage; 3 the host failed.

use std::process::ExitCode;

use anyhow::Result;
use matterlink_component::drift::{repairable, Difference};
use matterlink_host::backfill;
use matterlink_host::backfill::report::Kind;
use matterlink_host::drift;
use matterlink_host::dry_run::PlannedRequest;
use serde_json::json;

/// `1 matter`, `2 matters`: counts as people write them.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

const DRY_RUN_NOTE: &str =
    "dry run: nothing was sent to change iManage and nothing was stored; reads went through";

fn print_plan(plan: &[PlannedRequest], indent: &str) {
    if plan.is_empty() {
        println!("{indent}(no changes)");
    }
    for r in plan {
        println!("{indent}{}", r.line());
    }
}

/// `matterlink call --dry-run`: the plan, then the (simulated) result as `call` prints it.
pub fn dry_call(
    outcome: matterlink_host::Outcome,
    plan: &[PlannedRequest],
    as_json: bool,
) -> Result<ExitCode> {
    let failed = outcome.is_err();
    if as_json {
        let mut v = json!({"dry_run": true, "plan": plan});
        match outcome {
            Ok(result) => v["result"] = result,
            Err(e) => v["error"] = serde_json::to_value(&e)?,
        }
        println!("{v}");
    } else {
        println!(
            "{DRY_RUN_NOTE}. The plan ({}):",
            count(plan.len(), "request")
        );
        print_plan(plan, "  ");
        match outcome {
            Ok(serde_json::Value::String(text)) => println!("result (simulated):\n{text}"),
            Ok(value) => println!(
                "result (simulated):\n{}",
                serde_json::to_string_pretty(&value)?
            ),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn backfill(
    outcome: &backfill::Outcome,
    opts: &backfill::Options,
    as_json: bool,
) -> Result<ExitCode> {
    let report = &outcome.report;
    let s = &report.summary;
    if as_json {
        let mut v = report.to_json();
        if report.dry_run {
            v["plans"] = outcome
                .plans
                .iter()
                .map(|(e, plan)| json!({"matter_id": e.matter_id, "plan": plan}))
                .collect();
        }
        println!("{v}");
    } else {
        if report.dry_run {
            println!("{DRY_RUN_NOTE}.");
            for (e, plan) in &outcome.plans {
                println!(
                    "matter {} (line {}): would be {}",
                    e.matter_id,
                    e.line,
                    e.kind.label()
                );
                print_plan(plan, "  ");
            }
        }
        println!(
            "backfill of {}: {}{}",
            report.file.display(),
            count(s.matters, "matter"),
            if s.done_before > 0 {
                format!(
                    "; already done by an earlier run (skipped): {}",
                    s.done_before
                )
            } else {
                String::new()
            }
        );
        let candidates: usize = report
            .entries
            .iter()
            .filter(|e| e.kind == Kind::NeedsUrl)
            .map(|e| e.candidates.len())
            .sum();
        for (label, n, note) in [
            ("linked", s.linked, String::new()),
            ("created", s.created, String::new()),
            (
                "needs a URL",
                s.needs_url,
                if candidates > 0 {
                    format!("  ({} in the report)", count(candidates, "candidate"))
                } else {
                    String::new()
                },
            ),
            ("skipped", s.skipped, String::new()),
            ("failed", s.failed, String::new()),
            ("not run", s.not_run, String::new()),
        ] {
            println!("  {label:<12} {n:>7}{note}");
        }
        for e in report.entries.iter().filter(|e| e.error.is_some()).take(10) {
            println!(
                "  line {}: matter {:?}: {}: {}",
                e.line,
                e.matter_id,
                e.error.as_deref().unwrap_or_default(),
                e.reason.as_deref().unwrap_or_default()
            );
        }
        if outcome.interrupted {
            println!("interrupted: the matters not run are taken by a rerun");
        } else if s.not_run > 0 {
            println!("{} left for a rerun", count(s.not_run, "matter"));
        }
    }
    if let Some(path) = &opts.report {
        if report.dry_run {
            eprintln!("dry run: the report {} was not written", path.display());
        } else {
            report.write(path)?;
            if !as_json {
                println!("report written to {}", path.display());
            }
        }
    }
    Ok(if s.failed > 0 || outcome.interrupted {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The differences a drift entry still has: after `--fix` what the repair left, otherwise
/// (or when nothing was repairable, so no repair ran) every difference found.
fn left(e: &drift::Entry) -> &[Difference] {
    if e.remaining.is_empty() && e.state == drift::State::Drift {
        &e.differences
    } else {
        &e.remaining
    }
}

/// `drift`: exit 1 while something differs, is not linked or failed. With `--fix` (not a dry
/// run) what matters is whether the repair did all it can: differences it never rewrites
/// (client, matter, type) and matters without a workspace are for a person, and are named in
/// the summary without failing the run.
pub fn drift(outcome: &drift::Outcome, fix: bool, as_json: bool) -> Result<ExitCode> {
    let counts = drift::counts(&outcome.entries);
    let repairing = fix && !outcome.dry_run;
    let bad = outcome.interrupted
        || outcome.entries.iter().any(|e| match e.state {
            drift::State::Failed => true,
            drift::State::NotLinked => !repairing,
            drift::State::Drift => !repairing || left(e).iter().any(repairable),
            _ => false,
        });
    let for_a_person: usize = outcome
        .entries
        .iter()
        .filter(|e| e.state == drift::State::Drift)
        .map(|e| left(e).iter().filter(|d| !repairable(d)).count())
        .sum();
    let not_linked = outcome
        .entries
        .iter()
        .filter(|e| e.state == drift::State::NotLinked)
        .count();
    if as_json {
        let mut v = json!({
            "entries": outcome.entries,
            "summary": counts.iter().map(|(k, n)| (json!(k).as_str().unwrap_or_default().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        });
        if outcome.dry_run {
            v["plans"] = outcome
                .plans
                .iter()
                .map(|(id, plan)| json!({"matter_id": id, "plan": plan}))
                .collect();
        }
        println!("{v}");
        return Ok(if bad {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        });
    }
    if outcome.dry_run {
        println!("{DRY_RUN_NOTE}.");
    }
    for e in &outcome.entries {
        for d in &e.differences {
            // A dry run changed nothing, so it repaired nothing: its plan says what would be.
            let repaired = repairing && !e.remaining.iter().any(|r| r.field == d.field);
            let note = if repaired {
                "  (repaired)"
            } else if repairing && !repairable(d) {
                "  (never rewritten: change it in iManage)"
            } else {
                ""
            };
            println!(
                "{:<12} {:<18} expected {:?}  actual {:?}{note}",
                e.matter_id, d.field, d.expected, d.actual,
            );
        }
        if let (Some(kind), Some(reason)) = (&e.error, &e.reason) {
            println!("{:<12} {kind}: {reason}", e.matter_id);
        }
    }
    for (id, plan) in &outcome.plans {
        println!("matter {id}:");
        print_plan(plan, "  ");
    }
    println!(
        "{}: {}",
        count(outcome.entries.len(), "matter"),
        counts
            .iter()
            .map(|(k, n)| format!("{n} {}", k.label()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if repairing && !bad {
        println!("--fix repaired everything it can");
    }
    if repairing && for_a_person > 0 {
        println!(
            "{} left for a person: --fix never rewrites client, matter or type (custom1..custom3)",
            count(for_a_person, "difference")
        );
    }
    if repairing && not_linked > 0 {
        println!(
            "{} not linked: link with resolve-legacy or link-workspace",
            count(not_linked, "matter")
        );
    }
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
