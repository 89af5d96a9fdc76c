//! No sign-in can take over someone else's Zendesk account: each safety rule, allowed and
//! denied, seen as the member and the auditor see it. A denial never carries a token.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, Member, TestApp, audit_events_for, decode_claims, delivery, has_input, log_lines,
    page_text, spawn_app, spawn_app_with,
};

fn zendesk_user(id: u64, email: &str, external_id: Option<&str>, role: &str) -> Value {
    json!({"id": id, "url": format!("https://acme.zendesk.com/api/v2/users/{id}.json"),
        "name": "Somebody", "email": email, "external_id": external_id, "role": role,
        "role_type": null, "active": true, "suspended": false, "verified": true,
        "tags": [], "user_fields": {}, "organization_id": null})
}

/// A bridge with iMIS's service account (`svc`), which the duplicate-address search needs.
async fn app_with_service_account() -> TestApp {
    spawn_app_with(&[
        ("IMIS_SERVICE_USERNAME", "svc"),
        ("IMIS_SERVICE_PASSWORD", "svc-password"),
    ])
    .await
}

/// iMIS knows `member`, both to their password and to the service account.
async fn given_member_and_service(app: &TestApp, member: &Member) {
    app.given_member(member).await;
    app.given_service_account(member).await;
}

/// A refusal because the member's address is someone else's (the page never says whose).
async fn assert_email_taken(app: &TestApp, member: &Member, reason: &str) -> String {
    assert_denied(
        app,
        member,
        403,
        "already used by another help-centre account",
        reason,
    )
    .await
}

/// Signs in and asserts a refusal: status, member page words, no token, the audit reason.
async fn assert_denied(
    app: &TestApp,
    member: &Member,
    status: u16,
    words: &str,
    reason: &str,
) -> String {
    let response = app.sign_in(member, "?return_to=%2Fhc").await;
    assert_eq!(response.status(), status);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"), "no token on a denial");
    assert!(!page.contains("eyJ"), "nothing that looks like a JWT");
    let text = page_text(&page);
    assert!(text.contains(words), "`{words}` not in: {text}");
    let events = audit_events_for(&member.id);
    assert!(
        events
            .iter()
            .any(|e| e["outcome"] == "denied" && e["reason"] == reason),
        "no `{reason}` denial in {events:?}"
    );
    page
}

#[tokio::test]
async fn an_email_owned_by_another_external_id_is_denied_without_saying_whose() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        777_001,
        member.email.as_deref().expect("email"),
        Some("someone-else-42"),
        "end-user",
    ))
    .await;
    let page = assert_email_taken(&app, &member, "email_owned_by_other_identity").await;
    assert!(
        !page.contains("someone-else-42") && !page.contains("777001"),
        "nothing about the other account"
    );
}

#[tokio::test]
async fn an_unlinked_agent_or_admin_is_never_linked_by_a_sign_in() {
    for role in ["agent", "admin"] {
        let app = spawn_app().await;
        let member = Member::active();
        app.given_member(&member).await;
        app.given_zendesk_user(zendesk_user(
            5,
            member.email.as_deref().expect("email"),
            None,
            role,
        ))
        .await;
        assert_email_taken(&app, &member, "unlinked_staff").await;
    }
}

#[tokio::test]
async fn linked_staff_sign_in_and_the_token_still_has_no_role() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        5,
        member.email.as_deref().expect("email"),
        Some(&member.id),
        "admin",
    ))
    .await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 200);
    let claims = decode_claims(&delivery(&response.text().await.expect("body")).jwt);
    assert!(!claims.contains_key("role"));
    assert!(!claims.contains_key("custom_role_id"));
}

#[tokio::test]
async fn an_unlinked_end_user_with_the_same_email_is_allowed() {
    // UNLINKED_END_USERS=link, and the service account's search proved nobody else has it.
    let app = app_with_service_account().await;
    let member = Member::active();
    given_member_and_service(&app, &member).await;
    app.given_zendesk_user(zendesk_user(
        8,
        member.email.as_deref().expect("email"),
        None,
        "end-user",
    ))
    .await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
}

#[tokio::test]
async fn a_linked_user_with_an_old_email_is_allowed_and_audited_as_email_changed() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        9,
        "old.address@example.org",
        Some(&member.id),
        "end-user",
    ))
    .await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let events = audit_events_for(&member.id);
    let changed = events
        .iter()
        .find(|e| e["event"] == "email_changed")
        .unwrap_or_else(|| panic!("no email_changed event in {events:?}"));
    assert_eq!(changed["zendesk_user_id"], 9);
}

