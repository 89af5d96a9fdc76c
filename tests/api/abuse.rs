//! A stranger's requests cost bounded memory and forged messages change nothing: made-up HTTP
//! methods add no metric series, the members file's password checks are bounded, Zendesk's error
//! reports are believed only right after our delivery, a redirect loop is stopped with advice, and
//! a soak of mixed hostile load leaves memory flat and every genuine member signed in.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use reqwest::{Client, Method};
use wiremock::MockServer;

use crate::helpers::{
    BIN, Member, Running, TestApp, browser, delivery, free_port, given_a_safe_zendesk, input_value,
    log_lines, page_text, select, spawn_app, test_vars, wait_until_healthy,
};

#[tokio::test]
async fn made_up_http_methods_add_no_metric_series() {
    let app = spawn_app().await;
    for i in 0..50 {
        let method = Method::from_bytes(format!("FOO{i}").as_bytes()).expect("method");
        app.client
            .request(method, app.url("/login"))
            .send()
            .await
            .expect("sent");
    }
    let metrics = app.get("/metrics").await.text().await.expect("body");
    assert!(!metrics.contains("FOO"), "a series per made-up method");
    assert!(metrics.contains(r#"method="OTHER""#), "{metrics}");
}

#[tokio::test]
async fn a_forged_zendesk_error_is_neither_quoted_nor_counted() {
    let app = spawn_app().await;
    let before = log_lines().len();
    let response = app
        .get("/logout?kind=error&message=Your%20account%20is%20locked.%20Call%200800%20FAKE%20now")
        .await;
    assert_eq!(response.status(), 200);
    let text = page_text(&response.text().await.expect("body"));
    assert!(
        !text.contains("0800 FAKE"),
        "a stranger's text is shown: {text}"
    );
    assert!(text.contains("You have not been signed in"), "{text}");
    let lines = log_lines();
    assert!(
        lines[before..]
            .iter()
            .all(|l| l["reason"] != "zendesk_refused"),
        "counted as a Zendesk refusal"
    );
    assert!(
        lines[before..]
            .iter()
            .any(|l| l["event"] == "zendesk_error_unverified")
    );
    let metrics = app.get("/metrics").await.text().await.expect("body");
    assert!(!metrics.contains("zendesk_refused"), "{metrics}");
}

#[tokio::test]
async fn a_browser_zendesk_keeps_sending_back_is_stopped_with_advice() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    // Zendesk refuses each token and sends the browser straight back: four more deliveries.
    for _ in 0..4 {
        let page = app.get("/login?return_to=%2Fhc").await;
        assert_eq!(page.status(), 200);
        delivery(&page.text().await.expect("body"));
    }
    let before = log_lines().len();
    let stopped = app.get("/login?return_to=%2Fhc").await;
    assert_eq!(stopped.status(), 508);
    let page = stopped.text().await.expect("body");
    assert!(select(&page, "form#deliver").is_empty(), "no auto-post");
    let text = page_text(&page);
    assert!(text.contains("keeps coming back"), "{text}");
    assert!(text.contains("ZENDESK_JWT_SECRET"), "{text}");
    let event = log_lines()[before..]
        .iter()
        .find(|l| l["reason"] == "redirect_loop")
        .cloned()
        .expect("audited");
    assert_eq!(event["member_id"], member.id);
}

/// A members file with one member, `ada`, for a bridge started as its own process; removed
/// when the returned value is dropped.
fn members_file() -> tempfile::TempPath {
    let hash = zendesk_sso_bridge::members::file::hash_password("right").expect("hash");
    let mut file = tempfile::Builder::new()
        .prefix("zsb-members-")
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    let text = format!(
        "[[member]]\nid = \"1001\"\nusername = \"ada\"\npassword_hash = \"{hash}\"\n\
         name = \"Ada Lovelace\"\nemail = \"ada@example.org\"\n"
    );
    std::io::Write::write_all(&mut file, text.as_bytes()).expect("members file");
    file.into_temp_path()
}

/// The bridge as its own process (so its memory is its own), with `extra` settings.
async fn bridge_process(extra: &[(&str, &str)]) -> (Running, String, MockServer, MockServer) {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let listen = format!("127.0.0.1:{port}");
    let mut overrides = vec![
        ("LISTEN_ADDR", listen.as_str()),
        ("IMIS_TIMEOUT_MS", "5000"),
        ("LOG_FORMAT", "json"),
        ("RUST_LOG", "warn"),
    ];
    overrides.extend_from_slice(extra);
    let child = Command::new(BIN)
        .arg("serve")
        .env_clear()
        .envs(test_vars(&imis, &zendesk, &overrides))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts");
    let running = Running(child);
    wait_until_healthy(&base).await;
    (running, base, imis, zendesk)
}

/// One sign-in attempt from `client` (a browser): the form, then the post, from `ip`.
async fn attempt(client: &Client, base: &str, username: &str, password: &str, ip: &str) -> u16 {
    let Ok(form) = client.get(format!("{base}/login")).send().await else {
        return 0;
    };
    let page = form.text().await.unwrap_or_default();
    let token = input_value(&page, "csrf_token").unwrap_or_default();
    client
        .post(format!("{base}/login"))
        .header("X-Forwarded-For", ip)
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test]
async fn parallel_wrong_passwords_cannot_exhaust_memory_with_password_hashing() {
    let members = members_file();
    let (bridge, base, _imis, _zendesk) = bridge_process(&[
        ("MEMBER_DIRECTORY", "file"),
        ("MEMBERS_FILE", members.to_str().expect("path")),
        ("SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS", "100"),
        ("THROTTLE_IP_FAILURES", "1000"),
    ])
    .await;
    // One check first, so the allocator has seen one hash's memory.
    attempt(&browser(), &base, "ada", "wrong", "192.0.2.1").await;
    let (settled, _) = bridge.memory_mib();
    let guesses = (0..16).map(|i| {
        let base = base.clone();
        async move {
            attempt(
                &browser(),
                &base,
                &format!("guess-{i}"),
                "wrong",
                "192.0.2.1",
            )
            .await
        }
    });
    let statuses = join_all(guesses).await;
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 503),
        "{statuses:?}"
    );
    let (_, peak) = bridge.memory_mib();
    // Each argon2 check holds ~19 MiB; at most min(cores, 4) run at once.
    let slots = std::thread::available_parallelism().map_or(1, |n| n.get().min(4)) as f64;
    let allowed = slots * 19.0 + 24.0;
    assert!(
        peak - settled < allowed,
        "peak {peak:.0} MiB after {settled:.0} MiB settled: more than {allowed:.0} MiB for 16 checks"
    );
}

