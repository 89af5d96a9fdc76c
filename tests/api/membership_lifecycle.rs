//! `zendesk-sso-bridge sync`: what Zendesk knows is kept true to the member system. Lapsed
//! members are downgraded and signed out (never suspended, their other tags kept), renewed ones
//! restored, organisations created once; agents, unlinked users and other tags are left alone;
//! the brake holds a mass downgrade; an outage writes nothing; a second run writes nothing.

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::fake_zendesk::FakeZendesk;
use crate::helpers::{IMIS_PREFIX, Member, audit_events_for, form, spawn_app_sharing, test_vars};

const POLICY: &str = r#"
[access]
default = "deny"

[[access.rule]]
name = "current members"
effect = "allow"
paid_through = "current"

[claims.tags]
from = ["member_type"]
prefix = "imis_"

[claims.organization]
from = "party_id"
"#;

const CURRENT: &str = "2999-12-31";
const LAPSED: &str = "2001-01-31";

struct Setup {
    dir: tempfile::TempDir,
    imis: MockServer,
    zendesk: FakeZendesk,
}

impl Setup {
    async fn new() -> Self {
        let setup = Self {
            dir: tempfile::tempdir().expect("temp dir"),
            imis: MockServer::start().await,
            zendesk: FakeZendesk::start().await,
        };
        std::fs::write(setup.path("policy.toml"), POLICY).expect("policy");
        setup
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The members file: (iMIS ID, paid through, organisation party id).
    fn members(&self, members: &[(&str, &str, Option<&str>)]) {
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0Qx5yGQOqQmFRy8qQHXhEAaD3xPJrLDCzNMQv/sCk9I";
        let text: String = members
            .iter()
            .map(|(id, paid, org)| {
                let org = org
                    .map(|o| format!("organization = \"Org {o}\"\norganization_id = \"{o}\"\n"))
                    .unwrap_or_default();
                format!(
                    "[[member]]\nid = \"{id}\"\nusername = \"m{id}\"\npassword_hash = \"{hash}\"\n\
                     name = \"Member {id}\"\nemail = \"m{id}@example.org\"\nmember_type = \"M\"\n\
                     paid_through = \"{paid}\"\n{org}\n"
                )
            })
            .collect();
        std::fs::write(self.path("members.toml"), text).expect("members");
    }

    fn sync(&self, args: &[&str], overrides: &[(&str, &str)]) -> Output {
        let members = self.path("members.toml");
        let policy = self.path("policy.toml");
        let mut vars = vec![
            ("MEMBER_DIRECTORY", "file"),
            ("MEMBERS_FILE", members.to_str().expect("path")),
            ("POLICY_FILE", policy.to_str().expect("path")),
            ("LOG_FORMAT", "json"),
            // Zendesk's largest budget: the tests need not wait between requests.
            ("SYNC_ZENDESK_RPM", "2500"),
        ];
        vars.extend_from_slice(overrides);
        Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
            .arg("sync")
            .args(args)
            .env_clear()
            .envs(test_vars(&self.imis, &self.zendesk.server, &vars))
            .output()
            .expect("sync runs")
    }
}

fn end_user(id: u64, member: &str, tags: &[&str]) -> Value {
    json!({"id": id, "name": format!("Member {member}"), "email": format!("m{member}@example.org"),
           "external_id": member, "role": "end-user", "suspended": false, "tags": tags,
           "user_fields": {}, "organization_id": null})
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The audit events (JSON log lines on standard error) named `event`.
fn audit(out: &Output, event: &str) -> Vec<Value> {
    String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["event"] == event)
        .collect()
}

/// Two current members, one lapsed with an agent's `vip` tag and an open session, an agent
/// whose member record lapsed, and an unlinked end user carrying a member tag.
async fn a_small_association() -> Setup {
    let setup = Setup::new().await;
    setup.members(&[
        ("100", CURRENT, None),
        ("200", LAPSED, None),
        ("300", LAPSED, None),
    ]);
    let z = &setup.zendesk;
    z.given_user(end_user(11, "100", &["imis_m"]), true);
    z.given_user(end_user(12, "200", &["imis_m", "vip"]), true);
    let mut agent = end_user(13, "300", &["imis_m"]);
    agent["role"] = json!("agent");
    z.given_user(agent, true);
    z.given_user(
        json!({"id": 14, "name": "Walk-in", "email": "walkin@example.org", "role": "end-user",
               "tags": ["imis_m"], "user_fields": {}}),
        true,
    );
    setup
}

#[tokio::test]
async fn a_plan_is_printed_and_nothing_is_written_without_apply() {
    let setup = a_small_association().await;
    let out = setup.sync(&[], &[]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("downgrade Zendesk user 12 (iMIS 200): denied by the default — tag -imis_m; end Zendesk sessions"),
        "{text}"
    );
    assert!(text.contains("Dry run: nothing was written"), "{text}");
    assert!(
        !text.contains("user 11") && !text.contains("user 13") && !text.contains("user 14"),
        "{text}"
    );
    assert!(setup.zendesk.writes().await.is_empty());
    assert_eq!(setup.zendesk.tags(12), ["imis_m", "vip"]);
}

#[tokio::test]
async fn a_lapsed_member_is_downgraded_and_signed_out_but_not_suspended_and_keeps_other_tags() {
    let setup = a_small_association().await;
    let out = setup.sync(&["--apply"], &[]);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let z = &setup.zendesk;
    assert_eq!(z.tags(12), ["vip"], "the agent's tag stays");
    let lapsed = z.user(12);
    assert_eq!(lapsed["suspended"], false, "never suspended");
    assert_eq!(lapsed["role"], "end-user");
    assert_eq!(lapsed["external_id"], "200");
    assert_eq!(lapsed["email"], "m200@example.org");
    assert!(
        !z.state().sessions.contains(&12),
        "their help-centre session ended"
    );
    // The current member, the agent and the unlinked end user are untouched.
    assert!(z.state().sessions.contains(&11) && z.state().sessions.contains(&13));
    assert_eq!(z.tags(13), ["imis_m"]);
    assert_eq!(z.tags(14), ["imis_m"]);
    let writes = z.writes().await;
    assert_eq!(
        writes,
        [
            "PUT /api/v2/users/update_many",
            "DELETE /api/v2/users/12/sessions"
        ],
        "one bulk job and one session ending; nothing else"
    );
    let events = audit(&out, "member_downgraded");
    assert_eq!(events.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(events[0]["member_id"], "200");
    assert_eq!(events[0]["zendesk_user_id"], 12);
    assert_eq!(events[0]["reason"], "denied by the default");
    assert_eq!(audit(&out, "sync_applied").len(), 1);

    // A second run right after plans nothing and writes nothing.
    let again = setup.sync(&["--apply"], &[]);
    assert_eq!(again.status.code(), Some(0));
    assert!(
        stdout(&again).contains("0 to update, 0 to downgrade"),
        "{}",
        stdout(&again)
    );
    assert_eq!(z.writes().await.len(), 2, "no new writes");
}

#[tokio::test]
async fn a_renewed_member_gets_the_member_tag_back_and_keeps_the_agents_tags() {
    let setup = a_small_association().await;
    assert_eq!(setup.sync(&["--apply"], &[]).status.code(), Some(0));
    assert_eq!(setup.zendesk.tags(12), ["vip"]);
    setup.members(&[
        ("100", CURRENT, None),
        ("200", CURRENT, None),
        ("300", LAPSED, None),
    ]);
    let out = setup.sync(&["--apply"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(setup.zendesk.tags(12), ["imis_m", "vip"]);
    assert_eq!(audit(&out, "member_updated")[0]["member_id"], "200");
}

#[tokio::test]
async fn a_member_the_directory_no_longer_has_is_downgraded() {
    let setup = a_small_association().await;
    setup.members(&[("200", LAPSED, None)]);
    let out = setup.sync(&["--apply"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(setup.zendesk.tags(11), Vec::<String>::new());
    let events = audit(&out, "member_downgraded");
    assert!(
        events
            .iter()
            .any(|e| e["member_id"] == "100" && e["reason"] == "not_in_member_system"),
        "{events:?}"
    );
}

#[tokio::test]
async fn an_organisation_is_created_once_and_its_members_join_it() {
    let setup = Setup::new().await;
    setup.members(&[
        ("100", CURRENT, Some("23087")),
        ("101", CURRENT, Some("23087")),
    ]);
    setup
        .zendesk
        .given_user(end_user(11, "100", &["imis_m"]), false);
    setup
        .zendesk
        .given_user(end_user(12, "101", &["imis_m"]), false);
    let out = setup.sync(&["--apply"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    let orgs: Vec<Value> = setup
        .zendesk
        .state()
        .organizations
        .values()
        .cloned()
        .collect();
    assert_eq!(orgs.len(), 1, "{orgs:?}");
    assert_eq!(orgs[0]["external_id"], "23087");
    assert_eq!(orgs[0]["name"], "Org 23087");
    for user in [11, 12] {
        assert_eq!(setup.zendesk.user(user)["organization_id"], orgs[0]["id"]);
    }
    assert_eq!(audit(&out, "organization_created").len(), 1);
    let again = setup.sync(&["--apply"], &[]);
    assert_eq!(again.status.code(), Some(0));
    let creates = setup
        .zendesk
        .writes()
        .await
        .iter()
        .filter(|w| w.contains("create_or_update"))
        .count();
    assert_eq!(creates, 1, "created once");

    // A member who lapses leaves the organisation the sync manages.
    setup.members(&[
        ("100", LAPSED, Some("23087")),
        ("101", CURRENT, Some("23087")),
    ]);
    assert_eq!(setup.sync(&["--apply"], &[]).status.code(), Some(0));
    assert_eq!(setup.zendesk.user(11)["organization_id"], Value::Null);
    assert_eq!(setup.zendesk.user(12)["organization_id"], orgs[0]["id"]);
}

#[tokio::test]
async fn the_brake_holds_back_a_mass_downgrade_until_forced() {
    let setup = a_small_association().await;
    setup.members(&[]);
    let out = setup.sync(&["--apply"], &[("SYNC_MAX_DOWNGRADES", "1")]);
    assert_eq!(out.status.code(), Some(3), "{}", stdout(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("more than SYNC_MAX_DOWNGRADES (1)"),
        "{stderr}"
    );
    assert!(setup.zendesk.writes().await.is_empty(), "nothing written");
    assert_eq!(audit(&out, "sync_braked").len(), 1);

    let forced = setup.sync(&["--apply", "--force"], &[("SYNC_MAX_DOWNGRADES", "1")]);
    assert_eq!(forced.status.code(), Some(0), "{}", stdout(&forced));
    assert_eq!(audit(&forced, "member_downgraded").len(), 2);
}

#[tokio::test]
async fn the_plan_is_json_with_json() {
    let setup = a_small_association().await;
    let out = setup.sync(&["--json"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let plan: Value = serde_json::from_slice(&out.stdout).expect("JSON on standard output");
    assert_eq!(plan["dry_run"], true);
    assert_eq!(
        plan["plan"]["linked"], 2,
        "end users only: the agent is never listed"
    );
    let users = plan["plan"]["users"].as_array().expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["kind"], "downgrade");
    assert_eq!(users[0]["tags"], json!(["vip"]));
}

#[tokio::test]
async fn zendesks_rate_limit_is_waited_out() {
    let setup = a_small_association().await;
    setup.zendesk.state().rate_limit_writes = 1;
    let out = setup.sync(&["--apply"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(setup.zendesk.tags(12), ["vip"]);
}

#[tokio::test]
async fn the_sync_refuses_to_start_without_write_scopes() {
    let setup = a_small_association().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/oauth/tokens/current"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token": {"id": 1, "scopes": ["users:read", "security:read"], "expires_at": null}}),
        ))
        .with_priority(1)
        .mount(&setup.zendesk.server)
        .await;
    let out = setup.sync(&["--apply"], &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("lack the scope users:write"));
    assert!(setup.zendesk.writes().await.is_empty());
}

#[tokio::test]
async fn a_policy_that_marks_nobody_in_zendesk_is_refused() {
    let setup = a_small_association().await;
    std::fs::write(setup.path("policy.toml"), "[access]\ndefault = \"allow\"\n").expect("policy");
    let out = setup.sync(&[], &[]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Map a member tag"));
}

// ---- iMIS: Paid Through from the contact, 404 as "left", an outage as nothing written ----

const SERVICE: &[(&str, &str)] = &[
    ("IMIS_SERVICE_USERNAME", "svc"),
    ("IMIS_SERVICE_PASSWORD", "svc-pw"),
    ("LOG_FORMAT", "json"),
];

async fn imis_person(imis: &MockServer, id: &str, paid_through: Option<&str>) {
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "PartyId": id, "Id": id, "Name": format!("Member {id}"),
            "Status": {"PartyStatusId": "A"},
            "Emails": {"$values": [{"Address": format!("m{id}@example.org"), "EmailType": "_Primary", "IsPrimary": true}]},
            "AdditionalAttributes": {"$values": [{"Name": "CustomerTypeCode", "Value": "M"}]}})))
        .mount(imis)
        .await;
    // iMIS keeps Paid Through on the contact, not on the Party.
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/CsContact/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
            "EntityTypeName": "CsContact",
            "Properties": {"$values": paid_through.map(|p| vec![json!({"Name": "PaidThrough",
                "Value": {"$type": "System.DateTime", "$value": format!("{p}T00:00:00")}})]).unwrap_or_default()}})))
        .mount(imis)
        .await;
}

async fn imis_service_account(imis: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("grant_type", "password"), ("username", "svc")]))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "service-token", "token_type": "bearer", "expires_in": 1199}),
        ))
        .mount(imis)
        .await;
}

