//! Zendesk's single sign-on configurations (`GET /api/v2/remote_authentications`): reading them
//! as the API reference documents them, and judging them.
//!
//! Reading is tolerant of *variants* (`auth_mode` as the documented integer `2`/`3`/`4` or as a
//! string, `auth_mode_name`, the legacy `type`) but never guesses: a configuration whose mode or
//! `update_external_ids` cannot be read is recorded as unreadable, and an unreadable answer is
//! never "safe" (fail closed). [`assess`] turns a reading into findings, one per check, that
//! `check`, start-up and `/readyz` all show the same way.

use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde_json::Value;
use url::Url;

/// A configuration's mode, from `auth_mode` (2 SAML, 3 JWT, 4 OIDC) or `auth_mode_name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMode {
    Saml,
    Jwt,
    Oidc,
    /// Not given, or given in a form this bridge does not know (judged as if it were JWT).
    Unknown(String),
}

impl AuthMode {
    fn from_value(value: &Value) -> Option<AuthMode> {
        let text = match value {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.trim().to_ascii_lowercase(),
            _ => return None,
        };
        Some(match text.as_str() {
            "2" | "saml" => AuthMode::Saml,
            "3" | "jwt" => AuthMode::Jwt,
            "4" | "oidc" => AuthMode::Oidc,
            "" => return None,
            _ => AuthMode::Unknown(text),
        })
    }

    pub fn as_str(&self) -> &str {
        match self {
            AuthMode::Saml => "saml",
            AuthMode::Jwt => "jwt",
            AuthMode::Oidc => "oidc",
            AuthMode::Unknown(raw) => raw,
        }
    }
}

/// One SSO configuration, as far as it could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsoConfig {
    /// `name`, else `id`, for messages.
    pub label: String,
    pub mode: AuthMode,
    /// Missing `is_active` counts as active (fail closed).
    pub active: bool,
    /// `None` when absent or not a boolean.
    pub update_external_ids: Option<bool>,
    /// Used for end users / for team members (`end_user` / `agent`, both required by the API
    /// reference); `None` when absent or not a boolean.
    pub end_user: Option<bool>,
    pub agent: Option<bool>,
    pub remote_login_url: Option<String>,
    pub remote_logout_url: Option<String>,
    pub ip_ranges: String,
    pub masked_secret: Option<String>,
}

impl SsoConfig {
    /// JWT sign-ins may go through it: active, and JWT or of a mode that could not be read.
    pub fn is_active_jwt(&self) -> bool {
        self.active && matches!(self.mode, AuthMode::Jwt | AuthMode::Unknown(_))
    }
}

/// Zendesk's answer, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SsoReading {
    pub configs: Vec<SsoConfig>,
    /// What could not be read, in words (empty when everything was).
    pub unreadable: Vec<String>,
    /// Zendesk's clock minus ours, from the answer's `Date` header, in whole seconds.
    pub clock_offset_secs: Option<i64>,
    /// With brand separation on: how many brands' configurations were read besides the
    /// account's.
    pub brands_separated: Option<usize>,
}

impl SsoReading {
    /// Reads a `remote_authentications` answer. Anything but an object with a list of objects
    /// is unreadable.
    pub fn from_json(body: &Value) -> Self {
        let mut reading = SsoReading::default();
        let list = match (
            body.get("remote_authentications"),
            body.get("remote_authentication"),
        ) {
            (Some(Value::Array(list)), _) => list.iter().collect(),
            (None, Some(one @ Value::Object(_))) => vec![one],
            _ => {
                reading.unreadable.push(
                    "the answer has no \"remote_authentications\" list (an unknown shape)".into(),
                );
                return reading;
            }
        };
        for (index, item) in list.into_iter().enumerate() {
            match read_config(item, index) {
                Ok(config) => reading.configs.push(config),
                Err(why) => reading.unreadable.push(why),
            }
        }
        reading
    }

