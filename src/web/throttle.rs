//! Sign-in throttling: failed sign-ins are counted per client IP and per user name in a time
//! window. Past half the limit each attempt is slowed down; at the limit the form answers 429
//! with the time to wait. A successful sign-in clears its user name's count (not the IP's:
//! one valid account must not launder an address's failures). Counts live in bounded moka
//! caches, so a flood of distinct names or addresses cannot exhaust memory.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;
use ipnet::IpNet;
use moka::sync::Cache;

pub const DEFAULT_THROTTLE_USER_FAILURES: u64 = 5;
pub const DEFAULT_THROTTLE_IP_FAILURES: u64 = 30;
pub const DEFAULT_THROTTLE_WINDOW_SECS: u64 = 900;

/// Failed sign-ins allowed per user name and per client address within `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    pub user_failures: u32,
    pub ip_failures: u32,
    pub window: Duration,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            user_failures: DEFAULT_THROTTLE_USER_FAILURES as u32,
            ip_failures: DEFAULT_THROTTLE_IP_FAILURES as u32,
            window: Duration::from_secs(DEFAULT_THROTTLE_WINDOW_SECS),
        }
    }
}

/// The most a single attempt is slowed down.
const MAX_DELAY: Duration = Duration::from_secs(2);
const STEP_DELAY: Duration = Duration::from_millis(250);
const MAX_TRACKED: u64 = 100_000;

struct Window {
    started: Instant,
    failures: AtomicU32,
}

impl Window {
    fn fresh() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            failures: AtomicU32::new(0),
        })
    }
}

/// What to do with a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// Go ahead after this pause.
    Slow(Duration),
    /// Refuse; the window ends after this long.
    Closed {
        retry_after: Duration,
    },
}

pub struct Throttle {
    users: Cache<String, Arc<Window>>,
    ips: Cache<IpAddr, Arc<Window>>,
    settings: ThrottleSettings,
}

impl Throttle {
    pub fn new(settings: ThrottleSettings) -> Self {
        Self {
            users: Cache::builder()
                .max_capacity(MAX_TRACKED)
                .time_to_live(settings.window)
                .build(),
            ips: Cache::builder()
                .max_capacity(MAX_TRACKED)
                .time_to_live(settings.window)
                .build(),
            settings,
        }
    }

    fn judge(&self, window: Option<Arc<Window>>, limit: u32) -> Gate {
        let Some(window) = window else {
            return Gate::Open;
        };
        let failures = window.failures.load(Ordering::Relaxed);
        if failures >= limit {
            return Gate::Closed {
                retry_after: self
                    .settings
                    .window
                    .saturating_sub(window.started.elapsed())
                    .max(Duration::from_secs(1)),
            };
        }
        let half = limit / 2;
        if failures >= half.max(1) {
            let steps = failures - half + 1;
            return Gate::Slow((STEP_DELAY * steps).min(MAX_DELAY));
        }
        Gate::Open
    }

    /// The strictest of the IP's and the user name's verdicts.
    pub fn gate(&self, ip: Option<IpAddr>, username: &str) -> Gate {
        let by_user = self.judge(self.users.get(&key(username)), self.settings.user_failures);
        let by_ip = ip.map_or(Gate::Open, |ip| {
            self.judge(self.ips.get(&ip), self.settings.ip_failures)
        });
        match (by_user, by_ip) {
            (Gate::Closed { retry_after: a }, Gate::Closed { retry_after: b }) => Gate::Closed {
                retry_after: a.max(b),
            },
            (closed @ Gate::Closed { .. }, _) | (_, closed @ Gate::Closed { .. }) => closed,
            (Gate::Slow(a), Gate::Slow(b)) => Gate::Slow(a.max(b)),
            (slow @ Gate::Slow(_), _) | (_, slow @ Gate::Slow(_)) => slow,
            _ => Gate::Open,
        }
    }

