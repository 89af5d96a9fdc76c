//! Brute force is slowed down, then refused with 429 and the time to wait — per user name and
//! per client address, the latter believed from X-Forwarded-For only behind trusted proxies.

use std::time::Duration;

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, Member, TestApp, attempt_sign_in, audit_events_for, browser, log_lines, page_text,
    spawn_app_with,
};

async fn attempt(
    app: &TestApp,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    attempt_sign_in(
        &app.client,
        &app.url("/login"),
        username,
        password,
        forwarded_for,
    )
    .await
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
    let calls = app.imis_calls_to("/token").await;

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
        app.imis_calls_to("/token").await,
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

/// iMIS answers every password grant after `delay`: wrong passwords `invalid_grant`.
async fn slow_imis(app: &TestApp, delay: Duration) {
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_delay(delay)
                .set_body_json(json!({"error": "invalid_grant"})),
        )
        .mount(&app.imis)
        .await;
}

/// One guess from its own browser (its own form and CSRF token), as a script would send it.
async fn guess_from_own_browser(
    app: &TestApp,
    username: &str,
    forwarded_for: Option<&str>,
) -> Response {
    attempt_sign_in(
        &browser(),
        &app.url("/login"),
        username,
        "guess",
        forwarded_for,
    )
    .await
}

#[tokio::test]
async fn simultaneous_guesses_cannot_pass_the_limit_together() {
    let app = spawn_app_with(&[
        ("THROTTLE_USER_FAILURES", "5"),
        ("SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS", "100"),
        ("IMIS_TIMEOUT_MS", "5000"),
    ])
    .await;
    slow_imis(&app, Duration::from_millis(300)).await;
    // 40 guesses for one member, all sent at once, for three rounds.
    for _ in 0..3 {
        let guesses = (0..40).map(|_| guess_from_own_browser(&app, "ada.lovelace", None));
        let statuses: Vec<u16> = join_all(guesses)
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        assert!(
            statuses.iter().all(|s| [401, 429, 503].contains(s)),
            "{statuses:?}"
        );
    }
    assert!(
        app.imis_calls_to("/token").await <= 5,
        "{} guesses reached iMIS under a limit of 5",
        app.imis_calls_to("/token").await
    );
}

#[tokio::test]
async fn an_address_has_few_sign_ins_in_flight_and_the_rest_see_the_busy_page() {
    let app = spawn_app_with(&[
        ("SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS", "2"),
        ("IMIS_TIMEOUT_MS", "5000"),
    ])
    .await;
    slow_imis(&app, Duration::from_millis(400)).await;
    let guesses = (0..6).map(|i| guess_from_own_browser_named(&app, i));
    let responses = join_all(guesses).await;
    let busy: Vec<_> = responses.iter().filter(|r| r.status() == 503).collect();
    assert_eq!(busy.len(), 4, "two in flight, four told to come back");
    assert_eq!(busy[0].headers()["retry-after"], "5");
    assert_eq!(app.imis_calls_to("/token").await, 2);
    let page = page_text(&attempt_busy_page(&app).await);
    assert!(page.contains("The sign-in service is busy"), "{page}");
}

async fn guess_from_own_browser_named(app: &TestApp, i: usize) -> Response {
    guess_from_own_browser(app, &format!("member-{i}"), None).await
}

/// The busy page as a member sees it, while two slow sign-ins hold the address's places.
async fn attempt_busy_page(app: &TestApp) -> String {
    let holders = (10..12).map(|i| guess_from_own_browser_named(app, i));
    let late = async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        guess_from_own_browser_named(app, 99).await
    };
    let (_, late) = tokio::join!(join_all(holders), late);
    assert_eq!(late.status(), 503);
    late.text().await.expect("body")
}

#[tokio::test]
async fn over_the_overall_cap_a_sign_in_waits_briefly_then_sees_the_busy_page() {
    let app = spawn_app_with(&[("SIGN_IN_MAX_IN_FLIGHT", "1"), ("IMIS_TIMEOUT_MS", "5000")]).await;
    slow_imis(&app, Duration::from_secs(3)).await;
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(guess_from_own_browser(&app, "first", None), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        guess_from_own_browser(&app, "second", None).await
    });
    assert_eq!(first.status(), 401);
    assert_eq!(second.status(), 503, "never a hang");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(app.imis_calls_to("/token").await, 1);
}

#[tokio::test]
async fn past_the_waiting_line_a_sign_in_is_busy_at_once() {
    let app = spawn_app_with(&[("SIGN_IN_MAX_IN_FLIGHT", "1"), ("IMIS_TIMEOUT_MS", "5000")]).await;
    slow_imis(&app, Duration::from_secs(3)).await;
    let later = |name: &'static str, ms: u64| {
        let app = &app;
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let started = std::time::Instant::now();
            let response = guess_from_own_browser(app, name, None).await;
            (response.status(), started.elapsed())
        }
    };
    let (first, in_line, past_line) = tokio::join!(
        later("first", 0),
        later("in-line", 200),
        later("past-line", 400)
    );
    assert_eq!(first.0, 401, "the first had the place");
    assert_eq!(in_line.0, 503, "the second waited its 2 s in line");
    assert!(in_line.1 >= Duration::from_millis(1900), "{:?}", in_line.1);
    assert_eq!(past_line.0, 503, "the line (as long as the cap) was full");
    assert!(
        past_line.1 < Duration::from_millis(500),
        "at once: {:?}",
        past_line.1
    );
    assert_eq!(app.imis_calls_to("/token").await, 1);
}

