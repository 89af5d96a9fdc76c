//! Brute force is slowed down, then refused with 429 and the time to wait — per user name and
//! per client address, the latter believed from X-Forwarded-For only behind trusted proxies.

use reqwest::Response;

use crate::helpers::{
    Member, TestApp, audit_events_for, input_value, log_lines, page_text, spawn_app_with,
};

async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let page = app.open_login("").await;
    let token = input_value(&page, "csrf_token").expect("token");
    let mut request = app.client.post(app.url("/login"));
    if let Some(ip) = forwarded_for {
        request = request.header("X-Forwarded-For", ip);
    }
    request
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST")
}

async fn token_requests(app: &TestApp) -> usize {
    app.imis
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path().ends_with("/token"))
        .count()
}

#[tokio::test]
async fn repeated_wrong_passwords_lock_the_user_name_for_a_while() {
    let app = spawn_app_with(&[
        ("THROTTLE_USER_FAILURES", "3"),
        ("THROTTLE_WINDOW_SECS", "600"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    for name in [
        member.username.clone(),
        member.username.to_uppercase(),
        format!("  {} ", member.username),
    ] {
        assert_eq!(attempt(&app, &name, "wrong", None).await.status(), 401);
    }
    let calls = token_requests(&app).await;

    let refused = attempt(&app, &member.username, &member.password, None).await;
    assert_eq!(refused.status(), 429);
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    let text = page_text(&refused.text().await.expect("body"));
    assert!(text.contains("Too many sign-in attempts"), "{text}");
    assert!(text.contains("You can try again in 10 minutes"), "{text}");
    assert_eq!(
        token_requests(&app).await,
        calls,
        "a refused attempt never reaches iMIS"
    );
    assert!(
        log_lines()
            .iter()
            .any(|l| l["target"] == "audit" && l["reason"] == "throttled")
    );

    // Another member is not affected.
    let other = Member::active();
    app.given_member(&other).await;
    assert_eq!(
        attempt(&app, &other.username, &other.password, None)
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_successful_sign_in_clears_the_user_names_failures() {
    let app = spawn_app_with(&[("THROTTLE_USER_FAILURES", "2")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(
        attempt(&app, &member.username, "wrong", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        attempt(&app, &member.username, &member.password, None)
            .await
            .status(),
        200
    );
    app.get("/logout").await;
    assert_eq!(
        attempt(&app, &member.username, "wrong", None)
            .await
            .status(),
        401
    );
    assert_eq!(
        attempt(&app, &member.username, &member.password, None)
            .await
            .status(),
        200
    );
    assert!(
        audit_events_for(&member.id)
            .iter()
            .all(|e| e["reason"] != "throttled")
    );
}

#[tokio::test]
async fn an_address_spraying_many_names_is_refused_behind_a_trusted_proxy() {
    let app = spawn_app_with(&[
        ("THROTTLE_IP_FAILURES", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    for name in ["spray-1", "spray-2", "spray-3"] {
        assert_eq!(
            attempt(&app, name, "guess", Some("198.51.100.1"))
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        attempt(&app, "spray-4", "guess", Some("198.51.100.1"))
            .await
            .status(),
        429
    );
    // A member behind the same proxy but at another address signs in.
    assert_eq!(
        attempt(
            &app,
            &member.username,
            &member.password,
            Some("198.51.100.2")
        )
        .await
        .status(),
        200
    );
}

#[tokio::test]
async fn x_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(&[("THROTTLE_IP_FAILURES", "3")]).await;
    app.given_member(&Member::active()).await;
    for (i, ip) in ["203.0.113.1", "203.0.113.2", "203.0.113.3"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            attempt(&app, &format!("spoof-{i}"), "guess", Some(ip))
                .await
                .status(),
            401
        );
    }
    assert_eq!(
        attempt(&app, "spoof-9", "guess", Some("203.0.113.99"))
            .await
            .status(),
        429
    );
}
