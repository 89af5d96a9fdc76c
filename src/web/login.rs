//! `GET /login` and `POST /login`: the remote login URL.
//!
//! GET: with a valid bridge session, mint a fresh JWT and answer the delivery page; without,
//! remember where Zendesk was sending the member (in a sealed cookie) and show the form.
//! POST: check the form came from our page (CSRF token + `Sec-Fetch-Site`), authenticate with
//! the member directory, admit the member, start a new session, deliver the JWT.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tracing_actix_web::RequestId;
use uuid::Uuid;

use crate::audit::Outcome;
use crate::members::{DirectoryError, Member, Refusal};
use crate::policy::PolicyRefusal;
use crate::web::i18n::Lang;
use crate::web::pages::{self, DeliveryPage, LoginPage, MemberPages, MessagePage, TokenText};
use crate::web::session::{
    Destination, LOGIN_COOKIE, LOGIN_STATE_TTL, LoginState, SESSION_COOKIE, Session, new_token,
};
use crate::web::throttle::{Gate, client_ip};
use crate::web::{AppState, error_id};
use crate::zendesk::safety::Denial;

const MAX_USERNAME_LEN: usize = 256;
const MAX_PASSWORD_LEN: usize = 1024;

/// What Zendesk appends to the remote login URL. `timestamp` is ignored on purpose (never `iat`).
#[derive(Debug, Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
    brand_id: Option<String>,
    locale_id: Option<String>,
}

impl LoginQuery {
    fn is_empty(&self) -> bool {
        self.return_to.is_none() && self.brand_id.is_none() && self.locale_id.is_none()
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    password: Option<SecretString>,
    #[serde(default)]
    csrf_token: String,
}

/// Why a sign-in request ended without a delivery page.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("the request could not be read")]
    BadRequest,
    #[error("the sign-in form expired or did not come from our page")]
    FormExpired,
    #[error("sign-in refused: {0}")]
    Refused(Refusal),
    #[error("sign-in refused by the access policy")]
    PolicyDenied { message: Option<String> },
    #[error("too many failed sign-ins; retry after {retry_after:?}")]
    Throttled { retry_after: Duration },
    #[error("sign-in refused by an account-safety rule: {denial} (error id {error_id})")]
    Denied { denial: Denial, error_id: String },
    #[error("the member system is unavailable (error id {error_id})")]
    MemberSystemUnavailable {
        error_id: String,
        #[source]
        source: anyhow::Error,
    },
    #[error("unexpected error (error id {error_id})")]
    Unexpected {
        error_id: String,
        #[source]
        source: anyhow::Error,
    },
}

impl From<anyhow::Error> for LoginError {
    fn from(source: anyhow::Error) -> Self {
        LoginError::Unexpected {
            error_id: error_id(),
            source,
        }
    }
}

// Not an `actix_web::ResponseError`: the page needs the request's language, so the handlers
// turn an error into its page themselves (`respond`).
impl LoginError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            LoginError::BadRequest => StatusCode::BAD_REQUEST,
            LoginError::FormExpired | LoginError::Refused(_) => StatusCode::FORBIDDEN,
            LoginError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            LoginError::PolicyDenied { .. } => StatusCode::FORBIDDEN,
            LoginError::Denied {
                denial: Denial::ZendeskUnavailable | Denial::ZendeskConfigUnsafe,
                ..
            } => StatusCode::SERVICE_UNAVAILABLE,
            LoginError::Denied { .. } => StatusCode::FORBIDDEN,
            LoginError::MemberSystemUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            LoginError::Unexpected { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The member's page for this error, in `lang`.
    pub fn respond(&self, pages: &MemberPages, lang: Lang) -> HttpResponse {
        let page = match self {
            LoginError::BadRequest => MessagePage::bad_request(),
            LoginError::FormExpired => MessagePage::form_expired(),
            LoginError::Refused(refusal) => MessagePage::refused(*refusal),
            LoginError::PolicyDenied { message } => MessagePage::policy_denied(message.clone()),
            LoginError::Throttled { retry_after } => {
                let minutes = retry_after.as_secs().div_ceil(60).max(1);
                let mut response =
                    pages.message(self.status_code(), lang, &MessagePage::throttled(minutes));
                if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string())
                {
                    response.headers_mut().insert(header::RETRY_AFTER, value);
                }
                return response;
            }
            LoginError::Denied { denial, error_id } => MessagePage::denied(*denial, error_id),
            LoginError::MemberSystemUnavailable { error_id, source } => {
                tracing::error!(error_id = %error_id, error = format!("{source:#}"), "member system unavailable");
                MessagePage::unavailable(error_id)
            }
            LoginError::Unexpected { error_id, source } => {
                tracing::error!(error_id = %error_id, error = format!("{source:#}"), "unexpected error");
                MessagePage::unexpected(error_id)
            }
        };
        pages.message(self.status_code(), lang, &page)
    }
}