#[tokio::test]
async fn requests_to_imis_are_capped_and_a_sign_in_over_the_cap_sees_the_busy_page() {
    let app = spawn_app_with(&[("IMIS_MAX_IN_FLIGHT", "1"), ("IMIS_TIMEOUT_MS", "5000")]).await;
    slow_imis(&app, Duration::from_secs(3)).await;
    let started = std::time::Instant::now();
    let (first, second) = tokio::join!(guess_from_own_browser(&app, "first", None), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        guess_from_own_browser(&app, "second", None).await
    });
    assert_eq!(first.status(), 401, "the first had the place");
    assert_eq!(second.status(), 503);
    let page = page_text(&second.text().await.expect("body"));
    assert!(page.contains("busy"), "{page}");
    assert!(started.elapsed() < Duration::from_secs(5), "never a hang");
    assert_eq!(
        app.imis_calls_to("/token").await,
        1,
        "iMIS saw one request at a time"
    );
    // A busy answer says nothing about iMIS's health: the circuit stays closed.
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    assert!(
        metrics.contains("upstream_circuit_open{upstream=\"imis\"} 0"),
        "{metrics}"
    );
}

#[tokio::test]
async fn look_alike_spellings_of_a_user_name_share_one_count() {
    let app = spawn_app_with(&[("THROTTLE_USER_FAILURES", "3")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    let fullwidth: String = member
        .username
        .chars()
        .map(|c| match c {
            'a'..='z' => char::from_u32(c as u32 - 'a' as u32 + 0xFF41).unwrap_or(c),
            _ => c,
        })
        .collect();
    let composed = member.username.to_uppercase();
    for name in [member.username.clone(), fullwidth, composed] {
        assert_eq!(
            attempt(&app, &name, "wrong", None).await.status(),
            401,
            "{name}"
        );
    }
    assert_eq!(
        attempt(&app, &member.username, &member.password, None)
            .await
            .status(),
        429
    );
    // A name hiding an invisible character is no user name at all.
    let calls = app.imis_calls_to("/token").await;
    let hidden = format!("{}\u{200B}", member.username);
    assert_eq!(attempt(&app, &hidden, "wrong", None).await.status(), 400);
    assert_eq!(app.imis_calls_to("/token").await, calls);
}

#[tokio::test]
async fn ipv6_clients_are_counted_by_their_slash_64() {
    let app = spawn_app_with(&[
        ("THROTTLE_IP_FAILURES", "3"),
        ("TRUSTED_PROXIES", "127.0.0.1/32"),
    ])
    .await;
    app.given_member(&Member::active()).await;
    for (i, ip) in ["2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::3"]
        .iter()
        .enumerate()
    {
        let status = attempt(&app, &format!("v6-{i}"), "guess", Some(ip))
            .await
            .status();
        assert_eq!(status, 401);
    }
    let same_prefix = attempt(&app, "v6-9", "guess", Some("2001:db8:1:2:ffff::9")).await;
    assert_eq!(same_prefix.status(), 429);
    let next_prefix = attempt(&app, "v6-9", "guess", Some("2001:db8:1:3::9")).await;
    assert_eq!(next_prefix.status(), 401);
}

#[tokio::test]
async fn by_default_the_bridge_stops_before_imis_would_lock_the_account() {
    // iMIS's "Maximum invalid password attempts" is at most 5 (default 5).
    let app = spawn_app_with(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    let mut statuses = Vec::new();
    for _ in 0..8 {
        statuses.push(
            attempt(&app, &member.username, "wrong", None)
                .await
                .status()
                .as_u16(),
        );
    }
    assert!(app.imis_calls_to("/token").await < 5, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429));
}

#[tokio::test]
async fn a_members_second_device_waits_its_turn_and_signs_in_too() {
    // A double-click or a second tab is the member, not an attack: one attempt per user name
    // reaches iMIS at a time, and the next waits for it instead of seeing the busy page.
    let app = spawn_app_with(&[("IMIS_TIMEOUT_MS", "5000")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(crate::helpers::form(&[(
            "username",
            member.username.as_str(),
        )]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_delay(Duration::from_millis(400))
                .set_body_json(
                    json!({"access_token": format!("member-token-{}", member.id),
                    "token_type": "bearer", "expires_in": 1199, "userName": member.username}),
                ),
        )
        .with_priority(1)
        .mount(&app.imis)
        .await;
    let url = app.url("/login");
    let (first, second) = (browser(), browser());
    let (a, b) = tokio::join!(
        attempt_sign_in(&first, &url, &member.username, &member.password, None),
        attempt_sign_in(&second, &url, &member.username, &member.password, None),
    );
    assert_eq!((a.status().as_u16(), b.status().as_u16()), (200, 200));
    assert_eq!(app.imis_calls_to("/token").await, 2, "one after the other");
}
