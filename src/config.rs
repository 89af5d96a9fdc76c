//! Environment → validated [`Settings`].
//!
//! The environment is read once into [`RawSettings`] (every field a string, so nothing fails
//! early), then one validation pass turns it into typed settings. That pass collects **every**
//! problem, each naming its variable and how to fix it, and fails once with all of them.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use actix_web::cookie::Key;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::mail::MailSettings;
use crate::members::phone::PhonePolicy;
use crate::policy::Policy;
use crate::signin::verify::UnlinkedEndUsers;
use crate::upstream::BreakerSettings;
use crate::web::i18n::Lang;

// Each subsystem owns its settings type; this module reads the environment into them.
pub use crate::members::DirectorySettings;
pub use crate::members::imis::{ImisSettings, ServiceAccount};
pub use crate::telemetry::LogFormat;
pub use crate::web::pages::Branding;
pub use crate::web::throttle::{
    DEFAULT_THROTTLE_IP_FAILURES, DEFAULT_THROTTLE_USER_FAILURES, DEFAULT_THROTTLE_WINDOW_SECS,
    ThrottleSettings,
};
pub use crate::zendesk::api::{ZendeskApiAuth, ZendeskApiSettings};
pub use crate::zendesk::safety::SafetyMode;
use crate::zendesk::sso_config::AgentSso;

/// Variables this service reads. Anything else with one of [`OUR_PREFIXES`] earns a warning.
pub const KNOWN_VARIABLES: &[&str] = &[
    "LISTEN_ADDR",
    "SHUTDOWN_DRAIN_SECS",
    "SHUTDOWN_TIMEOUT_SECS",
    "TRUSTED_PROXIES",
    "POLICY_FILE",
    "UPSTREAM_CIRCUIT_FAILURES",
    "UPSTREAM_CIRCUIT_COOLDOWN_SECS",
    "THROTTLE_USER_FAILURES",
    "THROTTLE_IP_FAILURES",
    "THROTTLE_WINDOW_SECS",
    "PUBLIC_URL",
    "SESSION_KEY",
    "SESSION_KEY_FILE",
    "SESSION_TTL_SECS",
    "SESSION_RECHECK_SECS",
    "ZENDESK_SUBDOMAIN",
    "ZENDESK_URL",
    "ZENDESK_JWT_SECRET",
    "ZENDESK_JWT_SECRET_FILE",
    "ZENDESK_BRAND_HOSTS",
    "ZENDESK_API_OAUTH_TOKEN",
    "ZENDESK_API_OAUTH_TOKEN_FILE",
    "ZENDESK_API_CLIENT_ID",
    "ZENDESK_API_CLIENT_SECRET",
    "ZENDESK_API_CLIENT_SECRET_FILE",
    "ZENDESK_API_EMAIL",
    "ZENDESK_API_TOKEN",
    "ZENDESK_API_TOKEN_FILE",
    "ZENDESK_API_TIMEOUT_MS",
    "ZENDESK_API_CACHE_TTL_SECS",
    "SAFETY_CHECKS",
    "SAFETY_RECHECK_SECS",
    "ZENDESK_AGENT_SSO",
    "UNLINKED_END_USERS",
    "SMTP_URL",
    "SMTP_URL_FILE",
    "MAIL_FROM",
    "MEMBER_DIRECTORY",
    "MEMBER_PHONE_COUNTRY",
    "MEMBERS_FILE",
    "IMIS_BASE_URL",
    "IMIS_SERVICE_USERNAME",
    "IMIS_SERVICE_PASSWORD",
    "IMIS_SERVICE_PASSWORD_FILE",
    "IMIS_TIMEOUT_MS",
    "IMIS_PHONE_TYPES",
    "LOG_FORMAT",
    "BRAND_NAME",
    "BRAND_LOGO_URL",
    "BRAND_PRIMARY_COLOUR",
    "BRAND_HELP_URL",
    "BRAND_FORGOT_PASSWORD_URL",
    "ZENDESK_LOCALE_IDS",
];
const OUR_PREFIXES: &[&str] = &[
    "ZENDESK_",
    "IMIS_",
    "SESSION_",
    "MEMBER_",
    "MEMBERS_",
    "SAFETY_",
    "SHUTDOWN_",
    "THROTTLE_",
    "TRUSTED_",
    "UPSTREAM_",
    "POLICY_",
    "BRAND_",
    "SMTP_",
    "MAIL_",
    "UNLINKED_",
];

const DEFAULT_LISTEN_ADDR: &str = "0.0.0.0:8080";
const DEFAULT_SESSION_TTL_SECS: u64 = 8 * 60 * 60;
const DEFAULT_SESSION_RECHECK_SECS: u64 = 15 * 60;
const DEFAULT_IMIS_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_ZENDESK_API_TIMEOUT_MS: u64 = 5_000;
const DEFAULT_ZENDESK_API_CACHE_TTL_SECS: u64 = 60;
const DEFAULT_SAFETY_RECHECK_SECS: u64 = 300;
const DEFAULT_SHUTDOWN_DRAIN_SECS: u64 = 5;
const DEFAULT_SHUTDOWN_TIMEOUT_SECS: u64 = 20;
const DEFAULT_PHONE_TYPES: &str = "_Work Phone,_Home Phone,Mobile";
const DEFAULT_PHONE_COUNTRY: &str = "US";
const MIN_SESSION_KEY_BYTES: usize = 64;

