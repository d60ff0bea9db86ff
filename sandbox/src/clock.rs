//! Time as the sandbox sees it: real time plus an offset that tests move forward, so that token
//! expiry can be exercised without sleeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Debug, Default)]
pub struct Clock {
    offset_millis: AtomicU64,
}

impl Clock {
    pub fn now(&self) -> SystemTime {
        let offset = Duration::from_millis(self.offset_millis.load(Ordering::Relaxed));
        // Past SystemTime's range the offset is dropped rather than panicking.
        SystemTime::now()
            .checked_add(offset)
            .unwrap_or_else(SystemTime::now)
    }

    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .offset_millis
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old.saturating_add(millis))
            });
    }

    /// The API's date format: RFC 3339 in UTC, whole seconds.
    pub fn now_rfc3339(&self) -> String {
        DateTime::<Utc>::from(self.now()).to_rfc3339_opts(SecondsFormat::Secs, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_now_forward() {
        let clock = Clock::default();
        let before = clock.now();
        clock.advance(Duration::from_secs(3600));
        let gap = clock.now().duration_since(before).unwrap();
        assert!(gap >= Duration::from_secs(3600));
        clock.advance(Duration::MAX);
        let _ = clock.now();
    }
}
