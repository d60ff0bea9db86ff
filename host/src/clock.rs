//! The component's wall clock: the host's, moved forward by an offset that tests and
//! simulations set (`Runtime::advance_clock`), so that token expiry — a matter of hours and days —
//! is exercised without waiting. Production never moves it. The monotonic clock (timeouts,
//! sleeps) is left alone: only "what time is it" changes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wasmtime_wasi::HostWallClock;

/// Shared by every store of one runtime.
#[derive(Clone, Default, Debug)]
pub struct ClockOffset(Arc<AtomicU64>);

impl ClockOffset {
    /// Moves the clock forward by `by` for every later call.
    pub fn advance(&self, by: Duration) {
        let millis = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old.saturating_add(millis))
            });
    }

    /// How far the clock has been moved so far.
    pub fn offset(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn wall_clock(&self) -> OffsetWallClock {
        OffsetWallClock(self.clone())
    }
}

pub(crate) struct OffsetWallClock(ClockOffset);

impl HostWallClock for OffsetWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_nanos(1)
    }

    fn now(&self) -> Duration {
        let real = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        real.saturating_add(self.0.offset())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancing_moves_the_wall_clock_for_every_holder() {
        let offset = ClockOffset::default();
        let clock = offset.wall_clock();
        let before = clock.now();
        offset.clone().advance(Duration::from_secs(86_400));
        assert!(clock.now() >= before + Duration::from_secs(86_400));
    }
}
