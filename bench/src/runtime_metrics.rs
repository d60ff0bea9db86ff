//! What a runtime's own metrics say about its iManage requests, for the figures that split an
//! event's or a matter's time: the host times each request from handing it over to its
//! response's head (`matterlink_imanage_request_duration_seconds`).

use std::time::Duration;

use anyhow::Result;

/// The runtime's iManage requests so far: how many, and their time to the response head added
/// up (requests in flight together each count their own time).
#[derive(Debug, Clone, Copy, Default)]
pub struct Requests {
    pub count: u64,
    pub time: Duration,
}

impl Requests {
    /// What the runtime's metrics say now.
    pub fn of(rt: &matterlink_host::Runtime) -> Result<Requests> {
        let text = rt.metrics().encode()?;
        let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_string())))?;
        let total = |name: &str| -> f64 {
            scrape
                .samples
                .iter()
                .filter(|s| s.metric == name)
                .filter_map(|s| match s.value {
                    prometheus_parse::Value::Untyped(v) | prometheus_parse::Value::Counter(v) => {
                        Some(v)
                    }
                    _ => None,
                })
                .sum()
        };
        Ok(Requests {
            count: total("matterlink_imanage_request_duration_seconds_count") as u64,
            time: Duration::from_secs_f64(total("matterlink_imanage_request_duration_seconds_sum")),
        })
    }

    /// The requests since `earlier`.
    pub fn since(self, earlier: Requests) -> Requests {
        Requests {
            count: self.count.saturating_sub(earlier.count),
            time: self.time.saturating_sub(earlier.time),
        }
    }

    /// The mean time to a response's head (zero when there were none).
    pub fn mean(self) -> Duration {
        match u32::try_from(self.count) {
            Ok(0) | Err(_) => Duration::ZERO,
            Ok(n) => self.time / n,
        }
    }
}
