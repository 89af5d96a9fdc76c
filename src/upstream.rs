//! Shared facts about remote systems (iMIS, later the Zendesk API): how recently they answered,
//! for `/readyz` and the logs.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Consecutive failures after which an upstream is reported `degraded`.
const DEGRADED_AFTER: u32 = 3;

#[derive(Debug)]
pub struct UpstreamHealth {
    name: &'static str,
    last_ok_ms: AtomicU64,
    last_failure_ms: AtomicU64,
    consecutive_failures: AtomicU32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpstreamReport {
    pub name: &'static str,
    /// `unknown` (not called yet), `ok`, or `degraded` (several failures in a row).
    pub state: &'static str,
    pub consecutive_failures: u32,
    pub seconds_since_ok: Option<u64>,
    pub seconds_since_failure: Option<u64>,
}

impl UpstreamHealth {
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            last_ok_ms: AtomicU64::new(0),
            last_failure_ms: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
        }
    }

    pub fn record_ok(&self) {
        self.last_ok_ms.store(now_ms(), Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
    }

    pub fn record_failure(&self) {
        self.last_failure_ms.store(now_ms(), Ordering::Relaxed);
        self.consecutive_failures.fetch_add(1, Ordering::Relaxed);
    }

    pub fn report(&self) -> UpstreamReport {
        let now = now_ms();
        let ago = |ms: u64| (ms > 0).then(|| now.saturating_sub(ms) / 1000);
        let failures = self.consecutive_failures.load(Ordering::Relaxed);
        let last_ok = self.last_ok_ms.load(Ordering::Relaxed);
        let last_failure = self.last_failure_ms.load(Ordering::Relaxed);
        let state = if failures >= DEGRADED_AFTER {
            "degraded"
        } else if last_ok == 0 && last_failure == 0 {
            "unknown"
        } else {
            "ok"
        };
        UpstreamReport {
            name: self.name,
            state,
            consecutive_failures: failures,
            seconds_since_ok: ago(last_ok),
            seconds_since_failure: ago(last_failure),
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upstream_is_degraded_after_repeated_failures_and_recovers_on_success() {
        let h = UpstreamHealth::new("imis");
        assert_eq!(h.report().state, "unknown");
        h.record_failure();
        h.record_failure();
        assert_eq!(h.report().state, "ok");
        h.record_failure();
        assert_eq!(h.report().state, "degraded");
        h.record_ok();
        let r = h.report();
        assert_eq!((r.state, r.consecutive_failures), ("ok", 0));
        assert_eq!(r.seconds_since_ok, Some(0));
    }
}