fn sync_against_imis(setup: &Setup, args: &[&str]) -> Output {
    sync_against_imis_with(setup, args, &[])
}

/// `sync` against the fake iMIS as its service account, with `extra` settings.
fn sync_against_imis_with(setup: &Setup, args: &[&str], extra: &[(&str, &str)]) -> Output {
    let policy = setup.path("policy.toml");
    let mut vars = SERVICE.to_vec();
    vars.push(("POLICY_FILE", policy.to_str().expect("path")));
    vars.push(("SYNC_ZENDESK_RPM", "2500"));
    vars.extend_from_slice(extra);
    Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"))
        .arg("sync")
        .args(args)
        .env_clear()
        .envs(test_vars(&setup.imis, &setup.zendesk.server, &vars))
        .output()
        .expect("sync runs")
}

#[tokio::test]
async fn with_imis_paid_through_is_read_from_the_contact_and_a_party_gone_is_downgraded() {
    let setup = Setup::new().await;
    imis_service_account(&setup.imis).await;
    imis_person(&setup.imis, "100", Some(CURRENT)).await;
    imis_person(&setup.imis, "200", Some(LAPSED)).await;
    // 300 left iMIS: its Party answers 404.
    setup
        .zendesk
        .given_user(end_user(11, "100", &["imis_m"]), true);
    setup
        .zendesk
        .given_user(end_user(12, "200", &["imis_m"]), true);
    setup
        .zendesk
        .given_user(end_user(15, "300", &["imis_m"]), true);
    let out = sync_against_imis(&setup, &["--apply"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        setup.zendesk.tags(11),
        ["imis_m"],
        "paid through 2999: current"
    );
    assert!(
        setup.zendesk.tags(12).is_empty(),
        "paid through 2001: lapsed"
    );
    assert!(setup.zendesk.tags(15).is_empty(), "no longer in iMIS");
    assert!(setup.zendesk.state().sessions.contains(&11));
    assert!(!setup.zendesk.state().sessions.contains(&12));
}

#[tokio::test]
async fn an_imis_outage_writes_nothing() {
    let setup = Setup::new().await;
    imis_service_account(&setup.imis).await;
    imis_person(&setup.imis, "100", Some(CURRENT)).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/200")))
        .respond_with(ResponseTemplate::new(503))
        .mount(&setup.imis)
        .await;
    setup
        .zendesk
        .given_user(end_user(11, "100", &["imis_m"]), true);
    setup
        .zendesk
        .given_user(end_user(12, "200", &["imis_m"]), true);
    let out = sync_against_imis(&setup, &["--apply"]);
    assert_ne!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("iMIS ID 200") && stderr.contains("Nothing was written"),
        "{stderr}"
    );
    assert!(setup.zendesk.writes().await.is_empty());
    assert_eq!(audit(&out, "sync_failed").len(), 1);
}

