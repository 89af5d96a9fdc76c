//! Zendesk: the subdomain and shared secret, the API credentials, the account-safety choices.

use super::env::{RawSettings, Validator};
use super::*;
use checks::{is_hostname, is_subdomain};

impl Validator {
    pub(super) fn zendesk(&mut self, raw: &RawSettings) -> Option<ZendeskSettings> {
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
        if let (Some(url), Some(subdomain)) = (&url, &subdomain) {
            self.zendesk_host_warning(url, subdomain);
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
    /// Zendesk's API answers with next-page links built from `{subdomain}.zendesk.com`; on any
    /// other host the bridge does not follow them, and a list it cannot finish is "unavailable".
    /// A Zendesk on this machine (the demo's simulator, a test double) is left alone.
    fn zendesk_host_warning(&mut self, url: &Url, subdomain: &str) {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let expected = format!("{subdomain}.zendesk.com");
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        if host != expected && !local {
            self.warnings.push(format!(
                "ZENDESK_URL's host is {host}, not {expected}: Zendesk builds its next-page links \
                 from {expected}, which the bridge does not follow from another host, so user \
                 look-ups that need a second page fail closed. Set ZENDESK_URL to \
                 https://{expected} (host-mapped brand domains are for return_to, \
                 ZENDESK_BRAND_HOSTS)"
            ));
        }
    }

    pub(super) fn brand_hosts(&mut self, value: Option<&str>) -> Vec<String> {
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
    pub(super) fn zendesk_api(&mut self, raw: &RawSettings) -> Option<ZendeskApiSettings> {
        let auth = self.zendesk_api_auth(raw);
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

    /// The API credentials, in Zendesk's order of preference, with warnings for the ones that
    /// stop working.
    fn zendesk_api_auth(&mut self, raw: &RawSettings) -> Option<ZendeskApiAuth> {
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
        auth
    }
    pub(super) fn safety(&mut self, raw: &RawSettings) -> SafetySettings {
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
}
