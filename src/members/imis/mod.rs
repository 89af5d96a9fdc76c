//! The iMIS member directory: a real REST client.
//!
//! A sign-in is: `POST {base}/token` (password grant) proves the password; then
//! `GET {base}/api/User?UserName=` finds the iMIS ID and `GET {base}/api/Party/{id}` reads the
//! profile; `GET {base}/api/Party?email=` looks for another record with the same primary address,
//! unless Zendesk already links the member to it (`members::early`). Every request waits for one
//! of the places `IMIS_MAX_IN_FLIGHT` allows. The look-ups use a service account's token when one is configured (cached until
//! shortly before it expires, renewed once on a 401), else the member's own token.
//! Wire types live in [`wire`]; the rest of the crate sees only [`MemberProfile`].

mod contact;
mod listing;
pub mod query;
pub mod simulator;
pub mod sso;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use crate::members::GroupMembership;
use crate::members::early::{self, Early};
use crate::members::email::Sharing;
use crate::members::phone::PhonePolicy;
use crate::members::{DirectoryError, MemberDirectory, MemberProfile, MemberStatus, Refusal};
use crate::metrics::Metrics;
use crate::upstream::{
    BreakerSettings, CachedToken, Crowded, InFlight, TokenCache, UpstreamHealth, http_client,
    jittered, read_body, retry_after, timed_send,
};
use wire::{GroupMemberData, OAuthError, PagedResult, PersonData, TokenResponse, UserData};

#[derive(Debug, Clone)]
pub struct ImisSettings {
    pub base_url: Url,
    pub service_account: Option<ServiceAccount>,
    pub timeout: Duration,
    /// `IMIS_PROFILE_QUERY`: read the member in one request with their own token.
    pub profile_query: Option<Box<query::ProfileQuery>>,
    /// `IMIS_MEMBERS_QUERY`: the sync lists members in pages (service account).
    pub members_query: Option<Box<query::ProfileQuery>>,
    /// `IMIS_MAX_IN_FLIGHT`: requests a pod may have in flight to iMIS for sign-ins.
    pub max_in_flight: usize,
}

#[derive(Debug, Clone)]
pub struct ServiceAccount {
    pub username: String,
    pub password: SecretString,
}

const UPSTREAM: &str = "imis";
/// How many service-account tokens one look-up tries when iMIS refuses them (each refused one
/// may have been expired a moment ago by another process fetching a newer one).
const SERVICE_TOKEN_TRIES: usize = 3;
/// Renew a cached service token this long before iMIS says it expires.
const TOKEN_EARLY_RENEWAL: Duration = Duration::from_secs(60);
/// Assumed lifetime of a service token when iMIS does not say (`expires_in` missing).
const TOKEN_DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The longest `Retry-After` a member is made to wait for.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
const RETRY_BACKOFF: Duration = Duration::from_millis(150);

pub struct ImisDirectory {
    http: reqwest::Client,
    base: Url,
    service: Option<ServiceAccount>,
    service_token: TokenCache,
    /// Where the service token is shared with the other replicas (Redis), once started.
    shared: std::sync::OnceLock<Arc<crate::shared::SharedState>>,
    phone: PhonePolicy,
    metrics: Metrics,
    health: UpstreamHealth,
    /// Look up group memberships too (when `POLICY_FILE` uses them).
    fetch_groups: bool,
    /// Read the paid-through date from the contact (when `POLICY_FILE` uses it).
    fetch_paid_through: bool,
    profile_query: Option<Box<query::ProfileQuery>>,
    members_query: Option<Box<query::ProfileQuery>>,
    /// The places for sign-in requests to iMIS (`IMIS_MAX_IN_FLIGHT`), shared with the hand-off.
    in_flight: InFlight,
}

