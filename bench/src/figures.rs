//! A figure as the benchmark prints it: the value, the baseline measured in the same run (or the
//! fixed target), their ratio, and whether the target is met.

use std::fmt::Write;

pub struct Figure {
    pub name: String,
    pub value: String,
    pub baseline: String,
    /// value ÷ baseline.
    pub ratio: f64,
    /// The target, as the issue states it, e.g. `≤ 1.3×`.
    pub target: String,
    /// `None`: the issue sets no target; the figure is printed for the record.
    pub met: Option<bool>,
    /// How the figure was obtained, printed under the table.
    pub note: String,
}

pub fn us(d: f64) -> String {
    format!("{d:.1} µs")
}

pub fn ms(d: f64) -> String {
    format!("{d:.2} ms")
}

pub fn mib(bytes: f64) -> String {
    format!("{:.1} MiB", bytes / (1024.0 * 1024.0))
}

pub fn table(figures: &[Figure]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<46} {:>14}  {:<34} {:>7}  {:<10} met",
        "figure", "value", "baseline (same run)", "ratio", "target"
    );
    for f in figures {
        let _ = writeln!(
            out,
            "{:<46} {:>14}  {:<34} {:>6.2}×  {:<10} {}",
            f.name,
            f.value,
            f.baseline,
            f.ratio,
            f.target,
            match f.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "—",
            }
        );
    }
    out.push('\n');
    for f in figures {
        let _ = writeln!(out, "- {}: {}", f.name, f.note);
    }
    out
}
