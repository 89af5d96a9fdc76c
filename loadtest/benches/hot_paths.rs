//! Micro-benchmarks of the per-request work: minting the JWT, rendering the delivery page,
//! sealing and opening the session cookie, checking `return_to`, mapping an iMIS PersonData.
//!   cargo bench --bench hot_paths

use std::hint::black_box;
use std::time::Duration;

use actix_web::cookie::Key;
use actix_web::test::TestRequest;
use askama::Template;
use criterion::{Criterion, criterion_group, criterion_main};
use secrecy::SecretString;
use url::Url;
use zendesk_sso_bridge::members::Member;
use zendesk_sso_bridge::members::imis::wire::PersonData;
use zendesk_sso_bridge::members::phone::PhonePolicy;
use zendesk_sso_bridge::web::i18n::Lang;
use zendesk_sso_bridge::web::pages::{DeliveryPage, MemberPages, TokenText};
use zendesk_sso_bridge::web::return_to::ReturnToPolicy;
use zendesk_sso_bridge::web::session::{CookieSealer, SESSION_COOKIE, Session};
use zendesk_sso_bridge::zendesk::jwt::JwtSigner;

/// The iMIS reference PersonData, shared with the mapping tests.
const PERSON: &str = include_str!("../../tests/fixtures/imis/person.json");

fn member() -> Member {
    Member {
        id: "20277".into(),
        name: "Art Abingdon".into(),
        email: "artabingdon@imisdemo.com".into(),
        phone: Some("+13103884000".into()),
        claims: Default::default(),
        email_sharing: Default::default(),
    }
}

fn benches(c: &mut Criterion) {
    let signer = JwtSigner::new(&SecretString::from(
        "a-zendesk-shared-secret-of-realistic-length-48ch",
    ));
    let m = member();
    c.bench_function("jwt mint (claims + HS256)", |b| {
        b.iter(|| signer.mint(black_box(&m)))
    });

    let jwt = signer.mint(&m).expect("token");
    let pages = MemberPages::new(&Default::default(), &[]).expect("catalogues");
    c.bench_function("delivery page render", |b| {
        b.iter(|| {
            DeliveryPage {
                chrome: pages.chrome(Lang::Fr),
                action: "https://acme.zendesk.com/access/jwt",
                jwt: TokenText::new(black_box(&jwt)).expect("a JWT is token text"),
                return_to: Some("/hc/en-us/requests"),
            }
            .render()
        })
    });

    let from_zendesk = TestRequest::get()
        .insert_header(("Accept-Language", "fr-CA,fr;q=0.9,en;q=0.8"))
        .to_http_request();
    c.bench_function("page language from locale_id", |b| {
        b.iter(|| pages.lang(&from_zendesk, black_box(Some("16"))))
    });
    c.bench_function("page language from Accept-Language", |b| {
        b.iter(|| pages.lang(black_box(&from_zendesk), None))
    });

    let sealer = CookieSealer::new(Key::generate(), true);
    let session = Session::new(m.clone(), "member20277".into());
    c.bench_function("session cookie seal", |b| {
        b.iter(|| {
            sealer.seal(
                SESSION_COOKIE,
                black_box(&session),
                Duration::from_secs(28_800),
            )
        })
    });
    let cookie = sealer
        .seal(SESSION_COOKIE, &session, Duration::from_secs(28_800))
        .expect("sealed");
    let request = TestRequest::default().cookie(cookie).to_http_request();
    c.bench_function("session cookie open", |b| {
        b.iter(|| sealer.open::<Session>(black_box(&request), SESSION_COOKIE))
    });

    let zendesk = Url::parse("https://acme.zendesk.com").expect("url");
    let policy = ReturnToPolicy::new(&zendesk, "acme", &["help.acme.org".to_owned()]);
    c.bench_function("return_to check (relative)", |b| {
        b.iter(|| policy.check(black_box("/hc/en-us/requests")))
    });
    c.bench_function("return_to check (absolute brand)", |b| {
        b.iter(|| {
            policy.check(black_box(
                "https://help.acme.org/hc/fr/articles/360001234567",
            ))
        })
    });

    let phones = PhonePolicy::default();
    c.bench_function("iMIS PersonData parse + map", |b| {
        b.iter(|| {
            serde_json::from_str::<PersonData>(black_box(PERSON))
                .ok()
                .and_then(|p| p.into_profile(&phones))
        })
    });
}

criterion_group!(hot_paths, benches);
criterion_main!(hot_paths);
