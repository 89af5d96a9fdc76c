//! Environment → validated [`Settings`].
//!
//! The environment is read once into [`RawSettings`] (every field a string, so nothing fails
//! early), then one validation pass turns it into typed settings. That pass collects **every**
//! problem, each naming its variable and how to fix it, and fails once with all of them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::cookie::Key;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::mail::MailSettings;
use crate::members::phone::PhonePolicy;
use crate::policy::Policy;
use crate::signin::verify::UnlinkedEndUsers;
use crate::upstream::BreakerSettings;
use crate::web::i18n::Lang;
use checks::non_empty;
use env::{RawSettings, Validator};

mod checks;
mod env;
mod mail;
mod members;
mod pages;
mod server;
mod shared;
mod sso;
mod sync;
#[cfg(test)]
mod tests;
mod zendesk;

pub use env::{ConfigError, Problem, known_variables};
pub use shared::SharedSettings;
pub use sync::SyncSettings;

// Each subsystem owns its settings type; this module reads the environment into them.
pub use crate::members::DirectorySettings;
pub use crate::members::imis::{ImisSettings, ServiceAccount};
pub use crate::telemetry::LogFormat;
pub use crate::web::pages::Branding;
pub use crate::web::throttle::{
    DEFAULT_SIGN_IN_MAX_IN_FLIGHT, DEFAULT_SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS,
    DEFAULT_THROTTLE_IP_FAILURES, DEFAULT_THROTTLE_USER_FAILURES, DEFAULT_THROTTLE_WINDOW_SECS,
    ThrottleSettings,
};
pub use crate::zendesk::api::{ZendeskApiAuth, ZendeskApiSettings};
pub use crate::zendesk::safety::SafetyMode;
use crate::zendesk::sso_config::AgentSso;

const DEFAULT_LISTEN_ADDR: &str = "0.0.0.0:8080";
const DEFAULT_SESSION_TTL_SECS: u64 = 8 * 60 * 60;
const DEFAULT_SESSION_RECHECK_SECS: u64 = 15 * 60;
const DEFAULT_IMIS_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_IMIS_MAX_IN_FLIGHT: u64 = 32;
const DEFAULT_ZENDESK_API_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_ZENDESK_API_CACHE_TTL_SECS: u64 = 60;
const DEFAULT_SAFETY_RECHECK_SECS: u64 = 300;
const DEFAULT_SHUTDOWN_DRAIN_SECS: u64 = 5;
const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;
const DEFAULT_PHONE_TYPES: &str = "_Work Phone,_Home Phone,Mobile";
const DEFAULT_PHONE_COUNTRY: &str = "US";
const MIN_SESSION_KEY_BYTES: usize = 64;

/// Validated configuration of the `serve` command.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    /// `/metrics` and `/readyz` with details on a listener of their own (`METRICS_ADDR`).
    pub metrics_addr: Option<SocketAddr>,
    pub public_url: Url,
    pub session: SessionSettings,
    pub zendesk: ZendeskSettings,
    pub zendesk_api: ZendeskApiSettings,
    pub safety: SafetySettings,
    pub shutdown: ShutdownSettings,
    pub throttle: ThrottleSettings,
    /// Where state shared by replicas lives (`REDIS_URL`).
    pub shared: SharedSettings,
    /// Who may sign in and which claims are sent (`POLICY_FILE`; the default policy without).
    pub policy: Policy,
    /// The circuit breaker in front of iMIS and the Zendesk API.
    pub breaker: BreakerSettings,
    /// Proxies whose `X-Forwarded-For` is believed (the member's address is behind them).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub directory: DirectorySettings,
    pub phone: PhonePolicy,
    pub log_format: LogFormat,
    /// What the member pages show of the organisation.
    pub branding: Branding,
    /// Zendesk `locale_id` values mapped to a page language, beyond the built-in ones.
    pub locale_ids: Vec<(u32, Lang)>,
    /// What a first link to an existing, unlinked Zendesk end user needs.
    pub unlinked_end_users: UnlinkedEndUsers,
    /// Outgoing mail (verification codes), when configured.
    pub mail: Option<MailSettings>,
    /// Single sign-on from the iMIS site, when configured.
    pub sso: Option<crate::members::imis::sso::SsoSettings>,
    /// Which ways in the sign-in page offers.
    pub sign_in_method: crate::signin::SignInMethod,
    /// iMIS's SingleLogout page, visited after a normal sign-out.
    pub imis_logout_url: Option<Url>,
    /// How hard the lifecycle sync may push (`SYNC_*`).
    pub sync: SyncSettings,
    /// Risky-but-allowed choices, logged loudly at start-up.
    pub warnings: Vec<String>,
}

