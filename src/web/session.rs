//! The bridge's two cookies, both sealed (AES-256-GCM keyed from `SESSION_KEY`, in the cookie
//! crate's private-cookie format), `HttpOnly`, `SameSite=Lax`, `Secure` when `PUBLIC_URL` is
//! https, and scoped to `Path=/login`:
//! - [`SESSION_COOKIE`] carries the signed-in [`Member`] so a return visit needs no password
//!   and no upstream call;
//! - [`LOGIN_COOKIE`] carries the sign-in attempt: the CSRF token and the validated
//!   `return_to` / `brand_id` / `locale_id` that Zendesk sent (never trusted from the form).
//!
//! Each sealed value carries its own expiry, checked on open, so a replayed old cookie is void
//! whatever `Max-Age` the browser honoured.
//!
//! When `PUBLIC_URL` is https every cookie is named `__Host-…` (and so `Path=/`, `Secure`, no
//! `Domain`): a page on a sibling subdomain cannot plant one for the parent domain (cookie
//! tossing, ASVS 3.4.4) and sign the victim in as the attacker. Plain-http demos and tests keep
//! the bare names. A request carrying two cookies of one name is trusted with neither.

use std::borrow::Cow;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::cookie::{Cookie, Key, SameSite};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::unix_now;
use crate::sealing::Sealer;

pub const SESSION_COOKIE: &str = "zsb_session";
pub const LOGIN_COOKIE: &str = "zsb_login";
/// How long a sign-in form stays usable.
pub const LOGIN_STATE_TTL: Duration = Duration::from_secs(30 * 60);
/// The prefix that binds a cookie to this exact host (https only).
pub const HOST_PREFIX: &str = "__Host-";

/// The sign-in attempt is only needed by `/login`; the session also reaches `/logout`, which
/// must see it to end it. A `__Host-` cookie must have `Path=/`.
fn cookie_path(name: &str, host_bound: bool) -> &'static str {
    if host_bound || name == SESSION_COOKIE || name == crate::web::deliveries::DELIVERIES_COOKIE {
        "/"
    } else {
        "/login"
    }
}

/// Ids remembered for a while: sessions ended by a sign-out (a copy of the cookie taken before
/// must not sign in again), member-site journeys already handed off (each works once).
pub struct IdSet(moka::sync::Cache<uuid::Uuid, ()>);

impl IdSet {
    /// Each id is kept for `ttl`: as long as the thing it names could be used.
    pub fn new(ttl: Duration) -> Self {
        Self(
            moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(ttl.max(Duration::from_secs(1)))
                .build(),
        )
    }

    pub fn insert(&self, id: uuid::Uuid) {
        self.0.insert(id, ());
    }

    pub fn contains(&self, id: &uuid::Uuid) -> bool {
        self.0.contains_key(id)
    }

    /// True the first time `id` is seen.
    pub fn insert_once(&self, id: uuid::Uuid) -> bool {
        self.0.entry(id).or_insert(()).is_fresh()
    }
}

pub use crate::signin::Session;

/// Where the member was going, as validated when Zendesk sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    pub return_to: Option<String>,
    pub brand_id: Option<String>,
    pub locale_id: Option<String>,
}

/// One sign-in attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginState {
    pub csrf_token: String,
    pub destination: Destination,
}

#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    exp: i64,
    v: T,
}

/// Seals and opens the bridge's cookies: base64 of [`Sealer`]'s nonce ‖ ciphertext ‖ tag, the
/// cookie's name as associated data. That is the cookie crate's private cookie, so cookies sealed
/// by earlier releases, which used its `PrivateJar`, still open. Unlike the jar, the cipher is
/// keyed once, not per cookie, and nothing is copied into a jar first: opening the session is
/// on every re-use.
#[derive(Clone)]
pub struct CookieSealer {
    sealer: Sealer,
    secure: bool,
}

impl CookieSealer {
    pub fn new(key: Key, secure: bool) -> Self {
        let encryption: &[u8; 32] = key
            .encryption()
            .try_into()
            .expect("a cookie Key's encryption half is 32 bytes");
        Self {
            sealer: Sealer::new(encryption),
            secure,
        }
    }