    /// Adds another brand's reading: its configurations (each once) and what could not be read.
    pub fn absorb(&mut self, other: SsoReading) {
        for config in other.configs {
            if !self.configs.contains(&config) {
                self.configs.push(config);
            }
        }
        self.unreadable.extend(other.unreadable);
    }

    /// Records the offset between Zendesk's `Date` and `now`.
    pub fn with_date(mut self, date: Option<SystemTime>, now: SystemTime) -> Self {
        self.clock_offset_secs = date.map(|date| match date.duration_since(now) {
            Ok(ahead) => ahead.as_secs() as i64,
            Err(behind) => -(behind.duration().as_secs() as i64),
        });
        self
    }
}

fn read_config(item: &Value, index: usize) -> Result<SsoConfig, String> {
    let Value::Object(map) = item else {
        return Err(format!("configuration #{} is not an object", index + 1));
    };
    let text = |key: &str| match map.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let flag = |key: &str| match map.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    let label = text("name")
        .or_else(|| text("id"))
        .unwrap_or_else(|| format!("#{}", index + 1));
    // Every way Zendesk has named the mode; when they disagree, the mode is unknown.
    let modes: Vec<AuthMode> = ["auth_mode", "auth_mode_name", "type"]
        .iter()
        .filter_map(|key| map.get(*key).and_then(AuthMode::from_value))
        .collect();
    let mode = match modes.split_first() {
        None => AuthMode::Unknown("(not given)".into()),
        Some((first, rest)) if rest.iter().all(|m| m == first) => first.clone(),
        Some(_) => AuthMode::Unknown("(contradictory)".into()),
    };
    Ok(SsoConfig {
        label,
        mode,
        active: flag("is_active").unwrap_or(true),
        update_external_ids: flag("update_external_ids"),
        end_user: flag("end_user"),
        agent: flag("agent"),
        remote_login_url: text("remote_login_url"),
        remote_logout_url: text("remote_logout_url"),
        ip_ranges: text("ip_ranges").unwrap_or_default(),
        masked_secret: text("masked_secret"),
    })
}

/// What an admin chose about a JWT configuration that team members (agents) use too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AgentSso {
    /// Warn loudly, keep serving.
    #[default]
    Warn,
    /// Refuse to serve, as for "Update of external IDs?" On.
    Refuse,
}

/// What the bridge expects of Zendesk's configuration.
pub struct Expectations<'a> {
    pub public_url: &'a Url,
    pub jwt_secret: &'a str,
    pub agent_sso: AgentSso,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Ok,
    Warning,
    /// The bridge must not serve.
    Refuse,
}

/// One judged point of Zendesk's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The `check` line's name, and the reason code when it refuses.
    pub check: &'static str,
    pub level: Level,
    pub detail: String,
}

/// Clock offsets beyond this are warned about (Zendesk refuses an `iat` 3 minutes off).
pub const MAX_CLOCK_OFFSET: Duration = Duration::from_secs(60);

