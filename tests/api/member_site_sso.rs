//! Single sign-on with the member site: Zendesk sends the member to us, we send them to iMIS's
//! own sign-in page, iMIS posts a refresh token back, and the one sign-in pipeline does the rest.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, Member, TestApp, audit_events_for, decode_claims, delivery, form, has_input,
    log_lines, log_text, page_text, spawn_app_with,
};

const CLIENT_ID: &str = "zendesk-bridge";
const CLIENT_SECRET: &str = "client-secret-from-imis";
/// The member site: `IMIS_SSO_PAGE_URL`'s origin, which the browser sends on iMIS's POST.
const MEMBER_SITE: &str = "http://127.0.0.1:9";
const SSO_PAGE: &str = "http://127.0.0.1:9/imis/ZendeskSSO";

async fn sso_app(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("IMIS_SSO_PAGE_URL", SSO_PAGE),
        ("IMIS_SSO_CLIENT_ID", CLIENT_ID),
        ("IMIS_SSO_CLIENT_SECRET", CLIENT_SECRET),
    ];
    vars.extend_from_slice(extra);
    spawn_app_with(&vars).await
}

/// iMIS exchanges `refresh_token` for `member`'s token (answering with their user name).
async fn given_hand_off(app: &TestApp, refresh_token: &str, member: &Member, user_name: Value) {
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[
            ("grant_type", "refresh_token"),
            ("client_id", CLIENT_ID),
            ("client_secret", CLIENT_SECRET),
            ("refresh_token", refresh_token),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": format!("member-token-{}", member.id), "token_type": "bearer",
            "expires_in": 1199, "userName": user_name})))
        .with_priority(1)
        .mount(&app.imis)
        .await;
}

/// Zendesk sends the member to `/login`: the bridge redirects to the member site and
/// remembers the journey. Returns the journey cookie (`name=value`).
async fn start_journey(app: &TestApp, query: &str) -> String {
    let response = app.get(&format!("/login{query}")).await;
    assert_eq!(response.status(), 303, "to the member site");
    assert_eq!(response.headers()["location"], SSO_PAGE);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("zsb_sso="))
        .expect("a journey cookie")
        .to_owned();
    for attribute in ["SameSite=None", "Secure", "HttpOnly", "Path=/imis/sso"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    cookie.split(';').next().expect("pair").to_owned()
}

/// iMIS's content item posts the refresh token, cross-site, from the member site's page.
async fn post_hand_off(
    app: &TestApp,
    journey: Option<&str>,
    refresh_token: &str,
) -> reqwest::Response {
    post_hand_off_from(app, Some(MEMBER_SITE), journey, refresh_token).await
}

/// A browser posts the refresh token to `/imis/sso` from a page whose origin is `origin`
/// (`None`: a client that sends no `Origin` header).
async fn post_hand_off_from(
    app: &TestApp,
    origin: Option<&str>,
    journey: Option<&str>,
    refresh_token: &str,
) -> reqwest::Response {
    let mut request = crate::helpers::browser()
        .post(app.url("/imis/sso"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("refresh_token", refresh_token)]);
    if let Some(origin) = origin {
        request = request.header("Origin", origin);
    }
    if let Some(journey) = journey {
        request = request.header("Cookie", journey);
    }
    request.send().await.expect("POST /imis/sso")
}

#[tokio::test]
async fn a_member_signed_in_on_the_member_site_lands_where_zendesk_was_sending_them() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_hand_off(&app, "refresh-abc-123", &member, json!(member.username)).await;

    let journey = start_journey(&app, "?return_to=%2Fhc%2Frequests&locale_id=1").await;
    let response = post_hand_off(&app, Some(&journey), "refresh-abc-123").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("body");
    let d = delivery(&page);
    let claims = decode_claims(&d.jwt);
    assert_eq!(claims["external_id"], member.id.as_str());
    assert_eq!(claims["email"], member.email.as_deref().expect("email"));
    assert_eq!(d.return_to.as_deref(), Some("/hc/requests"));
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["outcome"] == "success" && e["reason"] == "imis_sso")
    );
    let logs = log_text();
    assert!(
        !logs.contains("refresh-abc-123"),
        "the refresh token is never logged"
    );
    assert!(
        !logs.contains(&format!("member-token-{}", member.id)),
        "nor the access token"
    );
}

