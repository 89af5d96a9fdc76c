//! Rule 1: if Zendesk's JWT configuration lets a sign-in rewrite external ids, the bridge does
//! not serve — at start-up, and as soon as a periodic re-check sees it switched on.

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zendesk_sso_bridge::config::Settings;
use zendesk_sso_bridge::startup::{Application, StartupError};

use crate::helpers::{
    Member, given_a_safe_zendesk, given_update_external_ids_on, spawn_app_with, sso_config,
    test_vars,
};

async fn unsafe_config(zendesk: &MockServer) {
    given_update_external_ids_on(zendesk).await;
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
        imis: imis.into(),
        zendesk: zendesk.into(),
        client,
        // This client was built before, with its own cookie store.
        cookies: Default::default(),
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

/// Zendesk's documented example, verbatim (`../shared/reference/zendesk.md`), with
/// "Update of external IDs?" as given.
fn documented_example(update_external_ids: bool) -> Value {
    let example = r#"{"id":1,"name":"Member SSO","auth_mode":3,"auth_mode_name":"jwt",
    "is_active":true,"end_user":true,"agent":false,"end_user_primary":true,"agent_primary":false,
    "update_external_ids":false,"remote_login_url":"https://sso.example.org/login",
    "remote_logout_url":"https://sso.example.org/logout","ip_ranges":"","masked_secret":"3dRk****"}"#;
    let mut config: Value = serde_json::from_str(example).expect("the documented example");
    config["update_external_ids"] = json!(update_external_ids);
    json!({"remote_authentications": [config], "next_page": null, "previous_page": null, "count": 1})
}

/// A bridge at the example's URLs, with a secret whose first characters Zendesk shows.
fn example_vars(
    imis: &MockServer,
    zendesk: &MockServer,
) -> std::collections::HashMap<String, String> {
    test_vars(
        imis,
        zendesk,
        &[
            ("PUBLIC_URL", "https://sso.example.org"),
            (
                "ZENDESK_JWT_SECRET",
                "3dRk-the-rest-of-the-shared-secret-0123456789",
            ),
        ],
    )
}

async fn zendesk_answering(body: Value) -> MockServer {
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .with_priority(1)
        .mount(&zendesk)
        .await;
    given_a_safe_zendesk(&zendesk).await;
    zendesk
}

async fn refusal(vars: std::collections::HashMap<String, String>) -> String {
    let settings = Settings::from_vars(vars).expect("valid");
    let error = Application::build(settings).await.err().expect("refused");
    error
        .downcast_ref::<StartupError>()
        .expect("a start-up refusal")
        .to_string()
}

#[tokio::test]
async fn the_documented_answer_with_update_external_ids_on_is_refused() {
    let imis = MockServer::start().await;
    let zendesk = zendesk_answering(documented_example(true)).await;
    let why = refusal(example_vars(&imis, &zendesk)).await;
    assert!(why.contains("Update of external IDs?"), "{why}");
}

#[tokio::test]
async fn the_documented_answer_with_it_off_starts_and_is_ready() {
    let imis = MockServer::start().await;
    let zendesk = zendesk_answering(documented_example(false)).await;
    let settings = Settings::from_vars(example_vars(&imis, &zendesk)).expect("valid");
    let app = Application::build(settings).await.expect("starts");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("{base}/readyz")).await.expect("GET");
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["zendesk_config"]["state"], "safe");
    assert_eq!(
        body["zendesk_config"]["warnings"],
        json!([]),
        "nothing to warn about"
    );
}

#[tokio::test]
async fn an_answer_that_cannot_be_read_is_never_safe() {
    for (body, names) in [
        (json!({"sso": []}), "no \"remote_authentications\" list"),
        (
            json!({"remote_authentications": [{"id": 7, "name": "Staff JWT", "auth_mode": 3,
                "is_active": true}]}),
            "\"Staff JWT\"",
        ),
        (
            json!({"remote_authentications": [{"id": 8, "auth_mode": 9, "is_active": true,
                "update_external_ids": "sometimes"}]}),
            "update_external_ids, agent, end_user (missing or not a boolean)",
        ),
        (
            // `agent` is required: without it, team members may be signing in through it.
            json!({"remote_authentications": [{"id": 9, "name": "Members", "auth_mode": 3,
                "is_active": true, "end_user": true, "update_external_ids": false}]}),
            "does not say agent",
        ),
    ] {
        let imis = MockServer::start().await;
        let zendesk = zendesk_answering(body.clone()).await;
        let why = refusal(test_vars(&imis, &zendesk, &[])).await;
        assert!(why.contains("read") && why.contains(names), "{body}: {why}");
    }
}

