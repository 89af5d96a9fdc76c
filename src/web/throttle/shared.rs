//! The throttle's reservations in Redis (`REDIS_URL`): one script checks every limit and takes
//! the attempt for all replicas at once, another settles it.

use std::sync::Arc;
use std::time::Duration;

use redis::RedisResult;

use super::{AddressKey, Held, ThrottleSettings, pause_after};
use crate::shared::keys::KeyMaker;
use crate::shared::redis::{Limits, ReservationKeys, Verdict};
use crate::shared::{RedisStore, SharedState};

/// A reservation held in Redis.
pub(super) struct SharedPlaces {
    redis: RedisStore,
    keys: ReservationKeys,
    shared: Arc<SharedState>,
    settled: bool,
}

impl SharedPlaces {
    /// Frees the places in flight and settles the counts (`kept`, `succeeded`, `uncounted`).
    pub(super) async fn settle(mut self, outcome: &'static str) {
        self.settled = true;
        if let Err(e) = self.redis.release(&self.keys, outcome).await {
            self.shared.fell_back("throttle", &e);
        }
    }
}

impl Drop for SharedPlaces {
    /// A reservation dropped unsettled (the request was cancelled): its counts stand, its
    /// places come back (and would expire on their own).
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        let (redis, keys) = (self.redis.clone(), self.keys.clone());
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let _ = redis.release(&keys, "kept").await;
            });
        }
    }
}

/// Reserves in Redis; the outer error is Redis not answering (the caller falls back).
pub(super) async fn reserve(
    shared: &Arc<SharedState>,
    redis: &RedisStore,
    settings: &ThrottleSettings,
    address: Option<AddressKey>,
    user_key: &Option<String>,
) -> RedisResult<Result<(SharedPlaces, Duration), Held>> {
    let pair = |purpose: &str, part: &[u8]| {
        let digest = shared.keys.digest(purpose, &[part]);
        (
            KeyMaker::name(&format!("{purpose}-failures"), &digest),
            KeyMaker::name(&format!("{purpose}-in-flight"), &digest),
        )
    };
    let keys = ReservationKeys {
        address: address.map(|a| pair("address", &a.bytes())),
        user: user_key.as_ref().map(|u| pair("user", u.as_bytes())),
    };
    let limits = Limits {
        address_failures: settings.ip_failures,
        user_failures: settings.user_failures,
        window: settings.window,
        address_places: settings.max_in_flight_per_address.max(1),
    };
    Ok(match redis.reserve(&keys, limits).await? {
        Verdict::Reserved {
            address_before,
            user_before,
        } => {
            let pause = pause_after(address_before, settings.ip_failures)
                .max(pause_after(user_before, settings.user_failures));
            let places = SharedPlaces {
                redis: redis.clone(),
                keys,
                shared: shared.clone(),
                settled: false,
            };
            Ok((places, pause))
        }
        // Busy because this user name has an attempt in flight, or because of the address?
        Verdict::Busy => match &keys.user {
            Some((_, user_in_flight)) if redis.exists(user_in_flight).await? => Err(Held::UserBusy),
            _ => Err(Held::Busy),
        },
        Verdict::Closed { retry_after } => Err(Held::Closed { retry_after }),
    })
}