/// Why a request to iMIS got no answer.
#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error(transparent)]
    Crowded(#[from] Crowded),
    #[error(transparent)]
    Http(#[from] reqwest::Error),
}

/// Why a profile look-up failed.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("iMIS refused the bearer token (401)")]
    Unauthorized,
    #[error("no iMIS user or party matches")]
    NotFound,
    /// iMIS's User record says the login is disabled, locked out or expired.
    #[error("iMIS no longer lets this login in")]
    LoginClosed,
    /// A 4xx other than 401/404: an answer to this request, not a sign of iMIS's health.
    #[error(transparent)]
    Rejected(anyhow::Error),
    /// No place to send it (`IMIS_MAX_IN_FLIGHT`): the sign-in is answered "busy".
    #[error(transparent)]
    Crowded(#[from] Crowded),
    #[error(transparent)]
    Failed(#[from] anyhow::Error),
}

impl ImisDirectory {
    /// `in_flight`: the cap on requests to iMIS, shared with the member-site hand-off.
    pub fn new(
        settings: &ImisSettings,
        phone: PhonePolicy,
        metrics: Metrics,
        breaker: BreakerSettings,
        in_flight: InFlight,
    ) -> anyhow::Result<Self> {
        let http = http_client(settings.timeout).context("building the iMIS HTTP client")?;
        Ok(Self {
            http,
            base: settings.base_url.clone(),
            service: settings.service_account.clone(),
            service_token: TokenCache::default(),
            shared: std::sync::OnceLock::new(),
            phone,
            metrics,
            health: UpstreamHealth::with_breaker(UPSTREAM, breaker),
            fetch_groups: false,
            fetch_paid_through: false,
            profile_query: settings.profile_query.clone(),
            members_query: settings.members_query.clone(),
            in_flight,
        })
    }

    /// Also read each member's groups (`GET /api/GroupMember?PartyId=`), one more call.
    pub fn with_groups(mut self, fetch_groups: bool) -> Self {
        self.fetch_groups = fetch_groups;
        self
    }

    /// Active group memberships of a party.
    async fn groups(
        &self,
        party_id: &str,
        token: &SecretString,
    ) -> Result<Vec<GroupMembership>, LookupError> {
        let mut url = self.endpoint(&["api", "GroupMember"]);
        url.query_pairs_mut()
            .append_pair("PartyId", party_id)
            .append_pair("limit", "500");
        let page: PagedResult<GroupMemberData> = match self.get_json("groups", url, token).await {
            Err(LookupError::NotFound) => return Ok(Vec::new()),
            other => other?,
        };
        Ok(page
            .items
            .0
            .into_iter()
            .filter_map(GroupMemberData::into_membership)
            .collect())
    }

    /// `{base}/{segments...}`, each segment percent-encoded, the base's own path kept.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    /// Sends one request for a sign-in, in one of the places `IMIS_MAX_IN_FLIGHT` allows, timing
    /// it for the metrics.
    async fn send(
        &self,
        operation: &'static str,
        request: RequestBuilder,
    ) -> Result<Response, SendError> {
        let _place = self.in_flight.enter().await?;
        Ok(timed_send(&self.metrics, UPSTREAM, operation, request).await?)
    }

    /// A request that got no answer: "busy" when it found no place, else iMIS is unavailable.
    fn unanswered(&self, error: SendError, what: &str) -> DirectoryError {
        match error {
            SendError::Crowded(_) => DirectoryError::Busy,
            SendError::Http(e) => self.unavailable(anyhow!(e).context(what.to_owned())),
        }
    }

    /// `POST /token` with `grant_type=password`.
    async fn password_grant(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<sso::Grant, DirectoryError> {
        let request = self.password_request(username, password.expose_secret());
        let response = self
            .send("token", request)
            .await
            .map_err(|e| self.unanswered(e, "iMIS /token could not be reached"))?;
        let status = response.status();
        let body = read_body(response).await.map_err(|e| {
            self.unavailable(anyhow!(e).context("iMIS /token answer could not be read"))
        })?;
        if status == StatusCode::BAD_REQUEST || status == StatusCode::UNAUTHORIZED {
            let error = serde_json::from_slice::<OAuthError>(&body)
                .unwrap_or_default()
                .error
                .unwrap_or_default();
            if error == "invalid_grant" {
                self.health.record_ok();
                return Err(DirectoryError::InvalidCredentials);
            }
            let refused = anyhow!(
                "iMIS /token refused the password grant with {status} `{error}` (is the password grant enabled for members?)"
            );
            // Our client or grant type refused is iMIS's configuration; any other refusal
            // answers this user name and must not open the circuit for everyone.
            return Err(match error.as_str() {
                "invalid_client" | "unauthorized_client" | "unsupported_grant_type" => {
                    self.unavailable(refused)
                }
                _ => {
                    self.health.record_ok();
                    DirectoryError::Unavailable(refused)
                }
            });
        }
        if !status.is_success() {
            return Err(self.unavailable(anyhow!("iMIS /token answered {status}")));
        }
        let parsed: TokenResponse = serde_json::from_slice(&body).map_err(|e| {
            self.unavailable(anyhow!(e).context("iMIS /token sent a body that is not token JSON"))
        })?;
        let token = parsed
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| {
                self.unavailable(anyhow!("iMIS /token answered 200 without an access_token"))
            })?;
        Ok(sso::Grant {
            token: SecretString::from(token),
            user_name: parsed.user_name.filter(|u| !u.trim().is_empty()),
        })
    }

    fn unavailable(&self, error: anyhow::Error) -> DirectoryError {
        self.health.record_failure();
        DirectoryError::Unavailable(error)
    }

    /// A GET returning JSON, retried once on a connection failure, 502/503/504 or 429.
    async fn get_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
        token: &SecretString,
    ) -> Result<T, LookupError> {
        let mut attempt = 0;
        let response = loop {
            attempt += 1;
            let request = self
                .http
                .get(url.clone())
                .bearer_auth(token.expose_secret())
                .header(reqwest::header::ACCEPT, "application/json");
            let result = self.send(operation, request).await;
            let wait = match &result {
                Err(SendError::Http(e)) if e.is_connect() => Some(RETRY_BACKOFF),
                Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => {
                    retry_after(r, RETRY_BACKOFF, MAX_RETRY_AFTER)
                }
                Ok(r) if matches!(r.status().as_u16(), 502..=504) => Some(RETRY_BACKOFF),
                _ => None,
            };
            match wait {
                Some(wait) if attempt < 2 => tokio::time::sleep(jittered(wait)).await,
                _ => match result {
                    Ok(response) => break response,
                    Err(SendError::Crowded(crowded)) => return Err(crowded.into()),
                    Err(SendError::Http(e)) => {
                        return Err(anyhow!(e)
                            .context(format!("iMIS {operation} could not be reached"))
                            .into());
                    }
                },
            }
        };
        match response.status() {
            s if s.is_success() => {}
            // `/api/User` may be closed to a member's token with either.
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(LookupError::Unauthorized);
            }
            StatusCode::NOT_FOUND => return Err(LookupError::NotFound),
            s if s.is_client_error() => {
                return Err(LookupError::Rejected(anyhow!(
                    "iMIS {operation} answered {s}"
                )));
            }
            s => return Err(anyhow!("iMIS {operation} answered {s}").into()),
        }
        let body = read_body(response)
            .await
            .with_context(|| format!("iMIS {operation} answer could not be read"))?;
        serde_json::from_slice(&body)
            .with_context(|| format!("iMIS {operation} sent a body that is not the expected JSON"))
            .map_err(LookupError::from)
    }

    /// User name → iMIS ID → profile.
    async fn lookup(
        &self,
        user_name: &str,
        token: &SecretString,
    ) -> Result<MemberProfile, LookupError> {
        let mut url = self.endpoint(&["api", "User"]);
        url.query_pairs_mut().append_pair("UserName", user_name);
        let users: PagedResult<UserData> = self.get_json("user", url, token).await?;
        let user = users.items.0.iter().find(|u| {
            u.user_name
                .as_deref()
                .is_some_and(|n| n.trim().eq_ignore_ascii_case(user_name.trim()))
        });
        if let Some(why) = user.and_then(|u| u.closed_because(&crate::clock::today())) {
            // iMIS closed this login (its sign-in would fail too): a session ends at its re-check.
            tracing::info!(reason = why, "iMIS no longer lets this login in");
            return Err(LookupError::LoginClosed);
        }
        let id = user
            .and_then(|u| u.user_id.as_deref())
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .ok_or(LookupError::NotFound)?
            .to_owned();
        early::tell(Early::Id(id.clone()));
        let party =
            self.get_json::<PersonData>("party", self.endpoint(&["api", "Party", &id]), token);
        // The groups need only the id: read them beside the party record.
        let groups = async {
            match self.fetch_groups {
                true => self.groups(&id, token).await.map(Some),
                false => Ok(None),
            }
        };
        let (person, groups) = tokio::join!(party, groups);
        let (person, groups) = (person?, groups?);
        if person.imis_id().is_some_and(|found| found != id) {
            return Err(anyhow!("iMIS /api/Party/{{id}} answered with another party").into());
        }
        let mut profile = person
            .into_profile(&self.phone)
            .ok_or_else(|| LookupError::from(anyhow!("iMIS party record has no PartyId")))?;
        profile.email_sharing = self.email_sharing(&profile).await?;
        if groups.is_some() {
            profile.facts.groups = groups;
        }
        self.fill_paid_through(&mut profile, token).await?;
        Ok(profile)
    }

    /// Whether another active party has the member's primary address. Not searched when
    /// Zendesk already links the member to it (`members::early`): the answer could not change
    /// the decision, and iMIS is spared a call at every sign-in of a linked member. The search
    /// runs with the service account: a member's own token may see only their own record, so
    /// without a service account the answer is [`Sharing::Unverified`], never "alone".
    async fn email_sharing(&self, profile: &MemberProfile) -> Result<Sharing, LookupError> {
        let Some(email) = profile.email.as_deref() else {
            return Ok(Sharing::Alone);
        };
        if early::already_linked(&profile.id, email).await {
            return Ok(Sharing::NotSearched);
        }
        early::tell(Early::Email(email.to_owned()));
        let Some(account) = &self.service else {
            return Ok(Sharing::Unverified);
        };
        let token = self.service_token(account).await?;
        let shared = self
            .parties_by_email(email, &token.token)
            .await?
            .into_iter()
            .any(|p| p.id != profile.id && p.status == MemberStatus::Active);
        Ok(Sharing::searched(shared))
    }

    /// The token for reads about the member that their own token may not be allowed (groups):
    /// the service account's when there is one, else `own`.
    async fn reading_token(&self, own: &SecretString) -> Result<SecretString, LookupError> {
        match &self.service {
            Some(account) => Ok(self.service_token(account).await?.token.clone()),
            None => Ok(own.clone()),
        }
    }

    /// `GET /api/Party?email=eq:{email}`, confirmed here: the filter's exact semantics (primary
    /// address only? case?) are not documented, so each hit must have `email` as its primary.
    async fn parties_by_email(
        &self,
        email: &str,
        token: &SecretString,
    ) -> Result<Vec<MemberProfile>, LookupError> {
        let mut url = self.endpoint(&["api", "Party"]);
        url.query_pairs_mut()
            .append_pair("email", &format!("eq:{email}"))
            .append_pair("limit", "10");
        let page: PagedResult<PersonData> = match self.get_json("party_by_email", url, token).await
        {
            Err(LookupError::NotFound) => return Ok(Vec::new()),
            other => other?,
        };
        Ok(page
            .items
            .0
            .into_iter()
            .filter_map(|p| p.into_profile(&self.phone))
            .filter(|p| {
                p.email
                    .as_deref()
                    .is_some_and(|e| crate::members::email::same(e, email))
            })
            .collect())
    }

    /// The service account's token: from this process's cache, else the one the replicas share
    /// (Redis), else a fresh password grant, then shared.
    async fn service_token(&self, account: &ServiceAccount) -> anyhow::Result<Arc<CachedToken>> {
        self.service_token
            .get_or_fetch(async {
                let shared = self.shared.get();
                if let Some(shared) = shared
                    && let Some((token, left)) = shared.shared_token(&account.username).await
                {
                    return Ok(Arc::new(CachedToken::new(
                        SecretString::from(token),
                        Some(left as f64),
                        TOKEN_DEFAULT_LIFETIME,
                        TOKEN_EARLY_RENEWAL,
                    )));
                }
                let (token, expires_in) = self.service_grant(account).await?;
                if let Some(shared) = shared {
                    let ttl = expires_in.map_or(TOKEN_DEFAULT_LIFETIME, |s| {
                        Duration::from_secs_f64(s.max(0.0))
                    });
                    shared
                        .share_token(&account.username, token.expose_secret(), ttl)
                        .await;
                }
                Ok(Arc::new(CachedToken::new(
                    token,
                    expires_in,
                    TOKEN_DEFAULT_LIFETIME,
                    TOKEN_EARLY_RENEWAL,
                )))
            })
            .await
            .map_err(|e: Arc<anyhow::Error>| anyhow!("{e:#}"))
    }

    /// Forgets the service token iMIS refused, here and where the replicas share it, unless a
    /// newer one has replaced it already.
    async fn forget_service_token(&self, account: &ServiceAccount, refused: &Arc<CachedToken>) {
        self.service_token.forget_if(refused).await;
        if let Some(shared) = self.shared.get() {
            shared
                .forget_token(&account.username, refused.token.expose_secret())
                .await;
        }
    }

    /// `POST {base}/token` with the password grant (form-encoded, values URL-encoded).
    fn password_request(&self, username: &str, password: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.endpoint(&["token"]))
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "password"),
                ("username", username),
                ("password", password),
            ])
    }

    /// The password grant for the service account: its token and `expires_in`.
    async fn service_grant(
        &self,
        account: &ServiceAccount,
    ) -> anyhow::Result<(SecretString, Option<f64>)> {
        let request =
            self.password_request(account.username.as_str(), account.password.expose_secret());
        // Once in a token's lifetime, for every sign-in at once: not held to the cap.
        let response = timed_send(&self.metrics, UPSTREAM, "service_token", request)
            .await
            .context("iMIS /token could not be reached for the service account")?;
        let status = response.status();
        if !status.is_success() {
            return Err(anyhow!(
                "iMIS refused the service account (IMIS_SERVICE_USERNAME) with {status}"
            ));
        }
        let body = read_body(response)
            .await
            .context("iMIS /token answer could not be read")?;
        let parsed: TokenResponse = serde_json::from_slice(&body)
            .context("iMIS /token sent a body that is not token JSON")?;
        let token = parsed
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| anyhow!("iMIS /token answered 200 without an access_token"))?;
        let expires_in = parsed.expires_in.and_then(|s| s.trim().parse::<f64>().ok());
        Ok((SecretString::from(token), expires_in))
    }

    /// The member's profile after iMIS proved who they are (password or hand-off): read with the
    /// service account if there is one, else with the member's own token.
    async fn profile_with(
        &self,
        user_name: &str,
        token: &SecretString,
    ) -> Result<MemberProfile, DirectoryError> {
        let result = match (&self.profile_query, &self.service) {
            (Some(query), _) => self.run_profile_query(query, user_name, token).await,
            (None, Some(account)) => self.lookup_as_service(account, user_name).await,
            (None, None) => match self.lookup(user_name, token).await {
                Err(LookupError::Unauthorized) => Err(LookupError::Rejected(anyhow!(
                    "iMIS refused the member's own token for the profile look-up (401 or 403: \
                     members may not read /api/User or /api/Party on this site); configure \
                     IMIS_SERVICE_USERNAME / IMIS_SERVICE_PASSWORD"
                ))),
                other => other,
            },
        };
        match result {
            Ok(profile) => {
                self.health.record_ok();
                Ok(profile)
            }
            Err(LookupError::NotFound) => {
                self.health.record_ok();
                Err(DirectoryError::Refused(Refusal::NoMemberRecord))
            }
            Err(LookupError::LoginClosed) => {
                self.health.record_ok();
                Err(DirectoryError::Refused(Refusal::Inactive))
            }
            Err(LookupError::Unauthorized) => {
                Err(self.unavailable(anyhow!("iMIS refused the token")))
            }
            Err(LookupError::Rejected(e)) => {
                self.health.record_ok();
                Err(DirectoryError::Unavailable(e))
            }
            Err(LookupError::Crowded(_)) => Err(DirectoryError::Busy),
            Err(LookupError::Failed(e)) => Err(self.unavailable(e)),
        }
    }

    /// `GET /api/query?QueryName=…` with the member's own token: their row, in one request (plus
    /// the duplicate-e-mail search when the query does not count shared addresses). The query must
    /// identify exactly one member, the one iMIS proved: one row whose user-name column is
    /// `user_name`. Anything else is refused, with an admin log line naming the query.
    async fn run_profile_query(
        &self,
        profile_query: &query::ProfileQuery,
        user_name: &str,
        token: &SecretString,
    ) -> Result<MemberProfile, LookupError> {
        let mut url = self.endpoint(&["api", "query"]);
        url.query_pairs_mut()
            .append_pair("QueryName", &profile_query.path);
        let answer: serde_json::Value = match self.get_json("profile_query", url, token).await {
            // An iMIS older than 20.3.77 has no /api/query: a configuration problem, not "no
            // member record".
            Err(LookupError::NotFound) => {
                return Err(anyhow!(
                    "iMIS answered 404 for /api/query (IMIS_PROFILE_QUERY {}): the IQA query \
                     endpoint needs iMIS 20.3.77 or later, and the query must exist at that path",
                    profile_query.path
                )
                .into());
            }
            other => other?,
        };
        let row = match query::only_row(&answer) {
            Ok(Some(row)) => row,
            Ok(None) => return Err(LookupError::NotFound),
            Err(why) => return Err(misidentified(&profile_query.path, &why)),
        };
        match query::user_name(&row, &profile_query.columns) {
            Some(found) if found.eq_ignore_ascii_case(user_name.trim()) => {}
            Some(_) => {
                return Err(misidentified(
                    &profile_query.path,
                    "its row is another user's than the one iMIS signed in",
                ));
            }
            None => {
                return Err(misidentified(
                    &profile_query.path,
                    &format!(
                        "its row has no user-name column `{}` (IMIS_PROFILE_COLUMNS user_name)",
                        profile_query.columns.user_name
                    ),
                ));
            }
        }
        let mut profile = query::profile_from_row(&row, &profile_query.columns, &self.phone)
            .ok_or(LookupError::NotFound)?;
        early::tell(Early::Id(profile.id.clone()));
        if query::counts_shared_email(&row, &profile_query.columns) {
            if let Some(email) = &profile.email {
                early::tell(Early::Email(email.clone()));
            }
        } else {
            profile.email_sharing = self.email_sharing(&profile).await?;
        }
        if self.fetch_groups {
            let token = self.reading_token(token).await?;
            profile.facts.groups = Some(self.groups(&profile.id, &token).await?);
        }
        self.fill_paid_through(&mut profile, token).await?;
        Ok(profile)
    }

    /// Looks the member up with the service account, renewing its token once on a 401.
    async fn lookup_as_service(
        &self,
        account: &ServiceAccount,
        user_name: &str,
    ) -> Result<MemberProfile, LookupError> {
        let mut token = self.service_token(account).await?;
        for attempt in 1..=SERVICE_TOKEN_TRIES {
            match self.lookup(user_name, &token.token).await {
                // iMIS keeps only the newest token per user: another replica, a `check` run or
                // another integration signing in as this account expired ours.
                Err(LookupError::Unauthorized) if attempt < SERVICE_TOKEN_TRIES => {
                    self.forget_service_token(account, &token).await;
                    token = self.service_token(account).await?;
                }
                // An answer, not an outage: it must not open the circuit for everyone.
                Err(LookupError::Unauthorized) => {
                    return Err(LookupError::Rejected(anyhow!(
                        "iMIS refused {SERVICE_TOKEN_TRIES} fresh tokens of the service account \
                         (IMIS_SERVICE_USERNAME) in a row: it may lack rights to read users and \
                         parties, or another process signs in as the same account (iMIS keeps \
                         only the newest token per user): give the bridge a service account no \
                         other integration uses"
                    )));
                }
                other => return other,
            }
        }
        Err(LookupError::Rejected(anyhow!(
            "no service-account attempt was made"
        )))
    }
}