#[tokio::test]
async fn an_expired_reused_or_forged_hand_off_mints_nothing_and_says_start_again() {
    let app = sso_app(&[]).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": "invalid_grant", "error_description": "expired"})),
        )
        .mount(&app.imis)
        .await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "forged-or-expired").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"));
    let text = page_text(&page);
    assert!(text.contains("member-site sign-in expired"), "{text}");
    assert!(
        !text.to_lowercase().contains("password is wrong"),
        "never looks like a wrong password"
    );
    assert!(page.contains("href=\"/login\""), "a link that restarts");
}

#[tokio::test]
async fn a_hand_off_the_bridge_did_not_start_is_refused_without_asking_imis() {
    let app = sso_app(&[]).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&app.imis)
        .await;
    let response = post_hand_off(&app, None, "someone-elses-token").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"));
    assert!(page_text(&page).contains("not started here"));
}

#[tokio::test]
async fn a_page_elsewhere_cannot_post_its_own_hand_off_into_a_members_journey() {
    let app = sso_app(&[]).await;
    // The attacker signed in to the member site as themselves and kept their refresh token.
    let attacker = Member::active();
    app.given_member(&attacker).await;
    given_hand_off(
        &app,
        "attackers-own-token",
        &attacker,
        json!(attacker.username),
    )
    .await;
    // The victim's browser started a journey (sent to the member site's sign-in page) and the
    // attacker's page posts the attacker's token into it.
    let journey = start_journey(&app, "").await;
    let response = post_hand_off_from(
        &app,
        Some("https://attacker.example"),
        Some(&journey),
        "attackers-own-token",
    )
    .await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(
        !has_input(&page, "jwt"),
        "no token for the attacker's account"
    );
    assert!(page_text(&page).contains("not started here"));
    assert_eq!(
        app.imis_calls_to("/token").await,
        0,
        "the token never reaches iMIS"
    );
    let lines = log_lines();
    assert!(
        lines
            .iter()
            .any(|l| l["target"] == "audit" && l["reason"] == "imis_sso_foreign_origin"),
        "the sign-in's audit event says why"
    );
    let admin = lines
        .iter()
        .find(|l| l["event"] == "imis_sso_foreign_origin")
        .expect("a line for the admin");
    assert_eq!(admin["origin"], "https://attacker.example");
    let allowed = admin["allowed"].as_str().expect("allowed origins");
    assert!(allowed.split(',').any(|o| o == MEMBER_SITE), "{allowed}");
    assert!(!log_text().contains("attackers-own-token"));
}

#[tokio::test]
async fn the_member_sites_own_origins_and_those_listed_are_accepted() {
    let app = sso_app(&[(
        "IMIS_SSO_ALLOWED_ORIGINS",
        "https://www.members.example.org/, null",
    )])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    let imis_origin = app.imis.uri();
    for (i, origin) in [
        Some("https://www.members.example.org"),
        Some("null"),
        Some(MEMBER_SITE),
        // IMIS_BASE_URL's origin: sites whose page and API share a host.
        Some(imis_origin.as_str()),
        None,
    ]
    .into_iter()
    .enumerate()
    {
        let token = format!("refresh-{i}");
        given_hand_off(&app, &token, &member, json!(member.username)).await;
        let journey = start_journey(&app, "").await;
        let response = post_hand_off_from(&app, origin, Some(&journey), &token).await;
        assert_eq!(response.status(), 200, "from {origin:?}");
        assert!(has_input(&response.text().await.expect("body"), "jwt"));
    }
}

#[tokio::test]
async fn an_origin_hidden_by_the_page_is_refused_unless_null_is_listed() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_hand_off(&app, "r", &member, json!(member.username)).await;
    let journey = start_journey(&app, "").await;
    // `Origin: null`: what any page with `Referrer-Policy: no-referrer` sends.
    let response = post_hand_off_from(&app, Some("null"), Some(&journey), "r").await;
    assert_eq!(response.status(), 403);
    assert_eq!(app.imis_calls_to("/token").await, 0);

    let listed = sso_app(&[("IMIS_SSO_ALLOWED_ORIGINS", "null")]).await;
    listed.given_member(&member).await;
    given_hand_off(&listed, "r", &member, json!(member.username)).await;
    let journey = start_journey(&listed, "").await;
    let response = post_hand_off_from(&listed, Some("null"), Some(&journey), "r").await;
    assert_eq!(response.status(), 200, "the admin chose to accept it");
}

