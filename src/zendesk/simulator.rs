//! A stand-in for Zendesk's `/access/jwt`, mounted at `/_simulator` by `zendesk-sso-bridge demo`
//! only (the `serve` command has no way to mount it).
//!
//! It verifies a posted token the way Zendesk does — HS256 pinned, `iat` within three minutes,
//! `jti` never seen before, `email` and `name` present — and shows the claims it would apply.
//! On failure it redirects to the remote logout URL with `kind=error&message=...`, as Zendesk does.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{HttpResponse, http::header, web};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use moka::sync::Cache;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use url::Url;

use crate::web::pages::{self, SimulatorHelpCentre, SimulatorSignedIn};
use crate::zendesk::jwt::unix_now;

/// Zendesk's tolerance for clock skew on `iat`.
const IAT_TOLERANCE_SECS: i64 = 180;

pub struct Simulator {
    key: DecodingKey,
    seen_jti: Cache<String, ()>,
    /// The bridge's own URLs, as an admin would paste them into Zendesk.
    remote_login_url: Url,
    remote_logout_url: Url,
    /// Where the simulator itself lives, e.g. `http://127.0.0.1:8080/_simulator`.
    base: Url,
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
            base,
        }
    }

    /// Routes under `/_simulator`.
    pub fn configure(cfg: &mut web::ServiceConfig) {
        cfg.route("", web::get().to(help_centre))
            .route("/", web::get().to(help_centre))
            .route("/hc", web::get().to(help_centre))
            .route("/access/jwt", web::post().to(access_jwt));
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

async fn help_centre(sim: web::Data<Simulator>) -> HttpResponse {
    let mut login = sim.remote_login_url.clone();
    let return_to = format!("{}/hc/requests", sim.base.as_str().trim_end_matches('/'));
    login
        .query_pairs_mut()
        .append_pair("return_to", &return_to)
        .append_pair("brand_id", "360000000001")
        .append_pair("locale_id", "1")
        .append_pair("timestamp", &unix_now().to_string());
    pages::ok(&SimulatorHelpCentre {
        sign_in_url: login.as_str(),
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
            pages::ok(&SimulatorSignedIn {
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
