//! Single sign-on from the iMIS site: the member signs in on iMIS's own page, whose Single
//! Sign-On content item posts a `refresh_token` to `{PUBLIC_URL}/imis/sso`; the bridge exchanges
//! it once at `{IMIS_BASE_URL}/token` (`grant_type=refresh_token` with the client application's
//! id and secret) for an access token of that member, and reads the member with it.
//!
//! The refresh token and the access token it buys live only for the request and are never
//! logged. `invalid_grant` means the hand-off expired, was used or was forged; `invalid_client`
//! means our client credentials are wrong (an admin's problem, never the member's).

use anyhow::{Context, anyhow};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::wire::{OAuthError, TokenResponse};
use crate::metrics::Metrics;
use crate::upstream::{InFlight, http_client, read_body, timed_send};

/// `IMIS_SSO_*`: the client application registered in iMIS and the page holding its content item.
#[derive(Debug, Clone)]
pub struct SsoSettings {
    /// The iMIS page with the Single Sign-On content item (`IMIS_SSO_PAGE_URL`).
    pub page_url: Url,
    /// `{IMIS_BASE_URL}/token`.
    pub token_url: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The `Origin`s a hand-off may be posted from, as browsers write them (`IMIS_SSO_PAGE_URL`'s
    /// and `IMIS_BASE_URL`'s, and `IMIS_SSO_ALLOWED_ORIGINS`).
    pub allowed_origins: Vec<String>,
    pub timeout: std::time::Duration,
}

/// What a grant gives (a password grant or a hand-off exchange): the member's own access
/// token and, usually, their user name.
pub struct Grant {
    pub token: SecretString,
    pub user_name: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum HandOffError {
    #[error("the member-site sign-in expired, was already used, or was not iMIS's (invalid_grant)")]
    Expired,
    #[error(
        "iMIS refused the client application's credentials (invalid_client): check IMIS_SSO_CLIENT_ID and IMIS_SSO_CLIENT_SECRET"
    )]
    ClientRefused,
    #[error("iMIS could not exchange the hand-off")]
    Unavailable(#[source] anyhow::Error),
    /// No place to ask iMIS (`IMIS_MAX_IN_FLIGHT`) came free in time.
    #[error("too many sign-ins are waiting on the member system")]
    Busy,
}

pub struct SsoClient {
    http: reqwest::Client,
    settings: SsoSettings,
    metrics: Metrics,
    in_flight: InFlight,
}

impl SsoClient {
    /// `in_flight`: the cap on requests to iMIS, shared with the member directory.
    pub fn new(
        settings: SsoSettings,
        metrics: Metrics,
        in_flight: InFlight,
    ) -> anyhow::Result<Self> {
        let http = http_client(settings.timeout).context("building the iMIS SSO HTTP client")?;
        Ok(Self {
            http,
            settings,
            metrics,
            in_flight,
        })
    }

    pub fn page_url(&self) -> &Url {
        &self.settings.page_url
    }

    /// Whether a hand-off whose `Origin` header is `origin` may come from the member site.
    /// Browsers send `Origin` on every cross-site POST, so a page elsewhere that posts its own
    /// refresh token into a journey this browser started (login CSRF) is told apart by it. A
    /// request without the header is not a browser's cross-site POST: the journey cookie alone
    /// decides.
    pub fn accepts_origin(&self, origin: Option<&str>) -> bool {
        origin.is_none_or(|origin| {
            self.settings
                .allowed_origins
                .iter()
                .any(|allowed| allowed.eq_ignore_ascii_case(origin))
        })
    }

    /// The origins a hand-off may be posted from, for the admin's log line.
    pub fn allowed_origins(&self) -> &[String] {
        &self.settings.allowed_origins
    }

    /// Exchanges the refresh token iMIS posted, once (a refresh token is not retried).
    pub async fn exchange(&self, refresh_token: &SecretString) -> Result<Grant, HandOffError> {
        self.exchange_as(self.settings.client_secret.expose_secret(), refresh_token)
            .await
    }

