//! Upstreams on a bad day: HTML error pages, odd content types, repeated failures that open the
//! circuit breaker, and recovery once the fault clears — each with the member's page, the audit
//! event and the metric.

use std::time::Duration;

use serde_json::Value;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{IMIS_PREFIX, Member, TestApp, input_value, page_text, spawn_app_with};

async fn imis_calls(app: &TestApp) -> usize {
    app.imis.received_requests().await.expect("recorded").len()
}

async fn metric(app: &TestApp, line: &str) -> bool {
    app.get("/metrics")
        .await
        .text()
        .await
        .expect("body")
        .contains(line)
}

#[tokio::test]
async fn a_502_html_page_from_imis_is_member_system_unavailable() {
    let app = spawn_app_with(&[]).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(502).set_body_raw(
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
            "text/html",
        ))
        .mount(&app.imis)
        .await;
    let response = app.sign_in(&Member::active(), "").await;
    assert_eq!(response.status(), 503);
    assert!(
        page_text(&response.text().await.expect("body")).contains("can't check your membership")
    );
    assert!(
        metric(
            &app,
            r#"sign_ins_total{outcome="failed",reason="member_system_unavailable"} 1"#
        )
        .await
    );
}

#[tokio::test]
async fn json_with_a_wrong_content_type_is_still_read() {
    let app = spawn_app_with(&[]).await;
    let member = Member::active();
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            member.person_json().to_string(),
            "text/plain; charset=iso-8859-1",
        ))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
}

#[tokio::test]
async fn repeated_imis_failures_open_the_circuit_and_a_fixed_imis_closes_it() {
    let app = spawn_app_with(&[
        ("UPSTREAM_CIRCUIT_FAILURES", "2"),
        ("UPSTREAM_CIRCUIT_COOLDOWN_SECS", "1"),
    ])
    .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.imis)
        .await;
    let member = Member::active();
    for _ in 0..2 {
        assert_eq!(app.sign_in(&member, "").await.status(), 503);
    }
    let calls = imis_calls(&app).await;

    // Open: the member gets the page at once, iMIS is left alone.
    let started = std::time::Instant::now();
    assert_eq!(app.sign_in(&member, "").await.status(), 503);
    assert!(
        started.elapsed() < Duration::from_millis(400),
        "short-circuited"
    );
    assert_eq!(
        imis_calls(&app).await,
        calls,
        "no call while the circuit is open"
    );
    let ready: Value = app.get("/readyz").await.json().await.expect("json");
    let imis = &ready["upstreams"][0];
    assert_eq!(
        (imis["name"].as_str(), imis["circuit"].as_str()),
        (Some("imis"), Some("open"))
    );

    // iMIS recovers; after the cool-down the trial call succeeds and closes the circuit.
    app.imis.reset().await;
    app.given_member(&member).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let ready: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(ready["upstreams"][0]["circuit"], "closed");
    assert_eq!(ready["upstreams"][0]["state"], "ok");
}

#[tokio::test]
async fn a_zendesk_outage_fails_closed_and_recovers() {
    let app = spawn_app_with(&[("ZENDESK_API_CACHE_TTL_SECS", "0")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
        )
        .with_priority(1)
        .expect(2)
        .mount(&app.zendesk)
        .await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 503);
    let page = response.text().await.expect("body");
    assert!(input_value(&page, "jwt").is_none());
    assert!(page_text(&page).contains("can't be reached right now"));
    assert!(
        metric(
            &app,
            r#"sign_ins_total{outcome="denied",reason="zendesk_unavailable"} 1"#
        )
        .await
    );

    app.zendesk.reset().await;
    crate::helpers::given_a_safe_zendesk(&app.zendesk).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
}

#[tokio::test]
async fn a_truncated_zendesk_answer_is_not_taken_for_no_users() {
    let app = spawn_app_with(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(r#"{"users":[{"id":1,"email":"#, "application/json"),
        )
        .with_priority(1)
        .mount(&app.zendesk)
        .await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(
        response.status(),
        503,
        "garbage is never read as 'nobody has this e-mail'"
    );
}

#[tokio::test]
async fn an_oversized_answer_is_unavailable_not_buffered() {
    let app = spawn_app_with(&[("IMIS_TIMEOUT_MS", "5000")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    // A well-formed token answer, padded past the 4 MiB every upstream answer is capped at.
    let padded = format!(
        r#"{{"access_token": "member-token-{}", "userName": "{}"{}}}"#,
        member.id,
        member.username,
        " ".repeat(5 * 1024 * 1024)
    );
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(padded, "application/json"))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 503);
    let text = page_text(&response.text().await.expect("body"));
    assert!(text.contains("can't check your membership"), "{text}");
}

#[tokio::test]
async fn strangers_refused_by_imis_cannot_open_the_circuit_for_members() {
    let app = spawn_app_with(&[
        ("UPSTREAM_CIRCUIT_FAILURES", "2"),
        ("UPSTREAM_CIRCUIT_COOLDOWN_SECS", "60"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    // iMIS refuses these made-up user names with a 400 other than `invalid_grant`.
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(body_string_contains("username=stranger"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(serde_json::json!({"error": "invalid_request"})),
        )
        .with_priority(1)
        .mount(&app.imis)
        .await;
    for i in 0..5 {
        let stranger = Member {
            username: format!("stranger-{i}"),
            ..Member::active()
        };
        let status = app.sign_in(&stranger, "").await.status();
        assert_ne!(status, 200);
    }
    assert_eq!(
        app.sign_in(&member, "").await.status(),
        200,
        "the circuit is still closed"
    );
}