// ---- at once on denial ----

#[tokio::test]
async fn a_member_refused_at_sign_in_is_downgraded_and_signed_out_of_zendesk_at_once() {
    let setup = Setup::new().await;
    let policy = setup.path("policy.toml");
    let app = spawn_app_sharing(
        setup.zendesk.server.clone(),
        &[("POLICY_FILE", policy.to_str().expect("path"))],
    )
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/CsContact/{}", member.id)))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Properties": {"$values": [{"Name": "PaidThrough", "Value": format!("{LAPSED}T00:00:00")}]}})))
        .mount(&app.imis)
        .await;
    setup
        .zendesk
        .given_user(end_user(21, &member.id, &["imis_m", "vip"]), true);

    assert_eq!(
        app.sign_in(&member, "").await.status(),
        403,
        "lapsed: refused"
    );
    let mut waited = 0;
    while setup.zendesk.state().sessions.contains(&21) && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(
        !setup.zendesk.state().sessions.contains(&21),
        "their help-centre session ended"
    );
    assert_eq!(setup.zendesk.tags(21), ["vip"]);
    assert_eq!(setup.zendesk.user(21)["suspended"], false);
    let events = audit_events_for(&member.id);
    assert!(
        events.iter().any(|e| e["event"] == "member_downgraded"
            && e["changes"]
                .as_str()
                .is_some_and(|c| c.contains("at once on denial"))),
        "{events:?}"
    );

    // A second refusal minutes later writes nothing more (debounced).
    let writes = setup.zendesk.writes().await.len();
    assert_eq!(app.sign_in(&member, "").await.status(), 403);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(setup.zendesk.writes().await.len(), writes);
}

