//! The HTTP edge: one module per route family, plus the pieces they share.

pub mod health;
pub mod i18n;
pub mod landing;
pub mod login;
pub mod logout;
pub mod pages;
pub mod return_to;
pub mod session;
pub mod throttle;

use std::sync::Arc;

use url::Url;

use crate::audit::Audit;
use crate::members::MemberDirectory;
use crate::members::demo::DemoMember;
use crate::metrics::Metrics;
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::safety::SafetyGuard;
use return_to::ReturnToPolicy;
use session::CookieSealer;

/// What every handler shares, built once at start-up.
pub struct AppState {
    pub directory: Arc<dyn MemberDirectory>,
    pub jwt: JwtSigner,
    pub cookies: CookieSealer,
    pub session_ttl: std::time::Duration,
    pub return_to: ReturnToPolicy,
    /// `{ZENDESK_URL}/access/jwt`, where the browser posts the token.
    pub jwt_endpoint: String,
    /// `ZENDESK_URL` without a trailing slash.
    pub zendesk_base: String,
    /// The Content-Security-Policy of the delivery page (allows the form post to Zendesk).
    pub delivery_csp: actix_web::http::header::HeaderValue,
    /// The account-safety rules, applied before any token is minted.
    pub safety: Arc<SafetyGuard>,
    /// Set on SIGTERM: `/readyz` answers 503 while in-flight requests finish.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    pub throttle: throttle::Throttle,
    /// Who may sign in and which claims are sent.
    pub policy: crate::policy::Policy,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub audit: Audit,
    pub metrics: Metrics,
    /// The member pages' words (per language), the organisation's look and the style sheet.
    pub pages: pages::MemberPages,
    /// Demo mode only: the simulated help centre and the demo members, shown on `/`.
    pub demo: Option<DemoInfo>,
}

pub struct DemoInfo {
    pub help_centre: Url,
    pub members: &'static [DemoMember],
}

/// A short id shown to the member and written to the log with the full error.
pub fn error_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..8].to_owned()
}