#[tokio::test]
async fn a_journey_works_once() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_hand_off(&app, "first", &member, json!(member.username)).await;
    given_hand_off(&app, "second", &member, json!(member.username)).await;
    let journey = start_journey(&app, "").await;
    assert_eq!(
        post_hand_off(&app, Some(&journey), "first").await.status(),
        200
    );
    let replay = post_hand_off(&app, Some(&journey), "second").await;
    assert_eq!(replay.status(), 403);
    assert!(!has_input(&replay.text().await.expect("body"), "jwt"));
}

#[tokio::test]
async fn a_guest_hand_off_mints_nothing() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_hand_off(&app, "guest-token", &member, Value::Null).await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "guest-token").await;
    assert_eq!(response.status(), 403);
    assert!(!has_input(&response.text().await.expect("body"), "jwt"));
}

#[tokio::test]
async fn the_safety_rules_and_the_access_policy_apply_as_on_the_password_path() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(
        json!({"id": 9, "email": member.email, "external_id": "someone-else",
        "role": "end-user", "suspended": false}),
    )
    .await;
    given_hand_off(&app, "r1", &member, json!(member.username)).await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "r1").await;
    assert_eq!(response.status(), 403);
    assert!(!has_input(&response.text().await.expect("body"), "jwt"));
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["reason"] == "email_owned_by_other_identity")
    );

    let mut lapsed = Member::active();
    lapsed.status = "I";
    app.given_member(&lapsed).await;
    given_hand_off(&app, "r2", &lapsed, json!(lapsed.username)).await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "r2").await;
    assert_eq!(response.status(), 403);
    assert!(page_text(&response.text().await.expect("body")).contains("not active"));
}

#[tokio::test]
async fn wrong_client_credentials_are_the_member_systems_problem_and_named_for_the_admin() {
    let app = sso_app(&[]).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&app.imis)
        .await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "whatever").await;
    assert_eq!(response.status(), 503);
    assert!(page_text(&response.text().await.expect("body")).contains("did not answer"));
    assert!(
        log_text().contains("IMIS_SSO_CLIENT_ID"),
        "the admin's log names the setting"
    );
}

#[tokio::test]
async fn signing_out_also_signs_out_of_the_member_site() {
    let app = sso_app(&[("IMIS_LOGOUT_URL", "http://127.0.0.1:9/imis/SingleLogout")]).await;
    let out = app.get("/logout").await;
    assert_eq!(out.status(), 303);
    assert_eq!(
        out.headers()["location"],
        "http://127.0.0.1:9/imis/SingleLogout"
    );
}

#[tokio::test]
async fn both_ways_in_are_offered_with_sign_in_method_both() {
    let app = sso_app(&[("SIGN_IN_METHOD", "both")]).await;
    let page = app.open_login("?return_to=%2Fhc").await;
    assert!(has_input(&page, "password"), "the form");
    assert!(page.contains("href=\"/login/sso\""), "and the member site");
    let to_member_site = app.get("/login/sso").await;
    assert_eq!(to_member_site.status(), 303);
}

#[tokio::test]
async fn with_a_profile_query_the_member_is_read_in_one_request_with_their_own_token() {
    let app = sso_app(&[("IMIS_PROFILE_QUERY", "$/ZendeskSSO/Profile")]).await;
    let member = Member::active();
    given_hand_off(&app, "r-iqa", &member, json!(member.username)).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/query")))
        .and(wiremock::matchers::query_param("QueryName", "$/ZendeskSSO/Profile"))
        .and(wiremock::matchers::header(
            "Authorization",
            format!("Bearer member-token-{}", member.id).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": [
            {"$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
             "Properties": {"$values": [
                {"Name": "ID", "Value": member.id},
                {"Name": "UserName", "Value": member.username},
                {"Name": "FullName", "Value": "Art Abingdon"},
                {"Name": "Email", "Value": member.email},
                {"Name": "Status", "Value": "A"},
                {"Name": "OtherRecordsWithEmail", "Value": {"$type": "System.Int32", "$value": 0}}]}}]}})))
        .expect(1)
        .mount(&app.imis)
        .await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "r-iqa").await;
    assert_eq!(response.status(), 200);
    let claims = decode_claims(&delivery(&response.text().await.expect("body")).jwt);
    assert_eq!(claims["external_id"], member.id.as_str());
    let calls = app.imis.received_requests().await.expect("recorded");
    assert_eq!(calls.len(), 2, "the exchange and the query: {calls:?}");
}

