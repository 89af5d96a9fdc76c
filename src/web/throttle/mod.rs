//! Sign-in throttling that holds under concurrency.
//!
//! Every attempt that will ask the member system is *reserved* before it does: the reservation
//! counts it as a failure against its user name and its client address (an atomic check-and-add,
//! so a burst of simultaneous guesses cannot all pass the check), holds the one attempt in flight
//! its user name may have, and one of the few its address may have. A success takes the counts
//! back (the user name's entirely, the address's one); an answer that says nothing about the
//! password (the member system down) takes its own count back. Past half a limit each attempt is
//! slowed down; at the limit the member gets 429 with the time to wait.
//!
//! Keys: user names in their canonical form ([`crate::canonical::user_name`]), so look-alike
//! spellings share one bucket; IPv6 clients by their /64 (one subscriber's prefix). Counts live
//! in bounded caches whose admission (TinyLFU) keeps the entries touched repeatedly — the ones
//! with failures — over a flood of names seen once.

use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use actix_web::HttpRequest;

use crate::shared::SharedState;
use crate::upstream::InFlight;

mod shared;
use ipnet::IpNet;
use moka::sync::Cache;

pub const DEFAULT_THROTTLE_USER_FAILURES: u64 = 4;
pub const DEFAULT_THROTTLE_IP_FAILURES: u64 = 30;
pub const DEFAULT_THROTTLE_WINDOW_SECS: u64 = 900;
pub const DEFAULT_SIGN_IN_MAX_IN_FLIGHT: u64 = 64;
pub const DEFAULT_SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS: u64 = 4;

/// Failed sign-ins allowed per user name and per client address within `window`, and sign-ins
/// that may wait on the member system at once, overall and per client address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleSettings {
    pub user_failures: u32,
    pub ip_failures: u32,
    pub window: Duration,
    pub max_in_flight: u32,
    pub max_in_flight_per_address: u32,
}

impl Default for ThrottleSettings {
    fn default() -> Self {
        Self {
            user_failures: DEFAULT_THROTTLE_USER_FAILURES as u32,
            ip_failures: DEFAULT_THROTTLE_IP_FAILURES as u32,
            window: Duration::from_secs(DEFAULT_THROTTLE_WINDOW_SECS),
            max_in_flight: DEFAULT_SIGN_IN_MAX_IN_FLIGHT as u32,
            max_in_flight_per_address: DEFAULT_SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS as u32,
        }
    }
}

/// The most a single attempt is slowed down.
const MAX_DELAY: Duration = Duration::from_secs(2);
const STEP_DELAY: Duration = Duration::from_millis(250);
const MAX_TRACKED: u64 = 100_000;
/// How long a sign-in waits for a place among those in flight before the busy page.
const QUEUE_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a sign-in waits while another attempt of the same user name is in flight (a
/// double-click, a second tab): long enough for one iMIS sign-in with its retry.
const USER_TURN_WAIT: Duration = Duration::from_secs(12);
/// How often a waiting sign-in looks whether its user name's turn has come.
const USER_TURN_POLL: Duration = Duration::from_millis(50);

struct Window {
    started: Instant,
    failures: AtomicU32,
    in_flight: AtomicU32,
}

impl Window {
    fn fresh() -> Arc<Self> {
        Arc::new(Self {
            started: Instant::now(),
            failures: AtomicU32::new(0),
            in_flight: AtomicU32::new(0),
        })
    }

    /// Counts one more failure unless `limit` is reached; the failures before it.
    fn take(&self, limit: u32) -> Option<u32> {
        self.failures
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| {
                (f < limit).then_some(f + 1)
            })
            .ok()
    }

    fn give_back(&self) {
        let _ = self
            .failures
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |f| f.checked_sub(1));
    }

    fn retry_after(&self, window: Duration) -> Duration {
        window
            .saturating_sub(self.started.elapsed())
            .max(Duration::from_secs(1))
    }
}

