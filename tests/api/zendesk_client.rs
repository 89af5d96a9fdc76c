//! The Zendesk API client against a wiremock Zendesk: each way to authenticate, the exact
//! look-ups, rate limits and failures.

use std::time::{Duration, Instant};

use secrecy::SecretString;
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};
use zendesk_sso_bridge::config::{ZendeskApiAuth, ZendeskApiSettings};
use zendesk_sso_bridge::metrics::Metrics;
use zendesk_sso_bridge::upstream::BreakerSettings;
use zendesk_sso_bridge::zendesk::api::{ApiError, ZendeskApi, ZendeskRole};
use zendesk_sso_bridge::zendesk::sso_config::AuthMode;

fn api_with(server: &MockServer, auth: ZendeskApiAuth, metrics: Metrics) -> ZendeskApi {
    let settings = ZendeskApiSettings {
        auth,
        timeout: Duration::from_millis(500),
        cache_ttl: Duration::from_secs(60),
    };
    ZendeskApi::new(
        &server.uri().parse().expect("url"),
        &settings,
        metrics,
        BreakerSettings::default(),
    )
    .expect("client")
}

fn bearer(server: &MockServer) -> ZendeskApi {
    api_with(
        server,
        ZendeskApiAuth::OAuthToken(SecretString::from("oauth-1")),
        Metrics::new(),
    )
}

async fn users(server: &MockServer, users: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": users, "count": 1})))
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_oauth_token_is_sent_as_bearer() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("external_id", "20277"))
        .and(header("Authorization", "Bearer oauth-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 1, "email": "a@example.org", "external_id": "20277", "role": "end-user"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let found = bearer(&server)
        .users_by_external_id("20277")
        .await
        .expect("users");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].role, ZendeskRole::EndUser);
}

#[tokio::test]
async fn an_api_token_is_sent_as_basic_email_slash_token() {
    let server = MockServer::start().await;
    // base64("admin@example.org/token:tok-123")
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .and(header(
            "Authorization",
            "Basic YWRtaW5AZXhhbXBsZS5vcmcvdG9rZW46dG9rLTEyMw==",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"remote_authentications": []})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let api = api_with(
        &server,
        ZendeskApiAuth::ApiToken {
            email: "admin@example.org".into(),
            token: SecretString::from("tok-123"),
        },
        Metrics::new(),
    );
    assert!(api.sso_configs().await.expect("configs").configs.is_empty());
}

#[tokio::test]
async fn client_credentials_tokens_are_fetched_once_and_renewed_on_401() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .and(body_json(
            // The narrowest scopes, and a token that expires even for an OAuth client created
            // before Zendesk enforced expiry (30 Apr 2026).
            json!({"grant_type": "client_credentials", "client_id": "bridge",
            "client_secret": "cs-1", "scope": "users:read security:read", "expires_in": 1800}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"access_token": "cc-1", "token_type": "bearer", "expires_in": 3600}),
        ))
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/oauth/tokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"access_token": "cc-2"})))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer cc-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": []})))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer cc-1"))
        .respond_with(ResponseTemplate::new(401))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("Authorization", "Bearer cc-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": []})))
        .expect(1)
        .mount(&server)
        .await;
    let api = api_with(
        &server,
        ZendeskApiAuth::ClientCredentials {
            client_id: "bridge".into(),
            client_secret: SecretString::from("cs-1"),
        },
        Metrics::new(),
    );
    // Two calls on the cached token, then a 401 makes it fetch a new one once.
    for _ in 0..3 {
        api.users_by_external_id("1").await.expect("users");
    }
}

