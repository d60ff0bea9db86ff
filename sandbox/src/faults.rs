//! Fault and latency settings, and the decisions they lead to: which request is slowed, refused,
//! hung, dropped, or failed after its work was committed. The HTTP side lives in `inject.rs`; this
//! module is plain logic so that its rules are testable without a server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// Every `every` requests, the next `count` answer 429 with `Retry-After: retry_after_secs`.
/// `every: 0` with a non-zero `count` refuses every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitBurst {
    pub every: u32,
    pub count: u32,
    #[serde(default = "default_retry_after")]
    pub retry_after_secs: u64,
}

fn default_retry_after() -> u64 {
    1
}

/// What the sandbox does wrong on purpose. Everything defaults to off. Faults apply to every
/// route except `/sandbox/admin/*`; the random ones are rolled in the order drop, timeout, error,
/// each on its own, so their rates compound rather than add.
#[derive(Debug, Clone, Serialize, Deserialize)]
// A typo in a fault setting must fail loudly, not leave the fault silently off.
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added before every request is handled.
    pub latency_ms: u64,
    /// Fraction (0..=1) of requests answered 500, 502 or 503 without doing the work.
    pub error_rate: f64,
    pub rate_limit_burst: Option<RateLimitBurst>,
    /// Fraction of requests that hang for `timeout_ms` and then answer 504, without the work.
    pub timeout_rate: f64,
    pub timeout_ms: u64,
    /// Fraction of requests whose connection is closed without any answer, without the work.
    pub drop_rate: f64,
    /// Fraction of creating requests (POST answering 201) that do the work and then answer 500
    /// or lose the connection, half each: the case that makes clients create twice.
    pub commit_then_fail_rate: f64,
    /// The change-event queue answers 403, as for an account outside NRTADMIN.
    pub event_queue_forbidden: bool,
    /// Writes (any method but GET) whose path ends with this (e.g. `/security`) answer 503
    /// without the work: one kind of write failing while the rest work, as when a provisioning
    /// fails half-way through.
    pub fail_path_suffix: Option<String>,
    /// Seeds the random source when the settings are applied, for repeatable runs.
    pub seed: Option<u64>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency_ms: 0,
            error_rate: 0.0,
            rate_limit_burst: None,
            timeout_rate: 0.0,
            // Longer than any sensible client timeout, so the client gives up first.
            timeout_ms: 30_000,
            drop_rate: 0.0,
            commit_then_fail_rate: 0.0,
            event_queue_forbidden: false,
            fail_path_suffix: None,
            seed: None,
        }
    }
}

impl Faults {
    fn rates(&self) -> [(&'static str, f64); 4] {
        [
            ("error_rate", self.error_rate),
            ("timeout_rate", self.timeout_rate),
            ("drop_rate", self.drop_rate),
            ("commit_then_fail_rate", self.commit_then_fail_rate),
        ]
    }

    /// Rates must be numbers between 0 and 1.
    pub fn validate(&self) -> Result<(), String> {
        for (name, rate) in self.rates() {
            if !(0.0..=1.0).contains(&rate) {
                return Err(format!("{name} must be between 0 and 1, not {rate}"));
            }
        }
        Ok(())
    }
}

/// Rates compare by their bits, which makes equality reflexive (a NaN equals itself) and lets
/// `SandboxConfig`, which holds the faults, stay `Eq`.
impl PartialEq for Faults {
    fn eq(&self, other: &Self) -> bool {
        let bits = |f: &Faults| f.rates().map(|(_, r)| r.to_bits());
        bits(self) == bits(other)
            && self.latency_ms == other.latency_ms
            && self.rate_limit_burst == other.rate_limit_burst
            && self.timeout_ms == other.timeout_ms
            && self.event_queue_forbidden == other.event_queue_forbidden
            && self.fail_path_suffix == other.fail_path_suffix
            && self.seed == other.seed
    }
}

impl Eq for Faults {}

/// How many faults of each kind were injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultCounts {
    pub errors: u64,
    pub rate_limited: u64,
    pub timeouts: u64,
    pub dropped: u64,
    pub commit_then_fail: u64,
}

