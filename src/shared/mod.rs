//! State that must hold across replicas: sign-in counts and places in flight (`web::throttle`),
//! session revocations, one-use member-site journeys and e-mailed codes (`signin::verify`).
//!
//! Without `REDIS_URL` it all lives in this process, as before. With it, Redis holds it, and each
//! piece falls back to this process's own state when Redis does not answer — a per-pod limit is
//! still a limit, so nothing turns off and nobody is signed in who would otherwise be refused.
//! A fallback is counted in `/metrics` (`shared_state_fallbacks_total`), logged once when it
//! starts, and shown in `/readyz` until Redis answers again; after a failure Redis is left alone
//! for [`RETRY_AFTER`], then tried again, so recovery needs no restart.
//!
//! Revocations are read on every session re-use, so they are kept locally as well: every pod
//! subscribes to a Redis channel and learns each sign-out as it happens (and reloads all of them
//! after a reconnect). Only while that subscription is down does a session re-use ask Redis.
//!
//! Redirect-loop counts need none of this: they live in the browser's own sealed cookie
//! (`web::deliveries`).

pub mod keys;
pub mod redis;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;
use secrecy::SecretString;
use uuid::Uuid;

use crate::clock::unix_now_ms;
use crate::metrics::Metrics;
use keys::{Digest, KeyMaker};
pub use redis::RedisStore;

/// After Redis fails to answer, it is tried again after this long.
pub const RETRY_AFTER: Duration = Duration::from_secs(1);
/// Where sign-outs are announced to every pod.
const REVOKED_CHANNEL: &str = "{zsb}:revoked";
const LOCAL_CAPACITY: u64 = 1_000_000;

pub struct SharedState {
    pub keys: KeyMaker,
    redis: Option<RedisStore>,
    /// Sessions signed out, as this pod knows them (all of them while `listening`).
    revoked: moka::sync::Cache<Digest, ()>,
    /// One-use ids already used, as this pod knows them.
    used: moka::sync::Cache<Digest, ()>,
    /// Members the lifecycle sync downgraded, and when: their sessions read them again.
    changed: moka::sync::Cache<Digest, i64>,
    session_ttl: Duration,
    listening: AtomicBool,
    degraded: AtomicBool,
    /// Unix ms before which Redis is not asked again after a failure.
    resting_until: AtomicU64,
    metrics: Metrics,
}

/// A shared upstream token as stored (sealed) in Redis.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredToken {
    token: String,
    expires_ms: u64,
}

/// What `/readyz` and `check` say about shared state.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SharedReport {
    pub backend: &'static str,
    /// Some piece is running on this pod's own state because Redis did not answer.
    pub degraded: bool,
    /// Sign-outs from other pods arrive as they happen.
    pub revocations_live: bool,
}

impl SharedState {
    /// Shared state keyed from `master` (the session key); in Redis when `redis_url` is set.
    pub fn new(
        master: &[u8],
        redis_url: Option<&SecretString>,
        session_ttl: Duration,
        metrics: Metrics,
    ) -> anyhow::Result<Arc<Self>> {
        let redis = redis_url
            .map(RedisStore::new)
            .transpose()
            .map_err(|e| anyhow::anyhow!("REDIS_URL cannot be used: {e}"))?;
        let cache = |ttl: Duration| {
            moka::sync::Cache::builder()
                .max_capacity(LOCAL_CAPACITY)
                .time_to_live(ttl)
                .build()
        };
        let state = Arc::new(Self {
            keys: KeyMaker::new(master),
            redis,
            revoked: cache(session_ttl),
            used: cache(session_ttl),
            changed: moka::sync::Cache::builder()
                .max_capacity(LOCAL_CAPACITY)
                .time_to_live(session_ttl)
                .build(),
            session_ttl,
            listening: AtomicBool::new(false),
            degraded: AtomicBool::new(false),
            resting_until: AtomicU64::new(0),
            metrics,
        });
        if state.redis.is_some() {
            tokio::spawn(listen_for_revocations(Arc::downgrade(&state)));
        }
        Ok(state)
    }

    /// Shared state in this process only (no Redis), for tests and tools.
    pub fn in_memory() -> Arc<Self> {
        Self::new(&[0u8; 64], None, Duration::from_secs(3600), Metrics::new())
            .expect("no Redis to configure")
    }

    /// Redis, unless there is none or it is resting after a failure.
    pub fn redis(&self) -> Option<&RedisStore> {
        let now = unix_now_ms();
        self.redis
            .as_ref()
            .filter(|_| self.resting_until.load(Ordering::Relaxed) <= now)
    }

    pub fn configured(&self) -> Option<&RedisStore> {
        self.redis.as_ref()
    }

