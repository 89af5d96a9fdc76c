//! The Redis side of shared state: one multiplexed connection (redis-rs's connection manager,
//! which reconnects by itself), short timeouts, and the two scripts that make a sign-in
//! reservation atomic across every replica.

use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Client, RedisResult, Script};
use secrecy::{ExposeSecret, SecretString};

/// Connecting gives up after this long (the sign-in then falls back to per-pod state).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(500);
/// One command gives up after this long.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(250);
/// In-flight markers expire on their own after this long, should a pod die holding one.
pub const IN_FLIGHT_TTL: Duration = Duration::from_secs(60);

/// Checks every limit first and takes nothing unless all pass, so two pods can never both let
/// the limit-th guess through. KEYS: address failures, address in flight, user failures, user
/// in flight. ARGV: has address, has user, address limit, user limit, window s, address places,
/// in-flight TTL s. Answers {verdict, address failures before, user failures before, ttl}.
const RESERVE: &str = r"
local has_addr, has_user = ARGV[1] == '1', ARGV[2] == '1'
local ip_limit, user_limit = tonumber(ARGV[3]), tonumber(ARGV[4])
local window, places, flight_ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local addr_before, user_before = 0, 0
if has_addr then
  if tonumber(redis.call('GET', KEYS[2]) or '0') >= places then return {'busy', 0, 0, 0} end
  addr_before = tonumber(redis.call('GET', KEYS[1]) or '0')
  if addr_before >= ip_limit then return {'closed', 0, 0, redis.call('TTL', KEYS[1])} end
end
if has_user then
  if redis.call('EXISTS', KEYS[4]) == 1 then return {'busy', 0, 0, 0} end
  user_before = tonumber(redis.call('GET', KEYS[3]) or '0')
  if user_before >= user_limit then return {'closed', 0, 0, redis.call('TTL', KEYS[3])} end
  redis.call('SET', KEYS[4], '1', 'EX', flight_ttl)
  if redis.call('INCR', KEYS[3]) == 1 then redis.call('EXPIRE', KEYS[3], window) end
end
if has_addr then
  redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], flight_ttl)
  if redis.call('INCR', KEYS[1]) == 1 then redis.call('EXPIRE', KEYS[1], window) end
end
return {'ok', addr_before, user_before, 0}
";

/// Frees a reservation's places in flight and settles its counts. ARGV[3]: `kept` (a refused
/// password: the counts stand), `succeeded` (the user name starts afresh, the address gets its
/// one back) or `uncounted` (both come back).
const RELEASE: &str = r"
local has_addr, has_user, outcome = ARGV[1] == '1', ARGV[2] == '1', ARGV[3]
local function give_back(key)
  if redis.call('EXISTS', key) == 1 and redis.call('DECR', key) <= 0 then redis.call('DEL', key) end
end
if has_addr then
  give_back(KEYS[2])
  if outcome ~= 'kept' then give_back(KEYS[1]) end
end
if has_user then
  redis.call('DEL', KEYS[4])
  if outcome == 'succeeded' then redis.call('DEL', KEYS[3])
  elseif outcome == 'uncounted' then give_back(KEYS[3]) end
end
return 1
";

/// `INCR` that gives a new counter its expiry (works on Redis 6 too, unlike `EXPIRE … NX`).
const COUNT: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
";

/// Redis's answer to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Reserved {
        address_before: u32,
        user_before: u32,
    },
    Busy,
    Closed {
        retry_after: Duration,
    },
}

/// The four keys of one reservation (absent parts are never touched).
#[derive(Debug, Clone)]
pub struct ReservationKeys {
    pub address: Option<(String, String)>,
    pub user: Option<(String, String)>,
}

impl ReservationKeys {
    fn keys(&self) -> [&str; 4] {
        let (af, ai) = self
            .address
            .as_ref()
            .map_or(("", ""), |(f, i)| (f.as_str(), i.as_str()));
        let (uf, ui) = self
            .user
            .as_ref()
            .map_or(("", ""), |(f, i)| (f.as_str(), i.as_str()));
        // Lua gets placeholders for absent parts; the flags keep it from touching them.
        [
            non_empty(af, "{zsb}:none:a"),
            non_empty(ai, "{zsb}:none:b"),
            non_empty(uf, "{zsb}:none:c"),
            non_empty(ui, "{zsb}:none:d"),
        ]
    }

    fn flags(&self) -> (&'static str, &'static str) {
        let flag = |present: bool| if present { "1" } else { "0" };
        (flag(self.address.is_some()), flag(self.user.is_some()))
    }
}

fn non_empty<'a>(value: &'a str, placeholder: &'a str) -> &'a str {
    if value.is_empty() { placeholder } else { value }
}