/// The environment as strings; see `.env.example` for what each variable means.
#[derive(Debug, Default, Deserialize)]
struct RawSettings {
    listen_addr: Option<String>,
    public_url: Option<String>,
    session_key: Option<String>,
    session_key_file: Option<String>,
    session_ttl_secs: Option<String>,
    session_recheck_secs: Option<String>,
    zendesk_subdomain: Option<String>,
    zendesk_url: Option<String>,
    zendesk_jwt_secret: Option<String>,
    zendesk_jwt_secret_file: Option<String>,
    zendesk_brand_hosts: Option<String>,
    zendesk_api_oauth_token: Option<String>,
    zendesk_api_oauth_token_file: Option<String>,
    zendesk_api_client_id: Option<String>,
    zendesk_api_client_secret: Option<String>,
    zendesk_api_client_secret_file: Option<String>,
    zendesk_api_email: Option<String>,
    zendesk_api_token: Option<String>,
    zendesk_api_token_file: Option<String>,
    zendesk_api_timeout_ms: Option<String>,
    zendesk_api_cache_ttl_secs: Option<String>,
    safety_checks: Option<String>,
    safety_recheck_secs: Option<String>,
    zendesk_agent_sso: Option<String>,
    unlinked_end_users: Option<String>,
    smtp_url: Option<String>,
    smtp_url_file: Option<String>,
    mail_from: Option<String>,
    shutdown_drain_secs: Option<String>,
    shutdown_timeout_secs: Option<String>,
    trusted_proxies: Option<String>,
    policy_file: Option<String>,
    upstream_circuit_failures: Option<String>,
    upstream_circuit_cooldown_secs: Option<String>,
    throttle_user_failures: Option<String>,
    throttle_ip_failures: Option<String>,
    throttle_window_secs: Option<String>,
    member_directory: Option<String>,
    member_phone_country: Option<String>,
    members_file: Option<String>,
    imis_base_url: Option<String>,
    imis_service_username: Option<String>,
    imis_service_password: Option<String>,
    imis_service_password_file: Option<String>,
    imis_timeout_ms: Option<String>,
    imis_phone_types: Option<String>,
    log_format: Option<String>,
    brand_name: Option<String>,
    brand_logo_url: Option<String>,
    brand_primary_colour: Option<String>,
    brand_help_url: Option<String>,
    brand_forgot_password_url: Option<String>,
    zendesk_locale_ids: Option<String>,
}

/// Validated configuration of the `serve` command.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen_addr: SocketAddr,
    pub public_url: Url,
    pub session: SessionSettings,
    pub zendesk: ZendeskSettings,
    pub zendesk_api: ZendeskApiSettings,
    pub safety: SafetySettings,
    pub shutdown: ShutdownSettings,
    pub throttle: ThrottleSettings,
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
    /// Risky-but-allowed choices, logged loudly at start-up.
    pub warnings: Vec<String>,
}

/// WCAG AA for normal text.
const MIN_CONTRAST: f64 = 4.5;

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

/// One thing wrong with the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub variable: &'static str,
    pub message: String,
}

/// Every problem found in one validation pass.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    pub problems: Vec<Problem>,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "the configuration has {} problem(s); nothing was started:",
            self.problems.len()
        )?;
        for p in &self.problems {
            writeln!(f, "  - {}: {}", p.variable, p.message)?;
        }
        write!(
            f,
            "Every variable is described in .env.example (and in the Helm chart's values.yaml)."
        )
    }
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

#[derive(Default)]
struct Validator {
    problems: Vec<Problem>,
    warnings: Vec<String>,
}