    /// The name the browser stores cookie `name` under: `__Host-{name}` over https.
    pub fn wire_name(&self, name: &str) -> Cow<'static, str> {
        match self.secure {
            true => Cow::Owned(format!("{HOST_PREFIX}{name}")),
            false => Cow::Owned(name.to_owned()),
        }
    }

    fn cookie(&self, name: &'static str, value: String) -> Cookie<'static> {
        Cookie::build(self.wire_name(name), value)
            .path(cookie_path(name, self.secure))
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    /// An encrypted cookie holding `value` until `ttl` from now.
    pub fn seal<T: Serialize>(
        &self,
        name: &'static str,
        value: &T,
        ttl: Duration,
    ) -> anyhow::Result<Cookie<'static>> {
        let exp = unix_now() + ttl.as_secs() as i64;
        let json = serde_json::to_vec(&Sealed { exp, v: value })?;
        let sealed = self.sealer.seal(name.as_bytes(), &json)?;
        let mut cookie = self.cookie(name, BASE64.encode(sealed));
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
            ttl.as_secs() as i64
        ));
        Ok(cookie)
    }

    /// The value of a cookie this bridge sealed, if it is present, authentic and unexpired.
    pub fn open<T: DeserializeOwned>(&self, req: &HttpRequest, name: &str) -> Option<T> {
        let value = request_cookie(req, &self.wire_name(name))?;
        let plain = self
            .sealer
            .open(name.as_bytes(), BASE64.decode(value.as_bytes()).ok()?)?;
        let sealed: Sealed<T> = serde_json::from_slice(&plain).ok()?;
        (sealed.exp > unix_now()).then_some(sealed.v)
    }

    /// A cookie that makes the browser forget `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new());
        cookie.make_removal();
        cookie
    }
}

/// The value of cookie `name` from the request's `Cookie` headers. Unlike `HttpRequest::cookie`,
/// which parses and percent-decodes every cookie the browser sent, only the wanted value is
/// decoded, and only if it needs it. Two cookies of one name (one planted for a parent domain or
/// a narrower path beside ours) mean neither can be told to be ours: `None`.
fn request_cookie<'r>(req: &'r HttpRequest, name: &str) -> Option<Cow<'r, str>> {
    let mut found = req
        .headers()
        .get_all(actix_web::http::header::COOKIE)
        // `from_utf8` checks many bytes at a time; `HeaderValue::to_str` one by one (the session
        // cookie alone is hundreds of bytes, and this runs for each cookie the request needs).
        .filter_map(|header| std::str::from_utf8(header.as_bytes()).ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| n.trim() == name)
        .map(|(_, value)| value.trim());
    let value = found.next()?;
    if found.next().is_some() {
        return None;
    }
    if value.contains('%') {
        percent_encoding::percent_decode_str(value)
            .decode_utf8()
            .ok()
            .map(|decoded| Cow::Owned(decoded.into_owned()))
    } else {
        Some(Cow::Borrowed(value))
    }
}