/// The decision for a request before its work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Before {
    Proceed,
    RateLimited { retry_after_secs: u64 },
    Error(StatusCode),
    Timeout(Duration),
    Drop,
}

/// The decision for a creating request after its work was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    Answer,
    Error,
    Drop,
}

/// SplitMix64: tiny, seedable, and good enough to pick faults; nothing here needs crypto.
#[derive(Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `rate`. Rates of 0 and 1 draw nothing, so that they behave the same
    /// whatever the seed and leave the sequence of other draws alone.
    fn roll(&mut self, rate: f64) -> bool {
        if rate <= 0.0 {
            false
        } else if rate >= 1.0 {
            true
        } else {
            self.unit() < rate
        }
    }
}

fn entropy() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

#[derive(Debug, Default)]
struct Counters {
    errors: AtomicU64,
    rate_limited: AtomicU64,
    timeouts: AtomicU64,
    dropped: AtomicU64,
    commit_then_fail: AtomicU64,
}

impl Counters {
    fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn all(&self) -> [&AtomicU64; 5] {
        [
            &self.errors,
            &self.rate_limited,
            &self.timeouts,
            &self.dropped,
            &self.commit_then_fail,
        ]
    }
}

/// The live settings with their random source, burst position and counters.
#[derive(Debug)]
pub(crate) struct Injector {
    settings: Mutex<Faults>,
    rng: Mutex<Rng>,
    /// Requests seen since the settings were applied: the position in the 429 burst cycle.
    seen: AtomicU64,
    counters: Counters,
}

impl Injector {
    pub fn new(faults: Faults) -> Injector {
        let rng = Rng(faults.seed.unwrap_or_else(entropy));
        Injector {
            settings: Mutex::new(faults),
            rng: Mutex::new(rng),
            seen: AtomicU64::new(0),
            counters: Counters::default(),
        }
    }

