//! The Zendesk API client: the users and JWT-configuration reads the safety rules need, and the
//! one write `link-staff` makes. Wire types stay here; the rest of the crate sees
//! [`ZendeskUser`] and [`SsoReading`].
//!
//! Auth in Zendesk's order of preference: an OAuth token, an OAuth client (client-credentials
//! tokens cached until shortly before they expire, renewed once on a 401), else an API token.
//! GETs are retried once on 5xx, timeouts and connection failures; a 429 is waited out once for
//! at most [`MAX_RETRY_AFTER`]. Rate-limit headers feed `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use base64::Engine;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use url::Url;

use crate::metrics::Metrics;
use crate::upstream::{
    BreakerSettings, CachedToken, TokenCache, UpstreamHealth, http_client, jittered, read_body,
    retry_after, timed_send,
};
use crate::zendesk::sso_config::SsoReading;
use wire::{OAuthTokenWire, TokenEnvelope, UserEnvelope, UsersPage, users, with_identities};

mod brands;
mod lifecycle;
mod wire;

pub use brands::Separation;
pub use lifecycle::{JobOutcome, ZendeskOrganization, ZendeskProfile};

/// How the bridge reads Zendesk users (the account-safety rules need it).
#[derive(Debug, Clone)]
pub struct ZendeskApiSettings {
    pub auth: ZendeskApiAuth,
    pub timeout: Duration,
    /// How long a user look-up is re-used.
    pub cache_ttl: Duration,
}

/// Zendesk API credentials, in Zendesk's order of preference.
#[derive(Debug, Clone)]
pub enum ZendeskApiAuth {
    /// An OAuth access token, sent as `Authorization: Bearer`.
    OAuthToken(SecretString),
    /// An OAuth confidential client; tokens come from `POST /oauth/tokens` and are cached.
    ClientCredentials {
        client_id: String,
        client_secret: SecretString,
    },
    /// An API token (`{email}/token:{token}` as Basic). Zendesk retires these on 30 Apr 2027.
    ApiToken { email: String, token: SecretString },
}

const UPSTREAM: &str = "zendesk";
/// The longest `Retry-After` waited out inside one request.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3);
const RETRY_BACKOFF: Duration = Duration::from_millis(200);
/// Client-credentials tokens without `expires_in` are renewed after this long.
const OAUTH_DEFAULT_LIFETIME: Duration = Duration::from_secs(30 * 60);
/// Scopes asked for with client credentials when the bridge only reads: users (the safety
/// look-ups) and the SSO configuration.
pub const READ_SCOPES: &str = "users:read security:read";
/// Scopes asked for by `link-staff --apply`, which writes `external_id`.
pub const WRITE_SCOPES: &str = "users:read users:write security:read";
/// Scopes asked for by `sync`: users and organisations written, the SSO configuration read.
pub const SYNC_SCOPES: &str =
    "users:read users:write organizations:read organizations:write security:read";
/// The lifetime asked for client-credentials tokens (`expires_in`, 300 to 172 800 s): OAuth
/// clients created before 30 Apr 2026 get tokens that never expire unless asked.
pub const OAUTH_TOKEN_LIFETIME_SECS: u64 = 30 * 60;
const MAX_PAGES: usize = 100;
/// The most pages of an e-mail search read before giving up (fail closed): 1 000 users.
const MAX_SEARCH_PAGES: usize = 10;

/// A Zendesk user as the safety rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZendeskUser {
    pub id: u64,
    pub name: String,
    /// The primary address (the user JSON's `email`).
    pub email: Option<String>,
    /// Every other e-mail identity the user holds (side-loaded `identities`).
    pub other_emails: Vec<String>,
    pub external_id: Option<String>,
    pub role: ZendeskRole,
    pub suspended: bool,
    /// The user's tags as Zendesk answered (agents' and triggers' among them).
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZendeskRole {
    EndUser,
    Agent,
    Admin,
    /// A role this bridge does not know; treated as staff (fail closed).
    Other(String),
}

impl ZendeskRole {
    fn parse(raw: Option<&str>) -> Self {
        match raw.map(|r| r.trim().to_ascii_lowercase()).as_deref() {
            Some("end-user") | Some("end_user") | Some("enduser") => ZendeskRole::EndUser,
            Some("agent") => ZendeskRole::Agent,
            Some("admin") => ZendeskRole::Admin,
            other => ZendeskRole::Other(other.unwrap_or("missing").to_owned()),
        }
    }

