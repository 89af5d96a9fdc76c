//! `spawn_app()` and what the tests share: a `TestApp` with wiremock iMIS and Zendesk servers, a
//! browser-like client (cookies kept, redirects not followed), fixtures and page helpers.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::{Client, Response};
use scraper::{Html, Selector};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};
use zendesk_sso_bridge::config::{LogFormat, Settings};
use zendesk_sso_bridge::startup::Application;
use zendesk_sso_bridge::telemetry;

pub const JWT_SECRET: &str = "test-shared-secret-0123456789abcdef0123456789";
pub const ZENDESK_API_TOKEN: &str = "zendesk-oauth-token-for-tests";
pub const SESSION_KEY: &str = "9f3c2a7d4e5b6c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f9f3c2a7d4e5b6c8d0e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f";
/// The iMIS site folder: the client must keep the base URL's path.
pub const IMIS_PREFIX: &str = "/imis";

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());
static LOGGING: OnceLock<()> = OnceLock::new();

struct Capture;

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if std::env::var_os("TEST_LOG").is_some() {
            std::io::stdout().write_all(buf)?;
        }
        LOGS.lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every JSON log line written so far in this test process.
pub fn log_lines() -> Vec<Value> {
    let bytes = LOGS.lock().expect("log buffer").clone();
    String::from_utf8_lossy(&bytes)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// The raw captured log text.
pub fn log_text() -> String {
    String::from_utf8_lossy(&LOGS.lock().expect("log buffer")).into_owned()
}

/// Audit events (`target=audit`) about one member.
pub fn audit_events_for(member_id: &str) -> Vec<Value> {
    log_lines()
        .into_iter()
        .filter(|l| l["target"] == "audit" && l["member_id"] == member_id)
        .collect()
}

/// A member as iMIS knows them.
#[derive(Debug, Clone)]
pub struct Member {
    pub id: String,
    pub username: String,
    pub password: String,
    pub full_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub status: &'static str,
    /// `CustomerTypeCode` in AdditionalAttributes.
    pub member_type: &'static str,
    /// Active groups (name, class), served by `GET /api/GroupMember`.
    pub groups: Vec<(&'static str, &'static str)>,
}

impl Member {
    /// An active member with a unique iMIS ID, so log lines can be told apart.
    pub fn active() -> Self {
        let id = (uuid::Uuid::new_v4().as_u128() % 90_000_000 + 10_000_000).to_string();
        Self {
            username: format!("member{id}"),
            password: "p&ss+w%rd =1".into(),
            full_name: "Art Abingdon".into(),
            email: Some(format!("art.{id}@example.org")),
            phone: Some("(310) 388-4000".into()),
            status: "A",
            member_type: "M",
            groups: Vec::new(),
            id,
        }
    }

    pub fn person_json(&self) -> Value {
        let mut emails = vec![];
        if let Some(e) = &self.email {
            emails.push(
                json!({"$type": "Asi.Soa.Membership.DataContracts.EmailData, Asi.Contracts",
                "Address": e, "EmailType": "_Primary", "IsPrimary": true}),
            );
            emails.push(json!({"Address": e, "EmailType": "Address"}));
        }
        let phones: Vec<Value> = self
            .phone
            .iter()
            .map(|p| json!({"Number": p, "PhoneType": "_Work Phone"}))
            .collect();
        json!({
            "$type": "Asi.Soa.Membership.DataContracts.PersonData, Asi.Contracts",
            "PartyId": self.id, "Id": self.id,
            "Name": self.full_name,
            "PersonName": {"FullName": self.full_name},
            "Status": {"PartyStatusId": self.status, "Name": "Whatever"},
            "Emails": {"$type": "Asi.Soa.Membership.DataContracts.EmailDataCollection, Asi.Contracts", "$values": emails},
            "Phones": {"$values": phones},
            "AdditionalAttributes": {"$values": [
                {"Name": "CustomerTypeCode", "Value": self.member_type},
                {"Name": "JoinDate", "Value": "2019-04-02T00:00:00"},
                {"Name": "IsMember", "Value": {"$type": "System.Boolean", "$value": true}}]},
            "PrimaryOrganization": {"OrganizationPartyId": "23087", "Name": "Versaton Global Headquarters"},
        })
    }

    pub fn groups_json(&self) -> Value {
        let rows: Vec<Value> = self
            .groups
            .iter()
            .map(|(name, class)| json!({"Group": {"Name": name, "GroupClass": {"Name": class}}, "IsActive": true}))
            .collect();
        json!({"Items": {"$values": rows}, "Count": rows.len()})
    }
}

/// Matches an `application/x-www-form-urlencoded` body containing these pairs.
pub struct FormContains(pub Vec<(String, String)>);

impl Match for FormContains {
    fn matches(&self, request: &Request) -> bool {
        let form: HashMap<String, String> = url::form_urlencoded::parse(&request.body)
            .into_owned()
            .collect();
        self.0.iter().all(|(k, v)| form.get(k) == Some(v))
    }
}

pub fn form(pairs: &[(&str, &str)]) -> FormContains {
    FormContains(
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

pub struct TestApp {
    pub address: String,
    pub imis: std::sync::Arc<MockServer>,
    pub zendesk: std::sync::Arc<MockServer>,
    pub client: Client,
    /// The client's cookies, as a browser's cookie store.
    pub cookies: std::sync::Arc<reqwest::cookie::Jar>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The bridge with `overrides` added to (or replacing) the test environment.
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_against(MockServer::start().await, overrides).await
}

/// The bridge against `zendesk` (its own answers mounted first; a safe Zendesk's beneath).
pub async fn spawn_app_against(zendesk: MockServer, overrides: &[(&str, &str)]) -> TestApp {
    given_a_safe_zendesk(&zendesk).await;
    spawn_app_sharing(zendesk.into(), overrides).await
}

/// The bridge against a Zendesk whose answers are already mounted (a stateful fake's server).
pub async fn spawn_app_sharing(
    zendesk: std::sync::Arc<MockServer>,
    overrides: &[(&str, &str)],
) -> TestApp {
    let imis = MockServer::start().await;
    let settings = Settings::from_vars(test_vars(&imis, &zendesk, overrides))
        .expect("test settings are valid");
    let app = Application::build(settings)
        .await
        .expect("application builds");
    let address = format!("http://{}", app.address());
    tokio::spawn(app.run_until_stopped());
    TestApp::sharing(address, imis.into(), zendesk)
}

/// Installs log capture (once per process).
pub fn capture_logs() {
    LOGGING.get_or_init(|| telemetry::init_with_writer(LogFormat::Json, || Capture));
}

/// Zendesk as a careful admin set it up: one active JWT configuration that does not rewrite
/// external ids, and no users yet. Tests mount more specific answers over these.
pub async fn given_a_safe_zendesk(zendesk: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "remote_authentications": [sso_config(json!({}))],
            "count": 1, "next_page": null, "previous_page": null
        })))
        .with_priority(10)
        .mount(zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"users": [], "count": 0, "next_page": null})),
        )
        .with_priority(10)
        .mount(zendesk)
        .await;
    // One brand, its users belonging to the account (no brand separation).
    Mock::given(method("GET"))
        .and(path("/api/v2/brands"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"brands": [
            {"id": 360001, "name": "Acme", "subdomain": "acme", "default": true,
             "active": true, "user_separation": "account"}],
            "next_page": null, "previous_page": null, "count": 1})))
        .with_priority(10)
        .mount(zendesk)
        .await;
    // The staff listing (read from Zendesk's database, beside the lagging search): no staff.
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"users": [], "identities": [], "meta": {"has_more": false}, "links": {"next": null}}),
        ))
        .with_priority(10)
        .mount(zendesk)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/oauth/tokens/current"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"token": {"id": 1, "scopes": ["read"], "expires_at": null}})),
        )
        .with_priority(10)
        .mount(zendesk)
        .await;
}