    // A poisoned lock only means a panic elsewhere while holding it; the settings themselves are
    // always whole, so faults keep working.
    pub fn settings(&self) -> Faults {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replace the settings; a seed restarts the random sequence, and the burst cycle restarts.
    pub fn set(&self, faults: Faults) {
        if let Some(seed) = faults.seed {
            *self.rng.lock().unwrap_or_else(|p| p.into_inner()) = Rng(seed);
        }
        *self.settings.lock().unwrap_or_else(|p| p.into_inner()) = faults;
        self.seen.store(0, Ordering::Relaxed);
    }

    pub fn set_event_queue_forbidden(&self, forbidden: bool) {
        self.settings
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .event_queue_forbidden = forbidden;
    }

    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.settings().latency_ms)
    }

    /// Decide, and count, what happens to a request before its work (`write`: any method but
    /// GET).
    pub fn before(&self, write: bool, path: &str) -> Before {
        let faults = self.settings();
        if write
            && faults
                .fail_path_suffix
                .as_deref()
                .is_some_and(|suffix| path.ends_with(suffix))
        {
            Counters::bump(&self.counters.errors);
            return Before::Error(StatusCode::SERVICE_UNAVAILABLE);
        }
        let position = self.seen.fetch_add(1, Ordering::Relaxed);
        if let Some(burst) = faults.rate_limit_burst {
            let cycle = u64::from(burst.every) + u64::from(burst.count);
            if cycle > 0 && position % cycle >= u64::from(burst.every) {
                Counters::bump(&self.counters.rate_limited);
                return Before::RateLimited {
                    retry_after_secs: burst.retry_after_secs,
                };
            }
        }
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if rng.roll(faults.drop_rate) {
            Counters::bump(&self.counters.dropped);
            return Before::Drop;
        }
        if rng.roll(faults.timeout_rate) {
            Counters::bump(&self.counters.timeouts);
            return Before::Timeout(Duration::from_millis(faults.timeout_ms));
        }
        if rng.roll(faults.error_rate) {
            Counters::bump(&self.counters.errors);
            const STATUSES: [StatusCode; 3] = [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
            ];
            let pick = (rng.next_u64() % 3) as usize;
            return Before::Error(STATUSES[pick]);
        }
        Before::Proceed
    }

    /// Decide, and count, what happens to a creating request whose work is done.
    pub fn after_commit(&self) -> After {
        let rate = self.settings().commit_then_fail_rate;
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        if !rng.roll(rate) {
            return After::Answer;
        }
        Counters::bump(&self.counters.commit_then_fail);
        if rng.next_u64().is_multiple_of(2) {
            After::Error
        } else {
            After::Drop
        }
    }

    pub fn counts(&self) -> FaultCounts {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        FaultCounts {
            errors: load(&self.counters.errors),
            rate_limited: load(&self.counters.rate_limited),
            timeouts: load(&self.counters.timeouts),
            dropped: load(&self.counters.dropped),
            commit_then_fail: load(&self.counters.commit_then_fail),
        }
    }

    pub fn reset_counts(&self) {
        for counter in self.counters.all() {
            counter.store(0, Ordering::Relaxed);
        }
        self.seen.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn injector(faults: Faults) -> Injector {
        Injector::new(faults)
    }

    #[test]
    fn defaults_inject_nothing() {
        let i = injector(Faults::default());
        assert!((0..100).all(|_| i.before(true, "/workspaces") == Before::Proceed));
        assert!((0..100).all(|_| i.after_commit() == After::Answer));
        assert_eq!(i.counts(), FaultCounts::default());
    }

    #[test]
    fn a_path_suffix_fails_those_requests_only() {
        let i = injector(Faults {
            fail_path_suffix: Some("/security".into()),
            ..Faults::default()
        });
        let security = "/libraries/ACTIVE/workspaces/ACTIVE!1/security";
        assert_eq!(
            i.before(true, security),
            Before::Error(StatusCode::SERVICE_UNAVAILABLE)
        );
        assert_eq!(i.before(false, security), Before::Proceed, "reads work");
        assert_eq!(
            i.before(true, "/libraries/ACTIVE/workspaces/ACTIVE!1/folders"),
            Before::Proceed
        );
        assert_eq!(i.counts().errors, 1);
    }

    #[test]
    fn bursts_follow_the_cycle() {
        let i = injector(Faults {
            rate_limit_burst: Some(RateLimitBurst {
                every: 3,
                count: 2,
                retry_after_secs: 9,
            }),
            ..Faults::default()
        });
        let limited: Vec<bool> = (0..10)
            .map(|_| matches!(i.before(true, "/workspaces"), Before::RateLimited { .. }))
            .collect();
        assert_eq!(
            limited,
            [false, false, false, true, true, false, false, false, true, true]
        );
        assert_eq!(i.counts().rate_limited, 4);
    }

    #[test]
    fn a_seed_repeats_the_sequence() {
        let faults = Faults {
            error_rate: 0.5,
            seed: Some(7),
            ..Faults::default()
        };
        let i = injector(faults.clone());
        let first: Vec<Before> = (0..50).map(|_| i.before(true, "/workspaces")).collect();
        i.set(faults);
        let second: Vec<Before> = (0..50).map(|_| i.before(true, "/workspaces")).collect();
        assert_eq!(first, second);
        let errors = first.iter().filter(|b| **b != Before::Proceed).count();
        assert!((5..45).contains(&errors), "{errors} of 50");
    }

    #[test]
    fn validation_refuses_rates_outside_0_to_1() {
        for rate in [-0.1, 1.5, f64::NAN, f64::INFINITY] {
            let faults = Faults {
                drop_rate: rate,
                ..Faults::default()
            };
            assert!(faults.validate().is_err(), "{rate}");
        }
        assert!(Faults::default().validate().is_ok());
    }
}