impl ImisDirectory {
    /// `check` runs `IMIS_PROFILE_QUERY` as the service account: the endpoint must exist (iMIS
    /// 20.3.77 or later) and the query must not list more than the signed-in user's own row.
    async fn probe_profile_query(
        &self,
        query: &query::ProfileQuery,
        token: &SecretString,
    ) -> anyhow::Result<String> {
        let mut url = self.endpoint(&["api", "query"]);
        url.query_pairs_mut().append_pair("QueryName", &query.path);
        let path = &query.path;
        match self
            .get_json::<serde_json::Value>("profile_query", url, token)
            .await
        {
            Ok(answer) => match query::only_row(&answer) {
                Ok(_) => Ok(format!(
                    "; IMIS_PROFILE_QUERY {path} answers with at most one row"
                )),
                Err(why) => Err(anyhow!(
                    "IMIS_PROFILE_QUERY {path} does not filter on the signed-in contact: {why}. \
                     Filter it with \"LoggedIn User Key\" and give every prompt"
                )),
            },
            Err(LookupError::NotFound) => Err(anyhow!(
                "iMIS answered 404 for /api/query (IMIS_PROFILE_QUERY {path}): the IQA query \
                 endpoint needs iMIS 20.3.77 or later, and the query must exist at that path"
            )),
            // The Security tab may let members, not this account, run it: not proof of a fault.
            Err(LookupError::Unauthorized) => Ok(format!(
                "; IMIS_PROFILE_QUERY {path} cannot be run by the service account (members must \
                 be able to: see its Security tab)"
            )),
            Err(e) => {
                Err(anyhow!(e).context(format!("IMIS_PROFILE_QUERY {path} could not be run")))
            }
        }
    }