// ---- inside `serve`: SYNC_INTERVAL_SECS, one replica at a time ----

/// The settings for a bridge that sweeps every `interval` seconds over the members file.
fn serve_vars<'a>(members: &'a str, policy: &'a str, interval: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("MEMBER_DIRECTORY", "file"),
        ("MEMBERS_FILE", members),
        ("POLICY_FILE", policy),
        ("SYNC_INTERVAL_SECS", interval),
        ("SYNC_ZENDESK_RPM", "2500"),
    ]
}

/// Sweeps Zendesk saw: each begins with the first page of end users.
async fn sweeps(zendesk: &FakeZendesk) -> usize {
    zendesk
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/v2/users")
        .filter(|r| {
            r.url
                .query_pairs()
                .any(|(k, v)| k == "role" && v == "end-user")
        })
        .filter(|r| !r.url.query_pairs().any(|(k, _)| k == "page[after]"))
        .count()
}

#[tokio::test]
async fn serve_downgrades_a_lapsed_member_every_interval_and_reports_it_in_the_metrics() {
    let setup = a_small_association().await;
    let (members, policy) = (setup.path("members.toml"), setup.path("policy.toml"));
    let (members, policy) = (
        members.to_str().expect("path"),
        policy.to_str().expect("path"),
    );
    let app = spawn_app_sharing(
        setup.zendesk.server.clone(),
        &serve_vars(members, policy, "1"),
    )
    .await;
    let mut waited = 0;
    while setup.zendesk.state().sessions.contains(&12) && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert_eq!(
        setup.zendesk.tags(12),
        ["vip"],
        "downgraded by the bridge's own sweep"
    );
    assert!(!setup.zendesk.state().sessions.contains(&12));
    // It keeps sweeping, and a sweep with nothing to change writes nothing.
    let writes = setup.zendesk.writes().await.len();
    let mut waited = 0;
    while sweeps(&setup.zendesk).await < 3 && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(sweeps(&setup.zendesk).await >= 3, "one sweep a second");
    assert_eq!(setup.zendesk.writes().await.len(), writes);
    let metrics = app.get("/metrics").await.text().await.expect("metrics");
    let last = metrics
        .lines()
        .find(|l| l.starts_with("zendesk_sso_bridge_sync_last_success_timestamp_seconds "))
        .expect("the sync's last success is a metric");
    assert!(!last.ends_with(" 0"), "{last}");
    assert!(
        metrics.contains("zendesk_sso_bridge_sync_changes_total{kind=\"downgraded\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn two_replicas_with_redis_sweep_once_an_interval_between_them() {
    let redis = crate::redis_server::RedisServer::start().await;
    let setup = a_small_association().await;
    let (members, policy) = (setup.path("members.toml"), setup.path("policy.toml"));
    let (members, policy) = (
        members.to_str().expect("path"),
        policy.to_str().expect("path"),
    );
    let url = redis.url();
    let mut vars = serve_vars(members, policy, "60");
    vars.extend([("REDIS_URL", url.as_str()), ("DEPLOYMENT_REPLICAS", "2")]);
    let first = spawn_app_sharing(setup.zendesk.server.clone(), &vars).await;
    let _second = first.replica(&vars).await;
    tokio::time::sleep(std::time::Duration::from_millis(2000)).await;
    assert_eq!(sweeps(&setup.zendesk).await, 1, "both started; one swept");
    assert_eq!(setup.zendesk.tags(12), ["vip"]);
}

#[test]
fn the_in_process_sync_on_several_replicas_without_redis_is_refused() {
    let error = zendesk_sso_bridge::config::Settings::from_vars(
        [
            ("PUBLIC_URL", "https://sso.example.org"),
            ("SESSION_KEY", "c2Vzc2lvbi1rZXktc2Vzc2lvbi1rZXktc2Vzc2lvbi1rZXktc2Vzc2lvbi1rZXktc2Vzc2lvbi1rZXktc2Vzc2lvbi1rZXk="),
            ("ZENDESK_SUBDOMAIN", "acme"),
            ("ZENDESK_JWT_SECRET", "shared-secret-from-zendesk-admin-center-0123456789"),
            ("ZENDESK_API_OAUTH_TOKEN", "token"),
            ("IMIS_BASE_URL", "https://members.example.org"),
            ("UNLINKED_END_USERS", "deny"),
            ("DEPLOYMENT_REPLICAS", "2"),
            ("SYNC_INTERVAL_SECS", "1800"),
        ]
        .map(|(k, v)| (k.to_owned(), v.to_owned())),
    )
    .expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("SYNC_INTERVAL_SECS") && text.contains("REDIS_URL"),
        "{text}"
    );
    assert!(
        text.contains("IMIS_SERVICE_USERNAME"),
        "the sweep needs the service account: {text}"
    );
}

// ---- a large directory: the listing query (IMIS_MEMBERS_QUERY) ----

#[tokio::test]
async fn with_a_listing_query_members_are_read_a_page_at_a_time_not_one_by_one() {
    let setup = Setup::new().await;
    imis_service_account(&setup.imis).await;
    let row = |id: &str, paid: &str| {
        json!({"$type": "Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts",
            "Properties": {"$values": [
                {"Name": "ID", "Value": id}, {"Name": "FullName", "Value": format!("Member {id}")},
                {"Name": "Email", "Value": format!("m{id}@example.org")}, {"Name": "Status", "Value": "A"},
                {"Name": "MemberType", "Value": "M"},
                {"Name": "PaidThrough", "Value": {"$type": "System.DateTime", "$value": format!("{paid}T00:00:00")}}]}})
    };
    // Two pages of the listing (iMIS's PagedResult), one request each.
    for (offset, rows, has_next) in [
        ("0", vec![row("100", CURRENT), row("101", CURRENT)], true),
        ("2", vec![row("200", LAPSED)], false),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/query")))
            .and(wiremock::matchers::query_param(
                "QueryName",
                "$/ZendeskSSO/Members",
            ))
            .and(wiremock::matchers::query_param("offset", offset))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "$type": "Asi.Soa.Core.DataContracts.PagedResult, Asi.Contracts",
                "Items": {"$values": rows}, "Offset": offset.parse::<u64>().expect("offset"),
                "Limit": 100, "Count": 2, "TotalCount": 3, "HasNext": has_next,
                "NextOffset": if has_next { json!(2) } else { json!(0) }})))
            .mount(&setup.imis)
            .await;
    }
    // 300 is not in the listing: read by id, and iMIS no longer has it.
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/Party/300")))
        .respond_with(ResponseTemplate::new(404))
        .mount(&setup.imis)
        .await;
    setup
        .zendesk
        .given_user(end_user(11, "100", &["imis_m"]), true);
    setup
        .zendesk
        .given_user(end_user(12, "200", &["imis_m"]), true);
    setup
        .zendesk
        .given_user(end_user(15, "300", &["imis_m"]), true);
    let out = sync_against_imis_with(
        &setup,
        &["--apply"],
        &[("IMIS_MEMBERS_QUERY", "$/ZendeskSSO/Members")],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(setup.zendesk.tags(11), ["imis_m"]);
    assert!(
        setup.zendesk.tags(12).is_empty(),
        "lapsed by the listing's PaidThrough"
    );
    assert!(setup.zendesk.tags(15).is_empty(), "gone from iMIS");
    let reads: Vec<String> = setup
        .imis
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .map(|r| r.url.path().trim_start_matches(IMIS_PREFIX).to_owned())
        .collect();
    assert_eq!(
        reads,
        ["/api/query", "/api/query", "/api/Party/300"],
        "two listing pages and one read for the member the listing did not name"
    );
    let show_many = setup
        .zendesk
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.url.path() == "/api/v2/users/show_many")
        .count();
    assert_eq!(
        show_many, 2,
        "Zendesk's users fetched a listing page at a time"
    );
}

