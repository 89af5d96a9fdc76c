//! `GET /login` and `POST /login`: the remote login URL.
//!
//! GET: with a valid bridge session, mint a fresh JWT and answer the delivery page; without,
//! remember where Zendesk was sending the member (in a sealed cookie) and show the form.
//! POST: check the form came from our page (CSRF token + `Sec-Fetch-Site`), authenticate with
//! the member directory, admit the member, start a new session, deliver the JWT.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tracing_actix_web::RequestId;

use crate::clock::unix_now;
use crate::signin::{self, Attempt, Failure, Granted, Identity, SignInMethod, Way};
use crate::web::AppState;
use crate::web::deliveries::Deliveries;
use crate::web::i18n::Lang;
use crate::web::pages::{self, DeliveryPage, LoginPage, MemberPages, MessagePage, TokenText};
use crate::web::session::{
    Destination, LOGIN_COOKIE, LOGIN_STATE_TTL, LoginState, SESSION_COOKIE, new_token,
};
use crate::web::throttle::client_ip;
use crate::web::{imis_sso, verify};

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

/// The status of the page that ends a sign-in with `failure`.
pub fn status_of(failure: &Failure) -> StatusCode {
    use crate::zendesk::safety::Denial;
    match failure {
        Failure::BadRequest | Failure::MissingCredentials | Failure::WrongCode => {
            StatusCode::BAD_REQUEST
        }
        Failure::CodeExpired
        | Failure::HandOffExpired
        | Failure::HandOffUnsolicited
        | Failure::HandOffForeignOrigin => StatusCode::FORBIDDEN,
        Failure::VerificationNeeded(_) => StatusCode::OK,
        Failure::InvalidCredentials => StatusCode::UNAUTHORIZED,
        Failure::FormExpired { .. } | Failure::Refused(_) | Failure::PolicyDenied { .. } => {
            StatusCode::FORBIDDEN
        }
        Failure::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
        Failure::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Denied {
            denial: Denial::ZendeskUnavailable | Denial::ZendeskConfigUnsafe,
            ..
        } => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Denied { .. } => StatusCode::FORBIDDEN,
        Failure::MemberSystemUnavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        Failure::Unexpected { .. } => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The member's page for `failure`, in `lang`; the log gets the cause chain under the error id.
pub fn failure_page(failure: &Failure, pages: &MemberPages, lang: Lang) -> HttpResponse {
    let status = status_of(failure);
    let page = match failure {
        Failure::BadRequest | Failure::MissingCredentials | Failure::InvalidCredentials => {
            MessagePage::bad_request()
        }
        Failure::FormExpired { .. } => MessagePage::form_expired(),
        Failure::WrongCode | Failure::CodeExpired | Failure::VerificationNeeded(_) => {
            MessagePage::code_expired()
        }
        Failure::HandOffExpired => MessagePage::hand_off_expired(),
        Failure::HandOffUnsolicited | Failure::HandOffForeignOrigin => {
            MessagePage::hand_off_unsolicited()
        }
        Failure::Refused(refusal) => MessagePage::refused(*refusal),
        Failure::PolicyDenied { message } => MessagePage::policy_denied(message.clone()),
        Failure::Throttled { retry_after } => {
            let minutes = retry_after.as_secs().div_ceil(60).max(1);
            let mut response = pages.message(status, lang, &MessagePage::throttled(minutes));
            if let Ok(value) = HeaderValue::from_str(&retry_after.as_secs().max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return response;
        }
        Failure::Busy => {
            let mut response = pages.message(status, lang, &MessagePage::busy());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            return response;
        }
        Failure::Denied { denial, error_id } => MessagePage::denied(*denial, error_id),
        Failure::MemberSystemUnavailable { error_id, source } => {
            tracing::error!(error_id = %error_id, error = format!("{source:#}"), "member system unavailable");
            MessagePage::unavailable(error_id)
        }
        Failure::Unexpected { error_id, source } => {
            tracing::error!(error_id = %error_id, error = format!("{source:#}"), "unexpected error");
            MessagePage::unexpected(error_id)
        }
    };
    pages.message(status, lang, &page)
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
    if let Some(deliveries) = Deliveries::recent(&state.cookies, &req)
        && deliveries.is_loop(unix_now())
    {
        // Zendesk keeps sending this browser back: stop before minting or redirecting again.
        let member_id = state.open_session(&req).await.map(|s| s.member.id);
        state
            .signin
            .audit
            .redirect_loop(request_id, member_id.as_deref());
        let page = MessagePage::redirect_loop(&state.zendesk_base);
        return state.pages.message(StatusCode::LOOP_DETECTED, lang, &page);
    }
    if let Some(session) = state.open_session(&req).await {
        let attempt = Attempt {
            state: &state.signin,
            request_id,
            way: Way::Session,
            locale_id: destination.locale_id.as_deref(),
        };
        let result = signin::run(attempt, async { Ok(Identity::Session(session)) }).await;
        return match result {
            Ok(granted) => signed_in(&req, &state, lang, granted, &destination),
            Err(Failure::VerificationNeeded(link)) => {
                Box::pin(verify::start(
                    &state,
                    lang,
                    request_id,
                    *link,
                    Way::Session,
                    destination,
                ))
                .await
            }
            Err(failure) => {
                // A session that no longer admits its member is over.
                let mut response = failure_page(&failure, &state.pages, lang);
                let _ = response.add_cookie(&state.cookies.removal(SESSION_COOKIE));
                response
            }
        };
    }
    if state.sign_in_method == SignInMethod::ImisSso {
        return imis_sso::start(&state, lang, destination);
    }
    show_form(&state, destination, previous, lang)
        .unwrap_or_else(|failure| failure_page(&failure, &state.pages, lang))
}

fn show_form(
    state: &AppState,
    destination: Destination,
    previous: Option<LoginState>,
    lang: Lang,
) -> Result<HttpResponse, Failure> {
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
    let destination = login_state
        .as_ref()
        .map(|s| s.destination.clone())
        .unwrap_or_default();
    let lang = state.pages.lang(&req, destination.locale_id.as_deref());
    let form = form.into_inner();
    let username = form.username.trim().to_owned();
    let attempt = Attempt {
        state: &state.signin,
        request_id,
        way: Way::Password,
        locale_id: destination.locale_id.as_deref(),
    };
    let identify = by_password(&req, &state, form, login_state.as_ref());
    // Boxed, like the rest of the pipeline (`signin::run`): a sign-in waiting for its place
    // holds a few KiB, so a flood of them stays cheap.
    match Box::pin(signin::run(attempt, identify)).await {
        Ok(granted) => {
            let mut response = signed_in(&req, &state, lang, granted, &destination);
            let _ = response.add_cookie(&state.cookies.removal(LOGIN_COOKIE));
            response
        }
        Err(Failure::VerificationNeeded(link)) => {
            Box::pin(verify::start(
                &state,
                lang,
                request_id,
                *link,
                Way::Password,
                destination,
            ))
            .await
        }
        Err(failure @ (Failure::InvalidCredentials | Failure::MissingCredentials)) => {
            let message = match failure {
                Failure::InvalidCredentials => pages::WRONG_CREDENTIALS,
                _ => pages::MISSING_CREDENTIALS,
            };
            let token = login_state.map(|s| s.csrf_token).unwrap_or_default();
            login_form(
                &state,
                lang,
                status_of(&failure),
                &token,
                &username,
                Some(message),
            )
        }
        Err(failure) => failure_page(&failure, &state.pages, lang),
    }
}

/// The password way in: the form came from our page, the limits allow it, and the member
/// directory accepts the password.
async fn by_password(
    req: &HttpRequest,
    state: &AppState,
    form: LoginForm,
    login_state: Option<&LoginState>,
) -> Result<Identity, Failure> {
    let login_state = login_state.ok_or(Failure::FormExpired { forged: false })?;
    let token_matches: bool = form
        .csrf_token
        .as_bytes()
        .ct_eq(login_state.csrf_token.as_bytes())
        .into();
    if !token_matches || is_cross_site(req, &state.public_origin) {
        return Err(Failure::FormExpired { forged: true });
    }
    let username = form.username.trim();
    let password = form.password.filter(|p| !p.expose_secret().is_empty());
    let (Some(password), false) = (password, username.is_empty()) else {
        return Err(Failure::MissingCredentials);
    };
    if username.len() > MAX_USERNAME_LEN
        || password.expose_secret().len() > MAX_PASSWORD_LEN
        || username.chars().any(char::is_control)
        || password.expose_secret().contains('\0')
    {
        return Err(Failure::BadRequest);
    }
    // Look-alike spellings are one user name; one that hides invisible characters is none.
    if crate::canonical::user_name(username).is_none() {
        return Err(Failure::BadRequest);
    }
    let ip = client_ip(req, &state.trusted_proxies);
    let reservation = state.throttle.reserve(ip, Some(username)).await?;
    if !reservation.pause.is_zero() {
        tokio::time::sleep(reservation.pause).await;
    }
    match state
        .signin
        .directory
        .authenticate(username, &password)
        .await
    {
        Ok(profile) => {
            reservation.succeeded().await;
            Ok(Identity::Profile {
                profile,
                username: username.to_owned(),
            })
        }
        Err(error) => {
            let failure = Failure::from_directory(error);
            // Only a refused password stays counted.
            match failure {
                Failure::InvalidCredentials => reservation.failed().await,
                _ => reservation.not_counted().await,
            }
            Err(failure)
        }
    }
}

/// The delivery page for a granted sign-in, with the session cookie when it changed and the
/// record of this delivery (see [`crate::web::deliveries`]).
pub fn signed_in(
    req: &HttpRequest,
    state: &AppState,
    lang: Lang,
    granted: Granted,
    destination: &Destination,
) -> HttpResponse {
    let result = deliver(state, lang, &granted.jwt, destination.return_to.as_deref()).and_then(
        |mut response| {
            let delivered = Deliveries::record(&state.cookies, req)?;
            response
                .add_cookie(&delivered)
                .map_err(anyhow::Error::from)?;
            if granted.session_changed {
                let cookie =
                    state
                        .cookies
                        .seal(SESSION_COOKIE, &granted.session, state.session_ttl)?;
                response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
            }
            Ok(response)
        },
    );
    result.unwrap_or_else(|failure| failure_page(&failure, &state.pages, lang))
}

/// A browser that says the form was posted from another site is refused, whatever the token:
/// by `Sec-Fetch-Site`, or — for browsers that do not send it — by an `Origin` that is neither
/// `PUBLIC_URL`'s nor the request's own host (`Origin: null`, sent from sandboxed or
/// privacy-redirected pages, counts as foreign). A request without either header is judged by
/// the CSRF token alone.
pub fn is_cross_site(req: &HttpRequest, public_origin: &str) -> bool {
    let headers = req.headers();
    if let Some(site) = headers.get("sec-fetch-site") {
        // The browser's own word on where the form came from.
        return site
            .to_str()
            .map_or(true, |site| !matches!(site, "same-origin" | "none"));
    }
    let Some(origin) = headers.get(actix_web::http::header::ORIGIN) else {
        return false;
    };
    let origin = origin.to_str().unwrap_or_default().trim();
    let own_host = req.connection_info().host().to_ascii_lowercase();
    let ours = origin.eq_ignore_ascii_case(public_origin)
        || url::Url::parse(origin).is_ok_and(|o| {
            o.host_str().is_some_and(|host| {
                let with_port = match o.port() {
                    Some(port) => format!("{host}:{port}"),
                    None => host.to_owned(),
                };
                with_port.eq_ignore_ascii_case(&own_host)
            })
        });
    !ours
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
            member_site: state.sign_in_method == SignInMethod::Both,
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
    jwt: &str,
    return_to: Option<&str>,
) -> Result<HttpResponse, Failure> {
    let jwt = TokenText::new(jwt)
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
        Some(state) => failure_page(
            &Failure::BadRequest,
            &state.pages,
            state.pages.lang(req, None),
        ),
        None => HttpResponse::BadRequest().finish(),
    };
    actix_web::error::InternalError::from_response(err, response).into()
}
