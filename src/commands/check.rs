//! `zendesk-sso-bridge check`: a "Test configuration" button for admins. Validates the
//! configuration, reaches the member system and Zendesk, judges Zendesk's JWT configuration,
//! and signs and verifies a sample token. One line per check, an exit code for scripts.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::{Settings, ZendeskApiAuth};
use crate::members::Member;
use crate::members::imis::sso::SsoClient;
use crate::metrics::Metrics;
use crate::signin::SignInMethod;
use crate::upstream::InFlight;
use crate::zendesk::api::ZendeskApi;
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::sso_config::{Expectations, Finding, Level, assess};

/// The `check` line that shows a finding.
fn line_name(finding: &str) -> &'static str {
    match finding {
        "update_external_ids_on" | "zendesk_config_unreadable" => "update_external_ids",
        "jwt_secret_mismatch" => "jwt secret",
        "agent_sso" => "team members",
        "zendesk_ip_ranges" => "ip ranges",
        "clock" => "clock",
        "brand_separation" => "brand separation",
        _ => "zendesk sso urls",
    }
}

/// How far Zendesk lets a token's `iat` be from its own clock.
const ZENDESK_IAT_TOLERANCE_SECS: u64 = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Warning,
    Failed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub lines: Vec<Line>,
}

impl Report {
    fn push(&mut self, check: &'static str, status: Status, detail: impl Into<String>) {
        self.lines.push(Line {
            check,
            status,
            detail: detail.into(),
        });
    }

    pub fn passed(&self) -> bool {
        self.lines.iter().all(|l| l.status != Status::Failed)
    }

    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let mark = match line.status {
                Status::Ok => "✓",
                Status::Warning => "!",
                Status::Failed => "✗",
            };
            out.push_str(&format!("{mark} {:<22} {}\n", line.check, line.detail));
        }
        out.push_str(if self.passed() {
            "All checks passed.\n"
        } else {
            "Some checks failed: fix the lines marked ✗.\n"
        });
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::json!({"passed": self.passed(), "checks": self.lines}).to_string()
    }
}

/// Runs every check against validated settings.
pub async fn run(settings: &Settings, member: Option<&str>) -> Report {
    let mut report = Report::default();
    report.push("configuration", Status::Ok, "every variable is valid");
    for warning in &settings.warnings {
        report.push("configuration", Status::Warning, warning.clone());
    }

    let metrics = Metrics::new();
    match crate::members::open(
        &settings.directory,
        &settings.phone,
        settings.policy.fact_needs(),
        &metrics,
        settings.breaker,
        settings.directory.in_flight(),
    ) {
        Ok(directory) => {
            match directory.probe().await {
                Ok(detail) => report.push("member directory", Status::Ok, detail),
                Err(e) => report.push("member directory", Status::Failed, format!("{e:#}")),
            }
            if let Some(username) = member {
                report
                    .push_member_token(settings, directory.as_ref(), username)
                    .await;
            }
        }
        Err(e) => report.push("member directory", Status::Failed, format!("{e:#}")),
    }

    match ZendeskApi::new(
        &settings.zendesk.url,
        &settings.zendesk_api,
        metrics,
        settings.breaker,
    ) {
        Ok(api) => {
            report.push_zendesk(settings, &api).await;
            report.push_credentials(settings, &api).await;
        }
        Err(e) => report.push("zendesk api", Status::Failed, format!("{e:#}")),
    }

    report.push_sign_in_method(settings).await;
    report.push_service_account(settings);
    report.push_shared_state(settings).await;
    report.push_sample_token(settings);
    report
}

impl Report {
    /// Whether Redis (`REDIS_URL`) answers, and how fast.
    async fn push_shared_state(&mut self, settings: &Settings) {
        let Some(url) = &settings.shared.redis_url else {
            let detail = match settings.shared.replicas {
                1 => "in this process (one replica: no REDIS_URL needed)".to_owned(),
                n => format!("in each of {n} replicas separately: set REDIS_URL"),
            };
            let status = match settings.shared.replicas {
                1 => Status::Ok,
                _ => Status::Warning,
            };
            return self.push("shared state", status, detail);
        };
        let store = match crate::shared::RedisStore::new(url) {
            Ok(store) => store,
            Err(e) => return self.push("shared state", Status::Failed, format!("REDIS_URL: {e}")),
        };
        match store.ping().await {
            Ok(took) => self.push(
                "shared state",
                Status::Ok,
                format!(
                    "Redis answers PING in {:.1} ms",
                    took.as_secs_f64() * 1000.0
                ),
            ),
            Err(e) => self.push(
                "shared state",
                Status::Failed,
                format!("Redis (REDIS_URL) does not answer: {e}"),
            ),
        }
    }

