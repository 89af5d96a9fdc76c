//! `check` (the "Test configuration" button) and `link-staff` (pre-linking agents and admins),
//! run as an admin would run them.

use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{body_json, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{
    IMIS_PREFIX, form, given_a_safe_zendesk, given_imis_token_endpoint, sso_config, test_vars,
};

fn run(
    imis: &MockServer,
    zendesk: &MockServer,
    overrides: &[(&str, &str)],
    args: &[&str],
) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
        .args(args)
        .env_clear()
        .envs(test_vars(imis, zendesk, overrides))
        .output()
        .expect("runs")
}

#[tokio::test]
async fn check_passes_on_a_good_configuration() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    given_imis_token_endpoint(&imis).await;
    let out = run(
        &imis,
        &zendesk,
        &[("PUBLIC_URL", "http://127.0.0.1")],
        &["check"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    for line in [
        "✓ configuration",
        "✓ member directory",
        "✓ zendesk api",
        "✓ update_external_ids",
        "✓ jwt secret",
        "✓ clock",
        "✓ oauth scopes",
        "! zendesk credentials",
        "✓ sample jwt",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(
        text.contains("claims: email, external_id, iat, jti, name, phone"),
        "{text}"
    );
    assert!(text.contains("All checks passed."));
}

#[tokio::test]
async fn check_fails_with_reasons_on_a_broken_setup() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"remote_authentications": [
            sso_config(json!({"update_external_ids": true}))]})),
        )
        .mount(&zendesk)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&imis)
        .await;
    let out = run(
        &imis,
        &zendesk,
        &[
            ("IMIS_SERVICE_USERNAME", "svc"),
            ("IMIS_SERVICE_PASSWORD", "wrong"),
        ],
        &["check", "--json"],
    );
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).expect("json report");
    assert_eq!(report["passed"], false);
    let failed: Vec<&str> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "failed")
        .filter_map(|c| c["check"].as_str())
        .collect();
    assert_eq!(failed, ["member directory", "update_external_ids"]);
}

#[tokio::test]
async fn check_reads_the_whole_sso_configuration_and_the_token_it_runs_with() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(
            ResponseTemplate::new(200)
                // Zendesk's clock five minutes ahead of ours.
                .insert_header(
                    "Date",
                    httpdate::fmt_http_date(
                        std::time::SystemTime::now() + std::time::Duration::from_secs(300),
                    ),
                )
                .set_body_json(json!({"remote_authentications": [sso_config(json!({
                    "agent": true, "masked_secret": "nope****", "ip_ranges": "10.1.*.*",
                    "remote_logout_url": null}))]})),
        )
        .with_priority(1)
        .mount(&zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/oauth/tokens/current"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": {
            "id": 1, "scopes": ["users:read"], "expires_at": "2026-11-22T22:00:00Z"}})))
        .mount(&zendesk)
        .await;
    given_a_safe_zendesk(&zendesk).await;
    let out = run(&imis, &zendesk, &[], &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    for line in [
        "✗ jwt secret",
        "! team members",
        "! ip ranges",
        "no remote logout URL",
        // Five minutes: past Zendesk's three, every token would be refused.
        "✗ clock",
        "✗ oauth scopes",
        "security:read",
        "expires at 2026-11-22T22:00:00Z",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
}

#[tokio::test]
async fn check_with_a_bad_environment_lists_the_problems() {
    let out = Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
        .arg("check")
        .env_clear()
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ZENDESK_SUBDOMAIN"));
}

/// Zendesk with two unlinked agents, one linked admin, and the member system behind them.
async fn staff_fixture() -> (MockServer, MockServer) {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 101, "name": "Agent Ann", "email": "ann@members.example", "external_id": null, "role": "agent"},
            {"id": 102, "name": "Agent Bob", "email": "bob@members.example", "external_id": null, "role": "agent"},
            {"id": 103, "name": "Admin Cy", "email": "cy@members.example", "external_id": "300", "role": "admin"},
            {"id": 104, "name": "Agent Di", "email": "di@members.example", "external_id": null, "role": "agent"}],
            "next_page": null})))
        .mount(&zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/show_many"))
        .and(query_param("external_ids", "100,400"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 900, "email": "someone@else.example", "external_id": "400", "role": "end-user"}]})))
        .mount(&zendesk)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc"), ("password", "svc-pw")]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "svc-token", "expires_in": 3600})),
        )
        .mount(&imis)
        .await;
    let person = |id: &str, email: &str| {
        json!({"PartyId": id, "Status": {"PartyStatusId": "A"},
        "Emails": {"$values": [{"Address": email, "IsPrimary": true}]}})
    };
    for (email, found) in [
        (
            "ann@members.example",
            vec![person("100", "ann@members.example")],
        ),
        ("bob@members.example", vec![]),
        (
            "di@members.example",
            vec![person("400", "di@members.example")],
        ),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/Party")))
            .and(query_param("email", format!("eq:{email}").as_str()))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": found}})),
            )
            .mount(&imis)
            .await;
    }
    (imis, zendesk)
}

