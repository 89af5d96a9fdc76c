//! `/healthz`, `/readyz` and `/metrics` as a Kubernetes probe and Prometheus would see them.

use serde_json::Value;

use crate::helpers::{Member, spawn_app};

#[tokio::test]
async fn healthz_and_readyz_answer() {
    let app = spawn_app().await;
    let health = app.get("/healthz").await;
    assert_eq!(health.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "ready");
    assert_eq!(body["member_directory"], "imis");
    assert_eq!(body["upstreams"][0]["state"], "unknown");
}

#[tokio::test]
async fn readyz_reports_a_failing_member_system_as_degraded() {
    let app = spawn_app().await;
    for _ in 0..3 {
        // No mocks mounted: iMIS answers 404 to the token request, which is not an answer.
        assert_eq!(app.sign_in(&Member::active(), "").await.status(), 503);
    }
    let body: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["upstreams"][0]["name"], "imis");
    assert_eq!(body["upstreams"][0]["state"], "degraded");
}

#[tokio::test]
async fn metrics_count_sign_ins_requests_and_upstream_latency() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    let metrics = app.get("/metrics").await.text().await.expect("body");
    assert!(
        metrics.contains(
            r#"zendesk_sso_bridge_sign_ins_total{outcome="success",reason="password"} 1"#
        ),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"zendesk_sso_bridge_http_requests_total{method="POST",route="/login",status="200"} 1"#
        ),
        "{metrics}"
    );
    assert!(metrics.contains(r#"zendesk_sso_bridge_upstream_request_duration_seconds_count{upstream="imis",operation="token",outcome="ok"} 1"#), "{metrics}");
}

#[tokio::test]
async fn unknown_paths_get_the_not_found_page() {
    let app = spawn_app().await;
    let response = app.get("/wp-admin").await;
    assert_eq!(response.status(), 404);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("Page not found")
    );
}
