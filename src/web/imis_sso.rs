//! Single sign-on with the member site (`SIGN_IN_METHOD=imis_sso` or `both`).
//!
//! [`start`] remembers where Zendesk was sending the member in a sealed, short-lived cookie and
//! sends the browser to iMIS's page holding the Single Sign-On content item. iMIS signs the
//! member in on its own page if needed, then its content item POSTs `refresh_token` to
//! `POST /imis/sso` ([`hand_off`]): a cross-site top-level POST with no `state`, so the journey
//! cookie is `SameSite=None; Secure` and scoped to `/imis/sso`, and it is used once. Its `Origin`
//! must be the member site's ([`SsoClient::accepts_origin`]), so a page elsewhere cannot post its
//! own refresh token into a journey this browser started. The exchanged member then goes through
//! the one sign-in pipeline like any other.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tracing_actix_web::RequestId;
use uuid::Uuid;

use crate::members::imis::sso::{Grant, HandOffError, SsoClient};
use crate::signin::{self, Attempt, Failure, Identity, Way};
use crate::web::AppState;
use crate::web::i18n::Lang;
use crate::web::login::{failure_page, signed_in};
use crate::web::pages::MessagePage;
use crate::web::session::Destination;
use crate::web::throttle::client_ip;

pub const JOURNEY_COOKIE: &str = "zsb_sso";
const JOURNEY_PATH: &str = "/imis/sso";
/// How long a member may take on the member site's sign-in page.
pub const JOURNEY_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// A refresh token is an opaque string of a few hundred characters at most.
const MAX_REFRESH_TOKEN_LEN: usize = 4096;
/// How much of a refused `Origin` the admin's log line shows.
const MAX_LOGGED_ORIGIN_LEN: usize = 200;

/// A journey the bridge started: where the member was going, and its one-use id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Journey {
    pub id: Uuid,
    pub destination: Destination,
}

/// The hand-off's one field. iMIS's content item may post it URL-encoded or as
/// `multipart/form-data` (receivers that read `$_POST['refresh_token']` take both): both are read.
#[derive(Deserialize)]
pub struct HandOffForm {
    refresh_token: Option<SecretString>,
}

/// The most a hand-off body may hold, in either encoding.
const MAX_HAND_OFF_BYTES: usize = 16 * 1024;

impl actix_web::FromRequest for HandOffForm {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        let multipart = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| {
                t.trim()
                    .to_ascii_lowercase()
                    .starts_with("multipart/form-data")
            });
        if !multipart {
            let form = web::Form::<HandOffForm>::from_request(req, payload);
            return Box::pin(async move { Ok(form.await?.into_inner()) });
        }
        let parts = actix_multipart::Multipart::new(req.headers(), payload.take());
        let req = req.clone();
        Box::pin(async move {
            read_multipart(parts)
                .await
                .map_err(|why| crate::web::login::bad_request(why, &req))
        })
    }
}

/// `refresh_token` from a multipart body, bounded like a URL-encoded one.
async fn read_multipart(mut parts: actix_multipart::Multipart) -> Result<HandOffForm, String> {
    use futures_util::StreamExt;
    let (mut token, mut total) = (None, 0usize);
    while let Some(field) = parts.next().await {
        let mut field = field.map_err(|e| format!("unreadable multipart body: {e}"))?;
        let wanted = field.name() == Some("refresh_token");
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| format!("unreadable multipart body: {e}"))?;
            total += chunk.len();
            if total > MAX_HAND_OFF_BYTES {
                return Err("the multipart hand-off is larger than 16 KiB".into());
            }
            if wanted {
                value.extend_from_slice(&chunk);
            }
        }
        if wanted {
            let text = String::from_utf8(value).map_err(|_| "refresh_token is not UTF-8")?;
            token = Some(SecretString::from(text));
        }
    }
    Ok(HandOffForm {
        refresh_token: token,
    })
}