#[tokio::test]
async fn the_email_search_uses_search_syntax_and_keeps_only_exact_matches() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("query", "email:jo+help@example.org"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 1, "email": "JO+help@example.org", "role": "end-user"},
            {"id": 2, "email": "jo@example.org", "role": "end-user"},
            {"id": 3, "email": "jo+help@example.org.evil", "role": "agent"}], "count": 3})))
        .mount(&server)
        .await;
    // This Zendesk does not side-load identities in the search: they are read for the hits.
    Mock::given(method("GET"))
        .and(path("/api/v2/users/show_many"))
        .and(query_param("ids", "1,2,3"))
        .and(query_param("include", "identities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 1, "email": "JO+help@example.org", "role": "end-user"},
            {"id": 2, "email": "jo@example.org", "role": "end-user"},
            {"id": 3, "email": "jo+help@example.org.evil", "role": "agent"}],
            "identities": [{"user_id": 1, "type": "email", "value": "JO+help@example.org"}]})))
        .expect(1)
        .mount(&server)
        .await;
    let found = bearer(&server)
        .users_by_email("jo+help@example.org")
        .await
        .expect("users");
    assert_eq!(found.iter().map(|u| u.id).collect::<Vec<_>>(), [1]);
}

#[tokio::test]
async fn every_page_of_the_email_search_is_read_with_every_identity() {
    let server = MockServer::start().await;
    let page2 = format!(
        "{}/api/v2/users/search?query=email%3Ajo%40example.org&include=identities&page=2",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"id": 9, "email": "primary@example.org", "role": "admin"}],
            "identities": [
                {"user_id": 9, "type": "email", "value": "primary@example.org", "primary": true},
                {"user_id": 9, "type": "email", "value": "JO@example.org", "primary": false}],
            "next_page": null, "count": 2})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .and(query_param("include", "identities"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [{"id": 4, "email": "jo.other@example.org", "role": "end-user"}],
            "identities": [], "next_page": page2, "count": 2})))
        .mount(&server)
        .await;
    let found = bearer(&server)
        .users_by_email("jo@example.org")
        .await
        .expect("users");
    assert_eq!(
        found.iter().map(|u| u.id).collect::<Vec<_>>(),
        [9],
        "the admin holding the address as a second identity, found on page 2"
    );
}

#[tokio::test]
async fn an_email_search_without_end_fails_closed() {
    let server = MockServer::start().await;
    let again = format!(
        "{}/api/v2/users/search?query=email%3Ajo%40example.org&page=n",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "users": [], "identities": [], "next_page": again, "count": 5000})))
        .mount(&server)
        .await;
    assert!(matches!(
        bearer(&server).users_by_email("jo@example.org").await,
        Err(ApiError::Unavailable(_))
    ));
}

#[tokio::test]
async fn a_429_is_waited_out_once_and_shows_in_the_metrics() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .insert_header("X-Rate-Limit-Remaining", "0"),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("X-Rate-Limit-Remaining", "42")
                .set_body_json(json!({"users": []})),
        )
        .mount(&server)
        .await;
    let metrics = Metrics::new();
    let api = api_with(
        &server,
        ZendeskApiAuth::OAuthToken(SecretString::from("t")),
        metrics.clone(),
    );
    let started = Instant::now();
    api.users_by_external_id("1")
        .await
        .expect("users after the wait");
    assert!(started.elapsed() >= Duration::from_millis(900));
    let text = metrics.render();
    assert!(
        text.contains("zendesk_sso_bridge_zendesk_api_rate_limit_remaining 42"),
        "{text}"
    );
    assert!(
        text.contains("zendesk_sso_bridge_zendesk_api_rate_limited_total 1"),
        "{text}"
    );
}

#[tokio::test]
async fn a_persistent_429_is_reported_with_its_retry_after() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "1"))
        .expect(2)
        .mount(&server)
        .await;
    let result = bearer(&server).users_by_external_id("1").await;
    assert!(
        matches!(result, Err(ApiError::RateLimited(d)) if d == Duration::from_secs(1)),
        "{result:?}"
    );
}

#[tokio::test]
async fn server_errors_on_reads_are_retried_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(502).set_body_raw("<html>Bad gateway</html>", "text/html"),
        )
        .expect(2)
        .mount(&server)
        .await;
    assert!(matches!(
        bearer(&server).users_by_email("a@example.org").await,
        Err(ApiError::Unavailable(_))
    ));
}