    pub fn is_staff(&self) -> bool {
        !matches!(self, ZendeskRole::EndUser)
    }

    pub fn as_str(&self) -> &str {
        match self {
            ZendeskRole::EndUser => "end-user",
            ZendeskRole::Agent => "agent",
            ZendeskRole::Admin => "admin",
            ZendeskRole::Other(role) => role,
        }
    }
}

impl ZendeskUser {
    /// Whether `email` is one of this user's e-mail identities, primary or not.
    pub fn has_email(&self, email: &str) -> bool {
        self.email
            .iter()
            .chain(&self.other_emails)
            .any(|e| crate::members::email::same(e, email))
    }

    /// Whether `email` is this user's primary address.
    pub fn has_primary_email(&self, email: &str) -> bool {
        self.email
            .as_deref()
            .is_some_and(|e| crate::members::email::same(e, email))
    }

    pub fn has_external_id(&self, id: &str) -> bool {
        self.external_id
            .as_deref()
            .is_some_and(|e| e.trim().eq_ignore_ascii_case(id.trim()))
    }
}

/// What Zendesk says of the OAuth token in use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub scopes: Vec<String>,
    /// ISO 8601, when the token expires; `None` for a token that does not.
    pub expires_at: Option<String>,
}

impl TokenInfo {
    /// The scopes the bridge needs that this token lacks: reading users and the SSO
    /// configuration (`read`, or `users:read` and `security:read`).
    pub fn missing_scopes(&self) -> Vec<&'static str> {
        let has = |scope: &str| self.scopes.iter().any(|s| s.trim() == scope);
        ["users:read", "security:read"]
            .into_iter()
            .filter(|needed| !has("read") && !has(needed))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("Zendesk refused the API credentials ({0}): {1}")]
    Unauthorized(StatusCode, &'static str),
    #[error("the Zendesk API rate limit is exhausted; retry after {0:?}")]
    RateLimited(Duration),
    #[error("the Zendesk API is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// The endpoint does not exist on this Zendesk (404).
    #[error("Zendesk {0} answered 404: no such endpoint here")]
    NotFound(&'static str),
}

// ---- the client -------------------------------------------------------------------------------

pub struct ZendeskApi {
    http: reqwest::Client,
    base: Url,
    auth: ZendeskApiAuth,
    oauth_token: TokenCache,
    /// The scopes asked for with client credentials ([`READ_SCOPES`] unless [`Self::for_writes`]).
    scope: &'static str,
    /// Brand separation was found on when the SSO configurations were last read.
    all_brands: std::sync::atomic::AtomicBool,
    metrics: Metrics,
    health: UpstreamHealth,
}

impl ZendeskApi {
    /// `base` is `ZENDESK_URL`: the same Zendesk the JWT goes to.
    pub fn new(
        base: &Url,
        settings: &ZendeskApiSettings,
        metrics: Metrics,
        breaker: BreakerSettings,
    ) -> anyhow::Result<Self> {
        let http = http_client(settings.timeout).context("building the Zendesk HTTP client")?;
        Ok(Self {
            http,
            base: base.clone(),
            auth: settings.auth.clone(),
            oauth_token: TokenCache::default(),
            scope: READ_SCOPES,
            all_brands: std::sync::atomic::AtomicBool::new(false),
            metrics,
            health: UpstreamHealth::with_breaker(UPSTREAM, breaker),
        })
    }

    pub fn health(&self) -> &UpstreamHealth {
        &self.health
    }

    /// Whether brand separation was on when the SSO configurations were last read: one address
    /// may then belong to several users.
    pub fn brands_separated(&self) -> bool {
        self.all_brands.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The client for a command that writes users (`link-staff --apply`): client-credentials
    /// tokens are asked for [`WRITE_SCOPES`].
    pub fn for_writes(mut self) -> Self {
        self.scope = WRITE_SCOPES;
        self
    }

    /// The client for the lifecycle sync: tokens are asked for [`SYNC_SCOPES`].
    pub fn for_sync(mut self) -> Self {
        self.scope = SYNC_SCOPES;
        self
    }

    fn endpoint(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url
    }

    async fn bearer(&self) -> Result<Option<Arc<CachedToken>>, ApiError> {
        let ZendeskApiAuth::ClientCredentials {
            client_id,
            client_secret,
        } = &self.auth
        else {
            return Ok(None);
        };
        self.oauth_token
            .get_or_fetch(async {
                let request = self.http.post(self.endpoint("/oauth/tokens")).json(&json!({
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": client_secret.expose_secret(),
                    "scope": self.scope,
                    "expires_in": OAUTH_TOKEN_LIFETIME_SECS,
                }));
                let response = self.timed("oauth_token", request).await?;
                let status = response.status();
                if status == StatusCode::UNAUTHORIZED
                    || status == StatusCode::FORBIDDEN
                    || status == StatusCode::BAD_REQUEST
                {
                    return Err(ApiError::Unauthorized(status, self.credential_hint()));
                }
                let wire: OAuthTokenWire = read_json(response, "oauth_token").await?;
                let token = wire.access_token.ok_or_else(|| {
                    unavailable(anyhow!(
                        "Zendesk /oauth/tokens answered without an access_token"
                    ))
                })?;
                Ok(Arc::new(CachedToken::new(
                    SecretString::from(token),
                    wire.expires_in,
                    OAUTH_DEFAULT_LIFETIME,
                    Duration::from_secs(60),
                )))
            })
            .await
            .map(Some)
            .map_err(|e: Arc<ApiError>| match &*e {
                ApiError::Unauthorized(s, hint) => ApiError::Unauthorized(*s, hint),
                ApiError::RateLimited(wait) => ApiError::RateLimited(*wait),
                ApiError::Unavailable(inner) => unavailable(anyhow!("{inner:#}")),
                ApiError::NotFound(what) => ApiError::NotFound(what),
            })
    }

    /// What to check when Zendesk refuses the credentials, naming the variables in use.
    pub fn credential_hint(&self) -> &'static str {
        match &self.auth {
            ZendeskApiAuth::OAuthToken(_) => {
                "ZENDESK_API_OAUTH_TOKEN was refused: OAuth access tokens of new OAuth clients \
                 expire (30 minutes by default). Use ZENDESK_API_CLIENT_ID and \
                 ZENDESK_API_CLIENT_SECRET (client credentials, renewed automatically), or check \
                 the token's scopes (read, or users:read and security:read)"
            }
            ZendeskApiAuth::ClientCredentials { .. } => {
                "check ZENDESK_API_CLIENT_ID and ZENDESK_API_CLIENT_SECRET, and that the OAuth \
                 client may use the client-credentials grant with the scopes users:read and \
                 security:read (and users:write for link-staff --apply)"
            }
            ZendeskApiAuth::ApiToken { .. } => {
                "ZENDESK_API_EMAIL / ZENDESK_API_TOKEN were refused: API tokens unused for 30 days \
                 are deactivated and all stop working on 30 Apr 2027. Use ZENDESK_API_CLIENT_ID \
                 and ZENDESK_API_CLIENT_SECRET (client credentials) instead"
            }
        }
    }

    fn authorize(&self, request: RequestBuilder, bearer: Option<&CachedToken>) -> RequestBuilder {
        match (&self.auth, bearer) {
            (_, Some(token)) => request.bearer_auth(token.token.expose_secret()),
            (ZendeskApiAuth::OAuthToken(token), None) => request.bearer_auth(token.expose_secret()),
            (ZendeskApiAuth::ApiToken { email, token }, None) => {
                let pair = format!("{email}/token:{}", token.expose_secret());
                let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
                request.header(reqwest::header::AUTHORIZATION, format!("Basic {encoded}"))
            }
            (ZendeskApiAuth::ClientCredentials { .. }, None) => request,
        }
    }

    async fn timed(
        &self,
        operation: &'static str,
        request: RequestBuilder,
    ) -> Result<Response, ApiError> {
        let result = timed_send(&self.metrics, UPSTREAM, operation, request).await;
        if let Ok(response) = &result {
            if let Some(remaining) = header_number(response, "x-rate-limit-remaining") {
                self.metrics.zendesk_rate_limit_remaining(remaining);
            }
            if response.status() == StatusCode::TOO_MANY_REQUESTS {
                self.metrics.zendesk_rate_limited();
            }
        }
        result.map_err(|e| {
            unavailable(anyhow!(e).context(format!("Zendesk {operation} could not be reached")))
        })
    }

    /// One API call, authorised, with the bounded retries described in the module docs.
    async fn call(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Response, ApiError> {
        self.health
            .permit()
            .map_err(|open| ApiError::Unavailable(anyhow!(open)))?;
        let idempotent = method == Method::GET;
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let bearer = self.bearer().await?;
            let mut request = self.authorize(
                self.http.request(method.clone(), url.clone()),
                bearer.as_deref(),
            );
            request = request.header(reqwest::header::ACCEPT, "application/json");
            if let Some(body) = body {
                request = request.json(body);
            }
            let result = self.timed(operation, request).await;
            let wait = match &result {
                Err(_) if idempotent => Some(RETRY_BACKOFF),
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    retry_after(r, RETRY_BACKOFF, MAX_RETRY_AFTER)
                }
                Ok(r) if idempotent && r.status().is_server_error() => Some(RETRY_BACKOFF),
                _ => None,
            };
            if let (Some(wait), 1) = (wait, attempt) {
                tokio::time::sleep(jittered(wait)).await;
                continue;
            }
            let response = match result {
                Ok(response) => response,
                Err(e) => {
                    self.health.record_failure();
                    return Err(e);
                }
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && bearer.is_some() && !renewed {
                // A cached client-credentials token was revoked or expired early: renew once.
                if let Some(refused) = &bearer {
                    self.oauth_token.forget_if(refused).await;
                }
                renewed = true;
                attempt = 0;
                continue;
            }
            return self.judge(operation, response);
        }
    }

    /// A final answer: the response, or what its status means (only 5xx counts against
    /// Zendesk's health and its circuit).
    fn judge(&self, operation: &'static str, response: Response) -> Result<Response, ApiError> {
        let status = response.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            self.health.record_ok();
            return Err(ApiError::Unauthorized(status, self.credential_hint()));
        }
        if status == StatusCode::TOO_MANY_REQUESTS {
            // Rate limited is an answer: the upstream is alive.
            self.health.record_ok();
            let wait = header_number(&response, "retry-after")
                .filter(|s| *s >= 0)
                .map_or(RETRY_BACKOFF, |s| Duration::from_secs(s as u64));
            return Err(ApiError::RateLimited(wait));
        }
        if status == StatusCode::NOT_FOUND {
            self.health.record_ok();
            return Err(ApiError::NotFound(operation));
        }
        if status.is_client_error() {
            // A 4xx answers this request (perhaps a stranger's input), not Zendesk's health:
            // it must never open the circuit for everyone.
            self.health.record_ok();
            return Err(unavailable(anyhow!(
                "Zendesk {operation} answered {status}"
            )));
        }
        if !status.is_success() {
            return Err(unavailable_recorded(
                &self.health,
                anyhow!("Zendesk {operation} answered {status}"),
            ));
        }
        Ok(response)
    }

    async fn get<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
    ) -> Result<T, ApiError> {
        let response = self.call(operation, Method::GET, url, None).await?;
        let parsed = read_json(response, operation).await;
        match &parsed {
            Ok(_) => self.health.record_ok(),
            Err(_) => self.health.record_failure(),
        }
        parsed
    }

    /// `GET /api/v2/remote_authentications`: every SSO configuration, read as documented, with
    /// the offset of Zendesk's clock from its `Date` header. With brand separation on, every
    /// brand's configurations too (`brand_id=`), so that all of them are judged.
    pub async fn sso_configs(&self) -> Result<SsoReading, ApiError> {
        let separation = self.separation().await?;
        let mut reading = self.sso_configs_of(None).await?;
        if let Separation::On { brand_ids } = &separation {
            for brand in brand_ids {
                let of_brand = self.sso_configs_of(Some(*brand)).await?;
                reading.absorb(of_brand);
            }
        }
        reading.brands_separated = match &separation {
            Separation::Off => None,
            Separation::On { brand_ids } => Some(brand_ids.len()),
        };
        self.all_brands.store(
            separation != Separation::Off,
            std::sync::atomic::Ordering::Release,
        );
        Ok(reading)
    }

    async fn sso_configs_of(&self, brand: Option<u64>) -> Result<SsoReading, ApiError> {
        let mut url = self.endpoint("/api/v2/remote_authentications");
        if let Some(brand) = brand {
            url.query_pairs_mut()
                .append_pair("brand_id", &brand.to_string());
        }
        let response = self
            .call("remote_authentications", Method::GET, url, None)
            .await?;
        let date = response
            .headers()
            .get(reqwest::header::DATE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok());
        let parsed: Result<Value, ApiError> = read_json(response, "remote_authentications").await;
        match &parsed {
            Ok(_) => self.health.record_ok(),
            Err(_) => self.health.record_failure(),
        }
        Ok(SsoReading::from_json(&parsed?).with_date(date, std::time::SystemTime::now()))
    }

    /// `GET /api/v2/oauth/tokens/current`: the scopes and expiry of the OAuth token in use
    /// (`None` with an API token, which has neither).
    pub async fn token_info(&self) -> Result<Option<TokenInfo>, ApiError> {
        if matches!(self.auth, ZendeskApiAuth::ApiToken { .. }) {
            return Ok(None);
        }
        let wire: TokenEnvelope = self
            .get(
                "oauth_token_current",
                self.endpoint("/api/v2/oauth/tokens/current"),
            )
            .await?;
        Ok(Some(TokenInfo {
            scopes: wire.token.scopes.unwrap_or_default(),
            expires_at: wire.token.expires_at,
        }))
    }

    /// `GET /api/v2/users/search?external_id=`: exact, no search syntax.
    pub async fn users_by_external_id(
        &self,
        external_id: &str,
    ) -> Result<Vec<ZendeskUser>, ApiError> {
        let mut url = self.users_url("/api/v2/users/search");
        url.query_pairs_mut()
            .append_pair("external_id", external_id);
        let page: UsersPage = self.get("users_by_external_id", url).await?;
        Ok(users(page)
            .filter(|u| u.has_external_id(external_id))
            .collect())
    }

    /// `GET /api/v2/users/search?query=email:` with every user's e-mail identities, all pages
    /// (the search is fuzzy: the exact hit need not be on the first), then an exact match here
    /// on any identity. `email` is searched exactly as given: Zendesk folds case but documents
    /// no other Unicode folding, so callers search the address the token will carry. More than
    /// [`MAX_SEARCH_PAGES`] pages, or a next page the bridge will not follow, is "unavailable",
    /// never a guess.
    pub async fn users_by_email(&self, email: &str) -> Result<Vec<ZendeskUser>, ApiError> {
        let mut url = self.users_url("/api/v2/users/search");
        url.query_pairs_mut()
            .append_pair("query", &format!("email:{email}"))
            .append_pair("include", "identities");
        let mut found = Vec::new();
        let mut sideloaded = true;
        for page_number in 1..=MAX_SEARCH_PAGES + 1 {
            if page_number > MAX_SEARCH_PAGES {
                return Err(unavailable(anyhow!(
                    "the Zendesk e-mail search has more than {MAX_SEARCH_PAGES} pages"
                )));
            }
            let page: UsersPage = self.get("users_by_email", url.clone()).await?;
            let next = self.next_page(&page)?;
            sideloaded &= page.identities.is_some();
            found.extend(with_identities(page));
            match next {
                Some(next) => url = next,
                None => break,
            }
        }
        if !sideloaded && !found.is_empty() {
            found = self.identities_of(found).await?;
        }
        Ok(found.into_iter().filter(|u| u.has_email(email)).collect())
    }

    /// The next page's URL (cursor `links.next` while `meta.has_more`, else offset `next_page`).
    fn next_page(&self, page: &UsersPage) -> Result<Option<Url>, ApiError> {
        let next = page
            .links
            .as_ref()
            .filter(|_| page.meta.as_ref().is_some_and(|m| m.has_more))
            .and_then(|l| l.next.clone())
            .or(page.next_page.clone());
        self.follow(next)
    }

    /// A next page to read, only on this Zendesk. One that is not on this Zendesk, or not a
    /// URL, makes the whole answer unavailable: the rest of the list is unseen, so the list is
    /// not known to be complete.
    fn follow(&self, next: Option<String>) -> Result<Option<Url>, ApiError> {
        let Some(next) = next.filter(|n| !n.trim().is_empty()) else {
            return Ok(None);
        };
        match Url::parse(&next) {
            Ok(url) if url.origin() == self.base.origin() => Ok(Some(url)),
            Ok(url) => Err(unavailable(anyhow!(
                "Zendesk sent a next page on another origin ({}), which the bridge does not \
                 follow: the list is incomplete. Check that ZENDESK_URL is \
                 https://{{subdomain}}.zendesk.com",
                url.origin().ascii_serialization()
            ))),
            Err(e) => Err(unavailable(
                anyhow!(e).context("Zendesk sent a next page that is not a URL"),
            )),
        }
    }

    /// Every user look-up sees every brand once brand separation is on (`brand_id=all`; a
    /// numeric brand id would leave agents and admins out of a search).
    fn users_url(&self, path: &str) -> Url {
        let mut url = self.endpoint(path);
        if self.all_brands.load(std::sync::atomic::Ordering::Acquire) {
            url.query_pairs_mut().append_pair("brand_id", "all");
        }
        url
    }

    /// `GET /api/v2/users/show_many?ids=…&include=identities`: the same users with every
    /// e-mail identity, for a Zendesk that did not side-load them in the search.
    async fn identities_of(&self, users: Vec<ZendeskUser>) -> Result<Vec<ZendeskUser>, ApiError> {
        let ids: Vec<String> = users.iter().map(|u| u.id.to_string()).collect();
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let mut url = self.users_url("/api/v2/users/show_many");
            url.query_pairs_mut()
                .append_pair("ids", &chunk.join(","))
                .append_pair("include", "identities");
            let page: UsersPage = self.get("users_identities", url).await?;
            if page.identities.is_none() {
                return Err(unavailable(anyhow!(
                    "Zendesk did not return the users' identities (include=identities)"
                )));
            }
            found.extend(with_identities(page));
        }
        Ok(found)
    }

    /// `GET /api/v2/users/show_many?external_ids=` (at most 100 ids a call).
    pub async fn users_by_external_ids(
        &self,
        ids: &[String],
    ) -> Result<Vec<ZendeskUser>, ApiError> {
        let mut found = Vec::new();
        for chunk in ids.chunks(100) {
            let mut url = self.users_url("/api/v2/users/show_many");
            url.query_pairs_mut()
                .append_pair("external_ids", &chunk.join(","));
            let page: UsersPage = self.get("users_show_many", url).await?;
            found.extend(users(page));
        }
        Ok(found)
    }

    /// Every agent and admin with their e-mail identities
    /// (`GET /api/v2/users?role[]=agent&role[]=admin&include=identities`, all pages). The list
    /// reads Zendesk's database, so it is current where the search index lags behind.
    pub async fn staff(&self) -> Result<Vec<ZendeskUser>, ApiError> {
        let mut url = self.users_url("/api/v2/users");
        url.query_pairs_mut()
            .append_pair("role[]", "agent")
            .append_pair("role[]", "admin")
            .append_pair("page[size]", "100")
            .append_pair("include", "identities");
        let mut all = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: UsersPage = self.get("users_staff", url.clone()).await?;
            let next = self.next_page(&page)?;
            all.extend(
                with_identities(page)
                    .into_iter()
                    .filter(|u| u.role.is_staff()),
            );
            match next {
                Some(next) => url = next,
                None => return Ok(all),
            }
        }
        Err(unavailable(anyhow!(
            "the Zendesk staff listing has more than {MAX_PAGES} pages"
        )))
    }

    /// `PUT /api/v2/users/{id}` setting `external_id` only.
    pub async fn set_external_id(
        &self,
        user_id: u64,
        external_id: &str,
    ) -> Result<ZendeskUser, ApiError> {
        let url = self.endpoint(&format!("/api/v2/users/{user_id}"));
        let body = json!({"user": {"external_id": external_id}});
        let response = self
            .call("users_update", Method::PUT, url, Some(&body))
            .await?;
        let envelope: UserEnvelope = read_json(response, "users_update").await?;
        Ok(envelope.user.into())
    }
}

fn unavailable(error: anyhow::Error) -> ApiError {
    ApiError::Unavailable(error)
}

fn unavailable_recorded(health: &UpstreamHealth, error: anyhow::Error) -> ApiError {
    health.record_failure();
    ApiError::Unavailable(error)
}

async fn read_json<T: DeserializeOwned>(
    response: Response,
    operation: &str,
) -> Result<T, ApiError> {
    let body = read_body(response).await.map_err(|e| {
        unavailable(anyhow!(e).context(format!("Zendesk {operation} answer could not be read")))
    })?;
    serde_json::from_slice(&body).map_err(|e| {
        unavailable(anyhow!(e).context(format!(
            "Zendesk {operation} sent a body that is not the expected JSON"
        )))
    })
}

fn header_number(response: &Response, name: &str) -> Option<i64> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_parse_with_unknown_ones_treated_as_staff() {
        assert!(!ZendeskRole::parse(Some("end-user")).is_staff());
        assert!(ZendeskRole::parse(Some("agent")).is_staff());
        assert!(ZendeskRole::parse(Some("Admin")).is_staff());
        assert!(ZendeskRole::parse(Some("light-agent")).is_staff());
        assert!(ZendeskRole::parse(None).is_staff());
    }
}