/// `GET /imis/sso`: iMIS may check that the client application's redirect URL answers; a
/// member who lands here by a GET is pointed to the start.
pub async fn probe(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.sso.is_none() {
        return crate::web::landing::not_found(req, state).await;
    }
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Help centre \
             sign-in</title></head><body><p>This address receives members from the member site's \
             sign-in. To sign in to the help centre, <a href=\"/login\">start here</a>.</p>\
             </body></html>",
        )
}

/// What a hand-off request says about where it came from.
struct Provenance<'a> {
    /// It carried the journey cookie of a journey this bridge started (and not yet used).
    solicited: bool,
    /// Its `Origin` header; `Some("")` when the header is not readable text.
    origin: Option<&'a str>,
}

/// Remembers the journey and sends the browser to the member site's SSO page.
pub fn start(state: &AppState, lang: Lang, destination: Destination) -> HttpResponse {
    let Some(sso) = &state.sso else {
        return failure_page(
            &Failure::from(anyhow::anyhow!("no IMIS_SSO_* settings")),
            &state.pages,
            lang,
        );
    };
    let journey = Journey {
        id: Uuid::new_v4(),
        destination,
    };
    let cookie = match state.cookies.seal(JOURNEY_COOKIE, &journey, JOURNEY_TTL) {
        Ok(cookie) => cross_site(cookie),
        Err(e) => return failure_page(&Failure::from(e), &state.pages, lang),
    };
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, sso.page_url().as_str()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish();
    let _ = response.add_cookie(&cookie);
    response
}

