//! A member who signed in recently goes straight through, with no form and no iMIS call.

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, Member, audit_events_for, browser, decode_claims, delivery,
    given_update_external_ids_on, has_input, page_text, sign_in_cookie, spawn_app, spawn_app_with,
};

#[tokio::test]
async fn a_second_visit_signs_in_without_the_form_or_imis() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let first = app.sign_in(&member, "").await.text().await.expect("body");
    let first_jti = decode_claims(&delivery(&first).jwt)["jti"].clone();
    let imis_calls = app.imis.received_requests().await.expect("recorded").len();

    let again = app
        .get("/login?return_to=%2Fhc%2Fen-us%2Farticles%2F42")
        .await;
    assert_eq!(again.status(), 200);
    let page = again.text().await.expect("body");
    assert!(!has_input(&page, "password"), "no form the second time");
    let d = delivery(&page);
    let claims = decode_claims(&d.jwt);
    assert_eq!(claims["external_id"], member.id.as_str());
    assert_ne!(claims["jti"], first_jti, "a fresh token every time");
    assert_eq!(d.return_to.as_deref(), Some("/hc/en-us/articles/42"));
    assert_eq!(
        app.imis.received_requests().await.expect("recorded").len(),
        imis_calls,
        "no upstream call on session re-use"
    );
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["outcome"] == "success" && e["reason"] == "session")
    );
}

