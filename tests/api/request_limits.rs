//! Oversized or malformed requests are refused cleanly with the friendly page, before any
//! upstream is called, and every HTML answer carries the security headers.

use crate::helpers::{Member, input_value, page_text, spawn_app};

#[tokio::test]
async fn an_oversized_query_string_is_refused() {
    let app = spawn_app().await;
    let response = app
        .get(&format!("/login?return_to=/{}", "a".repeat(5000)))
        .await;
    assert_eq!(response.status(), 414);
    assert!(
        page_text(&response.text().await.expect("body")).contains("couldn't read that request")
    );
}

#[tokio::test]
async fn an_oversized_form_body_is_refused() {
    let app = spawn_app().await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let huge = "x".repeat(20_000);
    let response = app
        .client
        .post(app.url("/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", "a"),
            ("password", huge.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 400);
    assert!(
        app.imis
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

#[tokio::test]
async fn control_characters_in_the_form_are_refused_without_calling_imis() {
    let app = spawn_app().await;
    for (username, password) in [
        ("ada\u{1}", "pw"),
        ("ada", "pw\u{0}rd"),
        ("ada\r\nX-Injected: 1", "pw"),
    ] {
        let page = app.open_login("").await;
        let response = app.submit_login(&page, username, password).await;
        assert_eq!(response.status(), 400, "{username:?}");
        assert!(
            page_text(&response.text().await.expect("body")).contains("couldn't read that request")
        );
    }
    assert!(
        app.imis
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

#[tokio::test]
async fn every_html_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    for path in [
        "/",
        "/login",
        "/logout",
        "/logout?kind=error&message=x",
        "/nowhere",
    ] {
        let response = app.get(path).await;
        let h = response.headers();
        let csp = h["content-security-policy"].to_str().expect("csp");
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert!(
            h["content-type"]
                .to_str()
                .expect("type")
                .starts_with("text/html"),
            "{path}"
        );
    }
}
