//! A member signs in with iMIS credentials and the browser carries a JWT to Zendesk.

use std::time::{SystemTime, UNIX_EPOCH};

use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use crate::helpers::{
    Member, audit_events_for, decode_claims, delivery, input_value, page_text, spawn_app,
};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
}

#[tokio::test]
async fn a_member_signs_in_and_zendesk_receives_a_valid_jwt() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;

    let response = app
        .sign_in(
            &member,
            "?return_to=%2Fhc%2Fen-us%2Frequests&brand_id=360001&locale_id=1&timestamp=1",
        )
        .await;

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().expect("csp");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(
        csp.contains(&format!("form-action {}", "http://127.0.0.1")),
        "{csp}"
    );
    assert!(
        csp.contains(&app.zendesk.uri()),
        "the form may post to Zendesk: {csp}"
    );
    assert!(!csp.contains("unsafe-inline"), "{csp}");

    let page = response.text().await.expect("body");
    let d = delivery(&page);
    assert_eq!(d.action, format!("{}/access/jwt", app.zendesk.uri()));
    assert_eq!(d.return_to.as_deref(), Some("/hc/en-us/requests"));

    let claims = decode_claims(&d.jwt);
    let mut names: Vec<_> = claims.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        ["email", "external_id", "iat", "jti", "name", "phone"]
    );
    assert_eq!(claims["external_id"], member.id.as_str());
    assert_eq!(claims["email"], member.email.as_deref().expect("email"));
    assert_eq!(claims["name"], "Art Abingdon");
    assert_eq!(claims["phone"], "+13103884000");
    let iat = claims["iat"].as_i64().expect("iat is an integer");
    assert!((now() - iat).abs() <= 5, "iat {iat} is now");
    assert!(uuid::Uuid::parse_str(claims["jti"].as_str().expect("jti")).is_ok());
}

#[tokio::test]
async fn the_delivery_form_reaches_zendesk_as_a_form_post() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    Mock::given(method("POST"))
        .and(path("/access/jwt"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&app.zendesk)
        .await;

    let page = app
        .sign_in(&member, "?return_to=https%3A%2F%2Fhelp.acme.org%2Fhc")
        .await
        .text()
        .await
        .expect("body");
    let d = delivery(&page);
    // What the browser does with the page: post every field of the form to its action.
    let mut fields = vec![("jwt", d.jwt.clone())];
    fields.extend(d.return_to.clone().map(|r| ("return_to", r)));
    app.client
        .post(&d.action)
        .form(&fields)
        .send()
        .await
        .expect("post to Zendesk");

    let received: Vec<_> = app
        .zendesk
        .received_requests()
        .await
        .expect("recorded")
        .into_iter()
        .filter(|r| r.url.path() == "/access/jwt")
        .collect();
    let body: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&received[0].body)
            .into_owned()
            .collect();
    assert_eq!(received[0].method.as_str(), "POST");
    assert_eq!(
        body.get("return_to").map(String::as_str),
        Some("https://help.acme.org/hc")
    );
    assert_eq!(
        decode_claims(&body["jwt"])["external_id"],
        member.id.as_str()
    );
}

#[tokio::test]
async fn a_member_without_a_phone_gets_no_phone_claim() {
    let app = spawn_app().await;
    let mut member = Member::active();
    member.phone = None;
    app.given_member(&member).await;

    let page = app.sign_in(&member, "").await.text().await.expect("body");
    let d = delivery(&page);
    let claims = decode_claims(&d.jwt);
    assert!(!claims.contains_key("phone"));
    assert!(!claims.contains_key("role"));
    assert_eq!(
        d.return_to, None,
        "no return_to was given, none is invented"
    );
}

#[tokio::test]
async fn a_name_with_bidirectional_overrides_reaches_zendesk_as_it_reads() {
    let app = spawn_app().await;
    let mut member = Member::active();
    // Shown right to left, "\u{202E}nimdA" reads "Admin" in Zendesk's lists.
    member.full_name = "Art \u{202E}nimdA\u{202C} \u{2066}Abingdon\u{2069}".into();
    app.given_member(&member).await;
    let page = app.sign_in(&member, "").await.text().await.expect("body");
    let claims = decode_claims(&delivery(&page).jwt);
    assert_eq!(claims["name"], "Art nimdA Abingdon");
}

