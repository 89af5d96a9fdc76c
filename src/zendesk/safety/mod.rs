//! The account-safety guard: [`SafetyGuard`] fetches what Zendesk holds for a member's external
//! id and e-mail (cached, started early while the directory still reads the member), applies the
//! rules ([`rules`], each named there by its audit `reason`), keeps the verdict on Zendesk's own
//! JWT configuration (rule 1, `update_external_ids_on`) and handles the API being down
//! ([`SafetyMode::Degraded`]).

mod rules;

use rules::linked_to;
pub use rules::{Allowed, Denial, decide};

use std::sync::RwLock;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use moka::future::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use url::Url;

use crate::members::Member;
use crate::members::email::Sharing;
use crate::zendesk::api::{ApiError, ZendeskApi, ZendeskUser};
use crate::zendesk::sso_config::{AgentSso, Expectations, Level, SsoReading, assess};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SafetyMode {
    /// The Zendesk API must answer before any token is minted.
    Strict,
    /// When the Zendesk API is down, end users whose external id matched recently may still
    /// sign in; staff never.
    Degraded,
}

/// How soon an unreadable Zendesk configuration is read again.
const UNVERIFIED_RETRY: Duration = Duration::from_secs(10);
/// How long a verified end-user link is remembered for degraded mode.
const RECENT_MATCH_TTL: Duration = Duration::from_secs(60 * 60);
/// How long an e-mail search that found nobody is re-used: Zendesk's search index lags behind
/// its writes ("it can take a few minutes"), so an empty answer is the least trustworthy one.
const EMPTY_SEARCH_TTL: Duration = Duration::from_secs(10);
/// How long the staff listing (agents and admins, read from Zendesk's database, not its search
/// index) is re-used.
pub const STAFF_LISTING_TTL: Duration = Duration::from_secs(60);

/// The guard hears what the directory learns while it reads a member (`members::early`).
impl crate::members::early::Listener for SafetyGuard {
    fn heard(self: std::sync::Arc<Self>, fact: crate::members::early::Early) {
        self.prefetch(fact);
    }

    fn links<'a>(&'a self, id: &'a str, email: &'a str) -> crate::members::early::Vouching<'a> {
        Box::pin(SafetyGuard::links(self, id, email))
    }
}

/// What the bridge knows of Zendesk's JWT configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConfigVerdict {
    /// Not read successfully yet (Zendesk unreachable, or the credentials refused).
    Unverified { reason: String },
    /// Read; no active configuration may rewrite external ids.
    Safe { warnings: Vec<String> },
    /// The bridge must not serve: `problem` is the finding's code (`update_external_ids_on`,
    /// `zendesk_config_unreadable`, `jwt_secret_mismatch`, `agent_sso`).
    Unsafe {
        problem: &'static str,
        reason: String,
    },
}

/// The verdict over a reading: the first refusal, else safe with the warnings.
pub fn judge(reading: &SsoReading, expect: &Expectations) -> ConfigVerdict {
    let findings = assess(reading, expect);
    match findings.iter().find(|f| f.level == Level::Refuse) {
        Some(refusal) => ConfigVerdict::Unsafe {
            problem: refusal.check,
            reason: refusal.detail.clone(),
        },
        None => ConfigVerdict::Safe {
            warnings: findings.into_iter().map(|f| f.detail).collect(),
        },
    }
}

/// [`SafetyGuard::settled`]: not read (or unreadable) yet, read safe, read unsafe.
const UNSETTLED: u8 = 0;
const SETTLED_SAFE: u8 = 1;
const SETTLED_UNSAFE: u8 = 2;

#[derive(Clone, Hash, PartialEq, Eq)]
enum Lookup {
    ExternalId(String),
    /// An e-mail search, for the address exactly as searched.
    Email(String),
    /// Every agent and admin (`GET /api/v2/users?role[]=agent&role[]=admin`).
    Staff,
}

impl Lookup {
    /// The e-mail searches that together could find whoever holds `email`: the address exactly
    /// as the token carries it (Zendesk matches the token's address and documents no Unicode
    /// folding), and its folded form when folding changes it (`Straße` → `strasse`; Zendesk's
    /// case-insensitivity is documented for search terms, not for every script).
    fn emails(email: &str) -> Vec<Lookup> {
        let exact = email.trim().to_owned();
        let mut searches = vec![Lookup::Email(exact.clone())];
        if let Some(folded) = crate::members::email::canonical(email)
            && folded != exact
        {
            searches.push(Lookup::Email(folded));
        }
        searches
    }
}

/// Look-ups live `ZENDESK_API_CACHE_TTL_SECS`, an e-mail search that found nobody at most
/// [`EMPTY_SEARCH_TTL`], the staff listing [`STAFF_LISTING_TTL`].
struct LookupExpiry {
    ttl: Duration,
}