#[tokio::test]
async fn a_rule_on_a_fact_the_directory_never_gives_is_refused_at_start_up() {
    let setup = Setup::new().await;
    setup.members(&[("100", CURRENT, None)]);
    std::fs::write(
        setup.path("policy.toml"),
        "[access]\ndefault = \"deny\"\n[[access.rule]]\nname = \"committees\"\neffect = \"allow\"\ngroup_classes = [\"Committee\"]\n",
    )
    .expect("policy");
    let (members, policy) = (setup.path("members.toml"), setup.path("policy.toml"));
    let vars = test_vars(
        &setup.imis,
        &setup.zendesk.server,
        &[
            ("MEMBER_DIRECTORY", "file"),
            ("MEMBERS_FILE", members.to_str().expect("path")),
            ("POLICY_FILE", policy.to_str().expect("path")),
        ],
    );
    let error = zendesk_sso_bridge::config::Settings::from_vars(vars).expect_err("refused");
    let text = error.to_string();
    assert!(
        text.contains("POLICY_FILE")
            && text.contains("\"committees\"")
            && text.contains("group_classes"),
        "{text}"
    );
}

/// The member's Paid Through on their contact, over any answer mounted before.
async fn paid_through_on_contact(imis: &MockServer, id: &str, date: &str, priority: u8) {
    Mock::given(method("GET"))
        .and(path(format!("{IMIS_PREFIX}/api/CsContact/{id}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "Properties": {"$values": [{"Name": "PaidThrough", "Value": format!("{date}T00:00:00")}]}})))
        .with_priority(priority)
        .mount(imis)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_between_re_checks_cannot_give_back_what_the_sync_took_away() {
    let setup = Setup::new().await;
    let policy = setup.path("policy.toml");
    let app = spawn_app_sharing(
        setup.zendesk.server.clone(),
        &[
            ("POLICY_FILE", policy.to_str().expect("path")),
            ("IMIS_SERVICE_USERNAME", "svc"),
            ("IMIS_SERVICE_PASSWORD", "svc-password"),
            ("SYNC_INTERVAL_SECS", "2"),
            ("SYNC_ZENDESK_RPM", "2500"),
        ],
    )
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_service_account(&member).await;
    paid_through_on_contact(&app.imis, &member.id, CURRENT, 5).await;
    setup
        .zendesk
        .given_user(end_user(31, &member.id, &["imis_m"]), false);
    let first = app.sign_in(&member, "").await;
    let status = first.status();
    assert_eq!(
        status,
        200,
        "a current member: {}",
        crate::helpers::page_text(&first.text().await.unwrap_or_default())
    );

    // The membership lapses; the bridge's own sweep downgrades them in Zendesk.
    paid_through_on_contact(&app.imis, &member.id, LAPSED, 1).await;
    let downgraded = || {
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["event"] == "member_downgraded")
    };
    let mut waited = 0;
    while !downgraded() && waited < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(setup.zendesk.tags(31).is_empty(), "downgraded by the sweep");

    // Minutes before SESSION_RECHECK_SECS, their browser comes back: the session reads the
    // member again instead of minting a token that would give the member tag back.
    let again = app.get("/login").await;
    let status = again.status();
    let text = crate::helpers::page_text(&again.text().await.unwrap_or_default());
    assert_eq!(status, 403, "refused: lapsed: {text}");
}

#[tokio::test]
async fn with_create_users_admitted_members_without_a_zendesk_user_get_one_and_nobody_else_is_touched()
 {
    let setup = a_small_association().await;
    // 400 is current and has no Zendesk user; 401's address belongs to the unlinked walk-in user.
    setup.members(&[
        ("100", CURRENT, None),
        ("200", LAPSED, None),
        ("300", LAPSED, None),
        ("400", CURRENT, None),
        ("401", CURRENT, None),
    ]);
    let members = std::fs::read_to_string(setup.path("members.toml")).expect("members");
    std::fs::write(
        setup.path("members.toml"),
        members.replace("m401@example.org", "walkin@example.org"),
    )
    .expect("members");
    let plan = setup.sync(&[], &[("SYNC_CREATE_USERS", "true")]);
    assert!(
        stdout(&plan).contains("create an end user for iMIS 400 (Member 400)"),
        "{}",
        stdout(&plan)
    );
    assert!(
        setup.zendesk.writes().await.is_empty(),
        "a plan writes nothing"
    );

    let out = setup.sync(&["--apply"], &[("SYNC_CREATE_USERS", "true")]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "one creation was refused: {}",
        stdout(&out)
    );
    let created: Vec<Value> = setup
        .zendesk
        .state()
        .users
        .values()
        .filter(|u| u["external_id"] == "400")
        .cloned()
        .collect();
    assert_eq!(created.len(), 1, "{created:?}");
    assert_eq!(created[0]["role"], "end-user");
    assert_eq!(created[0]["email"], "m400@example.org");
    assert_eq!(created[0]["tags"], json!(["imis_m"]));
    let walk_in = setup.zendesk.user(14);
    assert_eq!(
        walk_in["external_id"],
        Value::Null,
        "never linked by the sync"
    );
    assert_eq!(walk_in["tags"], json!(["imis_m"]));
    assert_eq!(audit(&out, "member_created")[0]["member_id"], "400");
    let refused = audit(&out, "sync_change_failed");
    assert!(
        refused.iter().any(|e| e["member_id"] == "401"),
        "{refused:?}"
    );
    // The agent linked to 300 is never given a second user either.
    assert!(
        setup
            .zendesk
            .state()
            .users
            .values()
            .filter(|u| u["external_id"] == "300")
            .count()
            == 1
    );
}