    /// Redis did not answer for `piece`: this pod's own state serves until it does.
    pub fn fell_back(&self, piece: &'static str, error: &::redis::RedisError) {
        self.resting_until.store(
            unix_now_ms() + RETRY_AFTER.as_millis() as u64,
            Ordering::Relaxed,
        );
        self.metrics.shared_state_fallback(piece);
        if !self.degraded.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "audit",
                event = "shared_state_degraded",
                piece,
                error = %error,
                "Redis does not answer: limits, sign-outs and codes are per pod until it does"
            );
            self.metrics.shared_state_degraded(true);
        }
    }

    /// Redis answered: shared state is whole again.
    pub fn answered(&self) {
        if self.degraded.swap(false, Ordering::Relaxed) {
            tracing::info!(
                target: "audit",
                event = "shared_state_recovered",
                "Redis answers again"
            );
            self.metrics.shared_state_degraded(false);
        }
    }

    pub fn report(&self) -> SharedReport {
        SharedReport {
            backend: if self.redis.is_some() {
                "redis"
            } else {
                "memory"
            },
            degraded: self.degraded.load(Ordering::Relaxed),
            revocations_live: self.redis.is_none() || self.listening.load(Ordering::Relaxed),
        }
    }

    fn sid_digest(&self, sid: &Uuid) -> Digest {
        self.keys.digest("revoked", &[sid.as_bytes()])
    }

    /// Signs the session `sid` out everywhere until `ttl` has passed.
    pub async fn revoke(&self, sid: &Uuid, ttl: Duration) {
        let digest = self.sid_digest(sid);
        self.revoked.insert(digest, ());
        let Some(redis) = self.redis() else { return };
        let stored = redis
            .set(&KeyMaker::name("revoked", &digest), b"1", ttl)
            .await;
        let announced = match stored {
            Ok(()) => redis.publish(REVOKED_CHANNEL, &digest).await,
            Err(e) => Err(e),
        };
        match announced {
            Ok(()) => self.answered(),
            Err(e) => self.fell_back("revocations", &e),
        }
    }

    /// Whether the session `sid` was signed out (on any pod).
    pub async fn is_revoked(&self, sid: &Uuid) -> bool {
        let digest = self.sid_digest(sid);
        if self.revoked.contains_key(&digest) {
            return true;
        }
        // While subscribed, this pod has heard of every sign-out: no round trip.
        if self.listening.load(Ordering::Relaxed) {
            return false;
        }
        let Some(redis) = self.redis() else {
            return false;
        };
        match redis.exists(&KeyMaker::name("revoked", &digest)).await {
            Ok(found) => {
                self.answered();
                found
            }
            Err(e) => {
                self.fell_back("revocations", &e);
                false
            }
        }
    }

    fn member_digest(&self, member_id: &str) -> Digest {
        self.keys
            .digest("recheck", &[member_id.trim().to_lowercase().as_bytes()])
    }

    /// The lifecycle sync downgraded `member_id` now: every session of theirs checked before now
    /// reads the member again at its next use, on every pod (so a session between re-checks
    /// cannot mint a token that gives back what the sync took away).
    pub async fn recheck_member(&self, member_id: &str) {
        let digest = self.member_digest(member_id);
        let now = crate::clock::unix_now();
        self.changed.insert(digest, now);
        let Some(redis) = self.redis() else { return };
        let key = KeyMaker::name("recheck", &digest);
        match redis
            .set(&key, now.to_string().as_bytes(), self.session_ttl)
            .await
        {
            Ok(()) => self.answered(),
            Err(e) => self.fell_back("rechecks", &e),
        }
    }

    /// Whether a session of `member_id` last checked at `checked_at` must read them again.
    pub async fn must_recheck(&self, member_id: &str, checked_at: i64) -> bool {
        let digest = self.member_digest(member_id);
        if self.changed.get(&digest).is_some_and(|at| at >= checked_at) {
            return true;
        }
        let Some(redis) = self.redis() else {
            return false;
        };
        match redis.get(&KeyMaker::name("recheck", &digest)).await {
            Ok(found) => {
                self.answered();
                found
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|v| v.parse::<i64>().ok())
                    .is_some_and(|at| at >= checked_at)
            }
            Err(e) => {
                self.fell_back("rechecks", &e);
                false
            }
        }
    }

    /// An upstream token every pod shares (iMIS keeps only the newest token per user, so pods
    /// that each fetched their own would expire each other's): `(token, seconds left)` from
    /// Redis, sealed there; `None` without Redis or when none is stored.
    pub async fn shared_token(&self, account: &str) -> Option<(String, u64)> {
        let redis = self.redis()?;
        let key = self.token_key(account);
        let sealed = match redis.get(&key).await {
            Ok(found) => {
                self.answered();
                found?
            }
            Err(e) => {
                self.fell_back("tokens", &e);
                return None;
            }
        };
        let plain = self.keys.open(sealed)?;
        let stored: StoredToken = serde_json::from_slice(&plain).ok()?;
        let left = stored.expires_ms.checked_sub(unix_now_ms())? / 1000;
        (left > 0).then_some((stored.token, left))
    }

    /// Shares `token` for `account` with every pod for `ttl`.
    pub async fn share_token(&self, account: &str, token: &str, ttl: Duration) {
        let Some(redis) = self.redis() else { return };
        let stored = StoredToken {
            token: token.to_owned(),
            expires_ms: unix_now_ms() + ttl.as_millis() as u64,
        };
        let Ok(sealed) = serde_json::to_vec(&stored)
            .map_err(anyhow::Error::from)
            .and_then(|plain| self.keys.seal(&plain))
        else {
            return;
        };
        match redis.set(&self.token_key(account), &sealed, ttl).await {
            Ok(()) => self.answered(),
            Err(e) => self.fell_back("tokens", &e),
        }
    }

    /// Forgets the shared token of `account` if it is still `refused` (a pod that renewed it
    /// first keeps its newer one).
    pub async fn forget_token(&self, account: &str, refused: &str) {
        if self
            .shared_token(account)
            .await
            .is_some_and(|(t, _)| t == refused)
            && let Some(redis) = self.redis()
            && let Err(e) = redis.delete(&self.token_key(account)).await
        {
            self.fell_back("tokens", &e);
        }
    }

    fn token_key(&self, account: &str) -> String {
        KeyMaker::name("token", &self.keys.digest("token", &[account.as_bytes()]))
    }

    /// Takes the lease `name` for `ttl`: whether this pod may do the work now (the lifecycle
    /// sync's turn). With Redis one pod wins (`SET NX EX`); without Redis this pod is the only
    /// one (the configuration refuses several replicas without it). Redis not answering: not
    /// taken — the next turn tries again, and no two pods work at once.
    pub async fn take_lease(&self, name: &'static str, ttl: Duration) -> bool {
        let Some(redis) = self.configured() else {
            return true;
        };
        let key = KeyMaker::name("lease", &self.keys.digest("lease", &[name.as_bytes()]));
        match redis.set_once(&key, b"1", ttl).await {
            Ok(taken) => {
                self.answered();
                taken
            }
            Err(e) => {
                self.fell_back("lease", &e);
                false
            }
        }
    }

    /// `true` the first time `id` is used for `purpose` (on any pod), `false` ever after.
    pub async fn use_once(&self, purpose: &'static str, id: &Uuid, ttl: Duration) -> bool {
        let digest = self.keys.digest(purpose, &[id.as_bytes()]);
        let first_here = self.used.entry(digest).or_insert(()).is_fresh();
        let Some(redis) = self.redis() else {
            return first_here;
        };
        match redis
            .set_once(&KeyMaker::name(purpose, &digest), b"1", ttl)
            .await
        {
            Ok(first) => {
                self.answered();
                first && first_here
            }
            Err(e) => {
                self.fell_back(purpose, &e);
                first_here
            }
        }
    }
}

