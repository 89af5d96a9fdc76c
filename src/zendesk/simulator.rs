//! A stand-in for Zendesk's `/access/jwt`, mounted at `/_simulator` by `zendesk-sso-bridge demo`
//! only (the `serve` command has no way to mount it).
//!
//! It verifies a posted token the way Zendesk does — HS256 pinned, `iat` within three minutes,
//! `jti` never seen before, `email` and `name` present — and shows the claims it would apply.
//! On failure it redirects to the remote logout URL with `kind=error&message=...`, as Zendesk does.
//! A valid token is applied to a small in-memory user list, the way Zendesk matches users
//! (external id first, then e-mail); the users API the safety rules read is served from that
//! list (`/api/v2/remote_authentications`, `/api/v2/users/search`, `show_many`, `users`, `PUT`).
//! It starts with an account owner and an agent, Mary, who is not linked to a member yet.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{HttpResponse, http::header, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::sync::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::clock::unix_now;
use askama::Template;

/// Zendesk's tolerance for clock skew on `iat`.
const IAT_TOLERANCE_SECS: i64 = 180;

// The simulator's own pages (templates/simulator_*.html).
mod sync;

#[derive(Template)]
#[template(path = "simulator_help_centre.html")]
pub struct SimulatorHelpCentre<'a> {
    pub sign_in_url: &'a str,
    /// Where the "let the membership lapse" buttons post.
    pub lapse_url: &'a str,
    /// The end users linked to members: (name, iMIS ID, tags, signed in, lapsed).
    pub members: &'a [(String, String, String, bool, bool)],
    /// What the sync (and sign-ins) changed, newest first.
    pub activity: &'a [String],
}

#[derive(Template)]
#[template(path = "simulator_mailbox.html")]
pub struct SimulatorMailbox<'a> {
    pub mail: &'a [crate::mail::Mail],
}

#[derive(Template)]
#[template(path = "simulator_signed_in.html")]
pub struct SimulatorSignedIn<'a> {
    pub claims: &'a [(String, String)],
    pub return_to: Option<&'a str>,
}

/// A simulator page, never cached.
fn page(template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::Ok()
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body),
        Err(e) => HttpResponse::InternalServerError().body(format!("template: {e}")),
    }
}

pub struct Simulator {
    key: DecodingKey,
    seen_jti: Cache<String, ()>,
    /// The bridge's own URLs, as an admin would paste them into Zendesk.
    remote_login_url: Url,
    remote_logout_url: Url,
    /// What Zendesk shows of the shared secret: its first four characters.
    masked_secret: String,
    /// The demo's mail (the codes of UNLINKED_END_USERS=verify), shown at `/_simulator/mailbox`.
    mailbox: Option<std::sync::Arc<crate::mail::Mailer>>,
    /// Where the simulator itself lives, e.g. `http://127.0.0.1:8080/_simulator`.
    base: Url,
    users: Mutex<Vec<SimUser>>,
    /// The demo members whose membership lapsed (the demo directory reads them).
    lapses: std::sync::Arc<crate::members::demo_lapses::Lapses>,
    /// What changed in the simulated Zendesk, newest first (shown on the help centre page).
    activity: Mutex<Vec<String>>,
}

#[derive(Debug, Clone)]
struct SimUser {
    id: u64,
    name: String,
    email: Option<String>,
    external_id: Option<String>,
    phone: Option<String>,
    role: &'static str,
    suspended: bool,
    tags: Vec<String>,
    /// Signed in to the help centre (a session Zendesk keeps while the user is active).
    signed_in: bool,
}

impl SimUser {
    fn json(&self) -> Value {
        json!({
            "id": self.id, "name": self.name, "email": self.email, "external_id": self.external_id,
            "phone": self.phone, "role": self.role, "suspended": self.suspended, "active": true,
            "tags": self.tags, "user_fields": {}, "organization_id": null,
        })
    }
}

fn seed_users() -> Vec<SimUser> {
    vec![
        SimUser {
            id: 1,
            name: "Help-desk owner".into(),
            email: Some("owner@helpdesk.example".into()),
            external_id: None,
            phone: None,
            role: "admin",
            suspended: false,
            tags: Vec::new(),
            signed_in: false,
        },
        SimUser {
            id: 2,
            name: "Mary Somerville".into(),
            email: Some("mary.somerville@members.example".into()),
            external_id: None,
            phone: None,
            role: "agent",
            suspended: false,
            tags: Vec::new(),
            signed_in: false,
        },
        SimUser {
            id: 3,
            name: "Emmy Noether".into(),
            email: Some("emmy.noether@members.example".into()),
            external_id: None,
            phone: None,
            role: "end-user",
            suspended: false,
            tags: Vec::new(),
            signed_in: false,
        },
    ]
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    external_id: Option<String>,
    #[serde(default)]
    query: Option<String>,
}