pub use crate::ids::new_token;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    /// The plain-http sealer (bare cookie names).
    fn sealer() -> CookieSealer {
        CookieSealer::new(Key::generate(), false)
    }

    #[test]
    fn a_sealed_cookie_opens_only_with_its_key_and_hides_its_content() {
        let s = sealer();
        let cookie = s
            .seal(
                LOGIN_COOKIE,
                &"secret-value".to_owned(),
                Duration::from_secs(60),
            )
            .expect("sealed");
        assert!(!cookie.value().contains("secret-value"));
        assert!(cookie.http_only().unwrap_or(false));
        assert_eq!(cookie.same_site(), Some(SameSite::Lax));
        assert_eq!(cookie.path(), Some("/login"));
        let session = s
            .seal(SESSION_COOKIE, &1u8, Duration::from_secs(60))
            .expect("sealed");
        assert_eq!(session.path(), Some("/"), "the session reaches /logout");
        let req = TestRequest::default()
            .cookie(cookie.clone())
            .to_http_request();
        assert_eq!(
            s.open::<String>(&req, LOGIN_COOKIE).as_deref(),
            Some("secret-value")
        );
        assert_eq!(
            sealer().open::<String>(&req, LOGIN_COOKIE),
            None,
            "another key"
        );
    }

    #[test]
    fn the_cookie_is_found_among_others_and_percent_encoded_values_are_decoded() {
        let s = sealer();
        let cookie = s
            .seal(LOGIN_COOKIE, &"v".to_owned(), Duration::from_secs(60))
            .expect("sealed");
        // Every byte encoded, so the second header cannot open without decoding.
        let encoded: String = cookie
            .value()
            .bytes()
            .map(|b| format!("%{b:02X}"))
            .collect();
        for header in [
            format!("a=1; {LOGIN_COOKIE}={}; b=2", cookie.value()),
            format!("{LOGIN_COOKIE}x=1;{LOGIN_COOKIE}={encoded}"),
        ] {
            let req = TestRequest::default()
                .insert_header((actix_web::http::header::COOKIE, header.clone()))
                .to_http_request();
            assert_eq!(
                s.open::<String>(&req, LOGIN_COOKIE).as_deref(),
                Some("v"),
                "{header}"
            );
        }
        let req = TestRequest::default()
            .insert_header((actix_web::http::header::COOKIE, "other=1; =2; broken"))
            .to_http_request();
        assert_eq!(s.open::<String>(&req, LOGIN_COOKIE), None);
    }

    #[test]
    fn cookies_sealed_by_the_cookie_crates_private_jar_still_open_and_the_jar_opens_ours() {
        // Sessions sealed by earlier releases (the jar) must survive an upgrade, and a rollback.
        use actix_web::cookie::CookieJar;
        let key = Key::generate();
        let s = CookieSealer::new(key.clone(), false);
        let json = serde_json::json!({ "exp": unix_now() + 60, "v": "from-the-jar" }).to_string();
        let mut jar = CookieJar::new();
        jar.private_mut(&key).add(Cookie::new(LOGIN_COOKIE, json));
        let old = jar.get(LOGIN_COOKIE).expect("sealed by the jar").clone();
        let req = TestRequest::default().cookie(old).to_http_request();
        assert_eq!(
            s.open::<String>(&req, LOGIN_COOKIE).as_deref(),
            Some("from-the-jar")
        );

        let ours = s
            .seal(LOGIN_COOKIE, &"ours".to_owned(), Duration::from_secs(60))
            .expect("sealed");
        let mut jar = CookieJar::new();
        jar.add_original(ours);
        let plain = jar
            .private(&key)
            .get(LOGIN_COOKIE)
            .expect("the jar opens it");
        assert!(
            plain.value().contains("\"v\":\"ours\""),
            "{}",
            plain.value()
        );
        // The name is bound in: the same value under another name does not open.
        let moved = Cookie::new(
            SESSION_COOKIE,
            jar.get(LOGIN_COOKIE).expect("kept").value().to_owned(),
        );
        let req = TestRequest::default().cookie(moved).to_http_request();
        assert_eq!(s.open::<String>(&req, SESSION_COOKIE), None);
    }

    #[test]
    fn an_expired_or_tampered_cookie_does_not_open() {
        let s = sealer();
        let expired = s
            .seal(SESSION_COOKIE, &1u8, Duration::from_secs(0))
            .expect("sealed");
        let req = TestRequest::default().cookie(expired).to_http_request();
        assert_eq!(s.open::<u8>(&req, SESSION_COOKIE), None);

        let good = s
            .seal(SESSION_COOKIE, &1u8, Duration::from_secs(60))
            .expect("sealed");
        let mut value = good.value().to_owned();
        value.replace_range(0..1, if value.starts_with('A') { "B" } else { "A" });
        let req = TestRequest::default()
            .cookie(Cookie::new(SESSION_COOKIE, value))
            .to_http_request();
        assert_eq!(s.open::<u8>(&req, SESSION_COOKIE), None);
    }

    #[test]
    fn over_https_every_cookie_is_host_bound() {
        let s = CookieSealer::new(Key::generate(), true);
        for name in [SESSION_COOKIE, LOGIN_COOKIE] {
            let cookie = s.seal(name, &1u8, Duration::from_secs(60)).expect("sealed");
            assert_eq!(cookie.name(), format!("__Host-{name}"));
            assert_eq!(cookie.path(), Some("/"), "__Host- needs Path=/");
            assert_eq!(cookie.secure(), Some(true));
            assert_eq!(cookie.domain(), None);
            let req = TestRequest::default()
                .cookie(cookie.clone())
                .to_http_request();
            assert_eq!(s.open::<u8>(&req, name), Some(1));
            // A bare-named cookie (plantable from a sibling subdomain) is not read.
            let bare = Cookie::new(name, cookie.value().to_owned());
            let req = TestRequest::default().cookie(bare).to_http_request();
            assert_eq!(s.open::<u8>(&req, name), None);
        }
    }

    #[test]
    fn two_cookies_of_one_name_are_both_distrusted() {
        let s = sealer();
        let mine = s
            .seal(SESSION_COOKIE, &1u8, Duration::from_secs(60))
            .expect("sealed");
        let planted = s
            .seal(SESSION_COOKIE, &2u8, Duration::from_secs(60))
            .expect("sealed");
        let header = format!(
            "{SESSION_COOKIE}={}; {SESSION_COOKIE}={}",
            planted.value(),
            mine.value()
        );
        let req = TestRequest::default()
            .insert_header((actix_web::http::header::COOKIE, header))
            .to_http_request();
        assert_eq!(s.open::<u8>(&req, SESSION_COOKIE), None);
    }
}