    /// `check` proves `IMIS_BASE_URL`: a made-up grant type posted to `{base}/token` must be
    /// answered as iMIS's OAuth endpoint answers it (400, JSON `unsupported_grant_type`). A 404
    /// or an HTML page means the base URL is not where iMIS serves its API.
    async fn prove_token_endpoint(&self) -> anyhow::Result<Url> {
        const HINT: &str = "iMIS 2017 and 20.2 serve the token endpoint and the API under the \
             ASI Scheduler application: set IMIS_BASE_URL to https://{host}/Asi.Scheduler_{name}; \
             iMIS Cloud and EMS serve them at the site root";
        let url = self.endpoint(&["token"]);
        let request = self
            .http
            .post(url.clone())
            .header(reqwest::header::ACCEPT, "application/json")
            .form(&[("grant_type", "zendesk_sso_bridge_check")]);
        let response = timed_send(&self.metrics, UPSTREAM, "probe", request)
            .await
            .with_context(|| format!("{url} could not be reached"))?;
        let status = response.status();
        let body = read_body(response)
            .await
            .with_context(|| format!("{url}'s answer could not be read"))?;
        let error = serde_json::from_slice::<OAuthError>(&body)
            .ok()
            .and_then(|e| e.error);
        match (status.as_u16(), error.as_deref()) {
            (400, Some("unsupported_grant_type")) => Ok(url),
            (400, Some(other)) => Err(anyhow!(
                "{url} answered a made-up grant type with `{other}`, not \
                 `unsupported_grant_type`: is this iMIS's token endpoint? {HINT}"
            )),
            (404, _) => Err(anyhow!(
                "{url} answered 404: this is not iMIS's token endpoint. {HINT}"
            )),
            (code, _) => Err(anyhow!(
                "{url} answered {code} without iMIS's JSON error (an HTML page or another \
                 service?): this is not iMIS's token endpoint. {HINT}"
            )),
        }
    }
}