/// `GET /login`.
pub async fn show(
    req: HttpRequest,
    query: web::Query<LoginQuery>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let query = query.into_inner();
    let previous = state.cookies.open::<LoginState>(&req, LOGIN_COOKIE);
    // A bare `/login` ("start signing in again") keeps where the member was going.
    let destination = match (&previous, query.is_empty()) {
        (Some(previous), true) => previous.destination.clone(),
        _ => destination(&state, query),
    };
    let lang = state.pages.lang(&req, destination.locale_id.as_deref());
    show_page(&req, &state, request_id, destination, previous, lang)
        .unwrap_or_else(|error| error.respond(&state.pages, lang))
}

fn show_page(
    req: &HttpRequest,
    state: &AppState,
    request_id: RequestId,
    destination: Destination,
    previous: Option<LoginState>,
    lang: Lang,
) -> Result<HttpResponse, LoginError> {
    if let Some(mut session) = state.cookies.open::<Session>(req, SESSION_COOKIE) {
        state
            .policy
            .apply_locale(&mut session.member, destination.locale_id.as_deref());
        let response = deliver(
            state,
            lang,
            &session.member,
            destination.return_to.as_deref(),
        )?;
        state.audit.sign_in(
            request_id,
            Outcome::Success,
            "session",
            Some(&session.member.id),
            None,
        );
        return Ok(response);
    }
    // Keep the token of an attempt already under way, so a second tab does not void the first.
    let csrf_token = match previous {
        Some(previous) => previous.csrf_token,
        None => new_token()?,
    };
    let login_state = LoginState {
        csrf_token,
        destination,
    };
    let cookie = state
        .cookies
        .seal(LOGIN_COOKIE, &login_state, LOGIN_STATE_TTL)?;
    let mut response = login_form(
        state,
        lang,
        StatusCode::OK,
        &login_state.csrf_token,
        "",
        None,
    );
    response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
    Ok(response)
}

/// `POST /login`.
pub async fn submit(
    req: HttpRequest,
    form: web::Form<LoginForm>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let login_state = state.cookies.open::<LoginState>(&req, LOGIN_COOKIE);
    let locale_id = login_state
        .as_ref()
        .and_then(|s| s.destination.locale_id.as_deref());
    let lang = state.pages.lang(&req, locale_id);
    sign_in(
        &req,
        form.into_inner(),
        &state,
        request_id,
        login_state,
        lang,
    )
    .await
    .unwrap_or_else(|error| error.respond(&state.pages, lang))
}

