//! The HTTP edge: one module per route family, plus the pieces they share.

pub mod deliveries;
pub mod health;
pub mod i18n;
pub mod imis_sso;
pub mod landing;
pub mod login;
pub mod logout;
pub mod middleware;
pub mod pages;
pub mod return_to;
pub mod session;
pub mod throttle;
pub mod verify;

use url::Url;

use crate::members::demo::DemoMember;
use crate::signin::{Pipeline, Session};
use return_to::ReturnToPolicy;
use session::{CookieSealer, SESSION_COOKIE};

/// What every handler shares, built once at start-up.
pub struct AppState {
    /// identify → admit → safety → mint: what every way in ends in.
    pub signin: Pipeline,
    pub cookies: CookieSealer,
    /// Sign-outs, one-use journeys, sign-in counts and codes: across replicas with `REDIS_URL`.
    pub shared: std::sync::Arc<crate::shared::SharedState>,
    /// Which ways in the sign-in page offers (`SIGN_IN_METHOD`).
    pub sign_in_method: crate::signin::SignInMethod,
    /// Single sign-on from the iMIS site, when configured.
    pub sso: Option<crate::members::imis::sso::SsoClient>,
    /// iMIS's SingleLogout page, visited after a normal sign-out (`IMIS_LOGOUT_URL`).
    pub imis_logout_url: Option<Url>,
    /// Sends the codes of `UNLINKED_END_USERS=verify` (the demo's keeps them in a mailbox).
    pub mailer: std::sync::Arc<crate::mail::Mailer>,
    pub session_ttl: std::time::Duration,
    pub return_to: ReturnToPolicy,
    /// `PUBLIC_URL`'s origin (`https://sso.example.org`): a form post whose `Origin` is
    /// neither this nor the request's own host came from another site.
    pub public_origin: String,
    /// `{ZENDESK_URL}/access/jwt`, where the browser posts the token.
    pub jwt_endpoint: String,
    /// `ZENDESK_URL` without a trailing slash.
    pub zendesk_base: String,
    /// The Content-Security-Policy of the delivery page (allows the form post to Zendesk).
    pub delivery_csp: actix_web::http::header::HeaderValue,
    /// Set on SIGTERM: `/readyz` answers 503 while in-flight requests finish.
    pub draining: std::sync::Arc<std::sync::atomic::AtomicBool>,
    pub throttle: throttle::Throttle,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The member pages' words (per language), the organisation's look and the style sheet.
    pub pages: pages::MemberPages,
    /// `/metrics` and `/readyz`'s details are on the metrics listener (`METRICS_ADDR`).
    pub metrics_elsewhere: bool,
    /// Demo mode only: the simulated help centre and the demo members, shown on `/`.
    pub demo: Option<DemoInfo>,
}

impl AppState {
    /// The browser's session, if it has one that is authentic, unexpired and not signed out.
    pub async fn open_session(&self, req: &actix_web::HttpRequest) -> Option<Session> {
        let session = self.cookies.open::<Session>(req, SESSION_COOKIE)?;
        match self.shared.is_revoked(&session.sid).await {
            true => None,
            false => Some(session),
        }
    }
}

pub struct DemoInfo {
    pub help_centre: Url,
    pub members: &'static [DemoMember],
}

pub use crate::ids::error_id;
