//! The sign-in form only works from our own page: a CSRF token sealed in a cookie and echoed
//! in the form, plus the browser's `Sec-Fetch-Site`. Refusals never reach iMIS.

use reqwest::Client;
use wiremock::matchers::method;
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{Member, TestApp, browser, input_value, page_text, spawn_app};

async fn imis_must_not_be_called(app: &TestApp) {
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.imis)
        .await;
}

#[tokio::test]
async fn a_post_without_the_token_is_refused() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let member = Member::active();
    app.open_login("").await;
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[("username", member.username.as_str()), ("password", "x")])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
    assert!(page_text(&response.text().await.expect("body")).contains("sign-in page has expired"));
}

/// Posts the sign-in form from `client` with `token`, optionally with a `Sec-Fetch-Site`.
async fn post(
    app: &TestApp,
    client: &Client,
    token: &str,
    (username, password): (&str, &str),
    fetch_site: Option<&str>,
) -> u16 {
    let mut request = client.post(app.url("/login"));
    if let Some(site) = fetch_site {
        request = request.header("Sec-Fetch-Site", site);
    }
    request
        .form(&[
            ("csrf_token", token),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

/// A fresh sign-in form's CSRF token (its cookie now in `app.client`).
async fn token(app: &TestApp) -> String {
    input_value(&app.open_login("").await, "csrf_token").expect("token")
}

#[tokio::test]
async fn a_post_with_a_wrong_token_is_refused() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let token = token(&app).await;
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(
        post(&app, &app.client, &forged, ("a", "b"), None).await,
        403
    );
}

#[tokio::test]
async fn a_token_without_its_cookie_is_refused() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let token = token(&app).await;
    // Another browser (the attacker's victim) has no sign-in cookie for that token.
    assert_eq!(post(&app, &browser(), &token, ("a", "b"), None).await, 403);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let token = token(&app).await;
    assert_eq!(
        post(&app, &app.client, &token, ("a", "b"), Some("cross-site")).await,
        403
    );
}

#[tokio::test]
async fn a_same_origin_post_with_a_valid_token_goes_through() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let token = token(&app).await;
    let credentials = (member.username.as_str(), member.password.as_str());
    assert_eq!(
        post(&app, &app.client, &token, credentials, Some("same-origin")).await,
        200
    );
}

#[tokio::test]
async fn a_body_that_is_not_a_form_gets_the_friendly_error_page() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    app.open_login("").await;
    let response = app
        .client
        .post(app.url("/login"))
        .header("Content-Type", "application/json")
        .body("{\"username\":\"a\"}")
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 400);
    assert!(
        page_text(&response.text().await.expect("body")).contains("couldn't read that request")
    );
}

/// Posts the sign-in form with an `Origin` header and no `Sec-Fetch-Site` (older browsers).
async fn post_from_origin(app: &TestApp, token: &str, origin: &str, member: &Member) -> u16 {
    app.client
        .post(app.url("/login"))
        .header("Origin", origin)
        .form(&[
            ("csrf_token", token),
            ("username", member.username.as_str()),
            ("password", member.password.as_str()),
        ])
        .send()
        .await
        .expect("POST")
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_foreign_origin_is_refused_from_a_browser_that_sends_no_sec_fetch_site() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let member = Member::active();
    for origin in ["https://attacker.example", "null"] {
        let token = token(&app).await;
        assert_eq!(
            post_from_origin(&app, &token, origin, &member).await,
            403,
            "{origin}"
        );
    }
}

#[tokio::test]
async fn the_bridges_own_origin_goes_through_without_sec_fetch_site() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    // The bridge as the browser reached it (its own host and port).
    let first = token(&app).await;
    assert_eq!(
        post_from_origin(&app, &first, &app.address, &member).await,
        200
    );
    // PUBLIC_URL's origin (behind a proxy that rewrites Host), from a signed-out browser.
    app.forget_cookie("zsb_session");
    let second = token(&app).await;
    assert_eq!(
        post_from_origin(&app, &second, "http://127.0.0.1", &member).await,
        200
    );
}
