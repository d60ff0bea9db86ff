//! Running many matters through the component, as `backfill` and `drift` do: tokio tasks, at
//! most `concurrency` at once (a semaphore), started no faster than `rate` per second (an
//! interval), with progress shown as it goes. When `stop` resolves (the CLI passes Ctrl-C) no
//! new matter starts; those already running finish, so nothing is left half done and a rerun
//! resumes cleanly. The library never installs a signal handler itself: that is the embedder's
//! call.
//!
//! Progress: an indicatif bar with rate and ETA when stdout is a terminal; otherwise plain
//! lines on stderr every few seconds, so that stdout stays clean for the summary or `--json`.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::Semaphore;

/// How a batch schedules its jobs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Matters in flight at once (at least 1).
    pub concurrency: usize,
    /// Most matters started per second; `None`: as fast as concurrency allows.
    pub rate: Option<f64>,
}

/// The Tokio runtime for a command that is not a server (`backfill`, `drift`, `call`, …): the
/// calling thread drives the command and one worker runs its jobs (component instances) and
/// their I/O. `TOKIO_WORKER_THREADS`, Tokio's own setting, still chooses another number.
///
/// Why one: a batch's matters wait on iManage, not on the cores, and every hand-off between
/// workers (a request handed to the connection's task, its answer handed back) wakes a sleeping
/// thread. With one worker a backfill used a fifth less CPU per matter, and went faster, on the
/// benchmark's two cores (0.56 and 0.60 ms per matter against 0.71 and 0.75; 1,460 and 1,479
/// matters/s against 1,427 and 1,420). One core's worth is some 1,700 matters a second, far
/// above what iManage lets one client send. `serve` keeps a worker per core: its requests run
/// side by side.
pub fn command_runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(1);
    }
    builder.enable_all().build()
}

/// How often a plain progress line is printed when stdout is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(3);

/// Progress of one batch: counts by outcome label, shown as a bar or as plain lines.
pub struct Progress {
    what: String,
    total: u64,
    started: Instant,
    bar: Option<ProgressBar>,
    state: Mutex<Shown>,
}

#[derive(Default)]
struct Shown {
    done: u64,
    counts: BTreeMap<&'static str, u64>,
    last_line: Option<Instant>,
}

impl Progress {
    /// `what` names the run in plain lines (`backfill`); `total` counts the matters to run.
    pub fn new(what: &str, total: u64) -> Progress {
        let bar = std::io::stdout().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stdout());
            bar.set_style(
                ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} {per_sec} ETA {eta} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        Progress {
            what: what.to_string(),
            total,
            started: Instant::now(),
            bar,
            state: Mutex::default(),
        }
    }

    /// Progress that shows nothing (tests, benchmarks).
    pub fn hidden(total: u64) -> Progress {
        Progress {
            what: String::new(),
            total,
            started: Instant::now(),
            bar: Some(ProgressBar::hidden()),
            state: Mutex::default(),
        }
    }

    fn tally(counts: &BTreeMap<&'static str, u64>) -> String {
        counts
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One matter finished with outcome `label`.
    pub fn finished(&self, label: &'static str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.done += 1;
        *s.counts.entry(label).or_default() += 1;
        if let Some(bar) = &self.bar {
            bar.inc(1);
            bar.set_message(Self::tally(&s.counts));
            return;
        }
        let due = s.last_line.is_none_or(|t| t.elapsed() >= PLAIN_EVERY);
        if due || s.done == self.total {
            s.last_line = Some(Instant::now());
            eprintln!("{}", self.line(&s));
        }
    }

    fn line(&self, s: &Shown) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-6);
        let rate = s.done as f64 / secs;
        let left = self.total.saturating_sub(s.done);
        let eta = if rate > 0.0 {
            format!("{:.0}s", left as f64 / rate)
        } else {
            "?".into()
        };
        let pct = if self.total == 0 {
            100.0
        } else {
            100.0 * s.done as f64 / self.total as f64
        };
        format!(
            "{}: {}/{} ({pct:.0}%), {rate:.1}/s, ETA {eta}; {}",
            self.what,
            s.done,
            self.total,
            Self::tally(&s.counts)
        )
    }

    /// Clears the bar: the summary printed next says it all.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// What a batch ran: each job's result by its index, and whether `stop` cut it short.
pub struct Ran<T> {
    /// Each job's result, by the job's index.
    pub results: Vec<(usize, T)>,
    /// Whether `stop` cut the batch short.
    pub interrupted: bool,
}

/// Runs `work` on every job until `stop` resolves. `work` returns its result and the label
/// progress counts it under.
pub async fn run<J, T, F, Fut>(
    jobs: Vec<(usize, J)>,
    opts: &Options,
    progress: Arc<Progress>,
    stop: impl Future<Output = ()>,
    work: F,
) -> Ran<T>
where
    J: Send + 'static,
    T: Send + 'static,
    F: Fn(J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = (T, &'static str)> + Send + 'static,
{
    let work = Arc::new(work);
    let permits = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let mut ticker = opts.rate.filter(|r| *r > 0.0).map(|r| {
        let mut t = tokio::time::interval(Duration::from_secs_f64(1.0 / r));
        // After a stall, carry on at the rate rather than catching up in a burst.
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let mut tasks = tokio::task::JoinSet::new();
    let mut interrupted = false;
    tokio::pin!(stop);
    for (index, job) in jobs {
        let start = async {
            if let Some(t) = ticker.as_mut() {
                t.tick().await;
            }
            permits.clone().acquire_owned().await
        };
        let permit = tokio::select! {
            p = start => p,
            () = &mut stop => {
                interrupted = true;
                break;
            }
        };
        let Ok(permit) = permit else { break };
        let (work, progress) = (work.clone(), progress.clone());
        tasks.spawn(async move {
            let (result, label) = work(job).await;
            progress.finished(label);
            drop(permit);
            (index, result)
        });
    }
    let mut results = Vec::with_capacity(tasks.len());
    while let Some(done) = tasks.join_next().await {
        match done {
            Ok(r) => results.push(r),
            // A panicking job is a bug; the others still report.
            Err(e) => tracing::error!(error = %e, "a batch task failed"),
        }
    }
    progress.finish();
    results.sort_by_key(|(i, _)| *i);
    Ran {
        results,
        interrupted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn never_more_than_concurrency_at_once_and_results_in_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs: Vec<(usize, u64)> = (0..20).map(|i| (i, i as u64)).collect();
        let (r, p) = (running.clone(), peak.clone());
        let ran = run(
            jobs,
            &Options {
                concurrency: 3,
                rate: None,
            },
            Arc::new(Progress::hidden(20)),
            std::future::pending(),
            move |n| {
                let (r, p) = (r.clone(), p.clone());
                async move {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    p.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    r.fetch_sub(1, Ordering::SeqCst);
                    (n * 2, "ok")
                }
            },
        )
        .await;
        assert!(!ran.interrupted);
        let peak = peak.load(Ordering::SeqCst);
        assert!((2..=3).contains(&peak), "peak {peak}");
        let got: Vec<u64> = ran.results.iter().map(|(_, v)| *v).collect();
        assert_eq!(got, (0..20).map(|i| i * 2).collect::<Vec<_>>());
    }
}