#[derive(Deserialize)]
pub struct ShowManyQuery {
    #[serde(default)]
    external_ids: String,
}

#[derive(Deserialize)]
pub struct UserUpdate {
    user: UserUpdateFields,
}

#[derive(Deserialize)]
pub struct UserUpdateFields {
    external_id: Option<String>,
}

#[derive(Deserialize)]
pub struct JwtForm {
    #[serde(default)]
    jwt: String,
    #[serde(default)]
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct ReturnToQuery {
    #[serde(default)]
    return_to: Option<String>,
}

impl Simulator {
    pub fn new(secret: &SecretString, public_url: &Url, base: Url) -> Self {
        let join = |path: &str| {
            let mut url = public_url.clone();
            url.set_path(path);
            url
        };
        Self {
            key: DecodingKey::from_secret(secret.expose_secret().as_bytes()),
            seen_jti: Cache::builder()
                .time_to_live(Duration::from_secs(2 * IAT_TOLERANCE_SECS as u64))
                .max_capacity(100_000)
                .build(),
            remote_login_url: join("/login"),
            remote_logout_url: join("/logout"),
            // As the API reference shows it: the first 6 characters, then one `*` for each other.
            masked_secret: secret
                .expose_secret()
                .chars()
                .enumerate()
                .map(|(i, c)| if i < 6 { c } else { '*' })
                .collect(),
            base,
            users: Mutex::new(seed_users()),
            mailbox: None,
            lapses: Default::default(),
            activity: Mutex::new(Vec::new()),
        }
    }

    /// Shows `mailer`'s demo mailbox at `/_simulator/mailbox`.
    pub fn with_mailbox(mut self, mailer: std::sync::Arc<crate::mail::Mailer>) -> Self {
        self.mailbox = Some(mailer);
        self
    }

    /// Routes under `/_simulator`.
    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route("", web::get().to(help_centre))
            .route("/", web::get().to(help_centre))
            .route("/hc", web::get().to(help_centre))
            .route("/mailbox", web::get().to(mailbox))
            .route("/access/jwt", web::post().to(access_jwt))
            .route(
                "/api/v2/remote_authentications",
                web::get().to(remote_authentications),
            )
            .route("/api/v2/brands", web::get().to(brands))
            .route("/api/v2/users/search", web::get().to(search_users))
            .route("/api/v2/users/show_many", web::get().to(show_many))
            .route("/api/v2/users", web::get().to(sync::list_users))
            // Before `/api/v2/users/{id}`, which would take `update_many` for an id.
            .route(
                "/api/v2/users/update_many",
                web::put().to(sync::update_many),
            )
            .route("/api/v2/users/{id}", web::put().to(update_user))
            .route(
                "/api/v2/users/{id}/sessions",
                web::delete().to(sync::end_sessions),
            )
            .route("/api/v2/job_statuses/{id}", web::get().to(sync::job_status))
            .route(
                "/api/v2/oauth/tokens/current",
                web::get().to(sync::token_current),
            )
            .route("/lapse", web::post().to(sync::lapse));
    }

