//! `zendesk-sso-bridge check`: a "Test configuration" button for admins. Validates the
//! configuration, reaches the member system and Zendesk, judges Zendesk's JWT configuration,
//! and signs and verifies a sample token. One line per check, an exit code for scripts.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::config::Settings;
use crate::members::Member;
use crate::metrics::Metrics;
use crate::startup::directory_for;
use crate::zendesk::api::ZendeskApi;
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::safety::{ConfigVerdict, judge_configs};

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
    match directory_for(settings, &metrics) {
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
        Ok(api) => match api.jwt_configs().await {
            Ok(configs) => {
                report.push(
                    "zendesk api",
                    Status::Ok,
                    format!(
                        "{} answered; {} single sign-on configuration(s) found",
                        settings.zendesk.url,
                        configs.len()
                    ),
                );
                match judge_configs(&configs, &settings.public_url) {
                    ConfigVerdict::Unsafe { reason } => {
                        report.push("update_external_ids", Status::Failed, reason)
                    }
                    ConfigVerdict::Safe { warnings } => {
                        report.push(
                            "update_external_ids",
                            Status::Ok,
                            "Off: a sign-in cannot rewrite a Zendesk user's external id",
                        );
                        for w in warnings {
                            report.push("zendesk sso urls", Status::Warning, w);
                        }
                    }
                    ConfigVerdict::Unverified { reason } => {
                        report.push("update_external_ids", Status::Failed, reason)
                    }
                }
            }
            Err(e) => report.push("zendesk api", Status::Failed, format!("{e}: {e:?}")),
        },
        Err(e) => report.push("zendesk api", Status::Failed, format!("{e:#}")),
    }

    report.push_sample_token(settings);
    report
}

impl Report {
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