/// Why an attempt may not go ahead now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Too many failures: the window ends after this long.
    Closed { retry_after: Duration },
    /// Too many attempts in flight (this address's or everyone's).
    Busy,
    /// Another attempt of this user name is in flight: the next one waits its turn.
    UserBusy,
}

impl From<Held> for crate::signin::Failure {
    fn from(held: Held) -> Self {
        match held {
            Held::Closed { retry_after } => Self::Throttled { retry_after },
            Held::Busy | Held::UserBusy => Self::Busy,
        }
    }
}

/// The key of a client address: IPv4 as it is, IPv6 by its /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AddressKey(IpAddr);

impl AddressKey {
    /// The address's bytes (the key of its count in Redis, HMAC'd).
    pub fn bytes(&self) -> Vec<u8> {
        match self.0 {
            IpAddr::V4(v4) => v4.octets().to_vec(),
            IpAddr::V6(v6) => v6.octets().to_vec(),
        }
    }

    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let prefix = u128::from(v6) & (u128::MAX << 64);
                    Self(IpAddr::V6(Ipv6Addr::from(prefix)))
                }
            },
            v4 => Self(v4),
        }
    }
}

pub struct Throttle {
    users: Arc<Windows<String>>,
    addresses: Windows<AddressKey>,
    /// Sign-ins in flight in this pod (`SIGN_IN_MAX_IN_FLIGHT` protects this pod's memory).
    in_flight: InFlight,
    settings: ThrottleSettings,
    shared: Arc<SharedState>,
}

/// Windows by key in two bounded caches: names seen once churn among themselves, and a key
/// with a second failure moves to its own cache, which a flood of new names cannot push out.
struct Windows<K> {
    seen_once: Cache<K, Arc<Window>>,
    repeated: Cache<K, Arc<Window>>,
}

impl<K> Windows<K>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
{
    fn new(ttl: Duration) -> Self {
        let cache = || {
            Cache::builder()
                .max_capacity(MAX_TRACKED)
                .time_to_live(ttl)
                .build()
        };
        Self {
            seen_once: cache(),
            repeated: cache(),
        }
    }

    fn get(&self, key: &K) -> Arc<Window> {
        match self.repeated.get(key) {
            Some(window) => window,
            None => self.seen_once.get_with(key.clone(), Window::fresh),
        }
    }

    /// Counts a failure against `key`'s window (see [`Window::take`]), keeping repeat offenders.
    fn take(&self, key: &K, window: &Arc<Window>, limit: u32) -> Option<u32> {
        let before = window.take(limit)?;
        if before == 1 {
            self.repeated.insert(key.clone(), window.clone());
        }
        Some(before)
    }

    fn forget(&self, key: &K) {
        self.repeated.invalidate(key);
        self.seen_once.invalidate(key);
    }
}

/// One attempt's place: counted as a failure until [`Reservation::succeeded`] or
/// [`Reservation::not_counted`]; its places in flight are freed when it is settled or dropped.
pub struct Reservation {
    /// Slow down by this much before asking the member system.
    pub pause: Duration,
    _permit: tokio::sync::OwnedSemaphorePermit,
    places: Places,
}

enum Places {
    Local(LocalPlaces),
    Shared(shared::SharedPlaces),
}

impl Reservation {
    /// The member system accepted: the user name starts afresh, the address's count comes back.
    /// In Redis this is settled beside the member's sign-in, not before it (one round trip less
    /// on the way to Zendesk).
    pub async fn succeeded(self) {
        match self.places {
            Places::Local(places) => places.succeeded(),
            Places::Shared(places) => {
                tokio::spawn(places.settle("succeeded"));
            }
        }
    }

    /// The answer said nothing about the password (the member system was down, the request was
    /// malformed): neither count stands.
    pub async fn not_counted(self) {
        match self.places {
            Places::Local(places) => places.not_counted(),
            Places::Shared(places) => places.settle("uncounted").await,
        }
    }