    fn users_where(&self, keep: impl Fn(&SimUser) -> bool) -> Vec<Value> {
        self.users
            .lock()
            .map(|users| {
                users
                    .iter()
                    .filter(|u| keep(u))
                    .map(SimUser::json)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Applies a verified token as Zendesk does: match on external id, else e-mail, else create.
    fn apply(&self, claims: &BTreeMap<String, Value>) {
        let text = |k: &str| claims.get(k).and_then(Value::as_str).map(str::to_owned);
        let (Some(email), Some(name)) = (text("email"), text("name")) else {
            return;
        };
        let external_id = text("external_id");
        let Ok(mut users) = self.users.lock() else {
            return;
        };
        let same =
            |a: &Option<String>, b: &str| a.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(b));
        let found = external_id
            .as_deref()
            .and_then(|id| users.iter().position(|u| same(&u.external_id, id)))
            .or_else(|| users.iter().position(|u| same(&u.email, &email)));
        let next_id = users.iter().map(|u| u.id).max().unwrap_or(0) + 1;
        let user = match found {
            Some(i) => &mut users[i],
            None => {
                users.push(SimUser {
                    id: next_id,
                    name: name.clone(),
                    email: None,
                    external_id: None,
                    phone: None,
                    role: "end-user",
                    suspended: false,
                    tags: Vec::new(),
                    signed_in: false,
                });
                let last = users.len() - 1;
                &mut users[last]
            }
        };
        user.name = name;
        user.email = Some(email);
        if user.external_id.is_none() {
            user.external_id = external_id;
        }
        if let Some(phone) = text("phone") {
            user.phone = Some(phone);
        }
        // A JWT's `tags` replace every tag the user has.
        if let Some(Value::Array(tags)) = claims.get("tags") {
            user.tags = tags
                .iter()
                .filter_map(|t| t.as_str().map(str::to_owned))
                .collect();
        }
        user.signed_in = true;
    }

    /// Checks a token as Zendesk would; the claims on success, Zendesk-like words otherwise.
    pub fn verify(&self, token: &str) -> Result<BTreeMap<String, Value>, String> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| "Please use one of the options below to log in to Zendesk".to_owned())?;
        if header.alg != Algorithm::HS256 {
            return Err(format!(
                "Unsupported JWT algorithm {:?}; use HS256",
                header.alg
            ));
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<BTreeMap<String, Value>>(token, &self.key, &validation)
            .map_err(|e| format!("Invalid JWT: {e}"))?
            .claims;
        let iat = claims
            .get("iat")
            .and_then(Value::as_i64)
            .ok_or("Invalid iat parameter: it must be an integer number of seconds")?;
        if (unix_now() - iat).abs() > IAT_TOLERANCE_SECS {
            return Err("Invalid iat parameter - please check that your clock is in sync; it is more than 3 minutes off".into());
        }
        for required in ["jti", "email", "name"] {
            if claims
                .get(required)
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                return Err(format!("Invalid JWT: the {required} claim is missing"));
            }
        }
        let jti = claims
            .get("jti")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let entry = self.seen_jti.entry(jti.to_owned()).or_insert(());
        if !entry.is_fresh() {
            return Err("Invalid JWT: this jti has already been used".into());
        }
        Ok(claims)
    }
}

async fn mailbox(sim: web::Data<Simulator>) -> HttpResponse {
    let mail = sim
        .mailbox
        .as_ref()
        .map(|m| m.demo_mail())
        .unwrap_or_default();
    page(&SimulatorMailbox { mail: &mail })
}

async fn help_centre(sim: web::Data<Simulator>) -> HttpResponse {
    let mut login = sim.remote_login_url.clone();
    let return_to = format!("{}/hc/requests", sim.base.as_str().trim_end_matches('/'));
    login
        .query_pairs_mut()
        .append_pair("return_to", &return_to)
        .append_pair("brand_id", "360000000001")
        .append_pair("locale_id", "1")
        .append_pair("timestamp", &unix_now().to_string());
    let members = sim.members_shown();
    let activity = sim.activity.lock().map(|a| a.clone()).unwrap_or_default();
    let lapse_url = format!("{}/lapse", sim.base.path().trim_end_matches('/'));
    page(&SimulatorHelpCentre {
        sign_in_url: login.as_str(),
        lapse_url: &lapse_url,
        members: &members,
        activity: &activity,
    })
}

async fn access_jwt(
    sim: web::Data<Simulator>,
    query: web::Query<ReturnToQuery>,
    form: web::Form<JwtForm>,
) -> HttpResponse {
    let form = form.into_inner();
    let return_to = form.return_to.or(query.into_inner().return_to);
    match sim.verify(&form.jwt) {
        Ok(claims) => {
            sim.apply(&claims);
            let rows: Vec<(String, String)> = claims
                .into_iter()
                .map(|(k, v)| {
                    let shown = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, shown)
                })
                .collect();
            page(&SimulatorSignedIn {
                claims: &rows,
                return_to: return_to.as_deref(),
            })
        }
        Err(message) => {
            let mut logout = sim.remote_logout_url.clone();
            logout
                .query_pairs_mut()
                .append_pair("kind", "error")
                .append_pair("message", &message);
            HttpResponse::Found()
                .insert_header((header::LOCATION, logout.as_str()))
                .finish()
        }
    }
}

/// A page of users, with their e-mail identities side-loaded as `include=identities` asks.
fn users_page(users: Vec<Value>) -> HttpResponse {
    let count = users.len();
    let identities: Vec<Value> = users
        .iter()
        .filter(|u| u["email"].is_string())
        .map(|u| {
            json!({"id": u["id"], "user_id": u["id"], "type": "email",
            "value": u["email"], "verified": true, "primary": true})
        })
        .collect();
    HttpResponse::Ok()
        .json(json!({"users": users, "identities": identities, "count": count, "next_page": null}))
}

