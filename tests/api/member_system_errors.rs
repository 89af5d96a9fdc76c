//! When iMIS is down, slow or talking nonsense, the member sees "member system unavailable"
//! with an error id — never "wrong password" — and the log has the same id and the cause.

use std::time::Duration;

use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{IMIS_PREFIX, Member, TestApp, input_value, log_lines, page_text, spawn_app};

async fn assert_unavailable_page(app: &TestApp, member: &Member) {
    let response = app.sign_in(member, "").await;
    assert_eq!(response.status(), 503);
    let page = response.text().await.expect("body");
    let text = page_text(&page);
    assert!(
        text.contains("can't check your membership right now"),
        "{text}"
    );
    assert!(
        !text.contains("did not match"),
        "never blamed on the password"
    );
    assert!(input_value(&page, "jwt").is_none());
    let error_id = text
        .split("quote this reference: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("an error id on the page")
        .to_owned();
    assert_eq!(error_id.len(), 8);
    let lines = log_lines();
    assert!(
        lines.iter().any(|l| l["target"] == "audit"
            && l["reason"] == "member_system_unavailable"
            && l["error_id"] == error_id.as_str()),
        "the audit event carries the error id {error_id}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l["level"] == "ERROR" && l["error_id"] == error_id.as_str()),
        "the cause is logged with the error id {error_id}"
    );
}

#[tokio::test]
async fn imis_answering_500_shows_the_unavailable_page() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(500).set_body_json(
            json!({"Message": "An error occurred. Please contact the administrator."}),
        ))
        .mount(&app.imis)
        .await;
    assert_unavailable_page(&app, &Member::active()).await;
}

#[tokio::test]
async fn imis_too_slow_shows_the_unavailable_page() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(3)))
        .mount(&app.imis)
        .await;
    assert_unavailable_page(&app, &Member::active()).await;
}

#[tokio::test]
async fn imis_unreachable_shows_the_unavailable_page() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("port");
    let port = closed.local_addr().expect("addr").port();
    drop(closed);
    let app =
        crate::helpers::spawn_app_with(&[("IMIS_BASE_URL", &format!("http://127.0.0.1:{port}"))])
            .await;
    assert_unavailable_page(&app, &Member::active()).await;
}

#[tokio::test]
async fn garbage_from_the_token_endpoint_shows_the_unavailable_page() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("<html>Service Unavailable</html>", "text/html"),
        )
        .mount(&app.imis)
        .await;
    assert_unavailable_page(&app, &Member::active()).await;
}

#[tokio::test]
async fn garbage_party_json_shows_the_unavailable_page() {
    let app = spawn_app().await;
    let member = Member::active();
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw("{\"PartyId\": \"1\", \"Emails\": [tru", "application/json"),
        )
        .with_priority(1)
        .mount(&app.imis)
        .await;
    app.given_member(&member).await;
    assert_unavailable_page(&app, &member).await;
}

#[tokio::test]
async fn a_password_grant_refused_for_another_reason_is_not_a_wrong_password() {
    let app = spawn_app().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "unsupported_grant_type"})),
        )
        .mount(&app.imis)
        .await;
    assert_unavailable_page(&app, &Member::active()).await;
}