impl moka::Expiry<Lookup, std::sync::Arc<Vec<ZendeskUser>>> for LookupExpiry {
    fn expire_after_create(
        &self,
        key: &Lookup,
        value: &std::sync::Arc<Vec<ZendeskUser>>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(match key {
            Lookup::Email(_) if value.is_empty() => self.ttl.min(EMPTY_SEARCH_TTL),
            Lookup::Staff => self.ttl.min(STAFF_LISTING_TTL),
            _ => self.ttl,
        })
    }
}

/// What the guard needs besides the API client.
pub struct GuardSettings {
    pub mode: SafetyMode,
    pub public_url: Url,
    pub jwt_secret: SecretString,
    pub agent_sso: AgentSso,
    /// How long a user look-up is re-used.
    pub cache_ttl: Duration,
}

/// Applies the rules to each sign-in, with the Zendesk look-ups cached for a short time.
pub struct SafetyGuard {
    api: ZendeskApi,
    mode: SafetyMode,
    public_url: Url,
    jwt_secret: SecretString,
    agent_sso: AgentSso,
    verdict: RwLock<ConfigVerdict>,
    /// The verdict's kind, read without the lock on every token ([`SETTLED_SAFE`]...): a read
    /// lock writes its cache line, which every core then fights over.
    settled: AtomicU8,
    lookups: Cache<Lookup, std::sync::Arc<Vec<ZendeskUser>>>,
    /// external id → e-mail of end users recently allowed with a fresh check (degraded mode).
    recent: Cache<String, String>,
}

impl SafetyGuard {
    pub fn new(api: ZendeskApi, settings: GuardSettings) -> Self {
        let GuardSettings {
            mode,
            public_url,
            jwt_secret,
            agent_sso,
            cache_ttl,
        } = settings;
        let lookups = Cache::builder()
            .max_capacity(if cache_ttl.is_zero() { 0 } else { 50_000 })
            .expire_after(LookupExpiry {
                ttl: cache_ttl.max(Duration::from_millis(1)),
            })
            .build();
        Self {
            api,
            mode,
            public_url,
            jwt_secret,
            agent_sso,
            settled: AtomicU8::new(UNSETTLED),
            verdict: RwLock::new(ConfigVerdict::Unverified {
                reason: "not read yet".into(),
            }),
            lookups,
            recent: Cache::builder()
                .max_capacity(100_000)
                .time_to_live(RECENT_MATCH_TTL)
                .build(),
        }
    }

    pub fn api(&self) -> &ZendeskApi {
        &self.api
    }

    pub fn verdict(&self) -> ConfigVerdict {
        self.verdict
            .read()
            .map(|v| v.clone())
            .unwrap_or(ConfigVerdict::Unverified {
                reason: "state unreadable".into(),
            })
    }

    /// Whether sign-ins can go ahead as far as Zendesk's configuration is concerned.
    pub fn ready(&self) -> bool {
        match self.verdict() {
            ConfigVerdict::Safe { .. } => true,
            ConfigVerdict::Unverified { .. } => self.mode == SafetyMode::Degraded,
            ConfigVerdict::Unsafe { .. } => false,
        }
    }

    /// Reads Zendesk's JWT configuration again and records the verdict (rule 1).
    pub async fn verify_config(&self) -> ConfigVerdict {
        let verdict = match self.api.sso_configs().await {
            Ok(reading) => judge(&reading, &self.expectations()),
            Err(e) => ConfigVerdict::Unverified {
                reason: format!("{e}: {}", error_chain(&e)),
            },
        };
        let previous = self.verdict();
        match (&previous, &verdict) {
            (_, ConfigVerdict::Unsafe { problem, reason }) => {
                tracing::error!(target: "audit", event = "zendesk_config_unsafe", problem, reason = %reason, "refusing every sign-in");
            }
            (ConfigVerdict::Unverified { .. }, ConfigVerdict::Safe { warnings }) => {
                for w in warnings {
                    tracing::warn!(warning = %w, "Zendesk single sign-on configuration");
                }
                tracing::info!(
                    "Zendesk JWT configuration verified: external ids cannot be rewritten by a sign-in"
                );
            }
            (_, ConfigVerdict::Unverified { reason }) => {
                tracing::warn!(reason = %reason, "Zendesk JWT configuration could not be read");
            }
            _ => {}
        }
        // Once unsafe, only a fresh safe reading clears it; a failed read does not.
        let keep_unsafe = matches!(previous, ConfigVerdict::Unsafe { .. })
            && matches!(verdict, ConfigVerdict::Unverified { .. });
        if !keep_unsafe && let Ok(mut slot) = self.verdict.write() {
            *slot = verdict.clone();
            let settled = match &verdict {
                ConfigVerdict::Safe { .. } => SETTLED_SAFE,
                ConfigVerdict::Unsafe { .. } => SETTLED_UNSAFE,
                ConfigVerdict::Unverified { .. } => UNSETTLED,
            };
            self.settled.store(settled, Ordering::Release);
        }
        verdict
    }