/// The limits a reservation is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub address_failures: u32,
    pub user_failures: u32,
    pub window: Duration,
    pub address_places: u32,
}

/// Cheap to clone: every clone shares one connection and the scripts.
#[derive(Clone)]
pub struct RedisStore(std::sync::Arc<Inner>);

struct Inner {
    client: Client,
    connection: ConnectionManager,
    reserve: Script,
    release: Script,
    count: Script,
}

impl RedisStore {
    /// A store for `url` (`redis://` or `rediss://`); connects lazily, so a Redis that is down at
    /// start-up does not stop the bridge.
    pub fn new(url: &SecretString) -> RedisResult<Self> {
        let client = Client::open(url.expose_secret())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(RESPONSE_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let connection = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        Ok(Self(std::sync::Arc::new(Inner {
            client,
            connection,
            reserve: Script::new(RESERVE),
            release: Script::new(RELEASE),
            count: Script::new(COUNT),
        })))
    }

    pub fn client(&self) -> &Client {
        &self.0.client
    }

    fn connection(&self) -> ConnectionManager {
        self.0.connection.clone()
    }

    /// `PING`, and how long it took.
    pub async fn ping(&self) -> RedisResult<Duration> {
        let started = Instant::now();
        let _: String = redis::cmd("PING")
            .query_async(&mut self.connection())
            .await?;
        Ok(started.elapsed())
    }

    pub async fn reserve(&self, keys: &ReservationKeys, limits: Limits) -> RedisResult<Verdict> {
        let [af, ai, uf, ui] = keys.keys();
        let (has_addr, has_user) = keys.flags();
        let (verdict, address_before, user_before, ttl): (String, u32, u32, i64) = self
            .0
            .reserve
            .key(af)
            .key(ai)
            .key(uf)
            .key(ui)
            .arg(has_addr)
            .arg(has_user)
            .arg(limits.address_failures)
            .arg(limits.user_failures)
            .arg(limits.window.as_secs().max(1))
            .arg(limits.address_places)
            .arg(IN_FLIGHT_TTL.as_secs())
            .invoke_async(&mut self.connection())
            .await?;
        Ok(match verdict.as_str() {
            "ok" => Verdict::Reserved {
                address_before,
                user_before,
            },
            "busy" => Verdict::Busy,
            _ => Verdict::Closed {
                retry_after: Duration::from_secs(ttl.max(1) as u64),
            },
        })
    }

    /// Settles a reservation: `outcome` is `kept`, `succeeded` or `uncounted`.
    pub async fn release(&self, keys: &ReservationKeys, outcome: &'static str) -> RedisResult<()> {
        let [af, ai, uf, ui] = keys.keys();
        let (has_addr, has_user) = keys.flags();
        let _: i64 = self
            .0
            .release
            .key(af)
            .key(ai)
            .key(uf)
            .key(ui)
            .arg(has_addr)
            .arg(has_user)
            .arg(outcome)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// Sets `key` for `ttl` unless it exists; whether it was set.
    pub async fn set_once(&self, key: &str, value: &[u8], ttl: Duration) -> RedisResult<bool> {
        let options = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::EX(ttl.as_secs().max(1)));
        let set: Option<String> = self.connection().set_options(key, value, options).await?;
        Ok(set.is_some())
    }

    pub async fn set(&self, key: &str, value: &[u8], ttl: Duration) -> RedisResult<()> {
        self.connection()
            .set_ex(key, value, ttl.as_secs().max(1))
            .await
    }

    pub async fn get(&self, key: &str) -> RedisResult<Option<Vec<u8>>> {
        self.connection().get(key).await
    }

    pub async fn exists(&self, key: &str) -> RedisResult<bool> {
        self.connection().exists(key).await
    }

    pub async fn delete(&self, key: &str) -> RedisResult<()> {
        self.connection().del(key).await
    }

    /// `INCR key`, giving it `ttl` when it is new; the count after.
    pub async fn count(&self, key: &str, ttl: Duration) -> RedisResult<u64> {
        self.0
            .count
            .key(key)
            .arg(ttl.as_secs().max(1))
            .invoke_async(&mut self.connection())
            .await
    }

    /// Publishes `message` on `channel`.
    pub async fn publish(&self, channel: &str, message: &[u8]) -> RedisResult<()> {
        self.connection().publish(channel, message).await
    }

    /// Every key matching `pattern` (for reloading revocations after a reconnect).
    pub async fn keys_matching(&self, pattern: &str) -> RedisResult<Vec<String>> {
        let mut connection = self.connection();
        let mut found = Vec::new();
        let mut cursor: u64 = 0;
        loop {
            let (next, batch): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut connection)
                .await?;
            found.extend(batch);
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }
}