    /// The member system refused: the counts stand, the places in flight are free again.
    pub async fn failed(self) {
        if let Places::Shared(places) = self.places {
            places.settle("kept").await;
        }
    }
}

/// A reservation in this process's own windows.
struct LocalPlaces {
    user: Option<Arc<Window>>,
    address: Option<Arc<Window>>,
    user_key: Option<String>,
    users: Arc<Windows<String>>,
}

impl LocalPlaces {
    fn succeeded(&self) {
        if let Some(key) = &self.user_key {
            self.users.forget(key);
        }
        self.give_back_address();
    }

    fn not_counted(&self) {
        for window in [&self.user, &self.address].into_iter().flatten() {
            window.give_back();
        }
    }

    /// An attempt refused by the user name's limit was not made: its address count comes back.
    fn give_back_address(&self) {
        if let Some(address) = &self.address {
            address.give_back();
        }
    }
}

impl Drop for LocalPlaces {
    fn drop(&mut self) {
        if let Some(user) = &self.user {
            user.in_flight.store(0, Ordering::Release);
        }
        if let Some(address) = &self.address {
            let _ = address
                .in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
        }
    }
}

impl Throttle {
    pub fn new(settings: ThrottleSettings, shared: Arc<SharedState>) -> Self {
        Self {
            users: Arc::new(Windows::new(settings.window)),
            addresses: Windows::new(settings.window),
            // As many may wait as may be in flight; past that line a sign-in is "busy" at once,
            // so a flood of connections cannot hold a waiting sign-in each.
            in_flight: InFlight::new(settings.max_in_flight.max(1) as usize, QUEUE_TIMEOUT)
                .with_max_waiting(settings.max_in_flight.max(1) as usize),
            settings,
            shared,
        }
    }

    /// Reserves an attempt for `username` (if any) from `ip` (if known): waits briefly for a
    /// place among this pod's sign-ins in flight, then counts the attempt against both limits
    /// at once — in Redis when it is configured and answers, else in this process.
    /// One attempt per user name reaches iMIS at a time; the next (a double-click, a second
    /// device) waits its turn for up to [`USER_TURN_WAIT`] instead of being refused.
    pub async fn reserve(
        &self,
        ip: Option<IpAddr>,
        username: Option<&str>,
    ) -> Result<Reservation, Held> {
        let deadline = Instant::now() + USER_TURN_WAIT;
        loop {
            match self.try_reserve(ip, username).await {
                Err(Held::UserBusy) if Instant::now() < deadline => {
                    tokio::time::sleep(USER_TURN_POLL).await;
                }
                Err(Held::UserBusy) => return Err(Held::Busy),
                other => return other,
            }
        }
    }

    async fn try_reserve(
        &self,
        ip: Option<IpAddr>,
        username: Option<&str>,
    ) -> Result<Reservation, Held> {
        let permit = self.in_flight.enter().await.map_err(|_| Held::Busy)?;
        let user_key = username.map(|u| crate::canonical::user_name(u).unwrap_or_default());
        let address = ip.map(AddressKey::of);
        if let Some(redis) = self.shared.redis() {
            match shared::reserve(&self.shared, redis, &self.settings, address, &user_key).await {
                Ok(result) => {
                    self.shared.answered();
                    let (places, pause) = result?;
                    return Ok(Reservation {
                        pause,
                        _permit: permit,
                        places: Places::Shared(places),
                    });
                }
                Err(e) => self.shared.fell_back("throttle", &e),
            }
        }
        let (places, pause) = self.reserve_here(address, user_key)?;
        Ok(Reservation {
            pause,
            _permit: permit,
            places: Places::Local(places),
        })
    }