    pub fn expectations(&self) -> Expectations<'_> {
        Expectations {
            public_url: &self.public_url,
            jwt_secret: self.jwt_secret.expose_secret(),
            agent_sso: self.agent_sso,
        }
    }

    /// One look-up, cached for `ZENDESK_API_CACHE_TTL_SECS`; callers asking for the same key at
    /// once share one request (a prefetch and the check that follows it, for instance).
    async fn lookup(&self, key: Lookup) -> Result<std::sync::Arc<Vec<ZendeskUser>>, ApiError> {
        let api = &self.api;
        let fetch = async {
            let users = match &key {
                Lookup::ExternalId(id) => api.users_by_external_id(id).await?,
                Lookup::Email(email) => api.users_by_email(email).await?,
                Lookup::Staff => api.staff().await?,
            };
            Ok::<_, ApiError>(std::sync::Arc::new(users))
        };
        self.lookups
            .try_get_with(key.clone(), fetch)
            .await
            .map_err(|shared| ApiError::Unavailable(anyhow::anyhow!("{shared:#}")))
    }

    /// Look-ups are started early only when their answers are kept for the check that follows
    /// (a cache) and the check will use them (Zendesk's configuration is verified safe).
    fn looks_ahead(&self) -> bool {
        self.lookups.policy().max_capacity() != Some(0)
            && self.settled.load(Ordering::Acquire) == SETTLED_SAFE
    }

    /// Starts the look-up the rules will need for a member whose id or e-mail the directory has
    /// just learnt (`members::early`), so it runs beside the directory's remaining requests.
    /// A member refused afterwards may so cost one read-only look-up; its answer is cached.
    pub fn prefetch(self: &std::sync::Arc<Self>, fact: crate::members::early::Early) {
        use crate::members::early::Early;
        if !self.looks_ahead() {
            return;
        }
        let key = match fact {
            Early::Id(id) => Lookup::ExternalId(id.trim().to_lowercase()),
            Early::Email(email) => {
                let guard = self.clone();
                tokio::spawn(async move {
                    let _ = guard.holders(&email).await;
                });
                return;
            }
        };
        let guard = self.clone();
        tokio::spawn(async move {
            let _ = guard.lookup(key).await;
        });
    }

    /// Whether Zendesk links `id` to `email` already (a user with that external id has that
    /// address), read from the look-up a [`prefetch`](Self::prefetch) started. The directory
    /// then need not search for copies of the address: only a linked member may use a shared
    /// one, and this one is linked. `false` whenever it cannot tell.
    pub async fn links(&self, id: &str, email: &str) -> bool {
        if !self.looks_ahead() {
            return false;
        }
        match self
            .lookup(Lookup::ExternalId(id.trim().to_lowercase()))
            .await
        {
            Ok(users) => linked_to(&users, id, email),
            Err(_) => false,
        }
    }

    /// [`SafetyGuard::gate`] without waiting, while Zendesk's verdict is settled (one atomic
    /// load: the session hot path); `None` when it has to be read first.
    pub fn settled_gate(&self) -> Option<Result<(), Denial>> {
        match self.settled.load(Ordering::Acquire) {
            SETTLED_SAFE => Some(Ok(())),
            SETTLED_UNSAFE => Some(Err(Denial::ZendeskConfigUnsafe)),
            _ => None,
        }
    }

    /// The part of the rules that needs no look-up: Zendesk's configuration is safe (read again
    /// now if it is not verified yet). Strict mode refuses while it cannot be read.
    pub async fn gate(&self) -> Result<(), Denial> {
        if let Some(settled) = self.settled_gate() {
            return settled;
        }
        let verdict = match self.verdict() {
            ConfigVerdict::Unverified { .. } => self.verify_config().await,
            verdict => verdict,
        };
        match verdict {
            ConfigVerdict::Safe { .. } => Ok(()),
            ConfigVerdict::Unsafe { .. } => Err(Denial::ZendeskConfigUnsafe),
            ConfigVerdict::Unverified { .. } if self.mode == SafetyMode::Degraded => Ok(()),
            ConfigVerdict::Unverified { .. } => Err(Denial::ZendeskUnavailable),
        }
    }

    /// The rules for one sign-in.
    pub async fn check(&self, member: &Member) -> Result<Allowed, Denial> {
        match self.settled.load(Ordering::Acquire) {
            SETTLED_SAFE => {}
            SETTLED_UNSAFE => return Err(Denial::ZendeskConfigUnsafe),
            _ => {
                if let ConfigVerdict::Unsafe { .. } = self.verify_config().await {
                    return Err(Denial::ZendeskConfigUnsafe);
                }
            }
        }
        let external_id = member.id.trim().to_lowercase();
        let email = crate::members::email::canonical(&member.email)
            .unwrap_or_else(|| member.email.trim().to_lowercase());
        let by_id = self.lookup(Lookup::ExternalId(external_id.clone()));
        let holders = self.holders(&member.email);
        let one_user_per_address = !self.api.brands_separated();
        let (by_id, by_email) =
            if member.email_sharing == Sharing::NotSearched && one_user_per_address {
                // The directory saw Zendesk link this member to this address. Without brand
                // separation Zendesk gives an address to one user only, so while that holds nobody
                // else can have it.
                let by_id = by_id.await;
                let linked = by_id
                    .as_ref()
                    .is_ok_and(|users| linked_to(users, &member.id, &member.email));
                let by_email = match linked {
                    true => Ok(Default::default()),
                    false => holders.await,
                };
                (by_id, by_email)
            } else {
                tokio::join!(by_id, holders)
            };
        let (by_id, by_email) = match (by_id, by_email) {
            (Ok(by_id), Ok(by_email)) => (by_id, by_email),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, cause = %error_chain(&e), "Zendesk user look-up failed");
                return self.degraded(&external_id, &email).await;
            }
        };
        if self.settled.load(Ordering::Acquire) != SETTLED_SAFE {
            // The configuration could not be read: only degraded mode may go on.
            return self.degraded(&external_id, &email).await;
        }
        let allowed = decide(member, &by_id, &by_email)?;
        let linked_end_user = by_id.iter().any(|u| {
            u.has_external_id(&member.id) && !u.role.is_staff() && u.has_email(&member.email)
        });
        if linked_end_user {
            self.recent.insert(external_id, email).await;
        }
        Ok(allowed)
    }

    /// Every Zendesk user holding `email`: the e-mail searches ([`Lookup::emails`]) and, because
    /// the search index lags behind Zendesk's writes, the staff listing read from its database
    /// (an agent created a minute ago is not in the search yet). Fails when any of them does.
    async fn holders(&self, email: &str) -> Result<std::sync::Arc<Vec<ZendeskUser>>, ApiError> {
        let searches = futures_util::future::try_join_all(
            Lookup::emails(email)
                .into_iter()
                .map(|key| self.lookup(key)),
        );
        let (found, staff) = tokio::try_join!(searches, self.lookup(Lookup::Staff))?;
        let mut holders: Vec<ZendeskUser> = Vec::new();
        let staff_holders = staff.iter().filter(|u| u.has_email(email));
        for user in found
            .iter()
            .flat_map(|users| users.iter())
            .chain(staff_holders)
        {
            if !holders.iter().any(|h| h.id == user.id) {
                holders.push(user.clone());
            }
        }
        Ok(std::sync::Arc::new(holders))
    }

    /// Forgets the cached look-ups for `member` (after a first link, Zendesk's answer changes).
    pub async fn forget(&self, member: &Member) {
        self.lookups
            .invalidate(&Lookup::ExternalId(member.id.trim().to_lowercase()))
            .await;
        for key in Lookup::emails(&member.email) {
            self.lookups.invalidate(&key).await;
        }
    }

    async fn degraded(&self, external_id: &str, email: &str) -> Result<Allowed, Denial> {
        if self.mode == SafetyMode::Degraded
            && self.recent.get(external_id).await.as_deref() == Some(email)
        {
            return Ok(Allowed {
                email_changed: false,
                degraded: true,
                zendesk_user_id: None,
                zendesk_tags: None,
                shared_email_conflict: false,
                unlinked_end_user: None,
            });
        }
        Err(Denial::ZendeskUnavailable)
    }

    /// Re-reads Zendesk's configuration every `every` for as long as the process runs, and
    /// every [`UNVERIFIED_RETRY`] while it could not be read (at once when `now` is set).
    pub fn spawn_rechecks(self: std::sync::Arc<Self>, every: Duration, now: bool) {
        tokio::spawn(async move {
            if now {
                self.verify_config().await;
            }
            loop {
                let wait = match self.verdict() {
                    ConfigVerdict::Unverified { .. } => UNVERIFIED_RETRY.min(every),
                    _ => every,
                };
                tokio::time::sleep(wait).await;
                self.verify_config().await;
            }
        });
    }
}

fn error_chain(e: &ApiError) -> String {
    match e {
        ApiError::Unavailable(inner) => format!("{inner:#}"),
        other => other.to_string(),
    }
}