/// The profile query returned something other than the signed-in member's one row: refused
/// (no member record for the member), with the admin told what to fix.
fn misidentified(path: &str, why: &str) -> LookupError {
    tracing::error!(
        query = %path,
        why = %why,
        "IMIS_PROFILE_QUERY does not identify exactly the signed-in member: filter it on the \
         signed-in contact (\"LoggedIn User Key\"; \"Me\" is no longer supported), give every \
         prompt, and return the UserName column; the sign-in is refused"
    );
    LookupError::NotFound
}

/// iMIS's anonymous identity is the user `GUEST`: whatever party it has, it is not a member.
fn is_guest(user_name: &str) -> bool {
    user_name.trim().eq_ignore_ascii_case("GUEST")
}

#[async_trait]
impl MemberDirectory for ImisDirectory {
    #[tracing::instrument(name = "imis_authenticate", skip_all)]
    async fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<MemberProfile, DirectoryError> {
        self.health
            .permit()
            .map_err(|open| DirectoryError::Unavailable(anyhow!(open)))?;
        let grant = self.password_grant(username, password).await?;
        let user_name = grant.user_name.as_deref().unwrap_or(username.trim());
        if is_guest(user_name) {
            return Err(DirectoryError::Refused(Refusal::NoMemberRecord));
        }
        self.profile_with(user_name, &grant.token).await
    }