    /// Zendesk's single sign-on configuration, judged as start-up judges it.
    async fn push_zendesk(&mut self, settings: &Settings, api: &ZendeskApi) {
        let reading = match api.sso_configs().await {
            Ok(reading) => reading,
            Err(e) => return self.push("zendesk api", Status::Failed, format!("{e}: {e:?}")),
        };
        self.push(
            "zendesk api",
            Status::Ok,
            format!(
                "{} answered; {} single sign-on configuration(s) found",
                settings.zendesk.url,
                reading.configs.len()
            ),
        );
        let expect = Expectations {
            public_url: &settings.public_url,
            jwt_secret: settings.zendesk.jwt_secret.expose_secret(),
            agent_sso: settings.safety.agent_sso,
        };
        let findings = assess(&reading, &expect);
        let named = |check| findings.iter().any(|f: &Finding| f.check == check);
        if !named("update_external_ids_on") && !named("zendesk_config_unreadable") {
            self.push(
                "update_external_ids",
                Status::Ok,
                "Off: a sign-in cannot rewrite a Zendesk user's external id",
            );
        }
        if !named("jwt_secret_mismatch")
            && reading.configs.iter().any(|c| c.masked_secret.is_some())
        {
            self.push(
                "jwt secret",
                Status::Ok,
                "ZENDESK_JWT_SECRET matches what Zendesk shows of the shared secret",
            );
        }
        if let Some(offset) = reading.clock_offset_secs.filter(|_| !named("clock")) {
            self.push(
                "clock",
                Status::Ok,
                format!("{offset:+} s from Zendesk's clock"),
            );
        }
        // Past Zendesk's tolerance (about 3 minutes) every token is refused: a failure, not a hint.
        let clock_fails = reading
            .clock_offset_secs
            .is_some_and(|offset| offset.unsigned_abs() > ZENDESK_IAT_TOLERANCE_SECS);
        for finding in findings {
            let status = match finding.level {
                Level::Refuse => Status::Failed,
                Level::Warning if finding.check == "clock" && clock_fails => Status::Failed,
                Level::Warning => Status::Warning,
                Level::Ok => Status::Ok,
            };
            self.push(line_name(finding.check), status, finding.detail);
        }
    }

    /// Whether the Zendesk API credentials have the scopes needed, and when they stop working.
    async fn push_credentials(&mut self, settings: &Settings, api: &ZendeskApi) {
        match &settings.zendesk_api.auth {
            ZendeskApiAuth::ApiToken { .. } => {
                return self.push(
                    "zendesk credentials",
                    Status::Warning,
                    "an API token: deactivated after 30 days unused, and no API token works after \
                     30 Apr 2027. Use ZENDESK_API_CLIENT_ID / ZENDESK_API_CLIENT_SECRET",
                );
            }
            ZendeskApiAuth::OAuthToken(_) => self.push(
                "zendesk credentials",
                Status::Warning,
                "a static OAuth access token: it stops working when it expires. Use \
                 ZENDESK_API_CLIENT_ID / ZENDESK_API_CLIENT_SECRET (renewed automatically)",
            ),
            ZendeskApiAuth::ClientCredentials { .. } => self.push(
                "zendesk credentials",
                Status::Ok,
                "OAuth client credentials, renewed before they expire",
            ),
        }
        let info = match api.token_info().await {
            Ok(Some(info)) => info,
            Ok(None) => return,
            Err(e) => {
                return self.push(
                    "oauth scopes",
                    Status::Warning,
                    format!("could not read the token's scopes: {e}"),
                );
            }
        };
        let missing = info.missing_scopes();
        let scopes = info.scopes.join(" ");
        if missing.is_empty() {
            self.push(
                "oauth scopes",
                Status::Ok,
                format!("{scopes} (needed: read, or users:read and security:read)"),
            );
        } else {
            self.push(
                "oauth scopes",
                Status::Failed,
                format!(
                    "the token has `{scopes}` but needs {}: give it `read`",
                    missing.join(" and ")
                ),
            );
        }
        self.push_sync_scopes(settings, &info);
        if let (ZendeskApiAuth::OAuthToken(_), Some(at)) =
            (&settings.zendesk_api.auth, &info.expires_at)
        {
            self.push(
                "zendesk credentials",
                Status::Warning,
                format!(
                    "ZENDESK_API_OAUTH_TOKEN expires at {at}; the bridge stops being ready then"
                ),
            );
        }
    }

    /// Whether the lifecycle sync (and the downgrade at once on denial) may write to Zendesk.
    fn push_sync_scopes(&mut self, settings: &Settings, info: &crate::zendesk::api::TokenInfo) {
        let managed = settings.policy.managed();
        if let Err(e) = crate::lifecycle::check_managed(&managed) {
            let why = e.to_string();
            let why = why.split(':').next().unwrap_or_default();
            return self.push(
                "lifecycle sync",
                Status::Warning,
                format!("not available: {why}"),
            );
        }
        match (&settings.zendesk_api.auth, crate::lifecycle::missing_scope(info, &managed)) {
            (ZendeskApiAuth::ClientCredentials { .. }, _) => self.push(
                "lifecycle sync",
                Status::Ok,
                "the OAuth client is asked for the write scopes when the sync starts",
            ),
            (_, None) => self.push(
                "lifecycle sync",
                Status::Ok,
                "the token may write users and organisations (sync, downgrade at once on denial)",
            ),
            (_, Some(scope)) => self.push(
                "lifecycle sync",
                Status::Warning,
                format!("the token lacks {scope}: `sync` refuses to start and members refused at sign-in are not downgraded at once"),
            ),
        }
    }