/// The journey cookie must come back on iMIS's cross-site POST: `SameSite=None` needs `Secure`
/// (browsers accept it on http://localhost too), and only `/imis/sso` ever sees it.
fn cross_site(mut cookie: Cookie<'static>) -> Cookie<'static> {
    cookie.set_same_site(SameSite::None);
    cookie.set_secure(true);
    // A `__Host-` cookie (https) must have `Path=/`.
    if !cookie.name().starts_with(crate::web::session::HOST_PREFIX) {
        cookie.set_path(JOURNEY_PATH);
    }
    cookie
}

/// `GET /login/sso`: "Sign in with your member account" (with `SIGN_IN_METHOD=both`).
pub async fn begin(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // Without single sign-on from the member site there is nothing here (not an error).
    if state.sso.is_none() {
        return crate::web::landing::not_found(req, state).await;
    }
    let previous = state
        .cookies
        .open::<crate::web::session::LoginState>(&req, crate::web::session::LOGIN_COOKIE);
    let destination = previous.map(|p| p.destination).unwrap_or_default();
    let lang = state.pages.lang(&req, destination.locale_id.as_deref());
    start(&state, lang, destination)
}

/// `POST /imis/sso`: the member site hands the member off.
pub async fn hand_off(
    req: HttpRequest,
    form: HandOffForm,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    if state.sso.is_none() {
        return crate::web::landing::not_found(req, state).await;
    }
    let journey = match state.cookies.open::<Journey>(&req, JOURNEY_COOKIE) {
        // Each journey hands off once, on whichever replica it arrives.
        Some(j) if state.shared.use_once("journey", &j.id, JOURNEY_TTL).await => Some(j),
        _ => None,
    };
    let destination = journey
        .as_ref()
        .map(|j| j.destination.clone())
        .unwrap_or_default();
    let lang = state.pages.lang(&req, destination.locale_id.as_deref());
    let attempt = Attempt {
        state: &state.signin,
        request_id,
        way: Way::MemberSite,
        locale_id: destination.locale_id.as_deref(),
    };
    let provenance = Provenance {
        solicited: journey.is_some(),
        origin: req
            .headers()
            .get(header::ORIGIN)
            .map(|v| v.to_str().unwrap_or_default()),
    };
    let identify = identify(&req, &state, form, provenance);
    let mut response = match signin::run(attempt, identify).await {
        Ok(granted) => signed_in(&req, &state, lang, granted, &destination),
        Err(failure) => hand_off_failure_page(&state, lang, &failure),
    };
    let _ = response.add_cookie(&cross_site(state.cookies.removal(JOURNEY_COOKIE)));
    response
}

/// The hand-off way in: a journey we started, within the limits, exchanged once with iMIS.
async fn identify(
    req: &HttpRequest,
    state: &AppState,
    form: HandOffForm,
    provenance: Provenance<'_>,
) -> Result<Identity, Failure> {
    let ip = client_ip(req, &state.trusted_proxies);
    let reservation = state.throttle.reserve(ip, None).await?;
    let exchanged = exchange(state, form, provenance).await;
    match &exchanged {
        Ok(_) => reservation.succeeded().await,
        // A refused hand-off stays counted against the address.
        Err(Failure::HandOffExpired) => reservation.failed().await,
        Err(_) => reservation.not_counted().await,
    }
    let grant = exchanged?;
    let (profile, username) = state
        .signin
        .directory
        .profile_for_grant(&grant)
        .await
        .map_err(Failure::from_directory)?;
    Ok(Identity::Profile { profile, username })
}

/// The refresh token of a hand-off we started, posted from the member site, exchanged once
/// with iMIS.
async fn exchange(
    state: &AppState,
    form: HandOffForm,
    provenance: Provenance<'_>,
) -> Result<Grant, Failure> {
    let sso = state
        .sso
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("no IMIS_SSO_* settings"))?;
    check_provenance(sso, &provenance)?;
    let token = form
        .refresh_token
        .filter(|t| !t.expose_secret().trim().is_empty())
        .filter(|t| t.expose_secret().len() <= MAX_REFRESH_TOKEN_LEN)
        .ok_or(Failure::BadRequest)?;
    match sso.exchange(&token).await {
        Ok(grant) => Ok(grant),
        Err(HandOffError::Expired) => Err(Failure::HandOffExpired),
        Err(e @ HandOffError::ClientRefused) => {
            tracing::error!(target: "audit", event = "imis_sso_client_refused", detail = %e, "iMIS refused IMIS_SSO_CLIENT_ID / IMIS_SSO_CLIENT_SECRET");
            Err(Failure::member_system_unavailable(anyhow::anyhow!(e)))
        }
        Err(HandOffError::Unavailable(e)) => Err(Failure::member_system_unavailable(e)),
        Err(HandOffError::Busy) => Err(Failure::Busy),
    }
}

/// A hand-off must come from the member site's page, in a journey this bridge started.
fn check_provenance(sso: &SsoClient, provenance: &Provenance<'_>) -> Result<(), Failure> {
    if !sso.accepts_origin(provenance.origin) {
        let origin = provenance.origin.unwrap_or_default();
        let shown: String = origin.chars().take(MAX_LOGGED_ORIGIN_LEN).collect();
        tracing::warn!(
            target: "audit",
            event = "imis_sso_foreign_origin",
            origin = %shown,
            allowed = %sso.allowed_origins().join(","),
            "a hand-off was posted from a page that is not the member site's and was refused; \
             if this origin is your member site's, add it to IMIS_SSO_ALLOWED_ORIGINS"
        );
        return Err(Failure::HandOffForeignOrigin);
    }
    if !provenance.solicited {
        return Err(Failure::HandOffUnsolicited);
    }
    Ok(())
}

fn hand_off_failure_page(state: &AppState, lang: Lang, failure: &Failure) -> HttpResponse {
    match failure {
        Failure::HandOffExpired => state.pages.message(
            StatusCode::FORBIDDEN,
            lang,
            &MessagePage::hand_off_expired(),
        ),
        Failure::HandOffUnsolicited | Failure::HandOffForeignOrigin => state.pages.message(
            StatusCode::FORBIDDEN,
            lang,
            &MessagePage::hand_off_unsolicited(),
        ),
        other => failure_page(other, &state.pages, lang),
    }
}