    /// [`Throttle::reserve`] in this process's own windows.
    fn reserve_here(
        &self,
        address: Option<AddressKey>,
        user_key: Option<String>,
    ) -> Result<(LocalPlaces, Duration), Held> {
        let mut pause = Duration::ZERO;
        let mut places = LocalPlaces {
            user: None,
            address: None,
            user_key: user_key.clone(),
            users: self.users.clone(),
        };
        if let Some(key) = address {
            let window = self.addresses.get(&key);
            let limit = self.settings.max_in_flight_per_address.max(1);
            window
                .in_flight
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                    (n < limit).then_some(n + 1)
                })
                .map_err(|_| Held::Busy)?;
            places.address = Some(window.clone());
            let taken = self
                .addresses
                .take(&key, &window, self.settings.ip_failures);
            let before = taken.ok_or(Held::Closed {
                retry_after: window.retry_after(self.settings.window),
            })?;
            pause = pause_after(before, self.settings.ip_failures);
        }
        if let Some(key) = user_key {
            let window = self.users.get(&key);
            window
                .in_flight
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
                .map_err(|_| {
                    places.give_back_address();
                    Held::UserBusy
                })?;
            places.user = Some(window.clone());
            let Some(before) = self.users.take(&key, &window, self.settings.user_failures) else {
                places.give_back_address();
                return Err(Held::Closed {
                    retry_after: window.retry_after(self.settings.window),
                });
            };
            pause = pause.max(pause_after(before, self.settings.user_failures));
        }
        Ok((places, pause))
    }
}

/// The slow-down for an attempt after `failures` failures under `limit`.
fn pause_after(failures: u32, limit: u32) -> Duration {
    let half = (limit / 2).max(1);
    match failures >= half {
        true => (STEP_DELAY * (failures - half + 1)).min(MAX_DELAY),
        false => Duration::ZERO,
    }
}

/// The member's address: the TCP peer, or — only when the peer is a trusted proxy — the
/// right-most `X-Forwarded-For` entry that is not itself a trusted proxy.
pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        if is_private(&peer) && req.headers().contains_key("x-forwarded-for") {
            warn_untrusted_forwarder(peer);
        }
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

/// A private or loopback address: most likely a proxy or ingress controller of the cluster.
fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_private())
        }
    }
}