/// iMIS's token endpoint as it answers `check`'s made-up grant type (proving IMIS_BASE_URL).
pub async fn given_imis_token_endpoint(imis: &MockServer) {
    Mock::given(method("POST"))
        .and(path(format!("{IMIS_PREFIX}/token")))
        .and(form(&[("grant_type", "zendesk_sso_bridge_check")]))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(json!({"error": "unsupported_grant_type"})),
        )
        .with_priority(1)
        .mount(imis)
        .await;
}

/// Zendesk's JWT configuration switched to "Update of external IDs?" On (over the safe one).
pub async fn given_update_external_ids_on(zendesk: &MockServer) {
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "remote_authentications": [sso_config(json!({"update_external_ids": true}))],
            "count": 1, "next_page": null, "previous_page": null})))
        .with_priority(1)
        .mount(zendesk)
        .await;
}

/// One JWT configuration as Zendesk's API reference documents it (`auth_mode` 3, no `type`),
/// pointing at the test bridge, with `changes` applied.
pub fn sso_config(changes: Value) -> Value {
    let mut config = json!({"id": 1, "name": "Member SSO", "auth_mode": 3,
        "auth_mode_name": "jwt", "is_active": true, "end_user": true, "agent": false,
        "end_user_primary": true, "agent_primary": false, "update_external_ids": false,
        "remote_login_url": "http://127.0.0.1/login",
        "remote_logout_url": "http://127.0.0.1/logout", "ip_ranges": "",
        "masked_secret": masked(JWT_SECRET), "can_display_button_to_end_users": false,
        "can_display_button_to_team_members": false, "priority": 1});
    if let (Some(config), Some(changes)) = (config.as_object_mut(), changes.as_object()) {
        config.extend(changes.clone());
    }
    config
}

