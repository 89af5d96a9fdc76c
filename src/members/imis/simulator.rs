//! The demo's member site, standing in for an iMIS site with single sign-on: its own sign-in
//! page (the demo members' passwords), the page holding the Single Sign-On content item (which
//! posts a `refresh_token` to the bridge's `/imis/sso`) and the `/token` endpoint that exchanges
//! it. Served under `/_member_site` by `demo` only, on another host name than the bridge (the
//! demo swaps `localhost` and `127.0.0.1`), so the hand-off is a real cross-site POST.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::cookie::Cookie;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::members::MemberDirectory;

/// How long a refresh token the content item posts can be exchanged (iMIS: the client
/// application's "Refresh token lifetime").
const REFRESH_TTL: Duration = Duration::from_secs(60);
const SESSION_COOKIE: &str = "demo_member_site";

#[derive(Template)]
#[template(path = "member_site_sign_in.html")]
struct SignInPage {
    failed: bool,
}

#[derive(Template)]
#[template(path = "member_site_sso.html")]
struct SsoPage<'a> {
    action: &'a str,
    refresh_token: &'a str,
    username: &'a str,
}

pub struct MemberSite {
    directory: Arc<dyn MemberDirectory>,
    /// Where the content item posts: the bridge's `/imis/sso`.
    hand_off_url: Url,
    client_id: String,
    client_secret: SecretString,
    /// Member-site sessions: cookie value → user name.
    sessions: Mutex<HashMap<String, String>>,
    /// Refresh tokens not exchanged yet: token → (user name, issued).
    refresh: Mutex<HashMap<String, (String, Instant)>>,
}

impl MemberSite {
    pub fn new(
        directory: Arc<dyn MemberDirectory>,
        hand_off_url: Url,
        client_id: String,
        client_secret: SecretString,
    ) -> Self {
        Self {
            directory,
            hand_off_url,
            client_id,
            client_secret,
            sessions: Mutex::default(),
            refresh: Mutex::default(),
        }
    }

    /// Routes under `/_member_site`.
    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route("/sso", web::get().to(sso_page))
            .route("/signin", web::get().to(sign_in_page))
            .route("/signin", web::post().to(sign_in))
            .route("/token", web::post().to(token))
            .route("/SingleLogout", web::get().to(single_logout));
    }
}

/// The member site's pages post to the bridge, another site: their own CSP says so.
fn page(template: &impl Template, form_action: &str) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            // Browsers' default, as on an iMIS site that sets none: the hand-off's POST then
            // carries the member site's `Origin`.
            .insert_header((header::REFERRER_POLICY, "strict-origin-when-cross-origin"))
            .insert_header((
                header::CONTENT_SECURITY_POLICY,
                format!("default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self' {form_action}; frame-ancestors 'none'"),
            ))
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(format!("template: {e}")),
    }
}

fn signed_in_user(site: &MemberSite, req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(SESSION_COOKIE)?;
    site.sessions.lock().ok()?.get(cookie.value()).cloned()
}

/// The page with the Single Sign-On content item: signed in, it posts a fresh refresh token to
/// the bridge; otherwise iMIS's own sign-in page comes first.
async fn sso_page(req: HttpRequest, site: web::Data<MemberSite>) -> HttpResponse {
    let Some(username) = signed_in_user(&site, &req) else {
        return HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/_member_site/signin"))
            .finish();
    };
    let Ok(token) = crate::ids::new_token() else {
        return HttpResponse::InternalServerError().finish();
    };
    if let Ok(mut refresh) = site.refresh.lock() {
        refresh.retain(|_, (_, issued)| issued.elapsed() < REFRESH_TTL);
        refresh.insert(token.clone(), (username.clone(), Instant::now()));
    }
    let action = site.hand_off_url.as_str();
    let origin = site.hand_off_url.origin().ascii_serialization();
    page(
        &SsoPage {
            action,
            refresh_token: &token,
            username: &username,
        },
        &origin,
    )
}

async fn sign_in_page() -> HttpResponse {
    page(&SignInPage { failed: false }, "")
}

#[derive(Deserialize)]
struct SignInForm {
    username: String,
    password: SecretString,
}

async fn sign_in(site: web::Data<MemberSite>, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    if site
        .directory
        .authenticate(&form.username, &form.password)
        .await
        .is_err()
    {
        return page(&SignInPage { failed: true }, "");
    }
    let Ok(session) = crate::ids::new_token() else {
        return HttpResponse::InternalServerError().finish();
    };
    if let Ok(mut sessions) = site.sessions.lock() {
        sessions.insert(session.clone(), form.username.trim().to_owned());
    }
    let cookie = Cookie::build(SESSION_COOKIE, session)
        .path("/_member_site")
        .http_only(true)
        .finish();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/_member_site/sso"))
        .cookie(cookie)
        .finish()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    refresh_token: String,
}

/// `POST /token` with `grant_type=refresh_token`, as iMIS answers it.
async fn token(site: web::Data<MemberSite>, form: web::Form<TokenForm>) -> HttpResponse {
    let form = form.into_inner();
    if form.grant_type != "refresh_token" {
        return HttpResponse::BadRequest().json(json!({"error": "unsupported_grant_type"}));
    }
    if form.client_id != site.client_id || form.client_secret != site.client_secret.expose_secret()
    {
        return HttpResponse::BadRequest().json(json!({"error": "invalid_client"}));
    }
    let found = site
        .refresh
        .lock()
        .ok()
        .and_then(|mut refresh| refresh.remove(&form.refresh_token))
        .filter(|(_, issued)| issued.elapsed() < REFRESH_TTL);
    match found {
        Some((username, _)) => HttpResponse::Ok().json(json!({
            "access_token": crate::ids::new_token().unwrap_or_default(),
            "token_type": "bearer", "expires_in": 1199, "userName": username})),
        None => HttpResponse::BadRequest().json(json!({"error": "invalid_grant"})),
    }
}

async fn single_logout(req: HttpRequest, site: web::Data<MemberSite>) -> HttpResponse {
    if let (Some(cookie), Ok(mut sessions)) = (req.cookie(SESSION_COOKIE), site.sessions.lock()) {
        sessions.remove(cookie.value());
    }
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("Signed out of the member portal (demo).")
}