/// What the soak's hostile workers sent, and what genuine members saw.
#[derive(Default)]
struct Tally {
    hostile: AtomicUsize,
    genuine_ok: AtomicUsize,
    genuine_failed: AtomicUsize,
}

/// One hostile request of kind `n % 5`: a guess at a real-looking name, a name never seen
/// before, an oversized form, a made-up method, a forged Zendesk error.
async fn hostile(client: &Client, base: &str, n: usize, worker: usize) {
    let ip = format!("203.0.113.{}", worker % 250 + 1);
    match n % 5 {
        0 => {
            attempt(client, base, &format!("victim-{}", n % 7), "guess", &ip).await;
        }
        1 => {
            attempt(client, base, &format!("flood-{worker}-{n}"), "guess", &ip).await;
        }
        2 => {
            let _ = client
                .post(format!("{base}/login"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(format!("username={}&password=x", "A".repeat(256 * 1024)))
                .send()
                .await;
        }
        3 => {
            let method = Method::from_bytes(format!("X{n}").as_bytes()).expect("method");
            let _ = client.request(method, format!("{base}/login")).send().await;
        }
        _ => {
            let _ = client
                .get(format!("{base}/logout?kind=error&message=call%20{n}"))
                .send()
                .await;
        }
    }
}

#[tokio::test]
async fn a_hostile_soak_leaves_memory_flat_and_every_genuine_member_signed_in() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    let (bridge, base, imis, zendesk) =
        bridge_process(&[("TRUSTED_PROXIES", "127.0.0.1/32")]).await;
    let members: Vec<Member> = (0..3)
        .map(|i| Member {
            id: format!("20{i}"),
            username: format!("genuine-{i}"),
            ..Member::active()
        })
        .collect();
    let view = TestApp::at(base.clone(), imis, zendesk);
    for member in &members {
        view.given_member(member).await;
    }
    let tally = Arc::new(Tally::default());
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut workers = Vec::new();
    for worker in 0..8 {
        let (base, tally) = (base.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let client = browser();
            let mut n = worker;
            while Instant::now() < deadline {
                hostile(&client, &base, n, worker).await;
                tally.hostile.fetch_add(1, Ordering::Relaxed);
                n += 8;
            }
        }));
    }
    let warm = Instant::now() + Duration::from_secs(seconds / 4);
    let mut settled = None;
    let mut round = 0;
    while Instant::now() < deadline {
        for (i, member) in members.iter().enumerate() {
            let ip = format!("198.51.100.{}", i + 1);
            let status = attempt(&browser(), &base, &member.username, &member.password, &ip).await;
            let counter = match status {
                200 => &tally.genuine_ok,
                _ => &tally.genuine_failed,
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        if settled.is_none() && Instant::now() > warm {
            settled = Some(bridge.memory_mib().0);
        }
        round += 1;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    join_all(workers).await;
    let (end, _) = bridge.memory_mib();
    let settled = settled.expect("measured after warm-up");
    let hostile = tally.hostile.load(Ordering::Relaxed);
    let ok = tally.genuine_ok.load(Ordering::Relaxed);
    let failed = tally.genuine_failed.load(Ordering::Relaxed);
    eprintln!(
        "soak: {seconds} s, {hostile} hostile requests, {ok} genuine sign-ins ({round} rounds), \
         RSS {settled:.1} MiB after warm-up, {end:.1} MiB at the end"
    );
    assert!(hostile > 100, "the hostile load ran: {hostile}");
    assert_eq!(failed, 0, "a genuine member was refused ({ok} signed in)");
    assert!(ok >= 3);
    assert!(
        end - settled < 24.0,
        "memory grew from {settled:.1} to {end:.1} MiB"
    );
}