#[derive(Clone)]
pub struct SessionSettings {
    /// Signs and encrypts the bridge's cookies (AES-256-GCM via the cookie crate's private jar).
    pub key: Key,
    pub ttl: Duration,
    /// A session's member is read from the directory again once this old.
    pub recheck: Duration,
}

impl std::fmt::Debug for SessionSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionSettings")
            .field("key", &"[REDACTED]")
            .field("ttl", &self.ttl)
            .field("recheck", &self.recheck)
            .finish()
    }
}

#[derive(Debug, Clone)]
pub struct ZendeskSettings {
    pub subdomain: String,
    /// Where the browser posts the JWT: `https://{subdomain}.zendesk.com` unless overridden.
    pub url: Url,
    pub jwt_secret: SecretString,
    /// Extra hosts allowed in `return_to` (brands, host-mapped help centres), lower case.
    pub brand_hosts: Vec<String>,
}

/// How the process stops on SIGTERM: report not-ready for `drain` (so load balancers stop
/// sending), then stop accepting and give in-flight requests up to `timeout` to finish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownSettings {
    pub drain: Duration,
    pub timeout: Duration,
}

#[derive(Debug, Clone)]
pub struct SafetySettings {
    pub mode: SafetyMode,
    /// How often Zendesk's JWT configuration is read again.
    pub recheck: Duration,
    /// What to do when the JWT configuration is used for team members too.
    pub agent_sso: AgentSso,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars())
    }

    /// Validates the given variables (the process environment in production, a list in tests).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars.into_iter().collect();
        let mut v = Validator::default();
        v.warn_unknown(&vars);
        let raw: RawSettings = match envy::from_iter(vars) {
            Ok(raw) => raw,
            Err(e) => {
                // Only possible for non-UTF-8 values; all fields are optional strings.
                v.problem("environment", format!("could not be read: {e}"));
                RawSettings::default()
            }
        };
        v.validate(raw)
    }
}

impl Branding {
    /// Only the BRAND_* variables (for `demo`, so an admin can preview their pages).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut v = Validator::default();
        let raw: RawSettings = envy::from_iter(vars).unwrap_or_default();
        let branding = v.branding(&raw);
        match v.problems.is_empty() {
            true => Ok(branding),
            false => Err(ConfigError {
                problems: v.problems,
            }),
        }
    }
}

impl Validator {
    fn validate(mut self, raw: RawSettings) -> Result<Settings, ConfigError> {
        let listen_addr = self.listen_addr(raw.listen_addr.as_deref());
        let metrics_addr = self.metrics_addr(raw.metrics_addr.as_deref(), listen_addr);
        let public_url = self.public_url(raw.public_url.as_deref());
        let session = self.session(&raw);
        let zendesk = self.zendesk(&raw);
        let zendesk_api = self.zendesk_api(&raw);
        let safety = self.safety(&raw);
        let throttle = self.throttle(&raw);
        let trusted_proxies = self.trusted_proxies(raw.trusted_proxies.as_deref());
        let breaker = self.breaker(&raw);
        let shutdown = self.shutdown(&raw);
        let policy = self.policy(raw.policy_file.as_deref());
        let phone = policy.phone_policy(self.phone_policy(&raw));
        let directory = self.directory(&raw);
        let branding = self.branding(&raw);
        let locale_ids = self.locale_ids(raw.zendesk_locale_ids.as_deref());
        let log_format = self.log_format(&raw);
        let mail = self.mail(&raw);
        let unlinked_end_users = self.unlinked_end_users(&raw, mail.is_some());
        let imis_timeout = match &directory {
            Some(DirectorySettings::Imis(imis)) => Some(imis.timeout),
            _ => None,
        };
        let sso = self.imis_sso(&raw, imis_timeout);
        let sign_in_method = self.sign_in_method(&raw, sso.is_some());
        let imis_logout_url = self.imis_logout_url(&raw);
        let shared = self.shared(&raw);
        let sync = self.sync(&raw, &shared, &policy, directory.as_ref());
        self.policy_fits_directory(&policy, directory.as_ref());

        match (
            listen_addr,
            public_url,
            session,
            zendesk,
            zendesk_api,
            directory,
            self.problems.is_empty(),
        ) {
            (
                Some(listen_addr),
                Some(public_url),
                Some(session),
                Some(zendesk),
                Some(zendesk_api),
                Some(directory),
                true,
            ) => Ok(Settings {
                listen_addr,
                metrics_addr,
                public_url,
                session,
                zendesk,
                zendesk_api,
                safety,
                shutdown,
                throttle,
                policy,
                breaker,
                trusted_proxies,
                directory,
                phone,
                log_format,
                branding,
                locale_ids,
                unlinked_end_users,
                mail,
                sso,
                sign_in_method,
                imis_logout_url,
                shared,
                sync,
                warnings: self.warnings,
            }),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }
}
