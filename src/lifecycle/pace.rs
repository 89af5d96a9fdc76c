//! The sync's request budget (`SYNC_ZENDESK_RPM`): requests spaced evenly, so that the rest of
//! Zendesk's per-minute limit stays free for sign-ins; a 429 is waited out as Zendesk asks.

use std::future::Future;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::zendesk::api::ApiError;

/// The longest `Retry-After` the sync waits out, and how often, before giving up.
const MAX_WAIT: Duration = Duration::from_secs(120);
const MAX_RATE_LIMITED: usize = 5;

pub struct Pace {
    interval: Duration,
    next: Mutex<Instant>,
}

impl Pace {
    /// At most `per_minute` requests a minute (at least one).
    pub fn new(per_minute: u32) -> Self {
        Self {
            interval: Duration::from_secs(60) / per_minute.max(1),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for this request's turn.
    async fn turn(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Runs one Zendesk request in its turn; a 429 is waited out (`Retry-After`, bounded) and
    /// the request made again.
    pub async fn request<T, F, Fut>(&self, mut call: F) -> Result<T, ApiError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ApiError>>,
    {
        let mut limited = 0;
        loop {
            self.turn().await;
            match call().await {
                Err(ApiError::RateLimited(wait)) if limited < MAX_RATE_LIMITED => {
                    limited += 1;
                    tracing::warn!(
                        wait_secs = wait.as_secs(),
                        "Zendesk rate limit reached; the sync waits"
                    );
                    tokio::time::sleep(wait.min(MAX_WAIT)).await;
                }
                other => return other,
            }
        }
    }
}