    async fn profile_for_grant(
        &self,
        grant: &sso::Grant,
    ) -> Result<(MemberProfile, String), DirectoryError> {
        self.health
            .permit()
            .map_err(|open| DirectoryError::Unavailable(anyhow!(open)))?;
        // Without a user name (or a Guest's token) there is no member to read.
        let Some(user_name) = grant.user_name.as_deref() else {
            return Err(DirectoryError::Refused(Refusal::NoMemberRecord));
        };
        if is_guest(user_name) {
            tracing::warn!(
                "the member site handed off iMIS's anonymous user GUEST: the visitor was not signed in there (refused)"
            );
            return Err(DirectoryError::Refused(Refusal::NoMemberRecord));
        }
        let profile = self.profile_with(user_name, &grant.token).await?;
        Ok((profile, user_name.to_owned()))
    }

    async fn profile_of(&self, username: &str) -> Result<MemberProfile, DirectoryError> {
        let Some(account) = &self.service else {
            return Err(DirectoryError::Unavailable(anyhow!(
                "looking a member up without their password needs the iMIS service account (IMIS_SERVICE_USERNAME / IMIS_SERVICE_PASSWORD)"
            )));
        };
        match self.lookup_as_service(account, username.trim()).await {
            Ok(profile) => Ok(profile),
            Err(LookupError::NotFound) => Err(DirectoryError::Refused(Refusal::NoMemberRecord)),
            Err(LookupError::LoginClosed) => Err(DirectoryError::Refused(Refusal::Inactive)),
            Err(LookupError::Crowded(_)) => Err(DirectoryError::Busy),
            Err(e) => Err(DirectoryError::Unavailable(anyhow!(e))),
        }
    }

