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

#[tokio::test]
async fn metrics_say_build_process_latency_upstreams_and_zendesk_safety() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("body");
    for line in [
        r#"zendesk_sso_bridge_build_info{version=""#,
        "zendesk_sso_bridge_process_cpu_seconds_total ",
        "zendesk_sso_bridge_process_resident_memory_bytes ",
        "zendesk_sso_bridge_process_open_fds ",
        "zendesk_sso_bridge_process_start_time_seconds ",
        r#"zendesk_sso_bridge_http_request_duration_seconds_count{method="POST",route="/login"} 1"#,
        r#"zendesk_sso_bridge_upstream_healthy{upstream="imis"} 1"#,
        r#"zendesk_sso_bridge_upstream_circuit_open{upstream="zendesk"} 0"#,
        "zendesk_sso_bridge_zendesk_config_safe 1",
    ] {
        assert!(metrics.contains(line), "{line} missing from:\n{metrics}");
    }
}

/// Every metric the chart's alerts (and so the README's alert advice) use is one the bridge
/// exports.
#[tokio::test]
async fn every_metric_the_alerts_use_exists() {
    const RULES: &str = include_str!("../../helm/zendesk-sso-bridge/templates/prometheusrule.yaml");
    let app = spawn_app().await;
    // A sign-in first: a family with labels appears with its first series.
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let metrics = app.get("/metrics").await.text().await.expect("body");
    let used: std::collections::BTreeSet<&str> = RULES
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.starts_with("zendesk_sso_bridge_"))
        .collect();
    assert!(used.len() >= 5, "{used:?}");
    for name in used {
        let family = name.trim_end_matches("_bucket").trim_end_matches("_total");
        assert!(
            metrics.contains(&format!("# TYPE {family} ")),
            "the alerts use {name}, which /metrics does not export"
        );
    }
}

#[tokio::test]
async fn with_metrics_addr_the_public_port_shows_no_metrics_and_no_details() {
    let port = crate::helpers::free_port();
    let metrics_addr = format!("127.0.0.1:{port}");
    let app = crate::helpers::spawn_app_with(&[("METRICS_ADDR", metrics_addr.as_str())]).await;
    assert_eq!(app.get("/metrics").await.status(), 404);
    let public: Value = app.get("/readyz").await.json().await.expect("json");
    assert_eq!(
        public,
        serde_json::json!({"status": "ready"}),
        "only the status"
    );
    let internal = format!("http://{metrics_addr}");
    let metrics = reqwest::get(format!("{internal}/metrics"))
        .await
        .expect("scrape");
    assert_eq!(metrics.status(), 200);
    assert!(
        metrics
            .text()
            .await
            .expect("body")
            .contains("zendesk_sso_bridge_build_info")
    );
    let details: Value = reqwest::get(format!("{internal}/readyz"))
        .await
        .expect("probe")
        .json()
        .await
        .expect("json");
    assert_eq!(details["member_directory"], "imis");
    let login = reqwest::get(format!("{internal}/login"))
        .await
        .expect("GET");
    assert_eq!(
        login.status(),
        404,
        "members are never served on the metrics port"
    );
}
