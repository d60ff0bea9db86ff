//! How `backfill`, `drift` and dry runs
//! print their results: a readable summary, or JSON with `--json`. Exit codes follow `call`'s:
//! 0 all went through; 1 something failed or still differs; 2 usage; 3 the host failed.

use std::process::ExitCode;

use anyhow::Result;
use matterlink_host::backfill;
use matterlink_host::backfill::report::Kind;
use matterlink_host::drift;
use matterlink_host::dry_run::PlannedRequest;
use serde_json::json;

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
        println!("{DRY_RUN_NOTE}. The plan ({} requests):", plan.len());
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
            "backfill of {}: {} matters{}",
            report.file.display(),
            s.matters,
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
                    format!("  ({candidates} candidates in the report)")
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
            println!("{} matters left for a rerun", s.not_run);
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

pub fn drift(outcome: &drift::Outcome, fix: bool, as_json: bool) -> Result<ExitCode> {
    let counts = drift::counts(&outcome.entries);
    let bad = outcome.interrupted
        || outcome.entries.iter().any(|e| {
            matches!(
                e.state,
                drift::State::Drift | drift::State::NotLinked | drift::State::Failed
            )
        });
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
            let repaired =
                fix && !outcome.dry_run && !e.remaining.iter().any(|r| r.field == d.field);
            println!(
                "{:<12} {:<18} expected {:?}  actual {:?}{}",
                e.matter_id,
                d.field,
                d.expected,
                d.actual,
                if repaired { "  (repaired)" } else { "" }
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
        "{} matters: {}",
        outcome.entries.len(),
        counts
            .iter()
            .map(|(k, n)| format!("{n} {}", k.label()))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(if bad {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