#[tokio::test]
async fn a_shared_secret_that_does_not_match_zendesk_is_refused_at_start_up() {
    let imis = MockServer::start().await;
    let zendesk = zendesk_answering(documented_example(false)).await;
    let mut vars = example_vars(&imis, &zendesk);
    vars.insert(
        "ZENDESK_JWT_SECRET".into(),
        "4xyz-not-the-secret-zendesk-holds-0123456789".into(),
    );
    let why = refusal(vars).await;
    assert!(
        why.contains("ZENDESK_JWT_SECRET") && why.contains("3dRk****"),
        "{why}"
    );
}

#[tokio::test]
async fn a_configuration_for_team_members_is_warned_about_or_refused_by_choice() {
    let mut body = documented_example(false);
    body["remote_authentications"][0]["agent"] = json!(true);
    let imis = MockServer::start().await;
    let zendesk = zendesk_answering(body).await;
    let settings = Settings::from_vars(example_vars(&imis, &zendesk)).expect("valid");
    let app = Application::build(settings)
        .await
        .expect("warns but starts");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    let body: Value = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("GET")
        .json()
        .await
        .expect("json");
    let warnings = body["zendesk_config"]["warnings"].to_string();
    assert!(warnings.contains("team members"), "{warnings}");

    let mut vars = example_vars(&imis, &zendesk);
    vars.insert("ZENDESK_AGENT_SSO".into(), "refuse".into());
    let why = refusal(vars).await;
    assert!(why.contains("agent workspace"), "{why}");
}

#[tokio::test]
async fn refused_api_credentials_are_named_in_readyz_not_called_unavailable() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": "invalid_token"})))
        .mount(&zendesk)
        .await;
    let settings = Settings::from_vars(test_vars(&imis, &zendesk, &[])).expect("valid");
    let app = Application::build(settings)
        .await
        .expect("starts, not ready");
    let base = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("{base}/readyz")).await.expect("GET");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    let reason = body["zendesk_config"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("refused the API credentials")
            && reason.contains("ZENDESK_API_OAUTH_TOKEN"),
        "{reason}"
    );
}

/// A Zendesk with brand separation on for brand 2, whose own JWT configuration (read only with
/// `brand_id=2`) is `brand_config`; the account-level one is safe.
async fn zendesk_with_separated_brand(brand_config: Value) -> MockServer {
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/brands"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"brands": [
            {"id": 1, "name": "Acme", "user_separation": "account"},
            {"id": 2, "name": "Acme Juniors", "user_separation": "brand"}],
            "next_page": null, "count": 2})))
        .mount(&zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .and(wiremock::matchers::query_param("brand_id", "2"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"remote_authentications": [brand_config]})),
        )
        .with_priority(1)
        .mount(&zendesk)
        .await;
    given_a_safe_zendesk(&zendesk).await;
    zendesk
}

#[tokio::test]
async fn with_brand_separation_every_brands_configuration_is_judged() {
    let imis = MockServer::start().await;
    let zendesk = zendesk_with_separated_brand(sso_config(json!({
        "id": 2, "name": "Juniors SSO", "brand_id": 2, "update_external_ids": true})))
    .await;
    let why = refusal(test_vars(&imis, &zendesk, &[])).await;
    assert!(
        why.contains("Juniors SSO") && why.contains("Update of external IDs"),
        "{why}"
    );
}

#[tokio::test]
async fn with_brand_separation_that_cannot_be_listed_the_bridge_does_not_serve() {
    // users/me says separation is on, but the brands (and so their configurations) cannot be
    // read with these credentials.
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/brands"))
        .respond_with(ResponseTemplate::new(403))
        .mount(&zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/me"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"user": {
            "id": 1, "role": "admin", "separation": {"scope": "account"}}})))
        .mount(&zendesk)
        .await;
    given_a_safe_zendesk(&zendesk).await;
    let settings = Settings::from_vars(test_vars(&imis, &zendesk, &[])).expect("valid");
    let app = Application::build(settings)
        .await
        .expect("starts in strict mode without a verified configuration");
    let address = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    let ready = reqwest::get(format!("{address}/readyz"))
        .await
        .expect("readyz");
    assert_eq!(
        ready.status(),
        503,
        "not ready while it cannot see every brand"
    );
}
