//! Several replicas behave as one deployment when they share a real `redis-server`: failures on
//! either stop at one limit, guesses sent at once across both never pass it, a sign-out on one
//! ends a copied session on the other, and Redis going away falls back to per-pod limits (said in
//! `/readyz` and `/metrics`) until it comes back, without a restart. Redis holds no user name,
//! address, e-mail or code in clear.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, Member, TestApp, attempt_sign_in, browser, input_value, sign_in_cookie,
    spawn_app_with,
};
use crate::redis_server::RedisServer;
use crate::smtp_sink::SmtpSink;

/// Two replicas of one bridge sharing `redis`, with `extra` settings.
async fn two_replicas(redis: &RedisServer, extra: &[(&str, &str)]) -> (TestApp, TestApp) {
    let url = redis.url();
    let mut settings = vec![("REDIS_URL", url.as_str()), ("DEPLOYMENT_REPLICAS", "2")];
    settings.extend_from_slice(extra);
    let a = spawn_app_with(&settings).await;
    let b = a.replica(&settings).await;
    (a, b)
}

/// One attempt from a fresh browser on `app`.
async fn attempt(app: &TestApp, username: &str, password: &str) -> u16 {
    attempt_sign_in(&browser(), &app.url("/login"), username, password, None)
        .await
        .status()
        .as_u16()
}

async fn readyz(app: &TestApp) -> Value {
    app.get("/readyz").await.json().await.expect("json")
}

#[tokio::test]
async fn failures_spread_across_two_replicas_stop_at_one_limit() {
    let redis = RedisServer::start().await;
    let (a, b) = two_replicas(&redis, &[("THROTTLE_USER_FAILURES", "4")]).await;
    let member = Member::active();
    a.given_member(&member).await;
    for replica in [&a, &b, &a, &b] {
        assert_eq!(attempt(replica, &member.username, "wrong").await, 401);
    }
    assert_eq!(attempt(&b, &member.username, &member.password).await, 429);
    assert_eq!(attempt(&a, &member.username, &member.password).await, 429);
    assert_eq!(
        a.imis_calls_to("/token").await,
        4,
        "iMIS saw one limit's worth"
    );
    assert_eq!(readyz(&a).await["shared_state"]["backend"], "redis");
    // What Redis holds names nothing: no user name, no address, no password.
    let stored = redis.keys_and_values();
    assert!(stored.contains("{zsb}:user-failures:"), "{stored}");
    for secret in [
        member.username.as_str(),
        "127.0.0.1",
        "wrong",
        &member.password,
    ] {
        assert!(!stored.contains(secret), "{secret} in Redis: {stored}");
    }
}

#[tokio::test]
async fn guesses_sent_at_once_to_both_replicas_never_pass_the_limit() {
    let redis = RedisServer::start().await;
    let extra = [
        ("THROTTLE_USER_FAILURES", "5"),
        ("SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS", "100"),
        ("IMIS_TIMEOUT_MS", "5000"),
    ];
    let (a, b) = two_replicas(&redis, &extra).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_delay(Duration::from_millis(300))
                .set_body_json(json!({"error": "invalid_grant"})),
        )
        .mount(&a.imis)
        .await;
    for _ in 0..3 {
        let guesses = (0..40).map(|i| {
            let replica = if i % 2 == 0 { &a } else { &b };
            attempt(replica, "ada.lovelace", "guess")
        });
        let statuses = join_all(guesses).await;
        assert!(
            statuses.iter().all(|s| [401, 429, 503].contains(s)),
            "{statuses:?}"
        );
    }
    let grants = a.imis_calls_to("/token").await;
    assert!(
        grants <= 5,
        "{grants} guesses reached iMIS under a limit of 5"
    );
}

