//! The iMIS client against a wiremock iMIS: exact requests, every JSON variant the reference
//! lists, the service account's token cache, and each way iMIS can fail.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zendesk_sso_bridge::config::{ImisSettings, ServiceAccount};
use zendesk_sso_bridge::members::imis::ImisDirectory;
use zendesk_sso_bridge::members::phone::PhonePolicy;
use zendesk_sso_bridge::members::{DirectoryError, MemberDirectory, MemberStatus, Refusal};
use zendesk_sso_bridge::metrics::Metrics;
use zendesk_sso_bridge::upstream::{BreakerSettings, InFlight};

use crate::helpers::{IMIS_PREFIX, Member, form};

fn directory(server: &MockServer, service: Option<(&str, &str)>) -> ImisDirectory {
    let settings = ImisSettings {
        base_url: format!("{}{IMIS_PREFIX}", server.uri())
            .parse()
            .expect("url"),
        service_account: service.map(|(u, p)| ServiceAccount {
            username: u.into(),
            password: SecretString::from(p),
        }),
        timeout: Duration::from_millis(500),
        profile_query: None,
        members_query: None,
        max_in_flight: 32,
    };
    ImisDirectory::new(
        &settings,
        PhonePolicy::default(),
        Metrics::new(),
        BreakerSettings::default(),
        InFlight::unlimited(),
    )
    .expect("client")
}

async fn token_for(server: &MockServer, username: &str, password: &str, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[
            ("grant_type", "password"),
            ("username", username),
            ("password", password),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(server)
        .await;
}

async fn user_and_party(
    server: &MockServer,
    user_name: &str,
    token: &str,
    users: serde_json::Value,
    person: serde_json::Value,
    id: &str,
) {
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .and(query_param("UserName", user_name))
        .and(header("Authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(users))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{id}")))
        .and(header("Authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(person))
        .mount(server)
        .await;
}

/// iMIS finds member `m` (user row, then party) for bearer `token`.
async fn member_lookups(server: &MockServer, m: &Member, token: &str) {
    user_and_party(
        server,
        &m.username,
        token,
        json!({"Items": {"$values": [{"UserId": m.id, "UserName": m.username}]}}),
        m.person_json(),
        &m.id,
    )
    .await;
}

fn password(p: &str) -> SecretString {
    SecretString::from(p)
}

#[tokio::test]
async fn the_password_grant_is_an_encoded_form_post_under_the_site_folder() {
    let server = MockServer::start().await;
    let m = Member::active();
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(header("Content-Type", "application/x-www-form-urlencoded"))
        .and(header("Accept", "application/json"))
        .and(form(&[
            ("grant_type", "password"),
            ("username", &m.username),
            ("password", &m.password),
        ]))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "t1"})))
        .expect(1)
        .mount(&server)
        .await;
    member_lookups(&server, &m, "t1").await;

    let profile = directory(&server, None)
        .authenticate(&m.username, &password(&m.password))
        .await
        .expect("profile");
    assert_eq!(profile.id, m.id);
    assert_eq!(profile.email, m.email);
    assert_eq!(profile.phone.as_deref(), Some("+13103884000"));
    assert_eq!(profile.status, MemberStatus::Active);
}

#[tokio::test]
async fn invalid_grant_means_wrong_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": "invalid_grant", "error_description": "anything at all, in any language"}),
        ))
        .mount(&server)
        .await;
    let result = directory(&server, None)
        .authenticate("x", &password("y"))
        .await;
    assert!(
        matches!(result, Err(DirectoryError::InvalidCredentials)),
        "{result:?}"
    );
}