#[tokio::test]
async fn without_a_shared_count_column_a_member_zendesk_links_still_costs_two_imis_requests() {
    let app = sso_app(&[("IMIS_PROFILE_QUERY", "$/ZendeskSSO/Profile")]).await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    given_hand_off(&app, "r-iqa-linked", &member, json!(member.username)).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/query")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": [
            {"ID": member.id, "UserName": member.username, "FullName": "Art Abingdon",
             "Email": email, "Status": "A"}]}})),
        )
        .mount(&app.imis)
        .await;
    app.given_zendesk_user(json!({"id": 77, "name": "Art", "email": email,
        "external_id": member.id, "role": "end-user", "suspended": false}))
        .await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "r-iqa-linked").await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        app.imis_paths().await,
        ["/token", "/api/query"],
        "no search for copies: Zendesk already links the member to the address"
    );
}

#[tokio::test]
async fn the_hand_off_is_throttled_per_address_and_bounded_in_size() {
    let app = sso_app(&[("THROTTLE_IP_FAILURES", "2")]).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&app.imis)
        .await;
    let oversized = "x".repeat(5000);
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), &oversized).await;
    assert_eq!(response.status(), 400, "a refresh token is never this long");
    assert_eq!(
        app.imis.received_requests().await.expect("recorded").len(),
        0,
        "nothing that size reaches iMIS"
    );

    let mut statuses = Vec::new();
    for _ in 0..3 {
        let journey = start_journey(&app, "").await;
        statuses.push(
            post_hand_off(&app, Some(&journey), "guessed")
                .await
                .status()
                .as_u16(),
        );
    }
    assert_eq!(
        statuses,
        [403, 403, 429],
        "a stranger's guesses stop at the limit"
    );
    assert_eq!(
        app.imis.received_requests().await.expect("recorded").len(),
        2,
        "the refused one never reached iMIS"
    );
}

#[tokio::test]
async fn a_hand_off_for_imis_guest_user_is_refused_whatever_its_party_looks_like() {
    // iMIS's anonymous visitor is the user GUEST; on some sites it even has a contact record.
    let app = sso_app(&[]).await;
    let guest = Member {
        username: "GUEST".into(),
        ..Member::active()
    };
    app.given_member(&guest).await;
    given_hand_off(&app, "refresh-guest-1", &guest, json!("Guest")).await;

    let journey = start_journey(&app, "?return_to=%2Fhc").await;
    let response = post_hand_off(&app, Some(&journey), "refresh-guest-1").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"), "no token for a Guest");
    assert!(
        !app.imis_paths().await.iter().any(|p| p == "/api/User"),
        "a Guest is not looked up"
    );
}

/// The hand-off of `member` with a profile query that answers `answer` (HTTP `status`).
async fn hand_off_with_profile_query(
    member: &Member,
    status: u16,
    answer: Value,
) -> (TestApp, reqwest::Response) {
    let app = sso_app(&[("IMIS_PROFILE_QUERY", "$/ZendeskSSO/Profile")]).await;
    given_hand_off(&app, "r-iqa-q", member, json!(member.username)).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/query")))
        .respond_with(ResponseTemplate::new(status).set_body_json(answer))
        .mount(&app.imis)
        .await;
    let journey = start_journey(&app, "").await;
    let response = post_hand_off(&app, Some(&journey), "r-iqa-q").await;
    (app, response)
}

fn query_row(member: &Member, user_name: &str, shared: Value) -> Value {
    json!({"ID": member.id, "UserName": user_name, "FullName": "Art Abingdon",
        "Email": member.email, "Status": "A", "OtherRecordsWithEmail": shared})
}

