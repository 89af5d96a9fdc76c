//! POLICY_FILE: who may sign in (rules on member type, groups, ...) and which extra claims
//! Zendesk receives (organization, tags, user fields, locale).

use std::process::Command;

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zendesk_sso_bridge::config::Settings;

use crate::helpers::{
    IMIS_PREFIX, Member, TestApp, audit_events_for, decode_claims, delivery, form,
    given_a_safe_zendesk, page_text, spawn_app_with, test_vars,
};

const POLICY: &str = r#"
[access]
default = "deny"
denied_message = "Help-centre access is for current members: write to membership@example.org."

[[access.rule]]
name = "members and the board"
effect = "allow"
member_type = ["M"]

[[access.rule]]
name = "board"
effect = "allow"
groups = ["Board"]

[claims]
locale = true

[claims.organization]
from = "name"

[claims.tags]
from = ["member_type", "groups"]
prefix = "imis_"

[claims.user_fields]
member_since = { attribute = "JoinDate", type = "date" }
"#;

/// A policy file that is removed when the returned value is dropped (it is read at start-up).
fn policy_file(text: &str) -> tempfile::TempPath {
    let mut file = tempfile::Builder::new()
        .prefix("zsb-policy-")
        .suffix(".toml")
        .tempfile()
        .expect("temp file");
    std::io::Write::write_all(&mut file, text.as_bytes()).expect("write policy");
    file.into_temp_path()
}

fn path_str(path: &tempfile::TempPath) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

async fn app_with_policy() -> TestApp {
    let policy = policy_file(POLICY);
    spawn_app_with(&[("POLICY_FILE", path_str(&policy))]).await
}

#[tokio::test]
async fn an_allowed_member_carries_the_mapped_claims() {
    let app = app_with_policy().await;
    let mut member = Member::active();
    member.groups = vec![("Board of Directors", "Governance")];
    app.given_member(&member).await;
    let page = app
        .sign_in(&member, "?locale_id=1176&return_to=%2Fhc")
        .await
        .text()
        .await
        .expect("body");
    let claims = decode_claims(&delivery(&page).jwt);
    assert_eq!(claims["organization"], "Versaton Global Headquarters");
    assert_eq!(claims["tags"], json!(["imis_board_of_directors", "imis_m"]));
    assert_eq!(claims["user_fields"], json!({"member_since": "2019-04-02"}));
    // As the JWT article's table documents it for end users: `locale`, an integer.
    assert_eq!(claims["locale"], 1176);
    assert!(
        !claims.contains_key("locale_id"),
        "the agents' name is not used"
    );
    assert!(!claims.contains_key("role") && !claims.contains_key("organization_id"));
}

#[tokio::test]
async fn tags_an_agent_set_survive_the_members_sign_in_while_the_policys_own_are_replaced() {
    let app = app_with_policy().await;
    let member = Member::active();
    app.given_member(&member).await;
    // Zendesk replaces every tag with the JWT's: the bridge sends the agent's back.
    app.given_zendesk_user(
        json!({"id": 4242, "name": "Art Abingdon", "email": member.email,
        "external_id": member.id, "role": "end-user", "tags": ["imis_nm", "vip", "renewal_call"]}),
    )
    .await;
    let page = app.sign_in(&member, "").await.text().await.expect("body");
    let claims = decode_claims(&delivery(&page).jwt);
    assert_eq!(
        claims["tags"],
        json!(["imis_m", "renewal_call", "vip"]),
        "the member type changed (imis_nm → imis_m); the agent's tags are kept"
    );
}

#[tokio::test]
async fn groups_are_looked_up_at_sign_in_and_kept_for_the_session() {
    let app = app_with_policy().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    let again = app
        .get("/login?locale_id=1000")
        .await
        .text()
        .await
        .expect("body");
    let claims = decode_claims(&delivery(&again).jwt);
    assert_eq!(
        claims["tags"],
        json!(["imis_m"]),
        "the mapping travels with the session"
    );
    assert_eq!(
        claims["locale"], 1000,
        "the locale follows the current visit"
    );
    assert_eq!(
        app.imis_calls_to("/api/GroupMember").await,
        1,
        "one look-up per sign-in, none on re-use"
    );
}

#[tokio::test]
async fn a_rule_can_let_in_someone_the_member_type_would_not() {
    let app = app_with_policy().await;
    let mut member = Member::active();
    member.member_type = "NM";
    member.groups = vec![("Board", "Governance")];
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
}

#[tokio::test]
async fn a_member_the_policy_denies_sees_the_associations_words() {
    let app = app_with_policy().await;
    let mut member = Member::active();
    member.member_type = "NM";
    app.given_member(&member).await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(!page.contains("name=\"jwt\""));
    assert!(page_text(&page).contains("write to membership@example.org"));
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["outcome"] == "denied" && e["reason"] == "policy")
    );
    assert!(
        crate::helpers::log_lines()
            .iter()
            .any(|l| l["event"] == "policy_decision"
                && l["rule"] == "the default"
                && l["member_id"] == member.id.as_str())
    );
}