    pub fn failed(&self, ip: Option<IpAddr>, username: &str) {
        self.users
            .entry(key(username))
            .or_insert_with(Window::fresh)
            .value()
            .failures
            .fetch_add(1, Ordering::Relaxed);
        self.failed_address(ip);
    }

    /// The limit per client address alone (the member-site hand-off has no user name).
    pub fn gate_address(&self, ip: Option<IpAddr>) -> Gate {
        ip.map_or(Gate::Open, |ip| {
            self.judge(self.ips.get(&ip), self.settings.ip_failures)
        })
    }

    /// A failure counted against the client address alone.
    pub fn failed_address(&self, ip: Option<IpAddr>) {
        if let Some(ip) = ip {
            self.ips
                .entry(ip)
                .or_insert_with(Window::fresh)
                .value()
                .failures
                .fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn succeeded(&self, username: &str) {
        self.users.invalidate(&key(username));
    }
}

/// User names are counted case- and whitespace-insensitively.
fn key(username: &str) -> String {
    username
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The member's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let chain: Vec<&str> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in chain.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => continue,
            Ok(ip) => return Some(ip),
            // An unreadable hop: stop trusting the header beyond it.
            Err(_) => break,
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn throttle(user: u32, ip: u32) -> Throttle {
        Throttle::new(ThrottleSettings {
            user_failures: user,
            ip_failures: ip,
            window: Duration::from_secs(60),
        })
    }

    #[test]
    fn failures_slow_down_then_close_the_gate_and_success_reopens_it() {
        let t = throttle(4, 100);
        let ip = Some("192.0.2.1".parse().expect("ip"));
        assert_eq!(t.gate(ip, "Ada"), Gate::Open);
        t.failed(ip, "ada");
        assert_eq!(t.gate(ip, "ada"), Gate::Open);
        t.failed(ip, " ADA ");
        assert_eq!(t.gate(ip, "ada"), Gate::Slow(Duration::from_millis(250)));
        t.failed(ip, "ada");
        assert_eq!(t.gate(ip, "ada"), Gate::Slow(Duration::from_millis(500)));
        t.failed(ip, "ada");
        assert!(
            matches!(t.gate(ip, "Ada"), Gate::Closed { retry_after } if retry_after <= Duration::from_secs(60))
        );
        assert_eq!(
            t.gate(ip, "grace"),
            Gate::Open,
            "another name from the same address"
        );
        t.succeeded("ADA");
        assert_eq!(t.gate(ip, "ada"), Gate::Open);
    }

    #[test]
    fn an_address_spraying_many_names_is_closed() {
        let t = throttle(100, 3);
        let ip = Some("198.51.100.7".parse().expect("ip"));
        for name in ["a", "b", "c"] {
            t.failed(ip, name);
        }
        assert!(matches!(t.gate(ip, "d"), Gate::Closed { .. }));
        assert_eq!(
            t.gate(Some("198.51.100.8".parse().expect("ip")), "d"),
            Gate::Open
        );
    }

    fn request(peer: &str, forwarded: Option<&str>) -> HttpRequest {
        let mut r = TestRequest::default().peer_addr(peer.parse().expect("peer"));
        if let Some(f) = forwarded {
            r = r.insert_header(("X-Forwarded-For", f));
        }
        r.to_http_request()
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("net")];
        let spoofed = request("203.0.113.9:5000", Some("1.2.3.4"));
        assert_eq!(
            client_ip(&spoofed, &trusted),
            Some("203.0.113.9".parse().expect("ip"))
        );
        let proxied = request("10.1.2.3:5000", Some("1.2.3.4, 198.51.100.20, 10.9.9.9"));
        assert_eq!(
            client_ip(&proxied, &trusted),
            Some("198.51.100.20".parse().expect("ip"))
        );
        let garbage = request("10.1.2.3:5000", Some("not-an-ip"));
        assert_eq!(
            client_ip(&garbage, &trusted),
            Some("10.1.2.3".parse().expect("ip"))
        );
    }
}
