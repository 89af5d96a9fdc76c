//! The process as Kubernetes and Docker see it: graceful shutdown on SIGTERM, the
//! `healthcheck` probe, and the Helm test's `smoke-test` against a demo install.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    BIN, IMIS_PREFIX, Member, Running, TestApp, free_port, given_a_safe_zendesk, input_value,
    test_vars, wait_until_healthy,
};

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

#[tokio::test]
async fn sigterm_drains_then_lets_the_in_flight_sign_in_finish() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let vars = test_vars(
        &imis,
        &zendesk,
        &[
            ("LISTEN_ADDR", listen.as_str()),
            ("IMIS_TIMEOUT_MS", "5000"),
            ("SHUTDOWN_DRAIN_SECS", "1"),
            ("SHUTDOWN_TIMEOUT_SECS", "10"),
        ],
    );
    let mut child = Running(
        Command::new(BIN)
            .arg("serve")
            .env_clear()
            .envs(vars)
            .stdout(Stdio::null())
            .spawn()
            .expect("starts"),
    );
    wait_until_healthy(&base).await;

    let app = TestApp::at(base.clone(), imis, zendesk);
    let member = Member::active();
    app.given_member(&member).await;
    // iMIS is slow today: the password grant takes 2 s.
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)).set_body_json(
            serde_json::json!({"access_token": format!("member-token-{}", member.id), "userName": member.username}),
        ))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let client = app.client.clone();
    let url = app.url("/login");
    let (username, password) = (member.username.clone(), member.password.clone());
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .form(&[
                ("csrf_token", token.as_str()),
                ("username", &username),
                ("password", &password),
            ])
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    sigterm(&child.0);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("still answering while draining");
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.expect("json");
    assert_eq!(body["status"], "stopping");

    let response = in_flight
        .await
        .expect("joined")
        .expect("the in-flight request completed");
    assert_eq!(
        response.status(),
        200,
        "the member still got the delivery page"
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            assert!(status.success(), "clean exit, got {status}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "did not stop within the grace period"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_demo_passes_the_helm_smoke_test_and_the_healthcheck() {
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let _demo = Running(
        Command::new(BIN)
            .args([
                "demo",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--public-url",
                "http://bridge.example.svc:8080",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starts"),
    );
    wait_until_healthy(&base).await;

    let out = Command::new(BIN)
        .args(["healthcheck", "--url", &base])
        .output()
        .expect("runs");
    assert!(out.status.success());

    let out = Command::new(BIN)
        .args(["smoke-test", "--demo", "--url", &base])
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("the simulator accepted the token"), "{text}");

    let out = Command::new(BIN)
        .args(["smoke-test", "--url", &base])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "the demo is ready: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_healthcheck_fails_when_nothing_answers() {
    let port = free_port();
    let out = Command::new(BIN)
        .args(["healthcheck", "--url", &format!("http://127.0.0.1:{port}")])
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unhealthy"));
}
