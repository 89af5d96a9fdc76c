//! The access line an operator reads: who (the member's address through `TRUSTED_PROXIES`),
//! with what browser, how long it took; and a warning when a proxy's forwarding header is being
//! ignored. Outgoing calls honour `HTTP(S)_PROXY` and `NO_PROXY`.

use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    given_a_safe_zendesk, log_lines, log_text, spawn_app, spawn_app_with, test_vars,
};

#[tokio::test]
async fn the_access_line_names_the_member_their_browser_and_the_duration() {
    let app = spawn_app_with(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let before = log_lines().len();
    app.client
        .get(app.url("/login"))
        .header("X-Forwarded-For", "198.51.100.7")
        .header("User-Agent", "Mozilla/5.0 (member's browser)")
        .send()
        .await
        .expect("GET");
    let lines = log_lines();
    let access = lines[before..]
        .iter()
        .find(|l| l["target"] == "access" && l["route"] == "/login")
        .cloned()
        .expect("an access line");
    assert_eq!(access["client"], "198.51.100.7");
    assert_eq!(access["user_agent"], "Mozilla/5.0 (member's browser)");
    assert!(
        access["duration_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
        "{access}"
    );
}

#[tokio::test]
async fn a_forwarding_header_from_an_untrusted_private_address_is_warned_about() {
    let app = spawn_app().await;
    app.client
        .get(app.url("/login"))
        .header("X-Forwarded-For", "198.51.100.7")
        .send()
        .await
        .expect("GET");
    let logs = log_text();
    assert!(
        logs.contains("TRUSTED_PROXIES does not list") && logs.contains("127.0.0.1"),
        "no warning in {logs}"
    );
}

#[tokio::test]
async fn outgoing_calls_go_through_the_proxy_the_environment_names() {
    let proxy = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&proxy)
        .await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    let imis = MockServer::start().await;
    let mut vars = test_vars(&imis, &zendesk, &[]);
    // iMIS at a port where nothing listens: only the proxy can answer for it. Zendesk (on
    // 127.0.0.1) directly, as NO_PROXY says.
    vars.insert("IMIS_BASE_URL".into(), "http://localhost:9/imis".into());
    vars.insert("HTTP_PROXY".into(), proxy.uri());
    vars.insert("NO_PROXY".into(), "127.0.0.1".into());
    let out = crate::helpers::run_command("check", vars);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let through_proxy = proxy.received_requests().await.expect("recorded");
    assert!(
        through_proxy
            .iter()
            .any(|r| r.url.path().starts_with("/imis")),
        "iMIS was not asked through the proxy: {text}"
    );
    assert!(
        !zendesk
            .received_requests()
            .await
            .expect("recorded")
            .is_empty(),
        "NO_PROXY: Zendesk is asked directly"
    );
}