#[tokio::test]
async fn a_suspended_zendesk_user_gets_a_friendly_page_and_no_token() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let mut user = zendesk_user(
        10,
        member.email.as_deref().expect("email"),
        Some(&member.id),
        "end-user",
    );
    user["suspended"] = json!(true);
    app.given_zendesk_user(user).await;
    assert_denied(&app, &member, 403, "account is suspended", "suspended").await;
}

#[tokio::test]
async fn a_primary_email_shared_by_two_active_members_is_denied_for_both() {
    let app = app_with_service_account().await;
    let member = Member::active();
    let mut twin = Member::active();
    twin.email = member.email.clone();
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party")))
        .and(query_param(
            "email",
            format!("eq:{}", member.email.as_deref().expect("email")).as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Items": {"$values": [member.person_json(), twin.person_json()]}, "Count": 2
        })))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    given_member_and_service(&app, &member).await;
    given_member_and_service(&app, &twin).await;
    assert_denied(
        &app,
        &member,
        403,
        "shared by more than one member record",
        "duplicate_primary_email",
    )
    .await;
    app.get("/logout").await;
    assert_denied(
        &app,
        &twin,
        403,
        "shared by more than one member record",
        "duplicate_primary_email",
    )
    .await;
}

#[tokio::test]
async fn a_lapsed_twin_does_not_block_the_active_member() {
    let app = app_with_service_account().await;
    let member = Member::active();
    let mut lapsed = Member::active();
    lapsed.email = member.email.clone();
    lapsed.status = "I";
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Items": {"$values": [member.person_json(), lapsed.person_json()]}
        })))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    given_member_and_service(&app, &member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
}

#[tokio::test]
async fn when_the_zendesk_api_is_down_sign_in_fails_closed() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(ResponseTemplate::new(503))
        .with_priority(1)
        .mount(&app.zendesk)
        .await;
    assert_denied(
        &app,
        &member,
        503,
        "can't be reached right now",
        "zendesk_unavailable",
    )
    .await;
}

/// Signs the member in once with Zendesk up, then again with its API down.
async fn sign_in_again_with_the_api_down(app: &TestApp, member: &Member) -> u16 {
    assert_eq!(
        app.sign_in(member, "").await.status(),
        200,
        "first sign-in, API up"
    );
    app.get("/logout").await;
    app.zendesk.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.zendesk)
        .await;
    app.sign_in(member, "").await.status().as_u16()
}

#[tokio::test]
async fn degraded_mode_lets_a_recently_matched_end_user_in_while_zendesk_is_down() {
    let app = spawn_app_with(&[
        ("SAFETY_CHECKS", "degraded"),
        ("ZENDESK_API_CACHE_TTL_SECS", "0"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        11,
        member.email.as_deref().expect("email"),
        Some(&member.id),
        "end-user",
    ))
    .await;
    assert_eq!(sign_in_again_with_the_api_down(&app, &member).await, 200);
    assert!(
        log_lines()
            .iter()
            .any(|l| l["event"] == "safety_degraded" && l["member_id"] == member.id.as_str())
    );
}

#[tokio::test]
async fn degraded_mode_never_lets_staff_in_without_a_fresh_check() {
    let app = spawn_app_with(&[
        ("SAFETY_CHECKS", "degraded"),
        ("ZENDESK_API_CACHE_TTL_SECS", "0"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        12,
        member.email.as_deref().expect("email"),
        Some(&member.id),
        "agent",
    ))
    .await;
    assert_eq!(sign_in_again_with_the_api_down(&app, &member).await, 503);
}

#[tokio::test]
async fn strict_mode_refuses_even_a_recent_match_while_zendesk_is_down() {
    let app = spawn_app_with(&[("ZENDESK_API_CACHE_TTL_SECS", "0")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        13,
        member.email.as_deref().expect("email"),
        Some(&member.id),
        "end-user",
    ))
    .await;
    assert_eq!(sign_in_again_with_the_api_down(&app, &member).await, 503);
}

#[tokio::test]
async fn look_ups_are_cached_between_sign_ins() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    for _ in 0..2 {
        assert_eq!(app.sign_in(&member, "").await.status(), 200);
        app.get("/logout").await;
    }
    let searches = app
        .zendesk
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path() == "/api/v2/users/search")
        .count();
    assert_eq!(
        searches, 2,
        "one look-up by external id and one by e-mail, then the cache"
    );
}