impl Validator {
    fn problem(&mut self, variable: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            variable,
            message: message.into(),
        });
    }

    fn warn_unknown(&mut self, vars: &[(String, String)]) {
        let unknown: BTreeSet<&str> = vars
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| OUR_PREFIXES.iter().any(|p| k.starts_with(p)))
            .filter(|k| !KNOWN_VARIABLES.contains(k))
            .collect();
        for name in unknown {
            self.warnings.push(format!(
                "{name} is set but this service does not read it (a typo?); see .env.example"
            ));
        }
    }

    fn validate(mut self, raw: RawSettings) -> Result<Settings, ConfigError> {
        let listen_addr = self.listen_addr(raw.listen_addr.as_deref());
        let public_url = self.public_url(raw.public_url.as_deref());
        let session_key = self.session_key(raw.session_key.clone(), raw.session_key_file.clone());
        let session_ttl = self.number(
            "SESSION_TTL_SECS",
            raw.session_ttl_secs.as_deref(),
            DEFAULT_SESSION_TTL_SECS,
            60..=7 * 24 * 60 * 60,
            "seconds",
        );
        let session_recheck = self.number(
            "SESSION_RECHECK_SECS",
            raw.session_recheck_secs.as_deref(),
            DEFAULT_SESSION_RECHECK_SECS,
            1..=24 * 60 * 60,
            "seconds",
        );
        let zendesk = self.zendesk(&raw);
        let zendesk_api = self.zendesk_api(&raw);
        let safety = self.safety(&raw);
        let throttle = ThrottleSettings {
            user_failures: self.number(
                "THROTTLE_USER_FAILURES",
                raw.throttle_user_failures.as_deref(),
                DEFAULT_THROTTLE_USER_FAILURES,
                1..=1000,
                "failed sign-ins",
            ) as u32,
            ip_failures: self.number(
                "THROTTLE_IP_FAILURES",
                raw.throttle_ip_failures.as_deref(),
                DEFAULT_THROTTLE_IP_FAILURES,
                1..=100_000,
                "failed sign-ins",
            ) as u32,
            window: Duration::from_secs(self.number(
                "THROTTLE_WINDOW_SECS",
                raw.throttle_window_secs.as_deref(),
                DEFAULT_THROTTLE_WINDOW_SECS,
                10..=86_400,
                "seconds",
            )),
        };
        let trusted_proxies = self.trusted_proxies(raw.trusted_proxies.as_deref());
        let breaker = BreakerSettings {
            failures: self.number(
                "UPSTREAM_CIRCUIT_FAILURES",
                raw.upstream_circuit_failures.as_deref(),
                u64::from(BreakerSettings::default().failures),
                1..=1000,
                "failures",
            ) as u32,
            cooldown: Duration::from_secs(self.number(
                "UPSTREAM_CIRCUIT_COOLDOWN_SECS",
                raw.upstream_circuit_cooldown_secs.as_deref(),
                BreakerSettings::default().cooldown.as_secs(),
                1..=3600,
                "seconds",
            )),
        };
        let shutdown = ShutdownSettings {
            drain: Duration::from_secs(self.number(
                "SHUTDOWN_DRAIN_SECS",
                raw.shutdown_drain_secs.as_deref(),
                DEFAULT_SHUTDOWN_DRAIN_SECS,
                0..=300,
                "seconds",
            )),
            timeout: Duration::from_secs(self.number(
                "SHUTDOWN_TIMEOUT_SECS",
                raw.shutdown_timeout_secs.as_deref(),
                DEFAULT_SHUTDOWN_TIMEOUT_SECS,
                1..=300,
                "seconds",
            )),
        };
        let policy = self.policy(raw.policy_file.as_deref());
        let phone = policy.phone_policy(self.phone_policy(&raw));
        let directory = self.directory(&raw);
        let branding = self.branding(&raw);
        let locale_ids = self.locale_ids(raw.zendesk_locale_ids.as_deref());
        let log_format = match non_empty(raw.log_format.as_deref()) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                self.problem(
                    "LOG_FORMAT",
                    format!("must be `json` or `pretty`, not `{other}`"),
                );
                LogFormat::Json
            }
        };
        let mail = self.mail(&raw);
        let unlinked_end_users = self.unlinked_end_users(&raw, mail.is_some());

        match (
            listen_addr,
            public_url,
            session_key,
            zendesk,
            zendesk_api,
            directory,
            self.problems.is_empty(),
        ) {
            (
                Some(listen_addr),
                Some(public_url),
                Some(key),
                Some(zendesk),
                Some(zendesk_api),
                Some(directory),
                true,
            ) => Ok(Settings {
                listen_addr,
                public_url,
                session: SessionSettings {
                    key,
                    ttl: Duration::from_secs(session_ttl),
                    recheck: Duration::from_secs(session_recheck),
                },
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
                warnings: self.warnings,
            }),
            _ => Err(ConfigError {
                problems: self.problems,
            }),
        }
    }

    fn mail(&mut self, raw: &RawSettings) -> Option<MailSettings> {
        let url = self.optional_secret("SMTP_URL", raw.smtp_url.clone(), raw.smtp_url_file.clone());
        let from = non_empty(raw.mail_from.as_deref());
        let url = url.filter(|url| match MailSettings::check_url(url.expose_secret()) {
            Ok(()) => true,
            Err(why) => {
                self.problem(
                    "SMTP_URL",
                    format!(
                        "is not a usable SMTP URL ({why}); e.g. smtps://user:password@smtp.example.org:465 \
                         or smtp://smtp.example.org:587?tls=required"
                    ),
                );
                false
            }
        });
        let from = from.and_then(|from| match from.parse::<lettre::message::Mailbox>() {
            Ok(mailbox) => Some(mailbox),
            Err(e) => {
                self.problem(
                    "MAIL_FROM",
                    format!("is not an address ({e}); e.g. Help Centre <help@example.org>"),
                );
                None
            }
        });
        match (url, from) {
            (Some(smtp_url), Some(from)) => Some(MailSettings { smtp_url, from }),
            (Some(_), None) if non_empty(raw.mail_from.as_deref()).is_none() => {
                self.problem(
                    "MAIL_FROM",
                    "is required with SMTP_URL: the sender of the codes",
                );
                None
            }
            (None, Some(_))
                if non_empty(raw.smtp_url.as_deref()).is_none()
                    && non_empty(raw.smtp_url_file.as_deref()).is_none() =>
            {
                self.problem(
                    "SMTP_URL",
                    "is required with MAIL_FROM: the server that sends mail",
                );
                None
            }
            _ => None,
        }
    }

    fn unlinked_end_users(&mut self, raw: &RawSettings, has_mail: bool) -> UnlinkedEndUsers {
        match non_empty(raw.unlinked_end_users.as_deref()) {
            Some("verify") | None if has_mail => UnlinkedEndUsers::Verify,
            None => {
                self.problem(
                    "UNLINKED_END_USERS",
                    "choose what a first sign-in does when its e-mail belongs to an existing Zendesk \
                     end user who is not linked yet (their tickets would become the member's): \
                     set SMTP_URL and MAIL_FROM so the bridge can e-mail a code first (verify, the \
                     default), or set UNLINKED_END_USERS=deny (refuse, an admin joins the accounts) \
                     or UNLINKED_END_USERS=link (only if the member system verifies every e-mail change)",
                );
                UnlinkedEndUsers::Verify
            }
            Some("verify") => {
                self.problem(
                    "SMTP_URL",
                    "UNLINKED_END_USERS=verify e-mails a code: set SMTP_URL and MAIL_FROM",
                );
                UnlinkedEndUsers::Verify
            }
            Some("deny") => UnlinkedEndUsers::Deny,
            Some("link") => {
                self.warnings.push(
                    "UNLINKED_END_USERS=link: a first sign-in links an existing Zendesk end user with \
                     the same e-mail (and their tickets) without proof that the member owns the \
                     address. Safe only if the member system verifies every e-mail change"
                        .into(),
                );
                UnlinkedEndUsers::Link
            }
            Some(other) => {
                self.problem(
                    "UNLINKED_END_USERS",
                    format!("must be `verify`, `deny` or `link`, not `{other}`"),
                );
                UnlinkedEndUsers::Verify
            }
        }
    }

    fn branding(&mut self, raw: &RawSettings) -> Branding {
        let name = non_empty(raw.brand_name.as_deref()).and_then(|name| {
            if name.chars().count() > 100 || name.chars().any(char::is_control) {
                self.problem(
                    "BRAND_NAME",
                    "must be one line of at most 100 characters (the organisation's name)",
                );
                return None;
            }
            Some(name.to_owned())
        });
        let logo_url = non_empty(raw.brand_logo_url.as_deref())
            .and_then(|v| self.web_url("BRAND_LOGO_URL", v));
        let primary_colour = non_empty(raw.brand_primary_colour.as_deref())
            .and_then(|v| self.colour("BRAND_PRIMARY_COLOUR", v));
        let help_url = non_empty(raw.brand_help_url.as_deref()).and_then(|v| match Url::parse(v) {
            Ok(url) if url.scheme() == "mailto" => Some(url),
            _ => self.web_url("BRAND_HELP_URL", v),
        });
        let forgot_password_url = non_empty(raw.brand_forgot_password_url.as_deref())
            .and_then(|v| self.web_url("BRAND_FORGOT_PASSWORD_URL", v));
        Branding {
            name,
            logo_url,
            primary_colour,
            help_url,
            forgot_password_url,
        }
    }

    /// `#rgb` or `#rrggbb`, dark enough for white text on it (WCAG AA).
    fn colour(&mut self, variable: &'static str, value: &str) -> Option<String> {
        let hex = value.strip_prefix('#').unwrap_or(value);
        let full: String = match hex.len() {
            3 => hex.chars().flat_map(|c| [c, c]).collect(),
            _ => hex.to_owned(),
        };
        let channels: Option<Vec<u8>> = (full.len() == 6 && full.is_ascii())
            .then(|| {
                (0..3)
                    .map(|i| u8::from_str_radix(&full[2 * i..2 * i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        let Some(channels) = channels else {
            self.problem(
                variable,
                format!("`{value}` is not a colour; write it as `#rrggbb`, e.g. `#1f5f8b`"),
            );
            return None;
        };
        let contrast = contrast_with_white(&channels);
        if contrast < MIN_CONTRAST {
            self.problem(
                variable,
                format!(
                    "`{value}` is too light: white button text on it has a contrast of \
                     {contrast:.1}:1, and members need at least {MIN_CONTRAST}:1 to read it \
                     (WCAG AA); choose a darker shade"
                ),
            );
            return None;
        }
        Some(format!("#{}", full.to_ascii_lowercase()))
    }

    /// `id=language` pairs, e.g. `1176=en,1186=fr`.
    fn locale_ids(&mut self, value: Option<&str>) -> Vec<(u32, Lang)> {
        let Some(value) = non_empty(value) else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = pair.split_once('=').and_then(|(id, tag)| {
                Some((id.trim().parse::<u32>().ok()?, Lang::from_tag(tag.trim())?))
            });
            match parsed {
                Some(entry) => ids.push(entry),
                None => self.problem(
                    "ZENDESK_LOCALE_IDS",
                    format!(
                        "`{pair}` is not `id=language`; write e.g. `1176=en,1186=fr` \
                         (languages: en, fr, es, de)"
                    ),
                ),
            }
        }
        ids
    }

    fn listen_addr(&mut self, value: Option<&str>) -> Option<SocketAddr> {
        let value = non_empty(value).unwrap_or(DEFAULT_LISTEN_ADDR);
        match value.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.problem(
                    "LISTEN_ADDR",
                    format!("`{value}` is not an address:port such as `0.0.0.0:8080`"),
                );
                None
            }
        }
    }

    fn public_url(&mut self, value: Option<&str>) -> Option<Url> {
        let Some(value) = non_empty(value) else {
            self.problem(
                "PUBLIC_URL",
                "is required: the external https base URL of this bridge, e.g. \
                 `https://sso.example.org` (Zendesk's remote login URL is PUBLIC_URL/login)",
            );
            return None;
        };
        let url = self.web_url("PUBLIC_URL", value)?;
        if url.query().is_some() || url.fragment().is_some() {
            self.problem("PUBLIC_URL", "must not have a query string or fragment");
            return None;
        }
        Some(url)
    }

    /// An absolute http(s) URL without a trailing slash; plain http only for this machine.
    fn web_url(&mut self, variable: &'static str, value: &str) -> Option<Url> {
        let url = match Url::parse(value.trim_end_matches('/')) {
            Ok(url) => url,
            Err(e) => {
                self.problem(
                    variable,
                    format!("`{value}` is not an absolute URL ({e}); write it like `https://host.example.org`"),
                );
                return None;
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            self.problem(variable, "must not contain a user name or password");
            return None;
        }
        match url.scheme() {
            "https" => Some(url),
            "http" if is_loopback(&url) => {
                self.warnings.push(format!(
                    "{variable} uses plain http ({url}); acceptable only for local testing"
                ));
                Some(url)
            }
            _ => {
                self.problem(
                    variable,
                    format!(
                        "`{value}` must use https (plain http is accepted only for localhost / 127.0.0.1)"
                    ),
                );
                None
            }
        }
    }

    fn session_key(&mut self, value: Option<String>, file: Option<String>) -> Option<Key> {
        const HINT: &str = "generate one with `openssl rand -base64 64`";
        let Some(secret) = self.optional_secret("SESSION_KEY", value, file) else {
            if !self.problems.iter().any(|p| p.variable == "SESSION_KEY") {
                self.problem(
                    "SESSION_KEY",
                    format!("is required (or SESSION_KEY_FILE): at least {MIN_SESSION_KEY_BYTES} random bytes, base64 or hex; {HINT}"),
                );
            }
            return None;
        };
        let text = secret.expose_secret().trim();
        let bytes = decode_key(text);
        match bytes {
            Some(bytes) if bytes.len() >= MIN_SESSION_KEY_BYTES => Some(Key::derive_from(&bytes)),
            Some(bytes) => {
                self.problem(
                    "SESSION_KEY",
                    format!(
                        "decodes to {} bytes but at least {MIN_SESSION_KEY_BYTES} are required; {HINT}",
                        bytes.len()
                    ),
                );
                None
            }
            None => {
                self.problem("SESSION_KEY", format!("is neither base64 nor hex; {HINT}"));
                None
            }
        }
    }

    /// A required secret from `NAME` or from the file named by `NAME_FILE`.
    fn secret(
        &mut self,
        name: &'static str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<SecretString> {
        let secret = self.optional_secret(name, value, file);
        if secret.is_none() && !self.problems.iter().any(|p| p.variable == name) {
            self.problem(
                name,
                format!("is required (set {name}, or {name}_FILE to a file that holds it)"),
            );
        }
        secret
    }

    fn optional_secret(
        &mut self,
        name: &'static str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<SecretString> {
        let value = value.filter(|v| !v.trim().is_empty());
        let file = file.filter(|v| !v.trim().is_empty());
        match (value, file) {
            (Some(_), Some(_)) => {
                self.problem(name, format!("set either {name} or {name}_FILE, not both"));
                None
            }
            (Some(value), None) => Some(SecretString::from(value)),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                )),
                Ok(_) => {
                    self.problem(name, format!("{name}_FILE `{path}` is empty"));
                    None
                }
                Err(e) => {
                    self.problem(name, format!("{name}_FILE `{path}` cannot be read: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }

    fn number(
        &mut self,
        variable: &'static str,
        value: Option<&str>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        unit: &str,
    ) -> u64 {
        let Some(value) = non_empty(value) else {
            return default;
        };
        match value.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problem(
                    variable,
                    format!(
                        "`{value}` must be a whole number of {unit} from {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }

    fn zendesk(&mut self, raw: &RawSettings) -> Option<ZendeskSettings> {
        let subdomain = match non_empty(raw.zendesk_subdomain.as_deref()) {
            None => {
                self.problem(
                    "ZENDESK_SUBDOMAIN",
                    "is required: the `acme` of https://acme.zendesk.com",
                );
                None
            }
            Some(s) if is_subdomain(s) => Some(s.to_ascii_lowercase()),
            Some(s) => {
                let hint = s
                    .trim_start_matches("https://")
                    .split('.')
                    .next()
                    .unwrap_or_default();
                self.problem(
                    "ZENDESK_SUBDOMAIN",
                    format!(
                        "`{s}` is not a subdomain; give only the first label, e.g. `{hint}` for https://{hint}.zendesk.com"
                    ),
                );
                None
            }
        };
        let url = match non_empty(raw.zendesk_url.as_deref()) {
            Some(value) => self.web_url("ZENDESK_URL", value),
            None => subdomain
                .as_deref()
                .and_then(|s| Url::parse(&format!("https://{s}.zendesk.com")).ok()),
        };
        if let Some(url) = &url
            && (url.path() != "/" || url.query().is_some())
        {
            self.problem(
                "ZENDESK_URL",
                "must be only scheme and host (the JWT is posted to ZENDESK_URL/access/jwt)",
            );
        }
        let secret = self.secret(
            "ZENDESK_JWT_SECRET",
            raw.zendesk_jwt_secret.clone(),
            raw.zendesk_jwt_secret_file.clone(),
        );
        if let Some(s) = &secret
            && s.expose_secret().len() < 32
        {
            self.warnings.push(
                "ZENDESK_JWT_SECRET is shorter than 32 characters; Zendesk's generated secrets are longer — was it truncated?".into(),
            );
        }
        let brand_hosts = self.brand_hosts(raw.zendesk_brand_hosts.as_deref());
        Some(ZendeskSettings {
            subdomain: subdomain?,
            url: url?,
            jwt_secret: secret?,
            brand_hosts,
        })
    }

    /// Two settings that only make sense together: both, or neither (a problem names the
    /// missing one).
    fn both<A, B>(
        &mut self,
        (name_a, a): (&'static str, Option<A>),
        (name_b, b): (&'static str, Option<B>),
        hint: &str,
    ) -> Option<(A, B)> {
        match (a, b) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            (Some(_), None) => {
                self.problem(name_b, format!("is required with {name_a}{hint}"));
                None
            }
            (None, Some(_)) => {
                self.problem(name_a, format!("is required with {name_b}{hint}"));
                None
            }
        }
    }

    fn zendesk_api(&mut self, raw: &RawSettings) -> Option<ZendeskApiSettings> {
        let oauth = self.optional_secret(
            "ZENDESK_API_OAUTH_TOKEN",
            raw.zendesk_api_oauth_token.clone(),
            raw.zendesk_api_oauth_token_file.clone(),
        );
        let client_id = non_empty(raw.zendesk_api_client_id.as_deref()).map(str::to_owned);
        let client_secret = self.optional_secret(
            "ZENDESK_API_CLIENT_SECRET",
            raw.zendesk_api_client_secret.clone(),
            raw.zendesk_api_client_secret_file.clone(),
        );
        let email = non_empty(raw.zendesk_api_email.as_deref()).map(str::to_owned);
        let token = self.optional_secret(
            "ZENDESK_API_TOKEN",
            raw.zendesk_api_token.clone(),
            raw.zendesk_api_token_file.clone(),
        );
        let client = self
            .both(
                ("ZENDESK_API_CLIENT_ID", client_id),
                ("ZENDESK_API_CLIENT_SECRET", client_secret),
                "",
            )
            .map(
                |(client_id, client_secret)| ZendeskApiAuth::ClientCredentials {
                    client_id,
                    client_secret,
                },
            );
        let api_token = self
            .both(
                ("ZENDESK_API_EMAIL", email),
                ("ZENDESK_API_TOKEN", token),
                " (the e-mail of the admin who owns the token)",
            )
            .map(|(email, token)| ZendeskApiAuth::ApiToken { email, token });
        let auth = oauth
            .map(ZendeskApiAuth::OAuthToken)
            .or(client)
            .or(api_token);
        match &auth {
            Some(ZendeskApiAuth::ApiToken { .. }) => self.warnings.push(
                "ZENDESK_API_TOKEN: Zendesk deactivates API tokens unused for 30 days and stops \
                 accepting all of them on 30 Apr 2027; switch to ZENDESK_API_CLIENT_ID / \
                 ZENDESK_API_CLIENT_SECRET (client credentials, renewed automatically)"
                    .into(),
            ),
            Some(ZendeskApiAuth::OAuthToken(_)) => self.warnings.push(
                "ZENDESK_API_OAUTH_TOKEN: a static OAuth access token stops working when it \
                 expires (30 minutes by default for OAuth clients created since 2026; all clients \
                 must adopt expiry by 1 Apr 2027); switch to ZENDESK_API_CLIENT_ID / \
                 ZENDESK_API_CLIENT_SECRET (client credentials, renewed automatically)"
                    .into(),
            ),
            Some(ZendeskApiAuth::ClientCredentials { .. }) => {}
            None if !self
                .problems
                .iter()
                .any(|p| p.variable.starts_with("ZENDESK_API_")) =>
            {
                self.problem(
                    "ZENDESK_API_OAUTH_TOKEN",
                    "Zendesk API credentials are required: the bridge reads Zendesk users before \
                     every sign-in so that no sign-in can take over another account. Set \
                     ZENDESK_API_OAUTH_TOKEN, or ZENDESK_API_CLIENT_ID + ZENDESK_API_CLIENT_SECRET, \
                     or ZENDESK_API_EMAIL + ZENDESK_API_TOKEN (an admin's credentials)",
                );
            }
            None => {}
        }
        let timeout = self.number(
            "ZENDESK_API_TIMEOUT_MS",
            raw.zendesk_api_timeout_ms.as_deref(),
            DEFAULT_ZENDESK_API_TIMEOUT_MS,
            100..=60_000,
            "milliseconds",
        );
        let cache_ttl = self.number(
            "ZENDESK_API_CACHE_TTL_SECS",
            raw.zendesk_api_cache_ttl_secs.as_deref(),
            DEFAULT_ZENDESK_API_CACHE_TTL_SECS,
            0..=3600,
            "seconds",
        );
        Some(ZendeskApiSettings {
            auth: auth?,
            timeout: Duration::from_millis(timeout),
            cache_ttl: Duration::from_secs(cache_ttl),
        })
    }

    fn safety(&mut self, raw: &RawSettings) -> SafetySettings {
        let mode = match non_empty(raw.safety_checks.as_deref()) {
            None | Some("strict") => SafetyMode::Strict,
            Some("degraded") => {
                self.warnings.push(
                    "SAFETY_CHECKS=degraded: while the Zendesk API is unreachable, end users whose \
                     external id matched recently can still sign in without a fresh check"
                        .into(),
                );
                SafetyMode::Degraded
            }
            Some(other) => {
                self.problem(
                    "SAFETY_CHECKS",
                    format!("must be `strict` or `degraded`, not `{other}`"),
                );
                SafetyMode::Strict
            }
        };
        let recheck = self.number(
            "SAFETY_RECHECK_SECS",
            raw.safety_recheck_secs.as_deref(),
            DEFAULT_SAFETY_RECHECK_SECS,
            1..=86_400,
            "seconds",
        );
        let agent_sso = match non_empty(raw.zendesk_agent_sso.as_deref()) {
            None | Some("warn") => AgentSso::Warn,
            Some("refuse") => AgentSso::Refuse,
            Some(other) => {
                self.problem(
                    "ZENDESK_AGENT_SSO",
                    format!("must be `warn` or `refuse`, not `{other}`"),
                );
                AgentSso::Warn
            }
        };
        SafetySettings {
            mode,
            recheck: Duration::from_secs(recheck),
            agent_sso,
        }
    }

    fn policy(&mut self, path: Option<&str>) -> Policy {
        let Some(path) = non_empty(path) else {
            return Policy::default();
        };
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("`{path}` cannot be read: {e}"))
            .and_then(|text| Policy::parse(&text).map_err(|e| format!("`{path}`: {e}")));
        match parsed {
            Ok(policy) => {
                self.warnings.extend(policy.warnings());
                policy
            }
            Err(e) => {
                self.problem("POLICY_FILE", e);
                Policy::default()
            }
        }
    }

    fn trusted_proxies(&mut self, value: Option<&str>) -> Vec<ipnet::IpNet> {
        let mut nets = Vec::new();
        for item in value.unwrap_or_default().split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let parsed = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => nets.push(net),
                Err(_) => self.problem(
                    "TRUSTED_PROXIES",
                    format!(
                        "`{item}` is not an IP address or CIDR range; list your load balancers like `10.0.0.0/8,192.0.2.10`"
                    ),
                ),
            }
        }
        nets
    }

    fn brand_hosts(&mut self, value: Option<&str>) -> Vec<String> {
        let mut hosts = Vec::new();
        for host in value.unwrap_or_default().split(',').map(str::trim) {
            if host.is_empty() {
                continue;
            }
            match url::Host::parse(host) {
                Ok(url::Host::Domain(d)) if is_hostname(host) => hosts.push(d.to_ascii_lowercase()),
                _ => self.problem(
                    "ZENDESK_BRAND_HOSTS",
                    format!(
                        "`{host}` is not a bare host name; list hosts like `help.example.org,support.example.com` (no scheme, port or path)"
                    ),
                ),
            }
        }
        hosts
    }

    fn phone_policy(&mut self, raw: &RawSettings) -> PhonePolicy {
        let country =
            non_empty(raw.member_phone_country.as_deref()).unwrap_or(DEFAULT_PHONE_COUNTRY);
        let types = non_empty(raw.imis_phone_types.as_deref()).unwrap_or(DEFAULT_PHONE_TYPES);
        let types: Vec<String> = types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        match PhonePolicy::new(country) {
            Some(policy) => policy.with_preferred_types(types),
            None => {
                self.problem(
                    "MEMBER_PHONE_COUNTRY",
                    format!(
                        "`{country}` is not a two-letter country code such as `US`, `GB` or `FR`"
                    ),
                );
                PhonePolicy::default().with_preferred_types(types)
            }
        }
    }

    fn directory(&mut self, raw: &RawSettings) -> Option<DirectorySettings> {
        match non_empty(raw.member_directory.as_deref()).unwrap_or("imis") {
            "imis" => self.imis(raw).map(DirectorySettings::Imis),
            "file" => self.members_file(raw.members_file.as_deref()),
            other => {
                self.problem(
                    "MEMBER_DIRECTORY",
                    format!("must be `imis` or `file`, not `{other}`"),
                );
                None
            }
        }
    }

    fn imis(&mut self, raw: &RawSettings) -> Option<ImisSettings> {
        let base_url = match non_empty(raw.imis_base_url.as_deref()) {
            Some(value) => self.web_url("IMIS_BASE_URL", value),
            None => {
                self.problem(
                    "IMIS_BASE_URL",
                    "is required with MEMBER_DIRECTORY=imis: the iMIS site root, e.g. \
                     `https://members.example.org` or `https://example.org/imis`",
                );
                None
            }
        };
        let username = non_empty(raw.imis_service_username.as_deref()).map(str::to_owned);
        let password = self.optional_secret(
            "IMIS_SERVICE_PASSWORD",
            raw.imis_service_password.clone(),
            raw.imis_service_password_file.clone(),
        );
        let service_account = self
            .both(
                ("IMIS_SERVICE_USERNAME", username),
                ("IMIS_SERVICE_PASSWORD", password),
                " (or unset both to look profiles up with the member's own token)",
            )
            .map(|(username, password)| ServiceAccount { username, password });
        let timeout = self.number(
            "IMIS_TIMEOUT_MS",
            raw.imis_timeout_ms.as_deref(),
            DEFAULT_IMIS_TIMEOUT_MS,
            100..=60_000,
            "milliseconds",
        );
        Some(ImisSettings {
            base_url: base_url?,
            service_account,
            timeout: Duration::from_millis(timeout),
        })
    }

    fn members_file(&mut self, path: Option<&str>) -> Option<DirectorySettings> {
        let Some(path) = non_empty(path) else {
            self.problem(
                "MEMBERS_FILE",
                "is required with MEMBER_DIRECTORY=file: a TOML file of members (see README, \
                 `zendesk-sso-bridge hash-password` makes the hashes)",
            );
            return None;
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.problem("MEMBERS_FILE", format!("`{path}` cannot be read: {e}"));
                return None;
            }
        };
        match crate::members::file::parse_members(&text) {
            Ok(members) => Some(DirectorySettings::File {
                path: PathBuf::from(path),
                members,
            }),
            Err(e) => {
                self.problem("MEMBERS_FILE", format!("`{path}`: {e}"));
                None
            }
        }
    }
}

fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// The WCAG contrast ratio of an sRGB colour against white.
fn contrast_with_white(rgb: &[u8]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        match c <= 0.040_45 {
            true => c / 12.92,
            false => ((c + 0.055) / 1.055).powf(2.4),
        }
    };
    let luminance = match rgb {
        [r, g, b] => 0.2126 * linear(*r) + 0.7152 * linear(*g) + 0.0722 * linear(*b),
        _ => 1.0,
    };
    1.05 / (luminance + 0.05)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn is_hostname(s: &str) -> bool {
    s.split('.').all(is_subdomain) && s.contains('.')
}

/// A key written as hex or as base64 (standard or URL-safe, padded or not).
fn decode_key(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(bytes) = hex::decode(text)
    {
        return Some(bytes);
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

    fn minimal() -> Vec<(String, String)> {
        vars(&[
            ("PUBLIC_URL", "https://sso.example.org/"),
            ("SESSION_KEY", KEY),
            ("ZENDESK_SUBDOMAIN", "acme"),
            (
                "ZENDESK_JWT_SECRET",
                "a-shared-secret-of-forty-characters-long!",
            ),
            ("IMIS_BASE_URL", "https://members.example.org/imis"),
            // The recommended credentials: no warning about tokens that stop working.
            ("ZENDESK_API_CLIENT_ID", "bridge"),
            ("ZENDESK_API_CLIENT_SECRET", "client-secret"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("MAIL_FROM", "Help Centre <help@example.org>"),
        ])
    }

    #[test]
    fn a_minimal_environment_gives_defaults() {
        let s = Settings::from_vars(minimal()).expect("valid");
        assert_eq!(s.listen_addr.to_string(), "0.0.0.0:8080");
        assert_eq!(s.public_url.as_str(), "https://sso.example.org/");
        assert_eq!(s.zendesk.url.as_str(), "https://acme.zendesk.com/");
        assert_eq!(s.session.ttl, Duration::from_secs(8 * 3600));
        let DirectorySettings::Imis(imis) = s.directory else {
            panic!("imis is the default directory")
        };
        assert_eq!(imis.base_url.as_str(), "https://members.example.org/imis");
        assert_eq!(imis.timeout, Duration::from_millis(5000));
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    }

    #[test]
    fn an_empty_environment_names_every_required_variable() {
        let err = Settings::from_vars(Vec::new()).expect_err("must fail");
        let names: Vec<_> = err.problems.iter().map(|p| p.variable).collect();
        for required in [
            "PUBLIC_URL",
            "SESSION_KEY",
            "ZENDESK_SUBDOMAIN",
            "ZENDESK_JWT_SECRET",
            "IMIS_BASE_URL",
        ] {
            assert!(
                names.contains(&required),
                "{required} missing from {names:?}"
            );
        }
        assert!(
            err.to_string().contains("openssl rand") || err.to_string().contains("SESSION_KEY")
        );
    }

    #[test]
    fn a_short_session_key_says_how_to_make_one() {
        let mut v = minimal();
        v.retain(|(k, _)| k != "SESSION_KEY");
        v.push(("SESSION_KEY".into(), "c2hvcnQ=".into()));
        let err = Settings::from_vars(v).expect_err("must fail");
        let p = &err.problems[0];
        assert_eq!(p.variable, "SESSION_KEY");
        assert!(p.message.contains("5 bytes"), "{}", p.message);
        assert!(
            p.message.contains("openssl rand -base64 64"),
            "{}",
            p.message
        );
    }

    #[test]
    fn plain_http_is_refused_except_for_this_machine() {
        let mut v = minimal();
        v.retain(|(k, _)| k != "PUBLIC_URL");
        v.push(("PUBLIC_URL".into(), "http://sso.example.org".into()));
        let err = Settings::from_vars(v.clone()).expect_err("must fail");
        assert_eq!(err.problems[0].variable, "PUBLIC_URL");

        v.retain(|(k, _)| k != "PUBLIC_URL");
        v.push(("PUBLIC_URL".into(), "http://127.0.0.1:8080".into()));
        let s = Settings::from_vars(v).expect("loopback http is allowed");
        assert!(s.warnings.iter().any(|w| w.contains("PUBLIC_URL")));
    }

    #[test]
    fn secrets_can_come_from_files_but_not_from_both_places() {
        let dir = std::env::temp_dir().join(format!("zsb-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("secret");
        std::fs::write(&path, "from-a-file-secret-that-is-long-enough-to-pass\n").expect("write");
        let mut v = minimal();
        v.retain(|(k, _)| k != "ZENDESK_JWT_SECRET");
        v.push(("ZENDESK_JWT_SECRET_FILE".into(), path.display().to_string()));
        let s = Settings::from_vars(v.clone()).expect("valid");
        assert_eq!(
            s.zendesk.jwt_secret.expose_secret(),
            "from-a-file-secret-that-is-long-enough-to-pass"
        );

        v.push(("ZENDESK_JWT_SECRET".into(), "also-here".into()));
        let err = Settings::from_vars(v).expect_err("both is ambiguous");
        assert!(err.problems[0].message.contains("not both"));
    }

    #[test]
    fn unknown_variables_with_our_prefix_are_warned_about() {
        let mut v = minimal();
        // Spelled in two parts so the repository's "every variable read is documented" check
        // does not take this deliberate typo for a real variable.
        let typo = concat!("ZENDESK_", "JWT_SECRTE");
        v.push((typo.into(), "typo".into()));
        v.push(("HOME".into(), "/root".into()));
        let s = Settings::from_vars(v).expect("valid");
        assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
        assert!(s.warnings[0].contains(typo));
    }

    #[test]
    fn a_full_zendesk_host_as_subdomain_gets_a_hint() {
        let mut v = minimal();
        v.retain(|(k, _)| k != "ZENDESK_SUBDOMAIN");
        v.push(("ZENDESK_SUBDOMAIN".into(), "acme.zendesk.com".into()));
        let err = Settings::from_vars(v).expect_err("must fail");
        assert!(
            err.problems[0].message.contains("`acme`"),
            "{}",
            err.problems[0].message
        );
    }

    #[test]
    fn zendesk_api_credentials_follow_zendesks_order_of_preference() {
        let mut v = minimal();
        v.retain(|(k, _)| !k.starts_with("ZENDESK_API_CLIENT_"));
        v.push(("ZENDESK_API_EMAIL".into(), "admin@example.org".into()));
        v.push(("ZENDESK_API_TOKEN".into(), "api-token".into()));
        let s = Settings::from_vars(v.clone()).expect("valid");
        assert!(matches!(
            s.zendesk_api.auth,
            ZendeskApiAuth::ApiToken { .. }
        ));
        assert!(s.warnings.iter().any(|w| w.contains("30 Apr 2027")));

        v.push(("ZENDESK_API_CLIENT_ID".into(), "bridge".into()));
        v.push(("ZENDESK_API_CLIENT_SECRET".into(), "client-secret".into()));
        let s = Settings::from_vars(v.clone()).expect("valid");
        assert!(matches!(
            s.zendesk_api.auth,
            ZendeskApiAuth::ClientCredentials { .. }
        ));

        v.push(("ZENDESK_API_OAUTH_TOKEN".into(), "oauth".into()));
        let s = Settings::from_vars(v).expect("valid");
        assert!(matches!(s.zendesk_api.auth, ZendeskApiAuth::OAuthToken(_)));
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("static OAuth access token stops working")),
            "{:?}",
            s.warnings
        );
    }

    #[test]
    fn a_first_link_to_an_existing_end_user_needs_mail_or_an_explicit_choice() {
        let s = Settings::from_vars(minimal()).expect("valid");
        assert_eq!(s.unlinked_end_users, UnlinkedEndUsers::Verify);
        let mut v = minimal();
        v.retain(|(k, _)| k != "SMTP_URL" && k != "MAIL_FROM");
        let err = Settings::from_vars(v.clone()).expect_err("no way to verify");
        assert!(
            err.problems
                .iter()
                .any(|p| p.variable == "UNLINKED_END_USERS")
        );
        let with = |choice: &str| {
            let mut v = v.clone();
            v.push(("UNLINKED_END_USERS".into(), choice.into()));
            Settings::from_vars(v)
        };
        let s = with("deny").expect("an explicit choice");
        assert_eq!(s.unlinked_end_users, UnlinkedEndUsers::Deny);
        let s = with("link").expect("an explicit choice");
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("UNLINKED_END_USERS=link"))
        );
        let err = with("verify").expect_err("verify needs mail");
        assert!(err.problems.iter().any(|p| p.variable == "SMTP_URL"));
    }

    #[test]
    fn safety_checks_are_strict_unless_degraded_is_chosen_loudly() {
        let s = Settings::from_vars(minimal()).expect("valid");
        assert_eq!(s.safety.mode, SafetyMode::Strict);
        let mut v = minimal();
        v.push(("SAFETY_CHECKS".into(), "degraded".into()));
        let s = Settings::from_vars(v.clone()).expect("valid");
        assert_eq!(s.safety.mode, SafetyMode::Degraded);
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("SAFETY_CHECKS=degraded"))
        );
        v.push(("SAFETY_CHECKS".into(), "off".into()));
        assert!(Settings::from_vars(v).is_err());
    }

    #[test]
    fn keys_decode_from_hex_and_base64() {
        assert_eq!(decode_key("00ff").as_deref(), Some(&[0u8, 255][..]));
        assert_eq!(decode_key("AP8=").as_deref(), Some(&[0u8, 255][..]));
        assert_eq!(decode_key("AP8").as_deref(), Some(&[0u8, 255][..]));
        assert!(decode_key("not base64 at all!").is_none());
    }

    #[test]
    fn branding_is_read_and_a_colour_too_light_to_read_is_refused() {
        let mut v = minimal();
        v.extend(vars(&[
            ("BRAND_NAME", "Acme Society"),
            ("BRAND_LOGO_URL", "https://cdn.acme.example/logo.svg"),
            ("BRAND_PRIMARY_COLOUR", "#0B3D91"),
            ("BRAND_HELP_URL", "mailto:help@acme.example"),
            (
                "BRAND_FORGOT_PASSWORD_URL",
                "https://members.acme.example/reset",
            ),
            ("ZENDESK_LOCALE_IDS", "1176=en, 1186=fr-CA"),
        ]));
        let s = Settings::from_vars(v).expect("valid");
        assert_eq!(s.branding.name.as_deref(), Some("Acme Society"));
        assert_eq!(s.branding.primary_colour.as_deref(), Some("#0b3d91"));
        assert_eq!(
            s.branding.help_url.as_ref().map(Url::as_str),
            Some("mailto:help@acme.example")
        );
        assert_eq!(s.locale_ids, vec![(1176, Lang::En), (1186, Lang::Fr)]);

        for (variable, value, words) in [
            ("BRAND_PRIMARY_COLOUR", "#ffcc00", "contrast of 1.5:1"),
            ("BRAND_PRIMARY_COLOUR", "blue", "not a colour"),
            (
                "BRAND_LOGO_URL",
                "http://cdn.acme.example/logo.png",
                "must use https",
            ),
            ("BRAND_HELP_URL", "javascript:alert(1)", "must use https"),
            ("BRAND_NAME", "Acme\nSociety", "one line"),
            ("ZENDESK_LOCALE_IDS", "16=fr,17=klingon", "`17=klingon`"),
        ] {
            let mut v = minimal();
            v.push((variable.into(), value.into()));
            let err = Settings::from_vars(v).expect_err(value).to_string();
            assert!(err.contains(variable) && err.contains(words), "{err}");
        }
    }

    #[test]
    fn the_default_accent_passes_the_contrast_check() {
        assert!(contrast_with_white(&[0x1f, 0x5f, 0x8b]) >= MIN_CONTRAST);
        let black = contrast_with_white(&[0, 0, 0]);
        assert!((black - 21.0).abs() < 0.01, "{black}");
    }
}