#[tokio::test]
async fn a_profile_query_that_does_not_identify_exactly_the_signed_in_member_is_refused() {
    let member = Member::active();
    let other = Member::active();
    for answer in [
        // A prompt called without its value does not filter: everyone comes back.
        json!({"Items": {"$values": [query_row(&member, &member.username, json!(0)),
            query_row(&other, &other.username, json!(0))]}, "TotalCount": 2}),
        json!({"Items": {"$values": [query_row(&member, &member.username, json!(0))]},
            "TotalCount": 1200}),
        // Somebody else's row.
        json!({"Items": {"$values": [query_row(&other, &other.username, json!(0))]}}),
        // No user-name column to prove whose row it is.
        json!({"Items": {"$values": [{"ID": member.id, "Email": member.email, "Status": "A"}]}}),
    ] {
        let (_app, response) = hand_off_with_profile_query(&member, 200, answer.clone()).await;
        assert_eq!(response.status(), 403, "{answer}");
        let page = response.text().await.expect("body");
        assert!(!has_input(&page, "jwt"), "{answer}");
    }
    assert!(
        log_lines()
            .iter()
            .any(|l| l["fields"]["query"] == "$/ZendeskSSO/Profile"
                || l["query"] == "$/ZendeskSSO/Profile"),
        "the admin's line names the query"
    );
}

#[tokio::test]
async fn a_shared_count_in_any_numeric_form_counts_as_shared() {
    for count in [
        json!("1.00"),
        json!(2.0),
        json!({"$type": "System.Decimal", "$value": 1.0}),
        json!(true),
    ] {
        let member = Member::active();
        let answer =
            json!({"Items": {"$values": [query_row(&member, &member.username, count.clone())]}});
        let (_app, response) = hand_off_with_profile_query(&member, 200, answer).await;
        assert_eq!(response.status(), 403, "{count}");
        assert!(
            audit_events_for(&member.id)
                .iter()
                .any(|e| e["reason"] == "duplicate_primary_email"),
            "{count}"
        );
    }
}

#[tokio::test]
async fn an_imis_without_the_query_endpoint_is_a_configuration_problem_not_a_missing_member() {
    let member = Member::active();
    let (_app, response) =
        hand_off_with_profile_query(&member, 404, json!({"Message": "No HTTP resource"})).await;
    assert_eq!(response.status(), 503);
    assert!(log_text().contains("20.3.77"));
}

#[tokio::test]
async fn a_hand_off_posted_as_multipart_form_data_signs_the_member_in() {
    let app = sso_app(&[]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_hand_off(&app, "refresh-multi-1", &member, json!(member.username)).await;
    let journey = start_journey(&app, "?return_to=%2Fhc").await;
    let boundary = "----iMISContentItem7MA4YWxk";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"refresh_token\"\r\n\r\nrefresh-multi-1\r\n--{boundary}--\r\n"
    );
    let response = crate::helpers::browser()
        .post(app.url("/imis/sso"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", MEMBER_SITE)
        .header("Cookie", journey)
        .header(
            "Content-Type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .await
        .expect("POST /imis/sso");
    assert_eq!(response.status(), 200);
    let claims = decode_claims(&delivery(&response.text().await.expect("body")).jwt);
    assert_eq!(claims["external_id"], member.id.as_str());
}

#[tokio::test]
async fn a_get_on_the_hand_off_address_answers_with_a_page_pointing_to_the_start() {
    // iMIS may check that the client application's redirect URL answers.
    let app = sso_app(&[]).await;
    let response = app.get("/imis/sso").await;
    assert_eq!(response.status(), 200);
    assert!(page_text(&response.text().await.expect("body")).contains("start here"));
}

#[tokio::test]
async fn without_single_sign_on_its_addresses_are_simply_not_there() {
    let app = spawn_app_with(&[]).await;
    let begin = app.get("/login/sso").await;
    assert_eq!(begin.status(), 404);
    let probe = app.get("/imis/sso").await;
    assert_eq!(probe.status(), 404);
    let hand_off = app
        .client
        .post(app.url("/imis/sso"))
        .header("Origin", MEMBER_SITE)
        .form(&[("refresh_token", "made-up")])
        .send()
        .await
        .expect("POST /imis/sso");
    assert_eq!(hand_off.status(), 404);
    let errors: Vec<Value> = log_lines()
        .into_iter()
        .filter(|l| l["level"] == "ERROR" && l.to_string().contains("IMIS_SSO"))
        .collect();
    assert!(
        errors.is_empty(),
        "a stranger's visit is not an error: {errors:?}"
    );
}