/// A secret as Zendesk's API shows it: the first 6 characters, then one `*` for each other.
pub fn masked(secret: &str) -> String {
    secret
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 6 { c } else { '*' })
        .collect()
}

/// The environment of a test bridge against these upstreams, with `overrides` applied.
pub fn test_vars(
    imis: &MockServer,
    zendesk: &MockServer,
    overrides: &[(&str, &str)],
) -> HashMap<String, String> {
    capture_logs();
    let mut vars: HashMap<String, String> = [
        ("LISTEN_ADDR", "127.0.0.1:0".to_owned()),
        ("PUBLIC_URL", "http://127.0.0.1".to_owned()),
        ("SESSION_KEY", SESSION_KEY.to_owned()),
        ("ZENDESK_SUBDOMAIN", "acme".to_owned()),
        ("ZENDESK_URL", zendesk.uri()),
        ("ZENDESK_JWT_SECRET", JWT_SECRET.to_owned()),
        ("ZENDESK_BRAND_HOSTS", "help.acme.org".to_owned()),
        ("IMIS_BASE_URL", format!("{}{IMIS_PREFIX}", imis.uri())),
        ("IMIS_TIMEOUT_MS", "500".to_owned()),
        ("ZENDESK_API_OAUTH_TOKEN", ZENDESK_API_TOKEN.to_owned()),
        ("ZENDESK_API_TIMEOUT_MS", "500".to_owned()),
        // The tests of the first link to an existing end user set their own choice and mail.
        ("UNLINKED_END_USERS", "link".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    for (k, v) in overrides {
        vars.insert(k.to_string(), v.to_string());
    }
    vars
}

/// One sign-in attempt from the browser `client`: the form at `login_url` (`…/login`, perhaps
/// with Zendesk's query), and with it the CSRF token, then the post, optionally as if forwarded
/// for `forwarded_for`.
pub async fn attempt_sign_in(
    client: &Client,
    login_url: &str,
    username: &str,
    password: &str,
    forwarded_for: Option<&str>,
) -> Response {
    let page = client
        .get(login_url)
        .send()
        .await
        .expect("GET /login")
        .text()
        .await
        .expect("body");
    let form_action = login_url.split('?').next().unwrap_or(login_url);
    let mut request = client.post(form_action);
    if let Some(ip) = forwarded_for {
        request = request.header("X-Forwarded-For", ip);
    }
    post_credentials(request, &page, username, password).await
}

/// Posts the sign-in form of `page` (its CSRF token) with the credentials.
async fn post_credentials(
    request: reqwest::RequestBuilder,
    page: &str,
    username: &str,
    password: &str,
) -> Response {
    let token = input_value(page, "csrf_token").expect("the form has a CSRF token");
    request
        .form(&[
            ("csrf_token", token.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .expect("POST /login")
}

/// Runs the binary's `command` with exactly the environment `vars`.
pub fn run_command(command: &str, vars: HashMap<String, String>) -> std::process::Output {
    std::process::Command::new(BIN)
        .arg(command)
        .env_clear()
        .envs(vars)
        .output()
        .expect("the command runs")
}

/// Like a browser: keeps cookies, does not follow redirects.
pub fn browser() -> Client {
    browser_with_jar().0
}

fn browser_with_jar() -> (Client, std::sync::Arc<reqwest::cookie::Jar>) {
    let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
    let client = Client::builder()
        .cookie_provider(jar.clone())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    (client, jar)
}

impl TestApp {
    /// The bridge at `address` with these upstreams, seen through a fresh browser.
    pub fn at(address: String, imis: MockServer, zendesk: MockServer) -> Self {
        Self::sharing(address, imis.into(), zendesk.into())
    }

    fn sharing(
        address: String,
        imis: std::sync::Arc<MockServer>,
        zendesk: std::sync::Arc<MockServer>,
    ) -> Self {
        let (client, cookies) = browser_with_jar();
        TestApp {
            address,
            imis,
            zendesk,
            client,
            cookies,
        }
    }

    /// A second replica of this bridge: the same upstreams, `overrides` added to the test
    /// environment, its own browser.
    pub async fn replica(&self, overrides: &[(&str, &str)]) -> TestApp {
        let settings = Settings::from_vars(test_vars(&self.imis, &self.zendesk, overrides))
            .expect("test settings are valid");
        let app = Application::build(settings)
            .await
            .expect("application builds");
        let address = format!("http://{}", app.address());
        tokio::spawn(app.run_until_stopped());
        Self::sharing(address, self.imis.clone(), self.zendesk.clone())
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// The browser forgets the cookie `name` (as after it expired).
    pub fn forget_cookie(&self, name: &str) {
        let url = reqwest::Url::parse(&self.address).expect("address");
        self.cookies
            .add_cookie_str(&format!("{name}=; Path=/; Max-Age=0"), &url);
    }

    /// iMIS knows `member`: password grant, user look-up and party record.
    pub async fn given_member(&self, member: &Member) {
        let token = format!("member-token-{}", member.id);
        Mock::given(method("POST"))
            .and(path(format!("{IMIS_PREFIX}/token")))
            .and(form(&[
                ("grant_type", "password"),
                ("username", &member.username),
                ("password", &member.password),
            ]))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token, "token_type": "bearer", "expires_in": 1199,
                "userName": member.username, ".issued": "Mon, 01 Jan 2024 00:00:00 GMT"
            })))
            .mount(&self.imis)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{IMIS_PREFIX}/token")))
            .respond_with(ResponseTemplate::new(400).set_body_json(json!({
                "error": "invalid_grant", "error_description": "The user name or password is incorrect."
            })))
            .with_priority(10)
            .mount(&self.imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/User")))
            .and(query_param("UserName", member.username.as_str()))
            .and(header("Authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "$type": "Asi.Soa.Core.DataContracts.PagedResult`1[[Asi.Soa.Membership.DataContracts.User.UserData, Asi.Contracts]], Asi.Contracts",
                "Items": {"$type": "System.Collections.Generic.List`1[[...]], mscorlib",
                    "$values": [{"UserId": member.id, "UserName": member.username.to_uppercase()}]},
                "Offset": 0, "Limit": 100, "Count": 1, "TotalCount": 1, "HasNext": false
            })))
            .mount(&self.imis)
            .await;
        let found_by_email = match &member.email {
            Some(_) => vec![member.person_json()],
            None => vec![],
        };
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/Party")))
            .and(header("Authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Items": {"$values": found_by_email}, "Count": 1, "TotalCount": 1
            })))
            .mount(&self.imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/GroupMember")))
            .and(query_param("PartyId", member.id.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(member.groups_json()))
            .mount(&self.imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
            .and(header("Authorization", format!("Bearer {token}").as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(member.person_json()))
            .mount(&self.imis)
            .await;
    }

    /// iMIS's service account (`svc` / `svc-password`, as the tests configure it) can read
    /// `member` without their password.
    pub async fn given_service_account(&self, member: &Member) {
        let token = "service-account-token";
        Mock::given(method("POST"))
            .and(path(format!("{IMIS_PREFIX}/token")))
            .and(form(&[
                ("grant_type", "password"),
                ("username", "svc"),
                ("password", "svc-password"),
            ]))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "access_token": token, "token_type": "bearer", "expires_in": 1199})))
            .mount(&self.imis)
            .await;
        let bearer = format!("Bearer {token}");
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/User")))
            .and(query_param("UserName", member.username.as_str()))
            .and(header("Authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Items": {"$values": [{"UserId": member.id, "UserName": member.username}]},
                "Count": 1, "TotalCount": 1, "HasNext": false})))
            .mount(&self.imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/Party/{}", member.id)))
            .and(header("Authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(member.person_json()))
            .mount(&self.imis)
            .await;
        Mock::given(method("GET"))
            .and(path(format!("{IMIS_PREFIX}/api/Party")))
            .and(header("Authorization", bearer.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "Items": {"$values": [member.person_json()]}, "Count": 1})))
            .mount(&self.imis)
            .await;
    }

    /// Zendesk holds `user` (a users API JSON object): found by its external id and e-mail.
    pub async fn given_zendesk_user(&self, user: Value) {
        // Zendesk side-loads identities when asked (`include=identities`).
        let identities: Vec<Value> = user["email"]
            .as_str()
            .map(|email| {
                json!({"id": 1, "user_id": user["id"], "type": "email",
                "value": email, "verified": true, "primary": true})
            })
            .into_iter()
            .collect();
        if let Some(external_id) = user["external_id"].as_str() {
            Mock::given(method("GET"))
                .and(path("/api/v2/users/search"))
                .and(query_param("external_id", external_id))
                .respond_with(
                    ResponseTemplate::new(200)
                        .set_body_json(json!({"users": [user.clone()], "count": 1})),
                )
                .mount(&self.zendesk)
                .await;
        }
        if let Some(email) = user["email"].as_str() {
            Mock::given(method("GET"))
                .and(path("/api/v2/users/search"))
                .and(query_param("query", format!("email:{email}").as_str()))
                .respond_with(ResponseTemplate::new(200).set_body_json(
                    json!({"users": [user.clone()], "identities": identities, "count": 1}),
                ))
                .mount(&self.zendesk)
                .await;
        }
    }

    /// The paths iMIS has received, in order, without the site folder (`/token`, `/api/User`).
    pub async fn imis_paths(&self) -> Vec<String> {
        paths_received(&self.imis, IMIS_PREFIX).await
    }

    /// How many requests iMIS has received at `path` (without the site folder: `/token`).
    pub async fn imis_calls_to(&self, path: &str) -> usize {
        self.imis_paths()
            .await
            .iter()
            .filter(|p| *p == path)
            .count()
    }

    /// The Zendesk API paths received, in order, without the configuration reads (SSO
    /// configurations and brands).
    pub async fn zendesk_paths(&self) -> Vec<String> {
        paths_received(&self.zendesk, "")
            .await
            .into_iter()
            .filter(|p| p != "/api/v2/remote_authentications" && p != "/api/v2/brands")
            .collect()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// Opens the sign-in form as Zendesk would send a member, returning the page.
    pub async fn open_login(&self, query: &str) -> String {
        let response = self.get(&format!("/login{query}")).await;
        assert_eq!(response.status(), 200);
        response.text().await.expect("body")
    }

    /// Posts the sign-in form with the page's CSRF token.
    pub async fn submit_login(&self, page: &str, username: &str, password: &str) -> Response {
        post_credentials(
            self.client.post(self.url("/login")),
            page,
            username,
            password,
        )
        .await
    }

    /// The whole sign-in: form, then credentials.
    pub async fn sign_in(&self, member: &Member, query: &str) -> Response {
        let page = self.open_login(query).await;
        self.submit_login(&page, &member.username, &member.password)
            .await
    }
}

