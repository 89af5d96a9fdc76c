//! No password, key, secret, token, JWT or session cookie ever reaches the logs — on success,
//! failure and upstream errors. `scripts/test` runs this once more with `RUST_LOG=trace`, so
//! every library's logging is included.

use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, JWT_SECRET, Member, SESSION_KEY, ZENDESK_API_TOKEN, delivery, form, log_text,
    spawn_app, spawn_app_with,
};

fn cookies(response: &reqwest::Response) -> Vec<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|c| c.split(';').next())
        .filter_map(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .filter(|v| v.len() > 16)
        .collect()
}

#[tokio::test]
async fn no_secret_reaches_the_logs() {
    let mut secrets: Vec<String> = vec![
        JWT_SECRET.into(),
        SESSION_KEY.into(),
        ZENDESK_API_TOKEN.into(),
    ];

    // Member's own token: success, session re-use, wrong password, Zendesk error, iMIS down.
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("").await;
    let ok = app
        .submit_login(&page, &member.username, &member.password)
        .await;
    secrets.extend(cookies(&ok));
    secrets.push(delivery(&ok.text().await.expect("body")).jwt);
    let again = app.get("/login").await.text().await.expect("body");
    secrets.push(delivery(&again).jwt);
    app.get("/logout?kind=error&message=Invalid%20JWT").await;
    let page = app.open_login("").await;
    app.submit_login(&page, &member.username, "a-wrong-password-xyz")
        .await;
    secrets.extend([
        member.password.clone(),
        "a-wrong-password-xyz".into(),
        format!("member-token-{}", member.id),
    ]);
    app.imis.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("stack trace with p&ss+w%rd"))
        .mount(&app.imis)
        .await;
    let page = app.open_login("").await;
    assert_eq!(
        app.submit_login(&page, &member.username, &member.password)
            .await
            .status(),
        503
    );

    // Service account: its password and token.
    let svc = spawn_app_with(&[
        ("IMIS_SERVICE_USERNAME", "svc"),
        ("IMIS_SERVICE_PASSWORD", "svc-password-secret-123"),
    ])
    .await;
    let other = Member::active();
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc")]))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"access_token": "service-token-secret-456", "expires_in": 600}),
            ),
        )
        .mount(&svc.imis)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", other.username.as_str())]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "member-token-secret-789"})),
        )
        .mount(&svc.imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .and(query_param("UserName", other.username.as_str()))
        .and(header("Authorization", "Bearer service-token-secret-456"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"Items": {"$values": [{"UserId": other.id, "UserName": other.username}]}}),
        ))
        .mount(&svc.imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{}", other.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(other.person_json()))
        .mount(&svc.imis)
        .await;
    let page = svc.open_login("").await;
    let ok = svc
        .submit_login(&page, &other.username, &other.password)
        .await;
    assert_eq!(ok.status(), 200);
    secrets.push(delivery(&ok.text().await.expect("body")).jwt);
    secrets.extend([
        "svc-password-secret-123".into(),
        "service-token-secret-456".into(),
        "member-token-secret-789".into(),
        other.password.clone(),
    ]);

    // Lines from the test's own HTML parser, cookie jar and fake servers are not the service's.
    let test_side = ["html5ever", "selectors", "cookie_store", "wiremock"];
    let logs: String = log_text()
        .lines()
        .filter(|l| {
            !test_side
                .iter()
                .any(|t| l.contains(&format!("\"log.target\":\"{t}")))
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        logs.contains("\"event\":\"sign_in\""),
        "the logs were captured"
    );
    for secret in &secrets {
        if let Some(at) = logs.find(secret.as_str()) {
            let start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            panic!(
                "a secret reached the logs: {}",
                &logs[start..(start + 400).min(logs.len())]
            );
        }
    }
    // The password grant's form body, URL-encoded, is not there either.
    assert!(!logs.contains("p%26ss%2Bw%25rd"));
}