#[tokio::test]
async fn older_shapes_bare_arrays_numbers_and_wrapped_values_are_read() {
    let server = MockServer::start().await;
    token_for(&server, "Old", "pw", json!({"access_token": "t2", "token_type": "Bearer", "expires_in": "1199", "unknown": {"x": 1}})).await;
    user_and_party(
        &server,
        "Old",
        "t2",
        json!({"Items": [{"UserId": 4242, "UserName": "old"}], "TotalCount": 1}),
        json!({
            "PartyId": {"$type": "System.String", "$value": "4242"},
            "PersonName": {"FirstName": "Olive", "LastName": "Oldfield"},
            "Status": {"PartyStatusId": {"$value": "A"}},
            "Emails": [{"Address": "olive@example.org", "IsPrimary": {"$type": "System.Boolean", "$value": true}}],
            "Phones": [{"Number": "+44 20 7946 0018", "PhoneType": "_Home Phone"}],
            "SomethingNew": [1, 2, 3]
        }),
        "4242",
    )
    .await;
    let profile = directory(&server, None)
        .authenticate("Old", &password("pw"))
        .await
        .expect("profile");
    assert_eq!(profile.id, "4242");
    assert_eq!(profile.name, "Olive Oldfield");
    assert_eq!(profile.email.as_deref(), Some("olive@example.org"));
    assert_eq!(profile.phone.as_deref(), Some("+442079460018"));
}

#[tokio::test]
async fn the_canonical_user_name_from_the_token_is_matched_case_insensitively() {
    let server = MockServer::start().await;
    let m = Member::active();
    token_for(
        &server,
        "typed-name",
        "pw",
        json!({"access_token": "t3", "userName": "Canonical"}),
    )
    .await;
    user_and_party(
        &server,
        "Canonical",
        "t3",
        json!({"Items": {"$values": [
            {"UserId": "1", "UserName": "CanonicalButLonger"},
            {"UserId": m.id, "UserName": "CANONICAL"}]}}),
        m.person_json(),
        &m.id,
    )
    .await;
    let profile = directory(&server, None)
        .authenticate("typed-name", &password("pw"))
        .await
        .expect("profile");
    assert_eq!(profile.id, m.id);
}

#[tokio::test]
async fn no_matching_user_row_means_no_member_record() {
    let server = MockServer::start().await;
    token_for(&server, "guest", "pw", json!({"access_token": "t4"})).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": []}, "Count": 0})),
        )
        .mount(&server)
        .await;
    let result = directory(&server, None)
        .authenticate("guest", &password("pw"))
        .await;
    assert!(
        matches!(
            result,
            Err(DirectoryError::Refused(Refusal::NoMemberRecord))
        ),
        "{result:?}"
    );
}

#[tokio::test]
async fn the_service_account_token_is_cached_across_sign_ins() {
    let server = MockServer::start().await;
    let m = Member::active();
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc"), ("password", "svc-pw")]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "service-token", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    token_for(
        &server,
        &m.username,
        &m.password,
        json!({"access_token": "member-token"}),
    )
    .await;
    member_lookups(&server, &m, "service-token").await;
    let dir = directory(&server, Some(("svc", "svc-pw")));
    for _ in 0..2 {
        dir.authenticate(&m.username, &password(&m.password))
            .await
            .expect("profile");
    }
}

#[tokio::test]
async fn a_401_on_the_cached_service_token_renews_it_once() {
    let server = MockServer::start().await;
    let m = Member::active();
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc")]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "stale", "expires_in": 3600})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc")]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "fresh", "expires_in": 3600})),
        )
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    token_for(
        &server,
        &m.username,
        &m.password,
        json!({"access_token": "member-token"}),
    )
    .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer stale"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(
                json!({"Message": "Authorization has been denied for this request."}),
            ),
        )
        .mount(&server)
        .await;
    member_lookups(&server, &m, "fresh").await;
    let profile = directory(&server, Some(("svc", "svc-pw")))
        .authenticate(&m.username, &password(&m.password))
        .await
        .expect("profile after one renewal");
    assert_eq!(profile.id, m.id);
}

#[tokio::test]
async fn a_member_token_that_may_not_read_profiles_is_a_configuration_problem() {
    // `/api/User` may be closed to members with 401 or with 403.
    for status in [401, 403] {
        let server = MockServer::start().await;
        token_for(&server, "m", "pw", json!({"access_token": "member-token"})).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status))
            .mount(&server)
            .await;
        let result = directory(&server, None)
            .authenticate("m", &password("pw"))
            .await;
        let Err(DirectoryError::Unavailable(e)) = result else {
            panic!("{status}: expected unavailable, got {result:?}")
        };
        assert!(
            format!("{e:#}").contains("IMIS_SERVICE_USERNAME"),
            "{status}: {e:#}"
        );
    }
}

