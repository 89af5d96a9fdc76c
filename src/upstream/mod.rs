//! Shared facts about remote systems (iMIS, the Zendesk API): how recently they answered, for
//! `/readyz` and the logs, and a circuit breaker. After `failures` failures in a row the
//! circuit opens: calls fail at once, without waiting on a sick upstream, for `cooldown`; then
//! one trial call is let through (half-open) — success closes the circuit, failure opens it
//! again.

mod in_flight;
mod plumbing;

pub use in_flight::{Crowded, IN_FLIGHT_WAIT, InFlight};
pub use plumbing::{
    BodyError, CachedToken, MAX_BODY_BYTES, TokenCache, read_body, retry_after, timed_send,
};

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

/// Consecutive failures after which an upstream is reported `degraded`.
const DEGRADED_AFTER: u32 = 3;

/// When the circuit breaker opens and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerSettings {
    pub failures: u32,
    pub cooldown: Duration,
}

impl Default for BreakerSettings {
    fn default() -> Self {
        Self {
            failures: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug)]
pub struct UpstreamHealth {
    name: &'static str,
    breaker: BreakerSettings,
    last_ok_ms: AtomicU64,
    last_failure_ms: AtomicU64,
    consecutive_failures: AtomicU32,
    /// While the circuit is open: when calls may be tried again (0 = closed).
    open_until_ms: AtomicU64,
    /// When the half-open trial call started (0 = none under way).
    trial_started_ms: AtomicU64,
}

/// The circuit is open: the upstream failed repeatedly and is being left alone for a while.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name} failed {failures} times in a row; not calling it for another {retry_in_secs} s (circuit open)"
)]
pub struct CircuitOpen {
    pub name: &'static str,
    pub failures: u32,
    pub retry_in_secs: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpstreamReport {
    pub name: &'static str,
    /// `unknown` (not called yet), `ok`, or `degraded` (several failures in a row).
    pub state: &'static str,
    pub consecutive_failures: u32,
    pub seconds_since_ok: Option<u64>,
    pub seconds_since_failure: Option<u64>,
    /// `closed` (calls go through), `open` (short-circuited) or `half_open` (one trial).
    pub circuit: &'static str,
}

impl UpstreamHealth {
    pub fn new(name: &'static str) -> Self {
        Self::with_breaker(name, BreakerSettings::default())
    }

    pub fn with_breaker(name: &'static str, breaker: BreakerSettings) -> Self {
        Self {
            name,
            breaker,
            last_ok_ms: AtomicU64::new(0),
            last_failure_ms: AtomicU64::new(0),
            consecutive_failures: AtomicU32::new(0),
            open_until_ms: AtomicU64::new(0),
            trial_started_ms: AtomicU64::new(0),
        }
    }

    /// Whether a call may go out now.
    pub fn permit(&self) -> Result<(), CircuitOpen> {
        let open_until = self.open_until_ms.load(Ordering::Acquire);
        if open_until == 0 {
            return Ok(());
        }
        let now = now_ms();
        let refuse = |until: u64| CircuitOpen {
            name: self.name,
            failures: self.consecutive_failures.load(Ordering::Relaxed),
            retry_in_secs: until.saturating_sub(now).div_ceil(1000),
        };
        if now < open_until {
            return Err(refuse(open_until));
        }
        // Cooled down: one trial at a time; a trial that never reported is replaced after
        // another cool-down.
        let trial = self.trial_started_ms.load(Ordering::Acquire);
        let cooldown = self.breaker.cooldown.as_millis() as u64;
        if (trial == 0 || now.saturating_sub(trial) >= cooldown)
            && self
                .trial_started_ms
                .compare_exchange(trial, now, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return Ok(());
        }
        Err(refuse(
            now + cooldown.saturating_sub(now.saturating_sub(trial)),
        ))
    }

    pub fn record_ok(&self) {
        self.last_ok_ms.store(now_ms(), Ordering::Relaxed);
        self.consecutive_failures.store(0, Ordering::Relaxed);
        self.trial_started_ms.store(0, Ordering::Release);
        if self.open_until_ms.swap(0, Ordering::AcqRel) != 0 {
            tracing::info!(
                upstream = self.name,
                "circuit closed: the upstream answers again"
            );
        }
    }

    pub fn record_failure(&self) {
        let now = now_ms();
        self.last_failure_ms.store(now, Ordering::Relaxed);
        let failures = self.consecutive_failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failures >= self.breaker.failures {
            let until = now + self.breaker.cooldown.as_millis() as u64;
            self.trial_started_ms.store(0, Ordering::Release);
            if self.open_until_ms.swap(until, Ordering::AcqRel) == 0 {
                tracing::warn!(
                    upstream = self.name,
                    failures,
                    cooldown_secs = self.breaker.cooldown.as_secs(),
                    "circuit open: calls fail fast until the cool-down ends"
                );
            }
        }
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
        let open_until = self.open_until_ms.load(Ordering::Relaxed);
        let circuit = match open_until {
            0 => "closed",
            until if now < until => "open",
            _ => "half_open",
        };
        UpstreamReport {
            name: self.name,
            state,
            consecutive_failures: failures,
            seconds_since_ok: ago(last_ok),
            seconds_since_failure: ago(last_failure),
            circuit,
        }
    }
}

/// The HTTP client for an upstream: total and connect timeouts, no redirects (a redirected
/// password grant could carry the password elsewhere), our user agent, pooled connections.
pub fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(3)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("zendesk-sso-bridge/", env!("CARGO_PKG_VERSION")))
        .pool_idle_timeout(Duration::from_secs(60))
        .build()
}

