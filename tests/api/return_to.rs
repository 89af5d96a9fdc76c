//! `return_to` never becomes an open redirect: only paths on Zendesk and exact Zendesk or
//! brand origins are forwarded; everything else is dropped and the rejection logged.

use crate::helpers::{Member, TestApp, delivery, log_lines, spawn_app};

/// Attack strings, as they would arrive decoded from Zendesk's query string.
const ATTACKS: &[&str] = &[
    "//evil.com",
    "//evil.com/hc",
    "///evil.com",
    "////evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/%2F%2Fevil.com",
    "/%2f/evil.com",
    "/%5Cevil.com",
    "/%5C%5Cevil.com",
    "/%252F%252Fevil.com",
    "%2F%2Fevil.com",
    "/%09/evil.com",
    "/%0d%0aLocation:%20https://evil.com",
    "/\t/evil.com",
    " //evil.com",
    "/ /evil.com",
    "https://evil.com",
    "http://evil.com",
    "https://acme.zendesk.com.evil.com",
    "https://acme.zendesk.com.evil.com/hc",
    "https://evil.com/acme.zendesk.com",
    "https://evil.com?https://acme.zendesk.com",
    "https://evil.com#https://acme.zendesk.com",
    "https://acme.zendesk.com@evil.com",
    "https://acme.zendesk.com:pass@evil.com",
    "https://user@acme.zendesk.com/hc",
    "https://acme.zendesk.com%40evil.com",
    "https://evil.com%2f%2facme.zendesk.com",
    "https://acmezendesk.com",
    "https://acme.zendesk.co",
    "https://xacme.zendesk.com",
    "https://other.zendesk.com/hc",
    "https://help.acme.org.evil.com",
    "https://evilhelp.acme.org",
    "http://acme.zendesk.com/hc",
    "http://help.acme.org/hc",
    "https://acme.zendesk.com:8443/hc",
    "https:evil.com",
    "https:/evil.com",
    "https:\\\\evil.com",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "javascript://acme.zendesk.com/%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "ftp://acme.zendesk.com/",
    "evil.com",
    "acme.zendesk.com/hc",
    "hc/en-us",
    "./hc",
    "../evil",
    "https://ａｃｍｅ.zendesk.com.evil.com",
    "https://evil.com\u{3002}acme.zendesk.com",
    // Dot segments that resolve to a protocol-relative path.
    "/.//evil.example/x",
    "/hc/../..//evil.example/x",
    "/%2e%2e//evil.example/x",
    "/hc/%2E%2e/.%2e//evil.example/x",
    "/./%2e/..//evil.example",
];

async fn signed_in_app() -> TestApp {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    app
}

async fn forwarded(app: &TestApp, return_to: &str) -> Option<String> {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("return_to", return_to)
        .finish();
    // Many deliveries in a row would look like a redirect loop (tests/api/abuse.rs).
    app.forget_cookie("zsb_delivered");
    let response = app.get(&format!("/login?{query}")).await;
    assert_eq!(response.status(), 200, "{return_to}");
    delivery(&response.text().await.expect("body")).return_to
}

#[tokio::test]
async fn open_redirect_attempts_are_all_dropped() {
    assert!(ATTACKS.len() >= 30);
    let app = signed_in_app().await;
    for attack in ATTACKS {
        assert_eq!(
            forwarded(&app, attack).await,
            None,
            "{attack:?} was forwarded"
        );
    }
}

#[tokio::test]
async fn zendesk_and_brand_destinations_are_forwarded() {
    let app = signed_in_app().await;
    let zendesk = app.zendesk.uri();
    let cases = [
        ("/hc/en-us/requests", "/hc/en-us/requests".to_owned()),
        (
            "/hc/fr?query=a%20b#top",
            "/hc/fr?query=a%20b#top".to_owned(),
        ),
        // Forwarded as Zendesk resolves it, never as sent.
        ("/hc/./en-us/../fr/requests", "/hc/fr/requests".to_owned()),
        (
            "https://acme.zendesk.com/agent/tickets/1",
            "https://acme.zendesk.com/agent/tickets/1".to_owned(),
        ),
        (
            "https://ACME.Zendesk.com/hc",
            "https://acme.zendesk.com/hc".to_owned(),
        ),
        (
            "https://help.acme.org/hc/de",
            "https://help.acme.org/hc/de".to_owned(),
        ),
        (
            &format!("{zendesk}/hc/requests"),
            format!("{zendesk}/hc/requests"),
        ),
    ];
    for (given, expected) in cases {
        assert_eq!(
            forwarded(&app, given).await.as_deref(),
            Some(expected.as_str()),
            "{given}"
        );
    }
}

#[tokio::test]
async fn a_rejected_return_to_is_logged_with_its_reason() {
    let app = signed_in_app().await;
    let before = log_lines().len();
    forwarded(&app, "//evil.com").await;
    let lines = log_lines();
    assert!(
        lines[before..]
            .iter()
            .any(|l| l["event"] == "return_to_rejected" && l["reason"] == "protocol_relative"),
        "no rejection logged"
    );
}

#[tokio::test]
async fn the_destination_is_remembered_from_the_form_visit_not_the_post() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("?return_to=%2Fhc%2Fremembered").await;
    let token = crate::helpers::input_value(&page, "csrf_token").expect("token");
    let response = app
        .client
        .post(app.url("/login?return_to=https%3A%2F%2Fevil.com"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", member.username.as_str()),
            ("password", member.password.as_str()),
            ("return_to", "https://evil.com"),
        ])
        .send()
        .await
        .expect("POST");
    let d = delivery(&response.text().await.expect("body"));
    assert_eq!(d.return_to.as_deref(), Some("/hc/remembered"));
}