    async fn members_page(
        &self,
        offset: usize,
    ) -> Result<Option<crate::members::MembersPage>, DirectoryError> {
        let (Some(listing), Some(account)) = (&self.members_query, &self.service) else {
            return Ok(None);
        };
        let mut token = self
            .service_token(account)
            .await
            .map_err(DirectoryError::Unavailable)?;
        let mut result = self.listing_page(listing, offset, &token.token).await;
        if matches!(result, Err(LookupError::Unauthorized)) {
            self.forget_service_token(account, &token).await;
            token = self
                .service_token(account)
                .await
                .map_err(DirectoryError::Unavailable)?;
            result = self.listing_page(listing, offset, &token.token).await;
        }
        match result {
            Ok(page) => Ok(Some(page)),
            Err(LookupError::Crowded(_)) => Err(DirectoryError::Busy),
            Err(e) => Err(DirectoryError::Unavailable(anyhow!(e))),
        }
    }

    async fn profile_by_id(&self, id: &str) -> Result<Option<MemberProfile>, DirectoryError> {
        let Some(account) = &self.service else {
            return Err(DirectoryError::Unavailable(anyhow!(
                "reading members by iMIS ID needs the iMIS service account (IMIS_SERVICE_USERNAME / IMIS_SERVICE_PASSWORD)"
            )));
        };
        let mut token = self
            .service_token(account)
            .await
            .map_err(DirectoryError::Unavailable)?;
        let mut result = self.lookup_by_id(id, &token.token).await;
        if matches!(result, Err(LookupError::Unauthorized)) {
            // iMIS keeps only the newest token per user: renew once.
            self.forget_service_token(account, &token).await;
            token = self
                .service_token(account)
                .await
                .map_err(DirectoryError::Unavailable)?;
            result = self.lookup_by_id(id, &token.token).await;
        }
        match result {
            Ok(found) => Ok(found),
            Err(LookupError::Crowded(_)) => Err(DirectoryError::Busy),
            Err(e) => Err(DirectoryError::Unavailable(anyhow!(e))),
        }
    }