const SERVICE: &[(&str, &str)] = &[
    ("IMIS_SERVICE_USERNAME", "svc"),
    ("IMIS_SERVICE_PASSWORD", "svc-pw"),
    ("LOG_FORMAT", "json"),
];

#[tokio::test]
async fn link_staff_dry_run_prints_the_plan_and_changes_nothing() {
    let (imis, zendesk) = staff_fixture().await;
    let out = run(&imis, &zendesk, SERVICE, &["link-staff"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("ann@members.example") && text.contains("would link to iMIS ID 100"),
        "{text}"
    );
    assert!(
        text.contains("skip: no active member record has this primary e-mail"),
        "{text}"
    );
    assert!(
        text.contains("skip: iMIS ID 400 is already the external id of Zendesk user 900"),
        "{text}"
    );
    assert!(
        !text.contains("cy@members.example"),
        "linked staff are not listed: {text}"
    );
    assert!(text.contains("Dry run"));
    let writes = zendesk
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .filter(|r| r.method.as_str() == "PUT")
        .count();
    assert_eq!(writes, 0);
}

#[tokio::test]
async fn link_staff_apply_sets_exactly_the_planned_external_ids() {
    let (imis, zendesk) = staff_fixture().await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/users/101"))
        .and(body_json(json!({"user": {"external_id": "100"}})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"user": {"id": 101, "external_id": "100", "role": "agent"}})),
        )
        .expect(1)
        .mount(&zendesk)
        .await;
    let out = run(&imis, &zendesk, SERVICE, &["link-staff", "--apply"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Linked 1, skipped 2, failed 0."), "{text}");
    let puts: Vec<_> = zendesk
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.method.as_str() == "PUT")
        .collect();
    assert_eq!(
        puts.len(),
        1,
        "end users and skipped staff are never written"
    );
}

#[tokio::test]
async fn link_staff_needs_the_imis_service_account() {
    let (imis, zendesk) = staff_fixture().await;
    let out = run(&imis, &zendesk, &[], &["link-staff"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("IMIS_SERVICE_USERNAME"));
}

#[tokio::test]
async fn check_shows_the_token_a_given_member_would_get() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let hash = zendesk_sso_bridge::members::file::hash_password("pw").expect("hash");
    let members = dir.path().join("members.toml");
    std::fs::write(
        &members,
        format!(
            "[[member]]\nid = \"1001\"\nusername = \"ada\"\npassword_hash = \"{hash}\"\nname = \"Ada Lovelace\"\n\
             email = \"ada@example.org\"\ngroups = [\"Board\"]\nattributes = {{ CustomerTypeCode = \"M\" }}\n"
        ),
    )
    .expect("members");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        "[claims.tags]\nfrom = [\"member_type\", \"groups\"]\nprefix = \"imis_\"\n",
    )
    .expect("policy");
    let out = run(
        &imis,
        &zendesk,
        &[
            ("MEMBER_DIRECTORY", "file"),
            ("MEMBERS_FILE", members.to_str().expect("path")),
            ("POLICY_FILE", policy.to_str().expect("path")),
        ],
        &["check", "--member", "ada"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("✓ member token"), "{text}");
    assert!(
        text.contains(r#""external_id":"1001""#)
            && text.contains(r#""tags":["imis_board","imis_m"]"#),
        "{text}"
    );
    assert!(
        text.contains("! configuration") && text.contains("REPLACES"),
        "the tags warning is shown: {text}"
    );
}

/// A safe Zendesk, and an iMIS that knows the client application `bridge-app` (a made-up
/// refresh token is `invalid_grant`) and answers its SSO page with `page`. Returns both and
/// the page's URL.
async fn member_site_fixture(page: ResponseTemplate) -> (MockServer, MockServer, String) {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    given_imis_token_endpoint(&imis).await;
    // iMIS checks the client secret first: a wrong one is `invalid_client`.
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[
            ("grant_type", "refresh_token"),
            ("client_id", "bridge-app"),
            ("client_secret", "s3cret"),
        ]))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .with_priority(2)
        .mount(&imis)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("grant_type", "refresh_token")]))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .with_priority(3)
        .mount(&imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/ZendeskSSO")))
        .respond_with(page)
        .mount(&imis)
        .await;
    let url = format!("{}{IMIS_PREFIX}/ZendeskSSO", imis.uri());
    (imis, zendesk, url)
}