#[tokio::test]
async fn an_empty_member_type_adds_no_tag() {
    let app = app_with_policy().await;
    let mut member = Member::active();
    member.member_type = "";
    member.groups = vec![("Board", "Governance")];
    app.given_member(&member).await;
    let page = app.sign_in(&member, "").await.text().await.expect("body");
    let claims = decode_claims(&delivery(&page).jwt);
    assert_eq!(claims["tags"], json!(["imis_board"]));
}

#[test]
fn an_invalid_policy_file_stops_start_up_with_line_and_fix() {
    let imis_uri = "http://127.0.0.1:9";
    let path = policy_file(
        "[access]\ndefault = \"allow\"\n\n[[access.rule]]\nname = \"x\"\neffect = \"permit\"\n",
    );
    let vars = [
        ("PUBLIC_URL", "https://sso.example.org"),
        ("SESSION_KEY", crate::helpers::SESSION_KEY),
        ("ZENDESK_SUBDOMAIN", "acme"),
        ("ZENDESK_JWT_SECRET", "secret"),
        ("ZENDESK_API_OAUTH_TOKEN", "t"),
        ("IMIS_BASE_URL", imis_uri),
        ("POLICY_FILE", path_str(&path)),
    ];
    let err = Settings::from_vars(vars.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .expect_err("invalid");
    let problem = &err.problems[0];
    assert_eq!(problem.variable, "POLICY_FILE");
    assert!(problem.message.contains("line 6"), "{}", problem.message);
    assert!(
        problem.message.contains("allow") && problem.message.contains("deny"),
        "{}",
        problem.message
    );

    let forbidden = policy_file("[claims.role]\nfrom = \"CustomerTypeCode\"\n");
    let vars = vars.iter().map(|(k, v)| {
        (
            k.to_string(),
            if *k == "POLICY_FILE" {
                path_str(&forbidden).to_string()
            } else {
                v.to_string()
            },
        )
    });
    let err = Settings::from_vars(vars).expect_err("role is never mappable");
    assert!(err.problems[0].message.contains("can never be mapped"));
}

#[tokio::test]
async fn policy_explain_shows_the_data_and_the_deciding_rule() {
    let imis = MockServer::start().await;
    let zendesk = MockServer::start().await;
    given_a_safe_zendesk(&zendesk).await;
    let mut member = Member::active();
    member.groups = vec![("Board", "Governance")];
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("username", "svc")]))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "svc-token", "expires_in": 600})),
        )
        .mount(&imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/User")))
        .and(query_param("UserName", member.username.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"Items": {"$values": [{"UserId": member.id, "UserName": member.username}]}}),
        ))
        .mount(&imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(member.person_json()))
        .mount(&imis)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/GroupMember")))
        .respond_with(ResponseTemplate::new(200).set_body_json(member.groups_json()))
        .mount(&imis)
        .await;
    let policy = policy_file(POLICY);
    let out = Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
        .args(["policy", "explain", &member.username])
        .env_clear()
        .envs(test_vars(
            &imis,
            &zendesk,
            &[
                ("POLICY_FILE", path_str(&policy)),
                ("IMIS_SERVICE_USERNAME", "svc"),
                ("IMIS_SERVICE_PASSWORD", "pw"),
            ],
        ))
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id_line = format!("iMIS ID          {}", member.id);
    for expected in [
        id_line.as_str(),
        "attribute        CustomerTypeCode = M",
        "group            Board [Governance]",
        "rule             \"members and the board\" (Allow): matches",
        "decision         ALLOWED (decided by rule \"members and the board\")",
        "\"tags\": [",
    ] {
        assert!(text.contains(expected), "`{expected}` missing:\n{text}");
    }
}

const CURRENT_MEMBERS_ONLY: &str = r#"
[access]
default = "deny"

[[access.rule]]
name = "current members"
effect = "allow"
paid_through = "current"
"#;

/// iMIS keeps Paid Through on the contact (`/api/CsContact/{id}`), never on the Party.
async fn given_paid_through(app: &TestApp, member: &Member, date: &str) {
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/CsContact/{}", member.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
            "EntityTypeName": "CsContact", "PrimaryParentIdentity": {"IdentityElements": {"$values": [member.id]}},
            "Properties": {"$values": [
                {"Name": "MemberType", "Value": "M"},
                {"Name": "PaidThrough", "Value": {"$type": "System.DateTime", "$value": format!("{date}T00:00:00")}}]}})))
        .mount(&app.imis)
        .await;
}

#[tokio::test]
async fn a_paying_member_is_admitted_by_the_paid_through_date_on_their_contact() {
    let policy = policy_file(CURRENT_MEMBERS_ONLY);
    let app = spawn_app_with(&[("POLICY_FILE", path_str(&policy))]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_paid_through(&app, &member, "2999-12-31").await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);
    assert_eq!(
        app.imis_calls_to(&format!("/api/CsContact/{}", member.id))
            .await,
        1
    );
}

#[tokio::test]
async fn a_member_whose_paid_through_date_has_passed_is_refused_though_their_status_is_active() {
    let policy = policy_file(CURRENT_MEMBERS_ONLY);
    let app = spawn_app_with(&[("POLICY_FILE", path_str(&policy))]).await;
    let member = Member::active();
    app.given_member(&member).await;
    given_paid_through(&app, &member, "2020-06-30").await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 403);
}