#[tokio::test]
async fn a_sign_out_on_one_replica_ends_the_copied_session_on_the_other() {
    let redis = RedisServer::start().await;
    let (a, b) = two_replicas(&redis, &[]).await;
    let member = Member::active();
    a.given_member(&member).await;
    let signed_in = a.sign_in(&member, "").await;
    assert_eq!(signed_in.status(), 200);
    let copied = sign_in_cookie(&signed_in).expect("a session cookie");
    let on_b = |cookie: String| {
        let url = b.url("/login");
        async move {
            let page = reqwest::Client::new()
                .get(url)
                .header("Cookie", format!("zsb_session={cookie}"))
                .send()
                .await
                .expect("GET")
                .text()
                .await
                .expect("body");
            page.contains("id=\"deliver\"")
        }
    };
    assert!(on_b(copied.clone()).await, "the session works on both");
    assert_eq!(a.get("/logout").await.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(2);
    while on_b(copied.clone()).await {
        assert!(
            Instant::now() < deadline,
            "the copied session still signs in on B"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A replica started later learns the sign-out from Redis too.
    let url = redis.url();
    let c = a.replica(&[("REDIS_URL", url.as_str())]).await;
    let page = reqwest::Client::new()
        .get(c.url("/login"))
        .header("Cookie", format!("zsb_session={copied}"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!page.contains("id=\"deliver\""), "a new replica lets it in");
}

#[tokio::test]
async fn without_redis_limits_hold_per_pod_it_is_said_and_redis_coming_back_needs_no_restart() {
    let mut redis = RedisServer::start().await;
    let (a, _b) = two_replicas(&redis, &[("THROTTLE_USER_FAILURES", "2")]).await;
    let member = Member::active();
    a.given_member(&member).await;
    redis.stop();
    // Redis is gone: the limit still holds, on this pod.
    for _ in 0..2 {
        assert_eq!(attempt(&a, &member.username, "wrong").await, 401);
    }
    assert_eq!(attempt(&a, &member.username, &member.password).await, 429);
    let ready = readyz(&a).await;
    assert_eq!(ready["shared_state"]["degraded"], true, "{ready}");
    let metrics = a.get("/metrics").await.text().await.expect("body");
    assert!(
        metrics.contains("shared_state_degraded 1")
            && metrics.contains(r#"shared_state_fallbacks_total{piece="throttle"}"#),
        "{metrics}"
    );
    // Redis comes back: the pod uses it again by itself.
    redis.resume().await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let other = Member {
        id: "30001".into(),
        username: "grace".into(),
        ..Member::active()
    };
    a.given_member(&other).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let _ = attempt(&a, &other.username, &other.password).await;
        if readyz(&a).await["shared_state"]["degraded"] == false {
            break;
        }
        assert!(Instant::now() < deadline, "never recovered");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // Counts are in Redis again.
    assert_eq!(attempt(&a, &other.username, "wrong").await, 401);
    let stored = redis.keys_and_values();
    assert!(stored.contains("{zsb}:user-failures:"), "{stored}");
}

#[tokio::test]
async fn a_code_sent_by_one_replica_is_accepted_by_the_other_and_redis_never_sees_it() {
    let redis = RedisServer::start().await;
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let (a, b) = two_replicas(
        &redis,
        &[
            ("UNLINKED_END_USERS", ""),
            ("SMTP_URL", smtp.as_str()),
            ("MAIL_FROM", "Help Centre <help@example.org>"),
        ],
    )
    .await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    a.given_member(&member).await;
    a.given_zendesk_user(json!({"id": 71, "name": "Somebody", "email": email,
        "external_id": null, "role": "end-user", "active": true, "suspended": false}))
        .await;
    let page = a.sign_in(&member, "").await.text().await.expect("body");
    let code = sink.messages()[0].code().expect("a code in the mail");
    let stored = redis.keys_and_values();
    assert!(stored.contains("{zsb}:code:"), "{stored}");
    for secret in [
        email.as_str(),
        code.as_str(),
        member.id.as_str(),
        &member.full_name,
    ] {
        assert!(!stored.contains(secret), "{secret} in Redis: {stored}");
    }
    // The member's next request reaches the other replica (same browser, same cookies).
    let token = input_value(&page, "csrf_token").expect("token");
    let done = a
        .client
        .post(b.url("/login/verify"))
        .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
        .send()
        .await
        .expect("POST");
    assert_eq!(done.status(), 200);
    assert!(done.text().await.expect("body").contains("id=\"deliver\""));
}

#[tokio::test]
async fn check_says_whether_redis_answers_and_how_fast() {
    let mut redis = RedisServer::start().await;
    let app = spawn_app_with(&[]).await;
    let url = redis.url();
    let check = |replicas: &'static str, redis_url: Option<String>| {
        let mut vars = crate::helpers::test_vars(&app.imis, &app.zendesk, &[]);
        vars.insert("DEPLOYMENT_REPLICAS".into(), replicas.into());
        if let Some(url) = redis_url {
            vars.insert("REDIS_URL".into(), url);
        }
        let out = crate::helpers::run_command("check", vars);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let text = check("3", Some(url.clone()));
    assert!(
        text.contains("✓ shared state") && text.contains("Redis answers PING in"),
        "{text}"
    );
    let text = check("3", None);
    assert!(
        text.contains("! shared state") && text.contains("set REDIS_URL"),
        "{text}"
    );
    redis.stop();
    let text = check("3", Some(url));
    assert!(
        text.contains("✗ shared state") && text.contains("does not answer"),
        "{text}"
    );
}

#[tokio::test]
async fn replicas_share_one_imis_service_token_instead_of_expiring_each_others() {
    // iMIS keeps only the newest token per user: if each replica fetched its own, each fetch
    // would expire the other's. With Redis they use one, fetched once, and sealed there.
    let redis = RedisServer::start().await;
    let (a, b) = two_replicas(
        &redis,
        &[
            ("IMIS_SERVICE_USERNAME", "svc"),
            ("IMIS_SERVICE_PASSWORD", "svc-password"),
        ],
    )
    .await;
    let member = Member::active();
    a.given_member(&member).await;
    a.given_service_account(&member).await;
    // Both replicas serve only once each has verified Zendesk's configuration.
    for replica in [&a, &b] {
        let deadline = Instant::now() + Duration::from_secs(10);
        while replica.get("/readyz").await.status() != 200 {
            assert!(Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    assert_eq!(attempt(&a, &member.username, &member.password).await, 200);
    assert_eq!(attempt(&b, &member.username, &member.password).await, 200);
    let service_grants = a
        .imis
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| String::from_utf8_lossy(&r.body).contains("username=svc&"))
        .count();
    assert_eq!(service_grants, 1, "one service token for both replicas");
    let stored = redis.keys_and_values();
    assert!(
        !stored.contains("service-account-token"),
        "sealed in Redis: {stored}"
    );
}