async fn sign_in(
    req: &HttpRequest,
    form: LoginForm,
    state: &AppState,
    request_id: RequestId,
    login_state: Option<LoginState>,
    lang: Lang,
) -> Result<HttpResponse, LoginError> {
    let Some(login_state) = login_state else {
        state
            .audit
            .sign_in(request_id, Outcome::Failed, "form_expired", None, None);
        return Err(LoginError::FormExpired);
    };
    let token_matches: bool = form
        .csrf_token
        .as_bytes()
        .ct_eq(login_state.csrf_token.as_bytes())
        .into();
    if !token_matches || is_cross_site(req) {
        state
            .audit
            .sign_in(request_id, Outcome::Failed, "csrf", None, None);
        return Err(LoginError::FormExpired);
    }

    let username = form.username.trim();
    let password = form.password.filter(|p| !p.expose_secret().is_empty());
    let (Some(password), false) = (password, username.is_empty()) else {
        return Ok(login_form(
            state,
            lang,
            StatusCode::BAD_REQUEST,
            &login_state.csrf_token,
            username,
            Some(pages::MISSING_CREDENTIALS),
        ));
    };
    if username.len() > MAX_USERNAME_LEN
        || password.expose_secret().len() > MAX_PASSWORD_LEN
        || username.chars().any(char::is_control)
        || password.expose_secret().contains('\0')
    {
        state
            .audit
            .sign_in(request_id, Outcome::Failed, "malformed_form", None, None);
        return Err(LoginError::BadRequest);
    }

    let ip = client_ip(req, &state.trusted_proxies);
    match state.throttle.gate(ip, username) {
        Gate::Open => {}
        Gate::Slow(pause) => tokio::time::sleep(pause).await,
        Gate::Closed { retry_after } => {
            state
                .audit
                .sign_in(request_id, Outcome::Failed, "throttled", None, None);
            return Err(LoginError::Throttled { retry_after });
        }
    }

    let profile = match state.directory.authenticate(username, &password).await {
        Ok(profile) => profile,
        Err(DirectoryError::InvalidCredentials) => {
            state.throttle.failed(ip, username);
            state.audit.sign_in(
                request_id,
                Outcome::Failed,
                "invalid_credentials",
                None,
                None,
            );
            return Ok(login_form(
                state,
                lang,
                StatusCode::UNAUTHORIZED,
                &login_state.csrf_token,
                username,
                Some(pages::WRONG_CREDENTIALS),
            ));
        }
        Err(DirectoryError::Refused(refusal)) => {
            state
                .audit
                .sign_in(request_id, Outcome::Denied, refusal.reason(), None, None);
            return Err(LoginError::Refused(refusal));
        }
        Err(DirectoryError::Unavailable(source)) => {
            let error_id = error_id();
            state.audit.sign_in(
                request_id,
                Outcome::Failed,
                "member_system_unavailable",
                None,
                Some(&error_id),
            );
            return Err(LoginError::MemberSystemUnavailable { error_id, source });
        }
    };
    let member_id = profile.id.clone();
    let locale = login_state.destination.locale_id.as_deref();
    let member = match state.policy.admit(profile, locale) {
        Ok(member) => member,
        Err(PolicyRefusal::Base(refusal)) => {
            state.audit.sign_in(
                request_id,
                Outcome::Denied,
                refusal.reason(),
                Some(&member_id),
                None,
            );
            return Err(LoginError::Refused(refusal));
        }
        Err(PolicyRefusal::Denied { rule, message }) => {
            state.audit.sign_in(
                request_id,
                Outcome::Denied,
                "policy",
                Some(&member_id),
                None,
            );
            tracing::info!(target: "audit", event = "policy_decision", member_id = %member_id, rule = %rule, request_id = %request_id, "denied by the access policy");
            return Err(LoginError::PolicyDenied { message });
        }
    };

    match state.safety.check(&member).await {
        Ok(allowed) => {
            if allowed.email_changed {
                state
                    .audit
                    .email_changed(request_id, &member.id, allowed.zendesk_user_id);
            }
            if allowed.degraded {
                tracing::warn!(
                    target: "audit",
                    event = "safety_degraded",
                    member_id = %member.id,
                    request_id = %request_id,
                    "Zendesk API unreachable: allowed on a recent match (SAFETY_CHECKS=degraded)"
                );
            }
        }
        Err(denial) => {
            let error_id = error_id();
            state.audit.sign_in(
                request_id,
                Outcome::Denied,
                denial.reason(),
                Some(&member.id),
                Some(&error_id),
            );
            state.metrics.safety_denial(denial.reason());
            return Err(LoginError::Denied { denial, error_id });
        }
    }

    let mut response = deliver(
        state,
        lang,
        &member,
        login_state.destination.return_to.as_deref(),
    )?;
    let session = Session {
        sid: Uuid::new_v4(),
        member,
    };
    let session_cookie = state
        .cookies
        .seal(SESSION_COOKIE, &session, state.session_ttl)?;
    response
        .add_cookie(&session_cookie)
        .map_err(anyhow::Error::from)?;
    response
        .add_cookie(&state.cookies.removal(LOGIN_COOKIE))
        .map_err(anyhow::Error::from)?;
    state.throttle.succeeded(username);
    state.audit.sign_in(
        request_id,
        Outcome::Success,
        "password",
        Some(&session.member.id),
        None,
    );
    Ok(response)
}