/// Every finding for one reading, refusals first.
pub fn assess(reading: &SsoReading, expect: &Expectations) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut push = |check, level, detail: String| {
        findings.push(Finding {
            check,
            level,
            detail,
        })
    };
    for what in &reading.unreadable {
        push(
            "zendesk_config_unreadable",
            Level::Refuse,
            format!(
                "Zendesk's single sign-on configuration could not be read: {what}. The bridge \
                 cannot tell whether a sign-in could rewrite external ids, so it does not serve."
            ),
        );
    }
    let active: Vec<_> = reading.configs.iter().filter(|c| c.active).collect();
    for c in &active {
        external_id_findings(c, &mut push);
    }
    let jwt: Vec<_> = active.iter().filter(|c| c.is_active_jwt()).collect();
    if jwt.is_empty() {
        push(
            "zendesk_sso_urls",
            Level::Warning,
            "Zendesk has no active JWT single sign-on configuration: sign-ins will be refused by \
             Zendesk until one is set up with this bridge's URLs"
                .into(),
        );
    }
    let base = expect.public_url.as_str().trim_end_matches('/');
    let (login, logout) = (format!("{base}/login"), format!("{base}/logout"));
    let same = |actual: &Option<String>, expected: &str| {
        actual
            .as_deref()
            .is_some_and(|a| a.trim_end_matches('/').eq_ignore_ascii_case(expected))
    };
    // The configurations that send members here; if none does, judge every JWT one.
    let ours: Vec<_> = jwt
        .iter()
        .filter(|c| same(&c.remote_login_url, &login))
        .collect();
    let ours = if ours.is_empty() {
        jwt.iter().collect()
    } else {
        ours
    };
    for c in ours {
        assess_one(c, expect, &login, &logout, &same, &mut push);
    }
    if let Some(brands) = reading.brands_separated {
        push(
            "brand_separation",
            Level::Warning,
            format!(
                "brand separation is on: the SSO configurations of the account and of its \
                 {brands} brands were read and judged, and every user look-up asks for all \
                 brands (brand_id=all). One address may belong to a user on each separated brand: \
                 a member is refused while any of them is another's"
            ),
        );
    }
    if let Some(offset) = reading.clock_offset_secs
        && offset.unsigned_abs() > MAX_CLOCK_OFFSET.as_secs()
    {
        push(
            "clock",
            Level::Warning,
            format!(
                "this machine's clock is {offset:+} s off Zendesk's (Date header); Zendesk \
                 refuses tokens whose iat is more than 3 minutes off: synchronise the clock (NTP)"
            ),
        );
    }
    findings.sort_by_key(|f| f.level != Level::Refuse);
    findings
}

