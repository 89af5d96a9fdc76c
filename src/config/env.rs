//! The environment as read: every variable a string ([`RawSettings`]), the list of variables
//! derived from it, and the [`Validator`] that collects every problem before failing once.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde::de::{self, Visitor};

/// The environment as strings; see `.env.example` for what each variable means.
#[derive(Debug, Default, Deserialize)]
pub(super) struct RawSettings {
    pub(super) listen_addr: Option<String>,
    pub(super) metrics_addr: Option<String>,
    pub(super) public_url: Option<String>,
    pub(super) session_key: Option<String>,
    pub(super) session_key_file: Option<String>,
    pub(super) session_ttl_secs: Option<String>,
    pub(super) session_recheck_secs: Option<String>,
    pub(super) zendesk_subdomain: Option<String>,
    pub(super) zendesk_url: Option<String>,
    pub(super) zendesk_jwt_secret: Option<String>,
    pub(super) zendesk_jwt_secret_file: Option<String>,
    pub(super) zendesk_brand_hosts: Option<String>,
    pub(super) zendesk_api_oauth_token: Option<String>,
    pub(super) zendesk_api_oauth_token_file: Option<String>,
    pub(super) zendesk_api_client_id: Option<String>,
    pub(super) zendesk_api_client_secret: Option<String>,
    pub(super) zendesk_api_client_secret_file: Option<String>,
    pub(super) zendesk_api_email: Option<String>,
    pub(super) zendesk_api_token: Option<String>,
    pub(super) zendesk_api_token_file: Option<String>,
    pub(super) zendesk_api_timeout_ms: Option<String>,
    pub(super) zendesk_api_cache_ttl_secs: Option<String>,
    pub(super) safety_checks: Option<String>,
    pub(super) safety_recheck_secs: Option<String>,
    pub(super) zendesk_agent_sso: Option<String>,
    pub(super) unlinked_end_users: Option<String>,
    pub(super) smtp_url: Option<String>,
    pub(super) smtp_url_file: Option<String>,
    pub(super) mail_from: Option<String>,
    pub(super) shutdown_drain_secs: Option<String>,
    pub(super) shutdown_timeout_secs: Option<String>,
    pub(super) trusted_proxies: Option<String>,
    pub(super) policy_file: Option<String>,
    pub(super) upstream_circuit_failures: Option<String>,
    pub(super) upstream_circuit_cooldown_secs: Option<String>,
    pub(super) throttle_user_failures: Option<String>,
    pub(super) throttle_ip_failures: Option<String>,
    pub(super) throttle_window_secs: Option<String>,
    pub(super) sign_in_max_in_flight: Option<String>,
    pub(super) redis_url: Option<String>,
    pub(super) redis_url_file: Option<String>,
    pub(super) deployment_replicas: Option<String>,
    pub(super) sign_in_max_in_flight_per_address: Option<String>,
    pub(super) member_directory: Option<String>,
    pub(super) member_phone_country: Option<String>,
    pub(super) members_file: Option<String>,
    pub(super) imis_base_url: Option<String>,
    pub(super) imis_service_username: Option<String>,
    pub(super) imis_service_password: Option<String>,
    pub(super) imis_service_password_file: Option<String>,
    pub(super) imis_timeout_ms: Option<String>,
    pub(super) imis_max_in_flight: Option<String>,
    pub(super) sync_max_downgrades: Option<String>,
    pub(super) sync_zendesk_rpm: Option<String>,
    pub(super) sync_interval_secs: Option<String>,
    pub(super) sync_create_users: Option<String>,
    pub(super) imis_phone_types: Option<String>,
    pub(super) sign_in_method: Option<String>,
    pub(super) imis_sso_page_url: Option<String>,
    pub(super) imis_sso_client_id: Option<String>,
    pub(super) imis_sso_client_id_file: Option<String>,
    pub(super) imis_sso_client_secret: Option<String>,
    pub(super) imis_sso_client_secret_file: Option<String>,
    pub(super) imis_sso_allowed_origins: Option<String>,
    pub(super) imis_logout_url: Option<String>,
    pub(super) imis_profile_query: Option<String>,
    pub(super) imis_profile_columns: Option<String>,
    pub(super) imis_members_query: Option<String>,
    pub(super) log_format: Option<String>,
    pub(super) brand_name: Option<String>,
    pub(super) brand_logo_url: Option<String>,
    pub(super) brand_primary_colour: Option<String>,
    pub(super) brand_help_url: Option<String>,
    pub(super) brand_forgot_password_url: Option<String>,
    pub(super) zendesk_locale_ids: Option<String>,
}

/// The variables this service reads: the fields of [`RawSettings`], upper-cased. Derived from
/// the struct envy fills, so the list cannot drift from what the code reads.
pub fn known_variables() -> Vec<String> {
    let mut recorder = FieldRecorder::default();
    // `deserialize_struct` records the field names, then stops the deserialisation.
    let _ = RawSettings::deserialize(&mut recorder);
    recorder
        .fields
        .iter()
        .map(|f| f.to_ascii_uppercase())
        .collect()
}

#[derive(Default)]
struct FieldRecorder {
    fields: Vec<&'static str>,
}

#[derive(Debug)]
struct Recorded;

impl std::fmt::Display for Recorded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl de::Error for Recorded {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Recorded
    }
}

impl<'de> de::Deserializer<'de> for &mut FieldRecorder {
    type Error = Recorded;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Recorded> {
        self.fields.extend_from_slice(fields);
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

pub(super) const OUR_PREFIXES: &[&str] = &[
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
    "SIGN_IN_",
    "REDIS_",
    "DEPLOYMENT_",
    "METRICS_",
];

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

impl ConfigError {
    /// The problems as JSON lines, one per variable, for `LOG_FORMAT=json` (log pipelines read
    /// them like every other line).
    pub fn to_json_lines(&self) -> String {
        self.problems
            .iter()
            .map(|p| {
                serde_json::json!({
                    "level": "ERROR",
                    "target": "config",
                    "variable": p.variable,
                    "message": p.message,
                    "fields": {"message": format!("{}: {}", p.variable, p.message)},
                })
                .to_string()
                    + "\n"
            })
            .collect()
    }
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

#[derive(Default)]
pub(super) struct Validator {
    pub(super) problems: Vec<Problem>,
    pub(super) warnings: Vec<String>,
}

impl Validator {
    pub(super) fn problem(&mut self, variable: &'static str, message: impl Into<String>) {
        self.problems.push(Problem {
            variable,
            message: message.into(),
        });
    }

    pub(super) fn warn_unknown(&mut self, vars: &[(String, String)]) {
        let known = known_variables();
        let unknown: BTreeSet<&str> = vars
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| OUR_PREFIXES.iter().any(|p| k.starts_with(p)))
            .filter(|k| !known.iter().any(|v| v == k))
            .collect();
        for name in unknown {
            self.warnings.push(format!(
                "{name} is set but this service does not read it (a typo?); see .env.example"
            ));
        }
    }
}