/// The value of the session cookie a response sets, if it sets one.
pub fn sign_in_cookie(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("zsb_session="))
        .and_then(|c| c.split(';').next())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

pub fn select(html: &str, css: &str) -> Vec<scraper::ElementRef<'static>> {
    let doc: &'static Html = Box::leak(Box::new(Html::parse_document(html)));
    let selector = Selector::parse(css).expect("selector");
    doc.select(&selector).collect()
}

/// The value of the input named `name`, if the page has one.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    select(html, &format!("input[name=\"{name}\"]"))
        .first()
        .and_then(|e| e.value().attr("value"))
        .map(str::to_owned)
}

/// Whether the page has an input named `name` (a sign-in form has `password`).
pub fn has_input(html: &str, name: &str) -> bool {
    !select(html, &format!("input[name=\"{name}\"]")).is_empty()
}

/// The delivery form's action, JWT and return_to.
pub struct Delivery {
    pub action: String,
    pub jwt: String,
    pub return_to: Option<String>,
}

pub fn delivery(html: &str) -> Delivery {
    let forms = select(html, "form#deliver");
    let form = forms.first().expect("a delivery form");
    assert_eq!(
        form.value().attr("method"),
        Some("post"),
        "delivered by POST"
    );
    Delivery {
        action: form.value().attr("action").expect("action").to_owned(),
        jwt: input_value(html, "jwt").expect("a jwt field"),
        return_to: input_value(html, "return_to"),
    }
}