#[tokio::test]
async fn an_unusable_phone_is_left_out_rather_than_sent() {
    let app = spawn_app().await;
    let mut member = Member::active();
    member.phone = Some("call the office".into());
    app.given_member(&member).await;

    let page = app.sign_in(&member, "").await.text().await.expect("body");
    assert!(!decode_claims(&delivery(&page).jwt).contains_key("phone"));
}

#[tokio::test]
async fn every_sign_in_gets_its_own_jti() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;

    let mut seen = std::collections::HashSet::new();
    for _ in 0..3 {
        let page = app.sign_in(&member, "").await.text().await.expect("body");
        let claims = decode_claims(&delivery(&page).jwt);
        assert!(seen.insert(claims["jti"].as_str().expect("jti").to_owned()));
        // Each visit to the form starts a fresh attempt.
        app.client
            .get(app.url("/logout"))
            .send()
            .await
            .expect("logout");
    }
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_a_generic_message() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;

    let page = app.open_login("").await;
    let response = app.submit_login(&page, &member.username, "wrong").await;
    assert_eq!(response.status(), 401);
    assert!(
        response
            .headers()
            .get("set-cookie")
            .is_none_or(|c| !c.to_str().unwrap_or_default().starts_with("zsb_session="))
    );
    let wrong = response.text().await.expect("body");
    assert!(page_text(&wrong).contains("did not match our records"));
    assert_eq!(
        input_value(&wrong, "username").as_deref(),
        Some(member.username.as_str())
    );
    assert!(input_value(&wrong, "jwt").is_none());

    // An unknown user gets exactly the same answer.
    let unknown = app.submit_login(&wrong, "nobody-at-all", "wrong").await;
    assert_eq!(unknown.status(), 401);
    let unknown = unknown.text().await.expect("body");
    assert_eq!(
        page_text(&unknown).replace("nobody-at-all", ""),
        page_text(&wrong).replace(&member.username, "")
    );

    // The same form still works with the right password.
    let ok = app
        .submit_login(&unknown, &member.username, &member.password)
        .await;
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn an_empty_form_asks_for_both_fields_without_calling_imis() {
    let app = spawn_app().await;
    let page = app.open_login("").await;
    let response = app.submit_login(&page, "  ", "").await;
    assert_eq!(response.status(), 400);
    assert!(
        page_text(&response.text().await.expect("body"))
            .contains("Enter your user name and your password")
    );
    assert!(
        app.imis
            .received_requests()
            .await
            .expect("recorded")
            .is_empty()
    );
}

#[tokio::test]
async fn an_inactive_member_is_refused_with_a_clear_page_and_an_audit_event() {
    let app = spawn_app().await;
    let mut member = Member::active();
    member.status = "I";
    app.given_member(&member).await;

    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(page_text(&page).contains("membership is not active"));
    assert!(input_value(&page, "jwt").is_none(), "no token on a refusal");

    let events = audit_events_for(&member.id);
    assert!(
        events
            .iter()
            .any(|e| e["outcome"] == "denied" && e["reason"] == "inactive"),
        "{events:?}"
    );
}

#[tokio::test]
async fn a_member_without_a_primary_email_is_refused() {
    let app = spawn_app().await;
    let mut member = Member::active();
    member.email = None;
    app.given_member(&member).await;

    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(page_text(&page).contains("no primary e-mail address"));
    assert!(input_value(&page, "jwt").is_none());
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["reason"] == "no_primary_email")
    );
}

#[tokio::test]
async fn a_successful_sign_in_is_audited_with_member_and_request_ids() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    assert_eq!(app.sign_in(&member, "").await.status(), 200);

    let events = audit_events_for(&member.id);
    let success = events
        .iter()
        .find(|e| e["event"] == "sign_in" && e["outcome"] == "success")
        .unwrap_or_else(|| panic!("no success event in {events:?}"));
    assert_eq!(success["reason"], "password");
    assert!(uuid::Uuid::parse_str(success["request_id"].as_str().expect("request id")).is_ok());
}