/// Keeps this pod's view of sign-outs whole: subscribes, reloads every stored revocation, then
/// adds each one announced; starts again after any break, until the state is dropped.
async fn listen_for_revocations(state: std::sync::Weak<SharedState>) {
    let mut pause = Duration::from_millis(200);
    loop {
        let Some(strong) = state.upgrade() else {
            return;
        };
        let ended = listen_once(&strong).await;
        strong.listening.store(false, Ordering::Relaxed);
        if let Err(e) = ended {
            tracing::debug!(error = %e, "the revocation subscription ended");
        }
        drop(strong);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

async fn listen_once(state: &SharedState) -> ::redis::RedisResult<()> {
    let Some(redis) = state.configured() else {
        return Ok(());
    };
    let connect = redis.client().get_async_pubsub();
    let mut pubsub = tokio::time::timeout(Duration::from_secs(2), connect)
        .await
        .map_err(|_| {
            ::redis::RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
        })??;
    pubsub.subscribe(REVOKED_CHANNEL).await?;
    for key in redis.keys_matching("{zsb}:revoked:*").await? {
        if let Some(digest) = key.rsplit(':').next().and_then(parse_digest) {
            state.revoked.insert(digest, ());
        }
    }
    state.listening.store(true, Ordering::Relaxed);
    let mut messages = pubsub.into_on_message();
    while let Some(message) = messages.next().await {
        if let Ok(digest) = <[u8; 16]>::try_from(message.get_payload_bytes()) {
            state.revoked.insert(digest, ());
        }
    }
    Ok(())
}

fn parse_digest(hex_text: &str) -> Option<Digest> {
    hex::decode(hex_text).ok()?.try_into().ok()
}