fn assess_one(
    c: &SsoConfig,
    expect: &Expectations,
    login: &str,
    logout: &str,
    same: &dyn Fn(&Option<String>, &str) -> bool,
    push: &mut dyn FnMut(&'static str, Level, String),
) {
    let label = &c.label;
    if c.agent == Some(true) {
        let (level, then) = match expect.agent_sso {
            AgentSso::Warn => (
                Level::Warning,
                "set ZENDESK_AGENT_SSO=refuse to refuse to serve instead",
            ),
            AgentSso::Refuse => (Level::Refuse, "refused because ZENDESK_AGENT_SSO=refuse"),
        };
        push(
            "agent_sso",
            level,
            format!(
                "the JWT configuration \"{label}\" is used for team members (agent: true): staff \
                 reach the agent workspace with a member-system password alone. Assign it to end \
                 users only (Admin Center > Account > Security > Team member authentication); {then}"
            ),
        );
    }
    if let Some(masked) = &c.masked_secret
        && !secret_matches_mask(expect.jwt_secret, masked)
    {
        push(
            "jwt_secret_mismatch",
            Level::Refuse,
            format!(
                "ZENDESK_JWT_SECRET does not match the shared secret of \"{label}\" (Zendesk \
                 shows {masked}): every token would fail with \"invalid signature\". Copy the \
                 secret from Admin Center into ZENDESK_JWT_SECRET"
            ),
        );
    }
    if !c.ip_ranges.trim().is_empty() {
        push(
            "zendesk_ip_ranges",
            Level::Warning,
            format!(
                "\"{label}\" has IP ranges ({}): visitors from other addresses never reach this \
                 bridge. Clear the IP ranges unless that is intended",
                c.ip_ranges.trim()
            ),
        );
    }
    url_findings(c, login, logout, same, push);
}

/// "Update of external IDs?" On, or not readable where it matters.
fn external_id_findings(c: &SsoConfig, push: &mut dyn FnMut(&'static str, Level, String)) {
    if c.update_external_ids == Some(true) {
        push(
            "update_external_ids_on",
            Level::Refuse,
            format!(
                "the {} configuration \"{}\" has \"Update of external IDs?\" \
                 (update_external_ids) On: any member could take over the Zendesk account \
                 that has their e-mail address, staff included. Switch it Off in Admin \
                 Center > Account > Security > Single sign-on, then start the bridge again.",
                c.mode.as_str(),
                c.label
            ),
        );
    } else if c.is_active_jwt() {
        // Every field the verdict depends on, and the API reference marks required.
        let missing: Vec<&str> = [
            ("update_external_ids", c.update_external_ids.is_none()),
            ("agent", c.agent.is_none()),
            ("end_user", c.end_user.is_none()),
        ]
        .into_iter()
        .filter_map(|(field, missing)| missing.then_some(field))
        .collect();
        if !missing.is_empty() {
            push(
                "zendesk_config_unreadable",
                Level::Refuse,
                format!(
                    "the active configuration \"{}\" (mode {}) does not say {} (missing or not \
                     a boolean): the bridge cannot tell whether a sign-in could rewrite external \
                     ids or reach the agent workspace, and does not serve until it can read it",
                    c.label,
                    c.mode.as_str(),
                    missing.join(", ")
                ),
            );
        }
    }
}
/// The remote login and logout URLs point at this bridge.
fn url_findings(
    c: &SsoConfig,
    login: &str,
    logout: &str,
    same: &dyn Fn(&Option<String>, &str) -> bool,
    push: &mut dyn FnMut(&'static str, Level, String),
) {
    let label = &c.label;
    if !same(&c.remote_login_url, login) {
        push(
            "zendesk_sso_urls",
            Level::Warning,
            format!(
                "Zendesk's remote login URL is {:?}, expected {login}: set it in \"{label}\"",
                c.remote_login_url.as_deref().unwrap_or("(none)")
            ),
        );
    }
    if c.remote_logout_url.is_none() {
        push(
            "zendesk_sso_urls",
            Level::Warning,
            format!(
                "\"{label}\" has no remote logout URL: Zendesk's errors are not shown to members \
                 and signing out does not end the bridge session. Set it to {logout}"
            ),
        );
    } else if !same(&c.remote_logout_url, logout) {
        push(
            "zendesk_sso_urls",
            Level::Warning,
            format!(
                "Zendesk's remote logout URL is {:?}, expected {logout}: set it in \"{label}\"",
                c.remote_logout_url.as_deref().unwrap_or_default()
            ),
        );
    }
}

/// Whether `secret` has the characters Zendesk shows around the mask (`3dRk****`, `abc***xyz`).
pub fn secret_matches_mask(secret: &str, masked: &str) -> bool {
    let masked = masked.trim();
    let Some(first) = masked.find('*') else {
        // No mask at all: Zendesk showed the whole secret.
        return masked == secret;
    };
    let last = masked.rfind('*').unwrap_or(first);
    let (prefix, suffix) = (&masked[..first], &masked[last + 1..]);
    secret.starts_with(prefix) && secret.ends_with(suffix)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn expect(url: &Url) -> Expectations<'_> {
        Expectations {
            public_url: url,
            jwt_secret: "3dRkSecretValue",
            agent_sso: AgentSso::Warn,
        }
    }

    fn documented(update: bool) -> Value {
        json!({"remote_authentications": [{"id":1,"name":"Member SSO","auth_mode":3,
            "auth_mode_name":"jwt","is_active":true,"end_user":true,"agent":false,
            "end_user_primary":true,"agent_primary":false,"update_external_ids":update,
            "remote_login_url":"https://sso.example.org/login",
            "remote_logout_url":"https://sso.example.org/logout","ip_ranges":"",
            "masked_secret":"3dRk****"}], "next_page": null, "previous_page": null, "count": 1})
    }

    fn refusals(findings: &[Finding]) -> Vec<&'static str> {
        findings
            .iter()
            .filter(|f| f.level == Level::Refuse)
            .map(|f| f.check)
            .collect()
    }

    #[test]
    fn the_documented_shape_is_read_and_judged() {
        let url = Url::parse("https://sso.example.org").expect("url");
        let reading = SsoReading::from_json(&documented(false));
        assert_eq!(reading.configs[0].mode, AuthMode::Jwt);
        assert!(assess(&reading, &expect(&url)).is_empty());
        let on = assess(&SsoReading::from_json(&documented(true)), &expect(&url));
        assert_eq!(refusals(&on), ["update_external_ids_on"]);
    }

    #[test]
    fn update_external_ids_on_is_unsafe_whatever_the_mode() {
        let url = Url::parse("https://sso.example.org").expect("url");
        for mode in [json!(2), json!(4), json!("saml"), json!(99), json!(null)] {
            let body = json!({"remote_authentications": [
                {"auth_mode": mode, "is_active": true, "update_external_ids": true}]});
            let findings = assess(&SsoReading::from_json(&body), &expect(&url));
            assert!(
                refusals(&findings).contains(&"update_external_ids_on"),
                "{mode}"
            );
        }
    }

    #[test]
    fn what_cannot_be_read_is_never_safe() {
        let url = Url::parse("https://sso.example.org").expect("url");
        for body in [
            json!({}),
            json!({"remote_authentications": "none"}),
            json!({"remote_authentications": [42]}),
            json!({"remote_authentications": [{"auth_mode": 3, "is_active": true}]}),
            // `agent` is required by the API reference: without it, staff may use this one.
            json!({"remote_authentications": [{"auth_mode": 3, "is_active": true,
                "update_external_ids": false, "end_user": true}]}),
            json!({"remote_authentications": [{"auth_mode": 7, "is_active": true}]}),
            json!({"remote_authentications": [{"auth_mode": 3, "auth_mode_name": "saml",
                "is_active": true, "update_external_ids": "maybe"}]}),
        ] {
            let findings = assess(&SsoReading::from_json(&body), &expect(&url));
            assert_eq!(refusals(&findings), ["zendesk_config_unreadable"], "{body}");
        }
        // A SAML configuration has no update_external_ids: nothing to read there.
        let saml = json!({"remote_authentications": [{"auth_mode": 2, "is_active": true}]});
        assert!(refusals(&assess(&SsoReading::from_json(&saml), &expect(&url))).is_empty());
    }

    #[test]
    fn the_rest_of_the_configuration_is_read_too() {
        let url = Url::parse("https://sso.example.org").expect("url");
        let mut body = documented(false);
        let c = &mut body["remote_authentications"][0];
        c["agent"] = json!(true);
        c["masked_secret"] = json!("zzzz****");
        c["ip_ranges"] = json!("10.0.0.* 192.168.1.1");
        c["remote_logout_url"] = json!(null);
        let reading = SsoReading::from_json(&body).with_date(
            Some(SystemTime::UNIX_EPOCH),
            SystemTime::UNIX_EPOCH + MAX_CLOCK_OFFSET * 2,
        );
        let findings = assess(&reading, &expect(&url));
        let checks: Vec<_> = findings.iter().map(|f| (f.check, f.level)).collect();
        assert_eq!(
            checks,
            [
                ("jwt_secret_mismatch", Level::Refuse),
                ("agent_sso", Level::Warning),
                ("zendesk_ip_ranges", Level::Warning),
                ("zendesk_sso_urls", Level::Warning),
                ("clock", Level::Warning),
            ]
        );
        let refuse = Expectations {
            agent_sso: AgentSso::Refuse,
            ..expect(&url)
        };
        assert!(refusals(&assess(&reading, &refuse)).contains(&"agent_sso"));
    }

    #[test]
    fn the_secret_is_compared_with_what_zendesk_shows() {
        assert!(secret_matches_mask("3dRkabcdef", "3dRk****"));
        assert!(secret_matches_mask("abc-middle-xyz", "abc***xyz"));
        assert!(!secret_matches_mask("4dRkabcdef", "3dRk****"));
        assert!(!secret_matches_mask("abc-middle-xyy", "abc***xyz"));
        assert!(secret_matches_mask("anything", "****"));
    }
}