#[tokio::test]
async fn a_503_on_a_look_up_is_retried_once_then_reported_unavailable() {
    let server = MockServer::start().await;
    token_for(&server, "m", "pw", json!({"access_token": "t"})).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .respond_with(ResponseTemplate::new(503))
        .expect(2)
        .mount(&server)
        .await;
    let result = directory(&server, None)
        .authenticate("m", &password("pw"))
        .await;
    assert!(
        matches!(result, Err(DirectoryError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_out_once() {
    let server = MockServer::start().await;
    let m = Member::active();
    token_for(
        &server,
        &m.username,
        &m.password,
        json!({"access_token": "t"}),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    member_lookups(&server, &m, "t").await;
    let started = std::time::Instant::now();
    directory(&server, None)
        .authenticate(&m.username, &password(&m.password))
        .await
        .expect("profile after the wait");
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn a_party_that_is_not_the_one_asked_for_is_refused() {
    let server = MockServer::start().await;
    let m = Member::active();
    let mut other = m.person_json();
    other["PartyId"] = json!("99999");
    other["Id"] = json!("99999");
    token_for(
        &server,
        &m.username,
        &m.password,
        json!({"access_token": "t"}),
    )
    .await;
    user_and_party(
        &server,
        &m.username,
        "t",
        json!({"Items": {"$values": [{"UserId": m.id, "UserName": m.username}]}}),
        other,
        &m.id,
    )
    .await;
    let result = directory(&server, None)
        .authenticate(&m.username, &password(&m.password))
        .await;
    assert!(
        matches!(result, Err(DirectoryError::Unavailable(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_service_token_expired_by_a_newer_one_elsewhere_is_fetched_again() {
    // iMIS keeps only the newest token per user: another replica (or a `check` run) signing in
    // as the service account expires ours, twice in a row here.
    let server = MockServer::start().await;
    let m = Member::active();
    for (priority, token) in [(1u8, "svc-1"), (2, "svc-2"), (3, "svc-3")] {
        Mock::given(method("POST"))
            .and(path(format!("{IMIS_PREFIX}/token")))
            .and(form(&[("username", "svc")]))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"access_token": token, "expires_in": 3600})),
            )
            .up_to_n_times(1)
            .with_priority(priority)
            .mount(&server)
            .await;
    }
    token_for(
        &server,
        &m.username,
        &m.password,
        json!({"access_token": "member-token"}),
    )
    .await;
    for stale in ["svc-1", "svc-2"] {
        Mock::given(method("GET"))
            .and(header("Authorization", format!("Bearer {stale}").as_str()))
            .respond_with(ResponseTemplate::new(401))
            .mount(&server)
            .await;
    }
    member_lookups(&server, &m, "svc-3").await;
    let dir = directory(&server, Some(("svc", "svc-pw")));
    let profile = dir
        .authenticate(&m.username, &password(&m.password))
        .await
        .expect("a profile with the third token");
    assert_eq!(profile.id, m.id);
    let health = dir.upstream().expect("iMIS health").report();
    assert_eq!(
        health.consecutive_failures, 0,
        "refused tokens are answers, not an outage"
    );
}

#[tokio::test]
async fn a_429_asking_for_longer_than_the_cap_is_not_retried() {
    // Waiting three seconds for an iMIS that asked for two minutes would only be refused again.
    let server = MockServer::start().await;
    token_for(&server, "m", "pw", json!({"access_token": "t"})).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "120"))
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let result = directory(&server, None)
        .authenticate("m", &password("pw"))
        .await;
    assert!(result.is_err(), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "no wait");
    let asked = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.url.path().ends_with("/api/User"))
        .count();
    assert_eq!(asked, 1, "not asked again");
}
