//! `POST /login/verify`: the code that proves a member owns their address before their first
//! link to an existing, unlinked Zendesk end user (`UNLINKED_END_USERS=verify`).
//!
//! The sign-in that needed it started the verification ([`start`]): the code went to the
//! member's address, and a sealed cookie remembers which verification this browser is in, with
//! its own CSRF token and where the member was going. Entering the code runs the pipeline again
//! for the same member (safety rules included), now with the proof.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tracing_actix_web::RequestId;

use crate::audit::redact_emails;
use crate::mail::Mail;
use crate::signin::verify::{CODE_TTL, Confirmation, PendingLink};
use crate::signin::{self, Attempt, Failure, Identity, Way};
use crate::web::i18n::Lang;
use crate::web::login::{failure_page, is_cross_site, signed_in};
use crate::web::pages::{self, MessagePage, VerifyPage};
use crate::web::session::{Destination, LOGIN_COOKIE, new_token};
use crate::web::{AppState, error_id};

pub const VERIFY_COOKIE: &str = "zsb_verify";

/// The verification this browser is in.
#[derive(Serialize, Deserialize)]
struct VerifyState {
    id: String,
    csrf_token: String,
    /// The masked address the code went to, for the page.
    sent_to: String,
    way: Way,
    destination: Destination,
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    csrf_token: String,
}

/// Mails a code for `link` and shows the page that asks for it.
pub async fn start(
    state: &AppState,
    lang: Lang,
    request_id: RequestId,
    link: PendingLink,
    way: Way,
    destination: Destination,
) -> HttpResponse {
    let to = link.member.email.clone();
    let member_id = link.member.id.clone();
    let (id, code) = match state.signin.verifications.start(link).await {
        Ok(Some(started)) => started,
        Ok(None) => {
            let throttled = Failure::Throttled {
                retry_after: CODE_TTL,
            };
            return failure_page(&throttled, &state.pages, lang);
        }
        Err(e) => return failure_page(&Failure::from(e), &state.pages, lang),
    };
    let (subject, body) = state.pages.verify_mail(lang, &code);
    if let Err(e) = state
        .mailer
        .send(Mail {
            to: to.clone(),
            subject,
            body,
        })
        .await
    {
        let error_id = error_id();
        tracing::error!(error_id = %error_id, member_id = %member_id, error = format!("{e:#}"), "the verification code could not be sent (check SMTP_URL and MAIL_FROM)");
        return state.pages.message(
            StatusCode::SERVICE_UNAVAILABLE,
            lang,
            &MessagePage::code_not_sent(&error_id),
        );
    }
    tracing::info!(target: "audit", event = "verification_code_sent", member_id = %member_id, request_id = %request_id, "a one-time code was sent to the member's address");
    let verify_state = VerifyState {
        id,
        csrf_token: match new_token() {
            Ok(token) => token,
            Err(e) => return failure_page(&Failure::from(e), &state.pages, lang),
        },
        sent_to: redact_emails(&to),
        way,
        destination,
    };
    code_page(state, lang, StatusCode::OK, &verify_state, false)
}

fn code_page(
    state: &AppState,
    lang: Lang,
    status: StatusCode,
    verify_state: &VerifyState,
    wrong: bool,
) -> HttpResponse {
    let cookie = match state.cookies.seal(VERIFY_COOKIE, verify_state, CODE_TTL) {
        Ok(cookie) => cookie,
        Err(e) => return failure_page(&Failure::from(e), &state.pages, lang),
    };
    let mut response = pages::html(
        status,
        &VerifyPage {
            chrome: state.pages.chrome(lang),
            csrf_token: &verify_state.csrf_token,
            sent: state.pages.verify_sent(lang, &verify_state.sent_to),
            wrong,
        },
    );
    let _ = response.add_cookie(&cookie);
    response
}

/// `POST /login/verify`.
pub async fn submit(
    req: HttpRequest,
    form: web::Form<CodeForm>,
    state: web::Data<AppState>,
    request_id: RequestId,
) -> HttpResponse {
    let verify_state = state.cookies.open::<VerifyState>(&req, VERIFY_COOKIE);
    let destination = verify_state
        .as_ref()
        .map(|s| s.destination.clone())
        .unwrap_or_default();
    let lang = state.pages.lang(&req, destination.locale_id.as_deref());
    let attempt = Attempt {
        state: &state.signin,
        request_id,
        way: verify_state.as_ref().map_or(Way::Password, |s| s.way),
        locale_id: destination.locale_id.as_deref(),
    };
    let form = form.into_inner();
    let identify = async {
        let verify_state = verify_state.as_ref().ok_or(Failure::CodeExpired)?;
        let token_matches: bool = form
            .csrf_token
            .as_bytes()
            .ct_eq(verify_state.csrf_token.as_bytes())
            .into();
        if !token_matches || is_cross_site(&req, &state.public_origin) {
            return Err(Failure::FormExpired { forged: true });
        }
        match state
            .signin
            .verifications
            .confirm(&verify_state.id, &form.code)
            .await
        {
            Confirmation::Confirmed(link) => Ok(Identity::Verified(*link)),
            Confirmation::Wrong { .. } => Err(Failure::WrongCode),
            Confirmation::Expired => Err(Failure::CodeExpired),
        }
    };
    let result = signin::run(attempt, identify).await;
    let mut response = match (result, &verify_state) {
        (Ok(granted), _) => {
            let mut response = signed_in(&req, &state, lang, granted, &destination);
            let _ = response.add_cookie(&state.cookies.removal(LOGIN_COOKIE));
            response
        }
        (Err(Failure::WrongCode), Some(verify_state)) => {
            return code_page(&state, lang, StatusCode::BAD_REQUEST, verify_state, true);
        }
        (Err(failure), _) => failure_page(&failure, &state.pages, lang),
    };
    let _ = response.add_cookie(&state.cookies.removal(VERIFY_COOKIE));
    response
}
