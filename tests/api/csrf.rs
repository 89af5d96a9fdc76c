//! The sign-in form only works from our own page: a CSRF token sealed in a cookie and echoed
//! in the form, plus the browser's `Sec-Fetch-Site`. Refusals never reach iMIS.

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

#[tokio::test]
async fn a_post_with_a_wrong_token_is_refused() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let forged = format!("{}x", &token[..token.len() - 1]);
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", forged.as_str()),
            ("username", "a"),
            ("password", "b"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_token_without_its_cookie_is_refused() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    // Another browser (the attacker's victim) has no sign-in cookie for that token.
    let response = browser()
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "a"),
            ("password", "b"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_cross_site_post_is_refused_even_with_a_valid_token() {
    let app = spawn_app().await;
    imis_must_not_be_called(&app).await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let response = app
        .client
        .post(app.url("/login"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "a"),
            ("password", "b"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn a_same_origin_post_with_a_valid_token_goes_through() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let response = app
        .client
        .post(app.url("/login"))
        .header("Sec-Fetch-Site", "same-origin")
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", member.username.as_str()),
            ("password", member.password.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
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
