//! The remote logout URL tells a Zendesk error, a sign-out and a direct visit apart, and never
//! bounces the member back into login.

use crate::helpers::{Member, TestApp, log_lines, page_text, select, spawn_app};

/// A member the bridge has just sent to Zendesk with a token (Zendesk reports a refused token
/// only to such a browser; see tests/api/abuse.rs for one it was not).
async fn just_delivered() -> TestApp {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    app
}

#[tokio::test]
async fn a_zendesk_error_is_shown_escaped_with_admin_fallbacks() {
    let app = just_delivered().await;
    let response = app
        .get("/logout?kind=error&message=%3Cscript%3Ealert(%27x%27)%3C%2Fscript%3E%20External%20has%20already%20been%20taken")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers().get("location").is_none(),
        "no bounce into login"
    );
    let page = response.text().await.expect("body");
    assert!(
        !page.contains("<script>alert"),
        "markup from the query is never emitted"
    );
    assert!(page.contains("&#60;script&#62;"), "it is shown as text");
    let text = page_text(&page);
    assert!(text.contains("could not sign you in"));
    assert!(text.contains("External has already been taken"));
    let zendesk = app.zendesk.uri();
    let hrefs: Vec<_> = select(&page, "a")
        .iter()
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert!(
        hrefs.contains(&format!("{zendesk}/access/normal")),
        "{hrefs:?}"
    );
    assert!(
        hrefs.contains(&format!("{zendesk}/access/sso_bypass")),
        "{hrefs:?}"
    );
}

#[tokio::test]
async fn a_zendesk_error_is_audited_without_the_full_email_address() {
    let app = just_delivered().await;
    let before = log_lines().len();
    app.get("/logout?kind=error&message=Users%20with%20the%20email%20address%20victim.person%40example.org%20are%20not%20allowed%20to%20sign%20up")
        .await;
    let lines = log_lines();
    let event = lines[before..]
        .iter()
        .find(|l| l["reason"] == "zendesk_refused")
        .expect("an audit event");
    assert_eq!(event["outcome"], "failed");
    let message = event["zendesk_message"].as_str().expect("message");
    assert!(message.contains("v***@example.org"), "{message}");
    assert!(!message.contains("victim.person"), "{message}");
}

#[tokio::test]
async fn a_normal_sign_out_shows_the_signed_out_page_and_clears_cookies() {
    let app = spawn_app().await;
    let response = app
        .get("/logout?email=a%40example.org&external_id=1&brand_id=1&return_to=https%3A%2F%2Fhelp.acme.org%2Fhc")
        .await;
    assert_eq!(response.status(), 200);
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok().map(str::to_owned))
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("zsb_session=;") && c.contains("Max-Age=0")),
        "{cookies:?}"
    );
    let page = response.text().await.expect("body");
    assert!(page_text(&page).contains("You are signed out"));
    let back: Vec<_> = select(&page, "a")
        .iter()
        .filter_map(|a| a.value().attr("href").map(str::to_owned))
        .collect();
    assert!(
        back.contains(&"https://help.acme.org/hc".to_owned()),
        "{back:?}"
    );
}

#[tokio::test]
async fn a_sign_out_never_links_to_a_foreign_return_to() {
    let app = spawn_app().await;
    let page = app
        .get("/logout?return_to=https%3A%2F%2Fevil.com")
        .await
        .text()
        .await
        .expect("body");
    assert!(!page.contains("evil.com"));
}

#[tokio::test]
async fn a_direct_visit_is_a_plain_sign_out() {
    let app = spawn_app().await;
    let response = app.get("/logout").await;
    assert_eq!(response.status(), 200);
    assert!(page_text(&response.text().await.expect("body")).contains("You are signed out"));
}