    async fn exchange_as(
        &self,
        client_secret: &str,
        refresh_token: &SecretString,
    ) -> Result<Grant, HandOffError> {
        let request = self
            .http
            .post(self.settings.token_url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "refresh_token"),
                ("client_id", self.settings.client_id.as_str()),
                ("client_secret", client_secret),
                ("refresh_token", refresh_token.expose_secret()),
            ]);
        let _place = self
            .in_flight
            .enter()
            .await
            .map_err(|_| HandOffError::Busy)?;
        let response = timed_send(&self.metrics, "imis", "sso_exchange", request)
            .await
            .map_err(|e| {
                HandOffError::Unavailable(anyhow!(e).context("iMIS /token unreachable"))
            })?;
        let status = response.status();
        let body = read_body(response)
            .await
            .map_err(|e| HandOffError::Unavailable(anyhow!(e)))?;
        if status.is_client_error() {
            let error = serde_json::from_slice::<OAuthError>(&body)
                .unwrap_or_default()
                .error
                .unwrap_or_default();
            return Err(match error.as_str() {
                "invalid_grant" => HandOffError::Expired,
                "invalid_client" | "unauthorized_client" => HandOffError::ClientRefused,
                other => HandOffError::Unavailable(anyhow!(
                    "iMIS /token refused the refresh-token grant with {status} `{other}`"
                )),
            });
        }
        if !status.is_success() {
            return Err(HandOffError::Unavailable(anyhow!(
                "iMIS /token answered {status}"
            )));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .map_err(|e| HandOffError::Unavailable(anyhow!(e).context("not token JSON")))?;
        let token = parsed
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| HandOffError::Unavailable(anyhow!("no access_token in the answer")))?;
        Ok(Grant {
            token: SecretString::from(token),
            user_name: parsed.user_name.filter(|u| !u.trim().is_empty()),
        })
    }

    /// For `check`: an exchange with a refresh token that cannot be valid must be refused as
    /// `invalid_grant` (our client is known), not `invalid_client`. The same exchange with a
    /// deliberately wrong secret tells whether iMIS checks the secret before the token: if both
    /// answers match, the secret cannot be verified without a real hand-off (`secret_verified`
    /// is false and `check` says so).
    pub async fn check_client(&self) -> Result<ClientReading, String> {
        let bogus = SecretString::from("zendesk-sso-bridge-check-not-a-real-token".to_owned());
        match self.exchange(&bogus).await {
            Err(HandOffError::Expired) => {}
            Err(e @ (HandOffError::ClientRefused | HandOffError::Busy)) => {
                return Err(e.to_string());
            }
            Err(HandOffError::Unavailable(e)) => return Err(format!("{e:#}")),
            Ok(_) => {
                return Err(
                    "iMIS accepted a made-up refresh token: this is not iMIS's token endpoint"
                        .into(),
                );
            }
        }
        let wrong = format!(
            "{}-deliberately-wrong",
            self.settings.client_secret.expose_secret()
        );
        let secret_verified = matches!(
            self.exchange_as(&wrong, &bogus).await,
            Err(HandOffError::ClientRefused)
        );
        let client = &self.settings.client_id;
        Ok(ClientReading {
            detail: match secret_verified {
                true => format!(
                    "iMIS knows the client application `{client}` and its secret (a made-up \
                     refresh token was refused as invalid_grant, a wrong secret as invalid_client)"
                ),
                false => format!(
                    "iMIS knows the client application `{client}`, but answers a wrong secret as \
                     it answers the right one (it checks the refresh token first): \
                     IMIS_SSO_CLIENT_SECRET cannot be verified without a real hand-off. Sign in \
                     once through the member site to prove it"
                ),
            },
            secret_verified,
        })
    }

    /// For `check`: the page with the Single Sign-On content item answers, and whether its
    /// `Referrer-Policy` makes browsers post the hand-off with `Origin: null`.
    pub async fn check_page(&self) -> Result<PageReading, String> {
        let page = self.settings.page_url.clone();
        match self.http.get(page.clone()).send().await {
            Ok(r) if r.status().is_server_error() || r.status().as_u16() == 404 => {
                Err(format!("{page} answered {}", r.status()))
            }
            Ok(r) => Ok(PageReading {
                detail: format!("{page} answered {}", r.status()),
                hides_origin: r
                    .headers()
                    .get(reqwest::header::REFERRER_POLICY)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(hides_origin),
            }),
            Err(e) => Err(format!("{page} could not be reached: {e}")),
        }
    }
}

/// What `check` learnt of the client application.
pub struct ClientReading {
    pub detail: String,
    /// iMIS told the configured secret from a wrong one.
    pub secret_verified: bool,
}

/// What `check` read from `IMIS_SSO_PAGE_URL`.
pub struct PageReading {
    pub detail: String,
    /// Its `Referrer-Policy` makes browsers send `Origin: null` on its cross-site POST.
    pub hides_origin: bool,
}

/// Whether a `Referrer-Policy` value (a list: the last policy a browser knows wins) makes a
/// cross-site form POST carry `Origin: null` (Fetch: `no-referrer` and `same-origin` do).
fn hides_origin(policy: &str) -> bool {
    const KNOWN: [&str; 8] = [
        "no-referrer",
        "no-referrer-when-downgrade",
        "same-origin",
        "origin",
        "strict-origin",
        "origin-when-cross-origin",
        "strict-origin-when-cross-origin",
        "unsafe-url",
    ];
    policy
        .split(',')
        .map(|p| p.trim().to_ascii_lowercase())
        .rfind(|p| KNOWN.contains(&p.as_str()))
        .is_some_and(|p| p == "no-referrer" || p == "same-origin")
}

#[cfg(test)]
mod tests {
    use super::hides_origin;

    #[test]
    fn the_policies_that_hide_a_posts_origin_are_told_apart() {
        assert!(hides_origin("no-referrer"));
        assert!(hides_origin("Same-Origin"));
        assert!(hides_origin("unsafe-url, no-referrer"));
        assert!(hides_origin("no-referrer, some-future-policy"));
        assert!(!hides_origin(
            "no-referrer, strict-origin-when-cross-origin"
        ));
        assert!(!hides_origin("strict-origin-when-cross-origin"));
        assert!(!hides_origin("origin"));
        assert!(!hides_origin("nonsense"));
    }
}