async fn remote_authentications(sim: web::Data<Simulator>) -> HttpResponse {
    // The shape of Zendesk's API reference: `auth_mode` an integer (3 = JWT), no `type`.
    HttpResponse::Ok().json(json!({"remote_authentications": [{
        "id": 1, "name": "Members", "auth_mode": 3, "auth_mode_name": "jwt",
        "is_active": true, "end_user": true, "agent": false,
        "end_user_primary": true, "agent_primary": false, "update_external_ids": false,
        "remote_login_url": sim.remote_login_url.as_str(),
        "remote_logout_url": sim.remote_logout_url.as_str(),
        "ip_ranges": "", "masked_secret": sim.masked_secret,
        "can_display_button_to_end_users": false, "can_display_button_to_team_members": false,
        "priority": 1,
    }], "count": 1, "next_page": null, "previous_page": null}))
}

/// One brand whose users belong to the account (no brand separation).
async fn brands(sim: web::Data<Simulator>) -> HttpResponse {
    HttpResponse::Ok().json(json!({"brands": [{"id": 1, "name": "Demo help centre",
        "brand_url": sim.base.as_str(), "default": true, "active": true,
        "user_separation": "account"}], "next_page": null, "count": 1}))
}

async fn search_users(sim: web::Data<Simulator>, query: web::Query<SearchQuery>) -> HttpResponse {
    let query = query.into_inner();
    let same = |a: &Option<String>, b: &str| {
        a.as_deref()
            .is_some_and(|a| a.eq_ignore_ascii_case(b.trim()))
    };
    let users = match (query.external_id, query.query) {
        (Some(id), _) => sim.users_where(|u| same(&u.external_id, &id)),
        (None, Some(q)) => {
            let email = q.trim_start_matches("email:").trim_matches('"').to_owned();
            sim.users_where(|u| same(&u.email, &email))
        }
        (None, None) => Vec::new(),
    };
    users_page(users)
}

async fn show_many(sim: web::Data<Simulator>, query: web::Query<ShowManyQuery>) -> HttpResponse {
    let wanted: Vec<String> = query
        .external_ids
        .split(',')
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
        .collect();
    users_page(sim.users_where(|u| {
        u.external_id
            .as_deref()
            .is_some_and(|e| wanted.contains(&e.to_lowercase()))
    }))
}

async fn update_user(
    sim: web::Data<Simulator>,
    id: web::Path<u64>,
    body: web::Json<UserUpdate>,
) -> HttpResponse {
    let id = id.into_inner();
    let Ok(mut users) = sim.users.lock() else {
        return HttpResponse::InternalServerError().finish();
    };
    match users.iter_mut().find(|u| u.id == id) {
        Some(user) => {
            user.external_id = body.into_inner().user.external_id;
            HttpResponse::Ok().json(json!({"user": user.json()}))
        }
        None => HttpResponse::NotFound().json(json!({"error": "RecordNotFound"})),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::Member;
    use crate::zendesk::jwt::{JwtSigner, ZendeskClaims};

    fn simulator() -> Simulator {
        let public = Url::parse("http://127.0.0.1:8080").expect("url");
        let base = Url::parse("http://127.0.0.1:8080/_simulator").expect("url");
        Simulator::new(&SecretString::from("shared"), &public, base)
    }

    fn member() -> Member {
        Member {
            id: "1".into(),
            name: "A".into(),
            email: "a@example.org".into(),
            phone: None,
            claims: Default::default(),
            email_sharing: Default::default(),
        }
    }

    #[test]
    fn a_fresh_token_is_accepted_once() {
        let sim = simulator();
        let token = JwtSigner::new(&SecretString::from("shared"))
            .mint(&member())
            .expect("signed");
        assert!(sim.verify(&token).is_ok());
        assert!(sim.verify(&token).expect_err("replay").contains("jti"));
    }

    #[test]
    fn a_wrong_secret_or_a_stale_iat_is_refused() {
        let sim = simulator();
        let wrong = JwtSigner::new(&SecretString::from("other"))
            .mint(&member())
            .expect("signed");
        assert!(sim.verify(&wrong).is_err());
        let mut claims = ZendeskClaims::for_member(&member(), unix_now() - 600);
        claims.jti = uuid::Uuid::new_v4().to_string();
        let stale = JwtSigner::new(&SecretString::from("shared"))
            .sign(&claims)
            .expect("signed");
        assert!(sim.verify(&stale).expect_err("stale").contains("iat"));
    }

    #[test]
    fn other_algorithms_are_refused() {
        let sim = simulator();
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS512),
            &ZendeskClaims::for_member(&member(), unix_now()),
            &jsonwebtoken::EncodingKey::from_secret(b"shared"),
        )
        .expect("signed");
        assert!(sim.verify(&token).expect_err("HS512").contains("HS256"));
    }
}