    /// Which way members sign in, and for the member site: the client application and its page.
    async fn push_sign_in_method(&mut self, settings: &Settings) {
        let method = match settings.sign_in_method {
            SignInMethod::ImisSso => "imis_sso: members sign in on the member site's own page",
            SignInMethod::Password => {
                "password: members sign in with our form (iMIS password grant)"
            }
            SignInMethod::Both => "both: the member site's page, or our password form",
        };
        self.push("sign-in method", Status::Ok, method);
        let Some(sso) = &settings.sso else {
            return;
        };
        let client = match SsoClient::new(sso.clone(), Metrics::new(), InFlight::unlimited()) {
            Ok(client) => client,
            Err(e) => return self.push("imis sso client", Status::Failed, format!("{e:#}")),
        };
        match client.check_client().await {
            Ok(reading) if reading.secret_verified => {
                self.push("imis sso client", Status::Ok, reading.detail)
            }
            Ok(reading) => self.push("imis sso client", Status::Warning, reading.detail),
            Err(detail) => self.push("imis sso client", Status::Failed, detail),
        }
        match client.check_page().await {
            Ok(page) => {
                self.push("imis sso page", Status::Ok, page.detail);
                if page.hides_origin && !client.accepts_origin(Some("null")) {
                    self.push(
                        "imis sso origin",
                        Status::Warning,
                        "IMIS_SSO_PAGE_URL answers with a Referrer-Policy (no-referrer or \
                         same-origin) under which browsers post the hand-off with `Origin: null`, \
                         which the bridge refuses: let the page send its origin, or add `null` to \
                         IMIS_SSO_ALLOWED_ORIGINS",
                    );
                }
            }
            Err(detail) => self.push("imis sso page", Status::Failed, detail),
        }
    }

    /// What iMIS's service account (`IMIS_SERVICE_USERNAME`) makes possible, warned when absent:
    /// a member's own token may list only their own record, and may not read `/api/User`.
    fn push_service_account(&mut self, settings: &Settings) {
        let crate::config::DirectorySettings::Imis(imis) = &settings.directory else {
            return;
        };
        if imis.service_account.is_some() {
            return;
        }
        self.push(
            "imis service account",
            Status::Warning,
            "no IMIS_SERVICE_USERNAME: the search for other records with a member's primary \
             e-mail runs with nothing that could see them, so it proves nothing (recorded as \
             unverified: a first link to an existing Zendesk end user then needs the e-mailed \
             code, and UNLINKED_END_USERS=link refuses it). Configure a service account no other \
             integration uses",
        );
        if settings.sso.is_some() && imis.profile_query.is_none() {
            self.push(
                "imis member token",
                Status::Warning,
                "single sign-on is on with neither IMIS_SERVICE_USERNAME nor IMIS_PROFILE_QUERY: \
                 members are read with their own token, and iMIS may close /api/User and \
                 /api/Party to members (401 or 403). Configure a service account or a profile \
                 query",
            );
        }
    }

    /// The claims a token for `username` would carry under the access policy.
    async fn push_member_token(
        &mut self,
        settings: &Settings,
        directory: &dyn crate::members::MemberDirectory,
        username: &str,
    ) {
        let profile = match directory.profile_of(username).await {
            Ok(profile) => profile,
            Err(e) => return self.push("member token", Status::Failed, format!("{username}: {e}")),
        };
        match settings.policy.admit(profile, None) {
            Ok(member) => {
                let claims = crate::zendesk::jwt::ZendeskClaims::for_member(&member, 0);
                let json = serde_json::to_string(&claims).unwrap_or_default();
                self.push(
                    "member token",
                    Status::Ok,
                    format!("{username} would sign in with {json}"),
                );
            }
            Err(refusal) => self.push(
                "member token",
                Status::Warning,
                format!("{username} would be refused: {refusal:?}"),
            ),
        }
    }

    fn push_sample_token(&mut self, settings: &Settings) {
        let sample = Member {
            id: "sample-0001".into(),
            name: "Sample Member".into(),
            email: "sample.member@example.org".into(),
            phone: Some("+13103884000".into()),
            claims: Default::default(),
            email_sharing: Default::default(),
        };
        let signer = JwtSigner::new(&settings.zendesk.jwt_secret);
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let key = DecodingKey::from_secret(settings.zendesk.jwt_secret.expose_secret().as_bytes());
        let verified = signer.mint(&sample).and_then(|token| {
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                &token,
                &key,
                &validation,
            )
        });
        match verified {
            Ok(data) => {
                let mut claims: Vec<_> = data.claims.keys().cloned().collect();
                claims.sort();
                self.push(
                    "sample jwt",
                    Status::Ok,
                    format!("signed HS256 and verified; claims: {}", claims.join(", ")),
                );
            }
            Err(e) => self.push("sample jwt", Status::Failed, e.to_string()),
        }
    }
}