#[tokio::test]
async fn safety_denials_are_counted_by_rule() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        5,
        member.email.as_deref().expect("email"),
        None,
        "agent",
    ))
    .await;
    app.sign_in(&member, "").await;
    let metrics = app.get("/metrics").await.text().await.expect("body");
    assert!(
        metrics.contains(r#"zendesk_sso_bridge_safety_denials_total{rule="unlinked_staff"} 1"#),
        "{metrics}"
    );
    assert!(
        metrics.contains(
            r#"zendesk_sso_bridge_sign_ins_total{outcome="denied",reason="unlinked_staff"} 1"#
        ),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_address_that_differs_from_an_admins_only_by_unicode_case_is_the_admins() {
    let app = spawn_app().await;
    let mut member = Member::active();
    member.email = Some(format!("ÉLODIE.{}@example.org", member.id));
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        5,
        &format!("élodie.{}@example.org", member.id),
        None,
        "admin",
    ))
    .await;
    assert_email_taken(&app, &member, "unlinked_staff").await;
}

#[tokio::test]
async fn an_address_held_as_anothers_second_identity_is_theirs() {
    let app = spawn_app().await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("query", format!("email:{email}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [zendesk_user(31, "their.main@example.org", Some("someone-else-7"), "end-user")],
            "identities": [
                {"id": 1, "user_id": 31, "type": "email", "value": "their.main@example.org", "primary": true},
                {"id": 2, "user_id": 31, "type": "email", "value": email.to_uppercase(), "primary": false}],
            "count": 1, "next_page": null})))
        .mount(&app.zendesk)
        .await;
    assert_email_taken(&app, &member, "email_owned_by_other_identity").await;
}

#[tokio::test]
async fn a_copied_email_does_not_lock_out_the_member_zendesk_links_to_it() {
    let app = app_with_service_account().await;
    let owner = Member::active();
    let mut copier = Member::active();
    copier.email = owner.email.clone();
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Items": {"$values": [owner.person_json(), copier.person_json()]}, "Count": 2
        })))
        .with_priority(1)
        .mount(&app.imis)
        .await;
    given_member_and_service(&app, &owner).await;
    given_member_and_service(&app, &copier).await;
    app.given_zendesk_user(zendesk_user(
        41,
        owner.email.as_deref().expect("email"),
        Some(&owner.id),
        "end-user",
    ))
    .await;

    let response = app.sign_in(&owner, "?return_to=%2Fhc").await;
    assert_eq!(response.status(), 200, "the linked owner still signs in");
    let page = response.text().await.expect("body");
    assert_eq!(
        decode_claims(&delivery(&page).jwt)["external_id"],
        owner.id.as_str()
    );
    app.get("/logout").await;
    // The conflict is audited where it matters: when the copy is used.
    assert_denied(
        &app,
        &copier,
        403,
        "shared by more than one member record",
        "duplicate_primary_email",
    )
    .await;
}

#[tokio::test]
async fn a_member_zendesk_already_links_to_their_address_costs_imis_no_search_for_copies() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let email = member.email.as_deref().expect("email");
    app.given_zendesk_user(zendesk_user(52, email, Some(&member.id), "end-user"))
        .await;

    let response = app.sign_in(&member, "?return_to=%2Fhc").await;
    assert_eq!(response.status(), 200);
    let jwt = delivery(&response.text().await.expect("body")).jwt;
    assert_eq!(decode_claims(&jwt)["email"], email);

    let (imis, zendesk) = (app.imis_paths().await, app.zendesk_paths().await);
    let party = format!("/api/Party/{}", member.id);
    assert_eq!(
        imis,
        ["/token", "/api/User", party.as_str()],
        "three iMIS requests"
    );
    assert_eq!(
        zendesk,
        ["/api/v2/users/search"],
        "one Zendesk look-up, by external id: nobody else can hold the linked user's address"
    );
}

#[tokio::test]
async fn a_member_zendesk_does_not_link_yet_is_searched_for_copies_of_their_address() {
    let app = app_with_service_account().await;
    let member = Member::active();
    given_member_and_service(&app, &member).await;

    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    let (imis, zendesk) = (app.imis_paths().await, app.zendesk_paths().await);
    let party = format!("/api/Party/{}", member.id);
    assert_eq!(
        imis,
        [
            "/token",
            "/token",
            "/api/User",
            party.as_str(),
            "/api/Party"
        ],
        "the password, the service token, user, party and the search (as the service account)"
    );
    assert_eq!(
        zendesk.len(),
        3,
        "by external id, by e-mail and the staff listing: {zendesk:?}"
    );
}