    async fn find_by_primary_email(
        &self,
        email: &str,
    ) -> Result<Vec<MemberProfile>, DirectoryError> {
        let Some(account) = &self.service else {
            return Err(DirectoryError::Unavailable(anyhow!(
                "looking members up by e-mail needs the iMIS service account (IMIS_SERVICE_USERNAME / IMIS_SERVICE_PASSWORD)"
            )));
        };
        let token = self
            .service_token(account)
            .await
            .map_err(DirectoryError::Unavailable)?;
        match self.parties_by_email(email, &token.token).await {
            Ok(found) => Ok(found
                .into_iter()
                .filter(|p| p.status == MemberStatus::Active)
                .collect()),
            Err(LookupError::Crowded(_)) => Err(DirectoryError::Busy),
            Err(e) => Err(DirectoryError::Unavailable(anyhow!(e))),
        }
    }

    async fn probe(&self) -> anyhow::Result<String> {
        let token_url = self.prove_token_endpoint().await?;
        match &self.service {
            Some(account) => {
                let token = self.service_token(account).await?;
                let query = match &self.profile_query {
                    Some(query) => self.probe_profile_query(query, &token.token).await?,
                    None => String::new(),
                };
                Ok(format!(
                    "{token_url} is iMIS's token endpoint; service account `{}` obtained a token{query}",
                    account.username,
                ))
            }
            None => Ok(format!(
                "{token_url} is iMIS's token endpoint (no service account configured: profiles \
                 are read with each member's own token)"
            )),
        }
    }

    fn can_look_up(&self) -> bool {
        self.service.is_some()
    }

    fn share_tokens(&self, shared: Arc<crate::shared::SharedState>) {
        let _ = self.shared.set(shared);
    }

    fn kind(&self) -> &'static str {
        UPSTREAM
    }

    fn upstream(&self) -> Option<&UpstreamHealth> {
        Some(&self.health)
    }
}