/// The claims of a token signed with the test secret, checked as Zendesk checks them (HS256).
pub fn decode_claims(jwt: &str) -> serde_json::Map<String, Value> {
    let header = jsonwebtoken::decode_header(jwt).expect("JWT header");
    assert_eq!(header.alg, Algorithm::HS256);
    let mut validation = Validation::new(Algorithm::HS256);
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    jsonwebtoken::decode(
        jwt,
        &DecodingKey::from_secret(JWT_SECRET.as_bytes()),
        &validation,
    )
    .expect("signed with the shared secret")
    .claims
}

/// The visible text of a page, whitespace collapsed.
pub fn page_text(html: &str) -> String {
    let doc = Html::parse_document(html);
    doc.root_element()
        .text()
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The release-shaped binary under test, run as its own process.
pub const BIN: &str = env!("CARGO_BIN_EXE_zendesk-sso-bridge");

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A bridge process, killed when dropped.
pub struct Running(pub std::process::Child);

impl Running {
    /// Resident memory now and at its peak, in MiB (Linux `/proc`).
    pub fn memory_mib(&self) -> (f64, f64) {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
                .map_or(0.0, |kb| kb / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn wait_until_healthy(base: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await
            && r.status() == 200
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{base} never became healthy");
}

async fn paths_received(server: &MockServer, prefix: &str) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| r.url.path().trim_start_matches(prefix).to_owned())
        .collect()
}