#[tokio::test]
async fn garbage_and_timeouts_are_unavailable_and_bad_credentials_are_unauthorized() {
    let server = MockServer::start().await;
    users(&server, json!("not a list")).await;
    assert!(matches!(
        bearer(&server).users_by_email("a@example.org").await,
        Err(ApiError::Unavailable(_))
    ));

    let slow = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(2)))
        .mount(&slow)
        .await;
    assert!(matches!(
        bearer(&slow).users_by_email("a@example.org").await,
        Err(ApiError::Unavailable(_))
    ));

    let refusing = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_json(json!({"error": "Couldn't authenticate you"})),
        )
        .mount(&refusing)
        .await;
    assert!(matches!(
        bearer(&refusing).sso_configs().await,
        Err(ApiError::Unauthorized(..))
    ));
}

#[tokio::test]
async fn remote_authentications_are_read_in_every_shape() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/remote_authentications"))
        .respond_with(ResponseTemplate::new(200)
            .insert_header("Date", "Sun, 06 Nov 1994 08:49:37 GMT")
            .set_body_json(json!({"remote_authentications": [
            {"auth_mode": 3, "auth_mode_name": "jwt", "is_active": true, "update_external_ids": true},
            {"type": "jwt", "is_active": true, "update_external_ids": "true", "remote_login_url": "https://sso.example.org/login"},
            {"auth_mode": "saml", "is_active": false},
            {"auth_mode_name": "oidc", "auth_url": "https://idp.example.org", "auth_flow": "PKCE"},
            {"update_external_ids": false, "new_field": [1]}]})))
        .mount(&server)
        .await;
    let reading = bearer(&server).sso_configs().await.expect("configs");
    let configs = &reading.configs;
    assert_eq!(configs.len(), 5);
    assert!(configs[0].is_active_jwt() && configs[0].update_external_ids == Some(true));
    assert!(configs[1].is_active_jwt() && configs[1].update_external_ids == Some(true));
    assert_eq!(configs[2].mode, AuthMode::Saml);
    assert_eq!(configs[3].mode, AuthMode::Oidc);
    assert!(
        configs[3].active,
        "a configuration that does not say is active"
    );
    assert!(
        configs[4].is_active_jwt(),
        "an unlabelled active configuration counts as JWT"
    );
    assert!(
        reading.clock_offset_secs.is_some_and(|s| s < -86_400),
        "the Date header is read: {:?}",
        reading.clock_offset_secs
    );
}

#[tokio::test]
async fn staff_are_listed_across_pages_and_end_users_are_left_out() {
    let server = MockServer::start().await;
    let next = format!("{}/api/v2/users?page=2", server.uri());
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 3, "email": "c@example.org", "role": "admin"}], "next_page": null})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .and(query_param("role[]", "agent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [
            {"id": 1, "email": "a@example.org", "role": "agent"},
            {"id": 2, "email": "b@example.org", "role": "end-user"}], "next_page": next})))
        .mount(&server)
        .await;
    let staff = bearer(&server).staff().await.expect("staff");
    assert_eq!(staff.iter().map(|u| u.id).collect::<Vec<_>>(), [1, 3]);
}

#[tokio::test]
async fn setting_an_external_id_sends_only_that_field() {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .and(path("/api/v2/users/55"))
        .and(body_json(json!({"user": {"external_id": "20277"}})))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"user": {"id": 55, "external_id": "20277", "role": "agent"}}),
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    let user = bearer(&server)
        .set_external_id(55, "20277")
        .await
        .expect("updated");
    assert_eq!(user.external_id.as_deref(), Some("20277"));
}

#[tokio::test]
async fn a_next_page_on_another_origin_makes_the_answer_unavailable_not_complete() {
    // The rest of the list lies where the bridge will not go: what it saw is not everything.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [],
            "count": 150, "next_page": "https://elsewhere.example/api/v2/users/search?page=2"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/users"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"users": [],
            "meta": {"has_more": true, "after_cursor": "x"},
            "links": {"next": "https://elsewhere.example/api/v2/users?page[after]=x"}})))
        .mount(&server)
        .await;
    let api = bearer(&server);
    assert!(matches!(
        api.users_by_email("a@example.org").await,
        Err(ApiError::Unavailable(_))
    ));
    assert!(matches!(api.staff().await, Err(ApiError::Unavailable(_))));
}