/// A browser that says the form was posted from another site is refused, whatever the token.
fn is_cross_site(req: &HttpRequest) -> bool {
    req.headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"))
}

/// Validates what Zendesk sent; anything doubtful is dropped and logged, never forwarded.
fn destination(state: &AppState, query: LoginQuery) -> Destination {
    let return_to = query.return_to.filter(|r| !r.is_empty()).and_then(|raw| {
        match state.return_to.check(&raw) {
            Ok(kept) => Some(kept),
            Err(why) => {
                tracing::warn!(
                    target: "audit",
                    event = "return_to_rejected",
                    reason = why.reason(),
                    detail = %why,
                    "return_to dropped"
                );
                None
            }
        }
    });
    let id_like = |v: &String, max: usize| {
        v.len() <= max
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    Destination {
        return_to,
        brand_id: query.brand_id.filter(|v| !v.is_empty() && id_like(v, 20)),
        locale_id: query.locale_id.filter(|v| !v.is_empty() && id_like(v, 16)),
    }
}

fn login_form(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    csrf_token: &str,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let username: String = username.chars().take(MAX_USERNAME_LEN).collect();
    pages::html(
        status,
        &LoginPage {
            chrome: state.pages.chrome(lang),
            csrf_token,
            username: &username,
            error,
        },
    )
}

/// The page whose form posts a freshly minted JWT to Zendesk.
fn deliver(
    state: &AppState,
    lang: Lang,
    member: &Member,
    return_to: Option<&str>,
) -> Result<HttpResponse, LoginError> {
    let jwt = state
        .jwt
        .mint(member)
        .map_err(|e| anyhow::Error::new(e).context("signing the Zendesk JWT"))?;
    let jwt = TokenText::new(&jwt)
        .ok_or_else(|| anyhow::anyhow!("the signed Zendesk JWT is not base64url text"))?;
    let mut response = pages::ok(&DeliveryPage {
        chrome: state.pages.chrome(lang),
        action: &state.jwt_endpoint,
        jwt,
        return_to,
    });
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, state.delivery_csp.clone());
    Ok(response)
}

/// Turns unreadable queries and forms into the friendly 400 page, in the member's language.
pub fn bad_request(
    err: impl std::fmt::Display + std::fmt::Debug + 'static,
    req: &HttpRequest,
) -> actix_web::Error {
    tracing::info!(error = %err, "unreadable request");
    let response = match req.app_data::<web::Data<AppState>>() {
        Some(state) => LoginError::BadRequest.respond(&state.pages, state.pages.lang(req, None)),
        None => HttpResponse::BadRequest().finish(),
    };
    actix_web::error::InternalError::from_response(err, response).into()
}