/// Says (at most once a minute) that a proxy's forwarding header is ignored: behind it every
/// member shares the proxy's address, and so its sign-in limits.
fn warn_untrusted_forwarder(peer: IpAddr) {
    static LAST: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let now = crate::clock::unix_now_ms();
    let last = LAST.load(Ordering::Relaxed);
    if now.saturating_sub(last) < 60_000
        || LAST
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    tracing::warn!(
        peer = %peer,
        "X-Forwarded-For arrives from a private address that TRUSTED_PROXIES does not list: every member behind it shares its sign-in limits; add the proxy's range to TRUSTED_PROXIES"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn throttle(user: u32, ip: u32) -> Throttle {
        Throttle::new(
            ThrottleSettings {
                user_failures: user,
                ip_failures: ip,
                window: Duration::from_secs(60),
                max_in_flight: 100,
                max_in_flight_per_address: 100,
            },
            SharedState::in_memory(),
        )
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().expect("ip"))
    }

    #[tokio::test]
    async fn failures_slow_down_then_close_the_gate_and_success_reopens_it() {
        let t = throttle(4, 100);
        let ip = ip("192.0.2.1");
        let mut pauses = Vec::new();
        for name in ["ada", " ADA ", "Ａda", "ada"] {
            let r = t.reserve(ip, Some(name)).await.expect("open");
            pauses.push(r.pause.as_millis());
        }
        assert_eq!(pauses, [0, 0, 250, 500]);
        assert!(matches!(
            t.reserve(ip, Some("Ada")).await.err(),
            Some(Held::Closed { retry_after }) if retry_after <= Duration::from_secs(60)
        ));
        assert!(t.reserve(ip, Some("grace")).await.is_ok(), "another name");
        t.users.forget(&"ada".to_owned());
        t.reserve(ip, Some("ada"))
            .await
            .expect("open")
            .succeeded()
            .await;
        let again = t.reserve(ip, Some("ada")).await.expect("open again");
        assert_eq!(again.pause, Duration::ZERO);
    }

    #[tokio::test]
    async fn simultaneous_attempts_cannot_pass_the_check_together() {
        let t = throttle(3, 100);
        let held = t
            .reserve(ip("192.0.2.1"), Some("ada"))
            .await
            .expect("first");
        assert_eq!(
            t.try_reserve(ip("192.0.2.2"), Some("ADA")).await.err(),
            Some(Held::UserBusy),
            "one attempt in flight per user name"
        );
        // The next one waits its turn instead of being refused.
        let waiting = t.reserve(ip("192.0.2.2"), Some("ADA"));
        let release = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(held);
        };
        let (second, ()) = tokio::join!(waiting, release);
        // Each attempt counts (dropped unsettled: kept): the third is the last under 3.
        drop(second.expect("its turn came"));
        let _ = t
            .reserve(ip("192.0.2.4"), Some("ada"))
            .await
            .expect("third");
        assert!(matches!(
            t.reserve(ip("192.0.2.5"), Some("ada")).await.err(),
            Some(Held::Closed { .. })
        ));
    }

    #[tokio::test]
    async fn an_answer_that_says_nothing_about_the_password_is_not_counted() {
        let t = throttle(2, 100);
        for _ in 0..5 {
            t.reserve(ip("192.0.2.1"), Some("ada"))
                .await
                .expect("open")
                .not_counted()
                .await;
        }
        assert!(t.reserve(ip("192.0.2.1"), Some("ada")).await.is_ok());
    }

    #[tokio::test]
    async fn an_address_spraying_many_names_is_closed_and_ipv6_counts_by_prefix() {
        let t = throttle(100, 3);
        for name in ["a", "b", "c"] {
            let _ = t
                .reserve(ip("2001:db8:1:2::10"), Some(name))
                .await
                .expect("open");
        }
        assert!(matches!(
            t.reserve(ip("2001:db8:1:2:ffff::1"), Some("d")).await.err(),
            Some(Held::Closed { .. })
        ));
        assert!(t.reserve(ip("2001:db8:1:3::1"), Some("d")).await.is_ok());
        assert_eq!(
            AddressKey::of("::ffff:192.0.2.1".parse().expect("ip")),
            AddressKey::of("192.0.2.1".parse().expect("ip"))
        );
    }

    #[tokio::test]
    async fn an_address_has_few_attempts_in_flight() {
        let t = Throttle::new(
            ThrottleSettings {
                max_in_flight_per_address: 2,
                ..ThrottleSettings::default()
            },
            SharedState::in_memory(),
        );
        let a = t.reserve(ip("192.0.2.1"), Some("a")).await.expect("1");
        let _b = t.reserve(ip("192.0.2.1"), Some("b")).await.expect("2");
        assert_eq!(
            t.reserve(ip("192.0.2.1"), Some("c")).await.err(),
            Some(Held::Busy)
        );
        drop(a);
        assert!(t.reserve(ip("192.0.2.1"), Some("c")).await.is_ok());
    }

    #[tokio::test]
    async fn a_flood_of_new_names_does_not_evict_a_member_under_attack() {
        let t = throttle(4, u32::MAX);
        for _ in 0..3 {
            let _ = t.reserve(None, Some("ada")).await.expect("open");
        }
        for i in 0..(MAX_TRACKED as usize * 2) {
            let _ = t.reserve(None, Some(&format!("stranger{i}"))).await;
        }
        t.users.seen_once.run_pending_tasks();
        let _ = t.reserve(None, Some("ada")).await.expect("fourth");
        assert!(matches!(
            t.reserve(None, Some("ada")).await.err(),
            Some(Held::Closed { .. })
        ));
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