#[tokio::test]
async fn an_address_is_searched_exactly_as_the_token_carries_it() {
    // Zendesk documents no Unicode folding: `Straße@…` and `strasse@…` are two addresses to
    // its search. The token carries `Straße@…`, so Zendesk matches the admin holding that one;
    // a search for the folded `strasse@…` alone would not have found them.
    let app = spawn_app().await;
    let mut member = Member::active();
    let address = format!("Straße.{}@example.org", member.id);
    member.email = Some(address.clone());
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("query", format!("email:{address}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [zendesk_user(41, &address.to_lowercase(), None, "admin")],
            "identities": [{"id": 1, "user_id": 41, "type": "email",
                "value": address.to_lowercase(), "primary": true}],
            "count": 1, "next_page": null})))
        .mount(&app.zendesk)
        .await;
    assert_email_taken(&app, &member, "unlinked_staff").await;
}

#[tokio::test]
async fn an_agent_the_search_index_has_not_caught_up_with_is_found_in_the_staff_listing() {
    // Zendesk: "It can take a few minutes for Zendesk Support to index new and modified users".
    // The agent was created a minute ago: the e-mail search does not find them yet, the staff
    // listing (read from the database) does.
    let app = spawn_app().await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .and(query_param("role[]", "agent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [zendesk_user(8, "new.agent@example.org", None, "agent")],
            "identities": [
                {"id": 1, "user_id": 8, "type": "email", "value": "new.agent@example.org", "primary": true},
                {"id": 2, "user_id": 8, "type": "email", "value": email, "primary": false}],
            "meta": {"has_more": false}, "links": {"next": null}})))
        .mount(&app.zendesk)
        .await;
    assert_email_taken(&app, &member, "unlinked_staff").await;
}

#[tokio::test]
async fn a_staff_listing_that_cannot_be_read_refuses_the_sign_in() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&app.zendesk)
        .await;
    assert_denied(
        &app,
        &member,
        503,
        "can't be reached right now",
        "zendesk_unavailable",
    )
    .await;
}

#[tokio::test]
async fn without_a_service_account_nobody_is_handed_an_existing_end_user_on_an_unproven_address() {
    // The member's own token may list only their own record: the search proves nothing, so
    // UNLINKED_END_USERS=link must not hand over the end user (and their tickets).
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(zendesk_user(
        8,
        member.email.as_deref().expect("email"),
        None,
        "end-user",
    ))
    .await;
    assert_denied(
        &app,
        &member,
        403,
        "not joined to your membership yet",
        "unlinked_end_user",
    )
    .await;
    let searches_as_member = app
        .imis
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| {
            r.url.path().ends_with("/api/Party")
                && r.url.query().is_some_and(|q| q.contains("email"))
        })
        .count();
    assert_eq!(
        searches_as_member, 0,
        "no search that could only see the member"
    );
}

#[tokio::test]
async fn the_duplicate_address_search_runs_with_the_service_account_on_the_profile_query_path() {
    let app = spawn_app_with(&[
        ("IMIS_SERVICE_USERNAME", "svc"),
        ("IMIS_SERVICE_PASSWORD", "svc-password"),
        ("IMIS_PROFILE_QUERY", "$/ZendeskSSO/Profile"),
    ])
    .await;
    let member = Member::active();
    given_member_and_service(&app, &member).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/query")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": [
            {"ID": member.id, "UserName": member.username, "FullName": "Art Abingdon",
             "Email": member.email, "Status": "A"}]}})),
        )
        .mount(&app.imis)
        .await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let searches: Vec<String> = app
        .imis
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| {
            r.url.path().ends_with("/api/Party")
                && r.url.query().is_some_and(|q| q.contains("email"))
        })
        .map(|r| {
            r.headers["authorization"]
                .to_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(searches, ["Bearer service-account-token"]);
}

#[tokio::test]
async fn with_brand_separation_every_look_up_sees_every_brand() {
    // Under brand separation, a search without `brand_id=all` may see one brand only; the admin
    // holding the member's address is on another.
    let zendesk = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/brands"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"brands": [
            {"id": 1, "user_separation": "account"}, {"id": 2, "user_separation": "brand"}]})))
        .mount(&zendesk)
        .await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("brand_id", "all"))
        .and(query_param("query", format!("email:{email}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [zendesk_user(61, &email, None, "admin")],
            "identities": [{"id": 1, "user_id": 61, "type": "email", "value": email, "primary": true}],
            "count": 1, "next_page": null})))
        .with_priority(1)
        .mount(&zendesk)
        .await;
    let app = crate::helpers::spawn_app_against(zendesk, &[]).await;
    app.given_member(&member).await;
    assert_email_taken(&app, &member, "unlinked_staff").await;
}