/// Sends `request`; if it failed only because the pooled keep-alive connection it went out on
/// had been closed by the other side (the upstream restarted, or a proxy dropped an idle
/// connection), sends it once more on a fresh connection. Such a failure says nothing about the
/// upstream's health and must not count towards the circuit breaker.
pub async fn send_fresh_if_stale(
    request: reqwest::RequestBuilder,
) -> reqwest::Result<reqwest::Response> {
    let spare = request.try_clone();
    match (request.send().await, spare) {
        (Err(e), Some(spare)) if is_stale_connection(&e) => {
            tracing::debug!(error = %e, "pooled connection was closed by the upstream; sending again");
            spare.send().await
        }
        (result, _) => result,
    }
}

/// Whether the request died on a connection the other side had closed, before any answer.
fn is_stale_connection(error: &reqwest::Error) -> bool {
    use std::io::ErrorKind;
    if error.is_timeout() || error.is_connect() {
        return false;
    }
    let mut source = std::error::Error::source(error);
    while let Some(e) = source {
        if let Some(h) = e.downcast_ref::<hyper::Error>()
            && (h.is_incomplete_message() || h.is_canceled())
        {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::BrokenPipe
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
            )
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// `base` plus up to 100 ms of random jitter, so retries from many pods do not line up.
pub fn jittered(base: Duration) -> Duration {
    let mut byte = [0u8; 1];
    let extra = getrandom::fill(&mut byte).map_or(0, |()| u64::from(byte[0]) * 100 / 255);
    base + Duration::from_millis(extra)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    /// An upstream that answers the first request on each connection, then closes the
    /// connection when a second request arrives on it (as a restarted upstream would).
    async fn upstream_that_drops_reused_connections() -> (String, Arc<AtomicU32>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicU32::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buffer = [0u8; 4096];
                    let _ = socket.read(&mut buffer).await;
                    let body = "{\"ok\":true}";
                    let answer = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(answer.as_bytes()).await;
                    // The second request is read, then the connection is closed unanswered.
                    let _ = socket.read(&mut buffer).await;
                });
            }
        });
        (address, connections)
    }

    #[tokio::test]
    async fn a_request_on_a_connection_the_upstream_closed_is_sent_again_on_a_fresh_one() {
        let (address, connections) = upstream_that_drops_reused_connections().await;
        let client = http_client(Duration::from_secs(5)).expect("client");
        for round in 0..3 {
            let response = send_fresh_if_stale(client.post(&address).form(&[("grant_type", "x")]))
                .await
                .unwrap_or_else(|e| panic!("round {round}: {e:?}"));
            assert_eq!(response.status(), 200);
            response.bytes().await.expect("body");
        }
        assert!(connections.load(Ordering::SeqCst) >= 2);

        // Without it, the reused connection's failure reaches the caller.
        let (address, _) = upstream_that_drops_reused_connections().await;
        let client = http_client(Duration::from_secs(5)).expect("client");
        let first = client.get(&address).send().await.expect("first");
        first.bytes().await.expect("body");
        let second = client.get(&address).send().await;
        let error = second.expect_err("the reused connection was dropped");
        assert!(is_stale_connection(&error), "{error:?}");
    }

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

    #[test]
    fn the_circuit_opens_after_repeated_failures_then_lets_one_trial_through() {
        let h = UpstreamHealth::with_breaker(
            "imis",
            BreakerSettings {
                failures: 2,
                cooldown: Duration::from_millis(50),
            },
        );
        h.record_failure();
        assert!(h.permit().is_ok());
        h.record_failure();
        let open = h.permit().expect_err("open");
        assert_eq!(open.failures, 2);
        assert_eq!(h.report().circuit, "open");
        std::thread::sleep(Duration::from_millis(60));
        assert!(h.permit().is_ok(), "one trial after the cool-down");
        assert!(h.permit().is_err(), "only one trial at a time");
        h.record_failure();
        assert!(h.permit().is_err(), "a failed trial opens it again");
        std::thread::sleep(Duration::from_millis(60));
        assert!(h.permit().is_ok());
        h.record_ok();
        assert_eq!(h.report().circuit, "closed");
        assert!(h.permit().is_ok() && h.permit().is_ok());
    }

    #[test]
    fn jitter_stays_within_a_tenth_of_a_second() {
        for _ in 0..20 {
            let d = jittered(Duration::from_millis(150));
            assert!(d >= Duration::from_millis(150) && d <= Duration::from_millis(250));
        }
    }
}