#[tokio::test]
async fn another_browser_has_no_session() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    let stranger = browser();
    let page = stranger
        .get(app.url("/login"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(
        has_input(&page, "password"),
        "a stranger gets the form: {page}"
    );
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    let out = app.get("/logout").await;
    assert_eq!(out.status(), 200);
    let page = app.get("/login").await.text().await.expect("body");
    assert!(has_input(&page, "password"), "the form again after logout");
}

#[tokio::test]
async fn session_cookies_are_http_only_lax_narrow_and_secure_on_https() {
    let app = spawn_app_with(&[("PUBLIC_URL", "https://sso.example.org")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("").await;
    let response = app
        .submit_login(&page, &member.username, &member.password)
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        // Bound to this host: a sibling subdomain cannot plant one (cookie tossing).
        .find(|c| c.starts_with("__Host-zsb_session="))
        .expect("a __Host- session cookie")
        .to_owned();
    assert!(!session.contains("Domain="), "{session}");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        // `/`, not `/login`: sign-out (`/logout`) must see the session to end it.
        "Path=/",
        "Secure",
        // Capped at SESSION_RECHECK_SECS (900): this iMIS has no service account, so the
        // member could not be read again during a longer session.
        "Max-Age=900",
    ] {
        assert!(
            session.contains(attribute),
            "{attribute} missing from {session}"
        );
    }
    assert!(
        !session.contains(&member.id),
        "the cookie is encrypted: {session}"
    );
}

#[tokio::test]
async fn a_session_key_change_voids_old_sessions() {
    let member = Member::active();
    let app = spawn_app().await;
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let with_session = app.get("/login").await.text().await.expect("body");
    assert!(!has_input(&with_session, "password"), "signed in here");

    // The same browser against a bridge with another key: its cookie no longer opens.
    let other = spawn_app_with(&[(
        "SESSION_KEY",
        "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTBmZWRjYmE5ODc2NTQzMjEwZmVkY2JhOTg3NjU0MzIxMA==",
    )])
    .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&other.imis)
        .await;
    let page = app
        .client
        .get(format!("{}/login", other.address))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(has_input(&page, "password"));
}

#[tokio::test]
async fn a_session_mints_nothing_once_zendesk_turns_unsafe() {
    let app = spawn_app_with(&[("SAFETY_RECHECK_SECS", "1")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    given_update_external_ids_on(&app.zendesk).await;
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;

    let again = app.get("/login").await;
    assert_eq!(again.status(), 503);
    let page = again.text().await.expect("body");
    assert!(!has_input(&page, "jwt"), "no token from a session either");
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["reason"] == "zendesk_config_unsafe")
    );
}

#[tokio::test]
async fn a_member_who_lapses_is_refused_at_the_next_recheck_of_their_session() {
    let app = spawn_app_with(&[
        ("IMIS_SERVICE_USERNAME", "svc"),
        ("IMIS_SERVICE_PASSWORD", "svc-password"),
        ("SESSION_RECHECK_SECS", "1"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_service_account(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let fresh = app.get("/login").await.text().await.expect("body");
    assert!(has_input(&fresh, "jwt"), "re-used within the interval");

    let mut lapsed = member.clone();
    lapsed.status = "I";
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(lapsed.person_json()))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let again = app.get("/login").await;
    assert_eq!(again.status(), 403);
    let page = again.text().await.expect("body");
    assert!(!has_input(&page, "jwt"), "no token for a lapsed member");
    assert!(
        page_text(&page).contains("not active"),
        "{}",
        page_text(&page)
    );
    let after = app.get("/login").await.text().await.expect("body");
    assert!(has_input(&after, "password"), "the session is over");
}

#[tokio::test]
async fn a_copy_of_the_session_cookie_signs_nobody_in_after_sign_out() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let response = app.sign_in(&member, "").await;
    let copied = sign_in_cookie(&response).expect("a session cookie");
    assert_eq!(response.status(), 200);

    assert_eq!(app.get("/logout").await.status(), 200);

    let thief = browser();
    let page = thief
        .get(app.url("/login"))
        .header("Cookie", format!("zsb_session={copied}"))
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!has_input(&page, "jwt"), "the copy mints nothing");
    assert!(has_input(&page, "password"), "the form instead");
}

#[tokio::test]
async fn a_session_cookie_planted_beside_the_members_own_signs_nobody_in() {
    // Cookie tossing: a page on a sibling subdomain plants the attacker's own sealed session for
    // the parent domain; the victim's browser then sends two `zsb_session` cookies to /login.
    // Neither can be told to be the victim's, so neither mints a token.
    let app = spawn_app().await;
    let (attacker, victim) = (Member::active(), Member::active());
    app.given_member(&attacker).await;
    app.given_member(&victim).await;
    let attackers = sign_in_cookie(&app.sign_in(&attacker, "").await).expect("a session");
    let victim_browser = browser();
    let page = victim_browser
        .get(app.url("/login"))
        .header(
            "Cookie",
            format!("zsb_session={attackers}; zsb_session=not-yet-signed-in"),
        )
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body");
    assert!(!has_input(&page, "jwt"), "no token for the planted session");
    assert!(has_input(&page, "password"), "the sign-in form instead");
}

#[tokio::test]
async fn a_login_imis_has_disabled_or_expired_ends_at_the_next_recheck() {
    // The party stays Active: only the User record says the login is closed (its field names
    // are not documented, so each spelling is tried).
    for closed in [
        serde_json::json!({"IsDisabled": true}),
        serde_json::json!({"IsDisabled": {"$type": "System.Boolean", "$value": true}}),
        serde_json::json!({"ExpirationDate": "2020-01-31T00:00:00"}),
        serde_json::json!({"Status": {"Name": "Disabled"}}),
    ] {
        let app = spawn_app_with(&[
            ("IMIS_SERVICE_USERNAME", "svc"),
            ("IMIS_SERVICE_PASSWORD", "svc-password"),
            ("SESSION_RECHECK_SECS", "1"),
        ])
        .await;
        let member = Member::active();
        app.given_member(&member).await;
        app.given_service_account(&member).await;
        assert_eq!(app.sign_in(&member, "").await.status(), 200);

        let mut row = serde_json::json!({"UserId": member.id, "UserName": member.username});
        if let (Some(row), Some(closed)) = (row.as_object_mut(), closed.as_object()) {
            row.extend(closed.clone());
        }
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/User")))
            .respond_with(ResponseTemplate::new(200).set_body_json(
                serde_json::json!({"Items": {"$values": [row]}, "Count": 1, "TotalCount": 1}),
            ))
            .with_priority(1)
            .mount(&app.imis)
            .await;
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

        let again = app.get("/login").await;
        assert_eq!(again.status(), 403, "{closed}");
        assert!(
            !has_input(&again.text().await.expect("body"), "jwt"),
            "{closed}"
        );
    }
}
