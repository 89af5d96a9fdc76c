//! Property tests (proptest; `cargo fuzz` needs a nightly toolchain, which this project's
//! machines do not have). Each states an invariant over generated input:
//! - an accepted `return_to` always stays on Zendesk or a configured brand host;
//! - reading any JSON as an iMIS PersonData never panics;
//! - any query string or form body gets a page, never a server error;
//! - Zendesk's logout message can never inject markup;
//! - every minted token passes the checks a strict verifier (PyJWT-like) would make.
//!
//! Failing inputs are saved by proptest under `tests/proptest-regressions/` and replayed first.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use secrecy::SecretString;
use serde_json::Value;
use url::Url;
use zendesk_sso_bridge::members::Member;
use zendesk_sso_bridge::members::imis::wire::PersonData;
use zendesk_sso_bridge::members::phone::PhonePolicy;
use zendesk_sso_bridge::web::i18n::Lang;
use zendesk_sso_bridge::web::pages::{MemberPages, MessagePage};
use zendesk_sso_bridge::web::return_to::ReturnToPolicy;
use zendesk_sso_bridge::zendesk::jwt::JwtSigner;

use crate::helpers::spawn_app;

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        ..Config::default()
    }
}

/// Strings built from the pieces open-redirect attacks are made of.
fn return_to_like() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "https:",
        "http:",
        "javascript:",
        "//",
        "/",
        "\\",
        "%2f",
        "%2F",
        "%5c",
        "%5C",
        "%25",
        "@",
        ":",
        "acme.zendesk.com",
        "help.acme.org",
        "evil.com",
        ".",
        "#",
        "?",
        "%0d%0a",
        "%09",
        " ",
        "\t",
        "hc",
        "en-us",
        "..",
        "：",
        "。",
        "ａ",
        "user:pw@",
        ":443",
        ":8443",
    ]);
    prop_oneof![
        prop::collection::vec(pieces, 0..10).prop_map(|p| p.concat()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(cases(2000))]

    #[test]
    fn an_accepted_return_to_stays_on_zendesk_or_a_brand(raw in return_to_like()) {
        let zendesk = Url::parse("https://acme.zendesk.com").expect("url");
        let policy = ReturnToPolicy::new(&zendesk, "acme", &["help.acme.org".to_owned()]);
        if let Ok(kept) = policy.check(&raw) {
            prop_assert!(!kept.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\'), "{kept:?}");
            if kept.starts_with('/') {
                prop_assert!(!kept.starts_with("//"), "{kept:?}");
                let resolved = zendesk.join(&kept).expect("resolves");
                prop_assert_eq!(resolved.origin(), zendesk.origin());
            } else {
                let url = Url::parse(&kept).expect("absolute");
                prop_assert_eq!(url.scheme(), "https");
                prop_assert!(url.username().is_empty() && url.password().is_none());
                prop_assert!(
                    matches!(url.host_str(), Some("acme.zendesk.com" | "help.acme.org")) && url.port().is_none(),
                    "{kept:?}"
                );
            }
        }
    }

    #[test]
    fn the_logout_message_never_injects_markup(message in any::<String>()) {
        let pages = MemberPages::new(&Default::default(), &[]).expect("catalogues");
        let render = |m: String| pages.render_message(Lang::En, &MessagePage::zendesk_error(m, "https://acme.zendesk.com")).expect("renders");
        let (with, without) = (render(message), render(String::new()));
        prop_assert_eq!(with.matches('<').count(), without.matches('<').count());
        prop_assert_eq!(with.matches('"').count(), without.matches('"').count());
    }
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![
            "A",
            "I",
            "_Primary",
            "true",
            "(310) 388-4000",
            "+33 1 42 68 53 00",
            "a@b.org",
            "Id"
        ])
        .prop_map(|s| Value::String(s.to_owned())),
    ];
    let keys = prop::sample::select(vec![
        "$type",
        "$values",
        "$value",
        "PartyId",
        "Id",
        "Name",
        "PersonName",
        "FullName",
        "FirstName",
        "LastName",
        "Status",
        "PartyStatusId",
        "Emails",
        "Address",
        "EmailType",
        "IsPrimary",
        "Phones",
        "Number",
        "PhoneType",
        "AlternateIds",
        "IdType",
        "other",
    ]);
    leaf.prop_recursive(4, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(keys.clone().prop_map(str::to_owned), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(cases(1000))]

    #[test]
    fn any_json_maps_to_a_profile_or_nothing_without_panicking(value in json_value()) {
        if let Ok(person) = serde_json::from_value::<PersonData>(value.clone())
            && let Some(profile) = person.into_profile(&PhonePolicy::default())
        {
            prop_assert!(!profile.id.is_empty());
            if let Some(phone) = profile.phone {
                prop_assert!(phone.starts_with('+'));
            }
        }
        let bytes = value.to_string().into_bytes();
        let _ = serde_json::from_slice::<PersonData>(&bytes[..bytes.len() / 2]);
    }

    #[test]
    fn every_token_passes_a_strict_verifier(
        id in "[0-9A-Za-z-]{1,20}",
        name in any::<String>(),
        email in "[a-z0-9._%+-]{1,20}@[a-z0-9-]{1,10}\\.[a-z]{2,6}",
        raw_phone in proptest::option::of(prop_oneof![any::<String>(), "\\+?[0-9 ()-]{0,18}"]),
    ) {
        let phone = raw_phone.and_then(|p| PhonePolicy::default().to_e164(&p));
        let member = Member { id, name, email, phone, claims: Default::default(), email_sharing: Default::default() };
        let token = JwtSigner::new(&SecretString::from("property-secret")).mint(&member).expect("signs");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        prop_assert_eq!(header.alg, Algorithm::HS256);
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        let claims: serde_json::Map<String, Value> =
            jsonwebtoken::decode(&token, &DecodingKey::from_secret(b"property-secret"), &v).expect("verifies").claims;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs() as i64;
        let iat = claims["iat"].as_i64().expect("integer iat");
        prop_assert!((now - iat).abs() <= 5);
        let jti = uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).expect("uuid");
        prop_assert_eq!(jti.get_version_num(), 4);
        prop_assert!(!claims.contains_key("role") && !claims.contains_key("custom_role_id"));
        prop_assert_eq!(claims["external_id"].as_str(), Some(member.id.as_str()));
        match claims.get("phone") {
            None => prop_assert!(member.phone.is_none()),
            Some(p) => {
                let p = p.as_str().expect("string");
                prop_assert!(p.starts_with('+') && p.len() <= 16 && p[1..].chars().all(|c| c.is_ascii_digit()), "{p}");
            }
        }
    }
}

/// Any query string or form body, sent to the running bridge, gets an answer below 500.
#[test]
fn any_query_or_form_gets_a_page_never_a_server_error() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let app = rt.block_on(spawn_app());
    let query = prop_oneof![
        any::<String>()
            .prop_map(|s| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()),
        "[a-z_=&%0-9A-F;+]{0,80}",
        return_to_like().prop_map(|r| format!(
            "return_to={}&brand_id=1&locale_id=1",
            url::form_urlencoded::byte_serialize(r.as_bytes()).collect::<String>()
        )),
    ];
    let mut runner = TestRunner::new(cases(150));
    runner
        .run(&(query, "[a-z_=&%0-9A-F;+]{0,120}"), |(query, body)| {
            let (get, post) = rt.block_on(async {
                let get = app
                    .client
                    .get(format!("{}/login?{query}", app.address))
                    .send()
                    .await;
                let post = app
                    .client
                    .post(format!("{}/login?{query}", app.address))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await;
                (get.map(|r| r.status()), post.map(|r| r.status()))
            });
            prop_assert!(get.expect("GET answered").as_u16() < 500);
            prop_assert!(post.expect("POST answered").as_u16() < 500);
            Ok(())
        })
        .expect("no input made the bridge fail");
}
