//! Rule 1: if Zendesk's JWT configuration lets a sign-in rewrite external ids, the bridge does
//! not serve — at start-up, and as soon as a periodic re-check sees it switched on.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zendesk_sso_bridge::config::Settings;
use zendesk_sso_bridge::startup::{Application, StartupError};

use crate::helpers::{Member, given_a_safe_zendesk, spawn_app_with, test_vars};

async fn unsafe_config(zendesk: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"remote_authentications": [
            {"id": 1, "type": "jwt", "is_active": true, "update_external_ids": true}]})),
        )
        .with_priority(1)
        .mount(zendesk)
        .await;
}

#[tokio::test]
async fn the_bridge_refuses_to_start_when_external_ids_can_be_rewritten() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    unsafe_config(&zendesk).await;
    let settings = Settings::from_vars(test_vars(&imis, &zendesk, &[])).expect("valid");
    let error = Application::build(settings).await.err().expect("refused");
    let refusal = error
        .downcast_ref::<StartupError>()
        .expect("a start-up refusal");
    assert!(
        refusal.to_string().contains("Update of external IDs?"),
        "{refusal}"
    );
}

#[tokio::test]
async fn serve_exits_3_explaining_the_unsafe_setting() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    unsafe_config(&zendesk).await;
    let out = Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
        .arg("serve")
        .env_clear()
        .envs(test_vars(&imis, &zendesk, &[]))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refusing to serve") && err.contains("Switch it Off"),
        "{err}"
    );
}

#[tokio::test]
async fn an_unsafe_change_is_noticed_by_the_recheck_and_stops_sign_ins() {
    let app = spawn_app_with(&[("SAFETY_RECHECK_SECS", "1")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.get("/readyz").await.status(), 200);

    unsafe_config(&app.zendesk).await;
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["zendesk_config"]["state"], "unsafe");
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 503);
    assert!(
        !response
            .text()
            .await
            .expect("body")
            .contains("name=\"jwt\"")
    );
}

#[tokio::test]
async fn zendesk_unreachable_at_start_up_means_not_ready_until_it_answers() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&zendesk)
        .await;
    let settings = Settings::from_vars(test_vars(&imis, &zendesk, &[])).expect("valid");
    let app = Application::build(settings).await.expect("starts");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("{base}/readyz")).await.expect("GET");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["zendesk_config"]["state"], "unverified");

    zendesk.reset().await;
    given_a_safe_zendesk(&zendesk).await;
    // The first sign-in attempt reads the configuration again.
    let client = crate::helpers::browser();
    let form = client
        .get(format!("{base}/login"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    let token = crate::helpers::input_value(&form, "csrf_token").expect("token");
    let member = Member::active();
    let app_view = crate::helpers::TestApp {
        address: base.clone(),
        imis,
        zendesk,
        client,
    };
    app_view.given_member(&member).await;
    let response = app_view
        .client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", member.username.as_str()),
            ("password", member.password.as_str()),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(response.status(), 200);
    assert_eq!(
        reqwest::get(format!("{base}/readyz"))
            .await
            .expect("GET")
            .status(),
        200
    );
}