#[tokio::test]
async fn check_verifies_the_member_site_client_without_a_member() {
    let (imis, zendesk, page) =
        member_site_fixture(ResponseTemplate::new(200).set_body_string("<html>sign in</html>"))
            .await;
    let sso = [
        ("IMIS_SSO_PAGE_URL", page.as_str()),
        ("IMIS_SSO_CLIENT_ID", "bridge-app"),
        ("IMIS_SSO_CLIENT_SECRET", "s3cret"),
    ];
    let out = run(&imis, &zendesk, &sso, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "✓ sign-in method",
        "imis_sso",
        "✓ imis sso client",
        "✓ imis sso page",
    ] {
        assert!(text.contains(line), "`{line}` missing:\n{text}");
    }
    assert!(!text.contains("imis sso origin"), "{text}");

    let imis_refusing = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_client"})))
        .mount(&imis_refusing)
        .await;
    let out = run(&imis_refusing, &zendesk, &sso, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("✗ imis sso client") && text.contains("IMIS_SSO_CLIENT_ID"),
        "{text}"
    );
}

#[tokio::test]
async fn check_warns_when_the_member_sites_page_would_hide_its_origin() {
    let (imis, zendesk, page) = member_site_fixture(
        ResponseTemplate::new(200)
            .insert_header("Referrer-Policy", "no-referrer")
            .set_body_string("<html>sign in</html>"),
    )
    .await;
    let mut sso = vec![
        ("IMIS_SSO_PAGE_URL", page.as_str()),
        ("IMIS_SSO_CLIENT_ID", "bridge-app"),
        ("IMIS_SSO_CLIENT_SECRET", "s3cret"),
    ];
    let out = run(&imis, &zendesk, &sso, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("! imis sso origin") && text.contains("IMIS_SSO_ALLOWED_ORIGINS"),
        "{text}"
    );

    sso.push(("IMIS_SSO_ALLOWED_ORIGINS", "null"));
    let out = run(&imis, &zendesk, &sso, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("imis sso origin"), "chosen: {text}");
}

#[tokio::test]
async fn check_says_when_the_client_secret_cannot_be_told_from_a_wrong_one() {
    // This iMIS checks the refresh token before the secret: both answers are invalid_grant.
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    given_imis_token_endpoint(&imis).await;
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("grant_type", "refresh_token")]))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": "invalid_grant"})))
        .mount(&imis)
        .await;
    let page = format!("{}{IMIS_PREFIX}/ZendeskSSO", imis.uri());
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/ZendeskSSO")))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>sign in</html>"))
        .mount(&imis)
        .await;
    let sso = [
        ("IMIS_SSO_PAGE_URL", page.as_str()),
        ("IMIS_SSO_CLIENT_ID", "bridge-app"),
        ("IMIS_SSO_CLIENT_SECRET", "s3cret"),
    ];
    let out = run(&imis, &zendesk, &sso, &["check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("! imis sso client")
            && text.contains("cannot be verified without a real hand-off"),
        "{text}"
    );
}

#[tokio::test]
async fn check_proves_the_imis_base_url_is_where_imis_serves_its_token_endpoint() {
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    for answer in [
        ResponseTemplate::new(404),
        ResponseTemplate::new(200).set_body_string("<html>Welcome to our member site</html>"),
    ] {
        let imis = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(answer)
            .mount(&imis)
            .await;
        let out = run(&imis, &zendesk, &[], &["check"]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(
            text.contains("✗ member directory") && text.contains("Asi.Scheduler_"),
            "{text}"
        );
    }
}

#[tokio::test]
async fn check_runs_the_configured_profile_query() {
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    for (answer, expected) in [
        (
            ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": [
                {"ID": "1", "UserName": "a"}, {"ID": "2", "UserName": "b"}]}, "TotalCount": 2})),
            "✗ member directory",
        ),
        (ResponseTemplate::new(404), "20.3.77"),
        (
            ResponseTemplate::new(200).set_body_json(json!({"Items": {"$values": []}})),
            "✓ member directory",
        ),
    ] {
        let imis = MockServer::start().await;
        given_imis_token_endpoint(&imis).await;
        Mock::given(method("POST"))
            .and(path(format!("{IMIS_PREFIX}/token")))
            .and(form(&[("username", "svc")]))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "s"})))
            .mount(&imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/query")))
            .respond_with(answer)
            .mount(&imis)
            .await;
        let out = run(
            &imis,
            &zendesk,
            &[
                ("IMIS_SERVICE_USERNAME", "svc"),
                ("IMIS_SERVICE_PASSWORD", "pw"),
                ("IMIS_PROFILE_QUERY", "$/ZendeskSSO/Profile"),
            ],
            &["check"],
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
}
