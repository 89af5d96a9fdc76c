//! `GET /logout`: Zendesk's remote logout URL.
//!
//! Three visits look alike and must not be confused: Zendesk reporting a JWT error
//! (`kind=error&message=...`: show it escaped, audit it, never bounce back into login — but only
//! for a browser the bridge sent to Zendesk moments before, since anyone can craft the link), a normal
//! sign-out (Zendesk adds `email`, `external_id`, `brand_id`, `return_to`), and a direct visit.
//! All of them end the bridge session.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tracing_actix_web::RequestId;

use crate::members::clean_text;
use crate::web::AppState;
use crate::web::deliveries::{DELIVERIES_COOKIE, Deliveries};
use crate::web::i18n::Lang;
use crate::web::pages::MessagePage;
use crate::web::session::{LOGIN_COOKIE, SESSION_COOKIE, Session};

/// Zendesk's message is shown and logged only up to this many characters.
const MAX_MESSAGE_CHARS: usize = 500;

#[derive(Debug, Deserialize)]
pub struct LogoutQuery {
    kind: Option<String>,
    message: Option<String>,
    return_to: Option<String>,
}

pub async fn logout(
    req: HttpRequest,
    query: Option<web::Query<LogoutQuery>>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let query = query.map(web::Query::into_inner);
    // Zendesk sends no locale here: the browser's languages decide.
    let lang = state.pages.lang(&req, None);
    let session = state.cookies.open::<Session>(&req, SESSION_COOKIE);
    if let Some(session) = &session {
        // Copies of this cookie, wherever they are, sign nobody in any more.
        state.shared.revoke(&session.sid, state.session_ttl).await;
    }
    let member_id = session.map(|s| s.member.id);
    // Only a browser we sent to Zendesk moments ago can be carrying Zendesk's refusal.
    let delivered = Deliveries::recent(&state.cookies, &req).is_some();
    let mut response = match query {
        Some(LogoutQuery {
            kind: Some(kind),
            message,
            ..
        }) if kind == "error" => {
            zendesk_error(&state, lang, request_id, message.as_deref(), delivered)
        }
        other => {
            state
                .signin
                .audit
                .sign_out(request_id, member_id.as_deref());
            // Signing out of the help centre signs out of the member site too.
            match &state.imis_logout_url {
                Some(single_logout) => HttpResponse::SeeOther()
                    .insert_header((actix_web::http::header::LOCATION, single_logout.as_str()))
                    .finish(),
                None => signed_out_page(&state, lang, other),
            }
        }
    };
    for name in [SESSION_COOKIE, LOGIN_COOKIE, DELIVERIES_COOKIE] {
        // Adding a well-formed cookie cannot fail.
        let _ = response.add_cookie(&state.cookies.removal(name));
    }
    response
}

/// Zendesk's refusal, quoted and audited, when this browser was just sent to Zendesk by us;
/// otherwise a neutral page, neither quoted nor counted.
fn zendesk_error(
    state: &AppState,
    lang: Lang,
    request_id: RequestId,
    message: Option<&str>,
    delivered: bool,
) -> HttpResponse {
    if !delivered {
        state.signin.audit.unverified_zendesk_error(request_id);
        let page = MessagePage::zendesk_error_unverified();
        return state.pages.message(StatusCode::OK, lang, &page);
    }
    let message: String = clean_text(message.unwrap_or_default())
        .chars()
        .take(MAX_MESSAGE_CHARS)
        .collect();
    // The audit log is in English; the member reads their own language.
    let (logged, shown) = match message.is_empty() {
        true => (
            "(Zendesk gave no reason)",
            state
                .pages
                .texts(lang)
                .get("zendesk-error-no-reason")
                .to_owned(),
        ),
        false => (message.as_str(), message.clone()),
    };
    state.signin.audit.zendesk_refused(request_id, logged);
    state.pages.message(
        StatusCode::OK,
        lang,
        &MessagePage::zendesk_error(shown, &state.zendesk_base),
    )
}

/// "You are signed out", with a link back to where Zendesk said the member was.
fn signed_out_page(state: &AppState, lang: Lang, query: Option<LogoutQuery>) -> HttpResponse {
    let back = query
        .and_then(|q| q.return_to)
        .and_then(|r| state.return_to.check(&r).ok())
        .map(|r| match r.starts_with('/') {
            true => format!("{}{r}", state.zendesk_base),
            false => r,
        })
        .unwrap_or_else(|| format!("{}/hc", state.zendesk_base));
    state
        .pages
        .message(StatusCode::OK, lang, &MessagePage::signed_out(back))
}
