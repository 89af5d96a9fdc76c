//! The first sign-in whose e-mail belongs to an existing, unlinked Zendesk end user would hand
//! that user (and their tickets) to the member: `UNLINKED_END_USERS` decides — a code e-mailed
//! to the address first (`verify`, the default), a refusal (`deny`), or at once (`link`).

use serde_json::{Value, json};

use crate::helpers::{
    Member, TestApp, audit_events_for, decode_claims, delivery, has_input, input_value, log_text,
    page_text, spawn_app_with,
};
use crate::smtp_sink::SmtpSink;

fn unlinked_end_user(id: u64, email: &str) -> Value {
    json!({"id": id, "name": "Somebody", "email": email, "external_id": null,
        "role": "end-user", "active": true, "suspended": false})
}

async fn verifying_app(sink: &SmtpSink) -> TestApp {
    spawn_app_with(&[
        ("UNLINKED_END_USERS", ""),
        ("SMTP_URL", sink.url().as_str()),
        ("MAIL_FROM", "Help Centre <help@example.org>"),
    ])
    .await
}

async fn enter_code(app: &TestApp, page: &str, code: &str) -> reqwest::Response {
    let token = input_value(page, "csrf_token").expect("the code form has a CSRF token");
    app.client
        .post(app.url("/login/verify"))
        .form(&[("csrf_token", token.as_str()), ("code", code)])
        .send()
        .await
        .expect("POST /login/verify")
}

#[tokio::test]
async fn a_first_link_waits_for_the_code_sent_to_the_address() {
    let sink = SmtpSink::start().await;
    let app = verifying_app(&sink).await;
    let member = Member::active();
    let email = member.email.clone().expect("email");
    app.given_member(&member).await;
    app.given_zendesk_user(unlinked_end_user(71, &email)).await;

    let response = app.sign_in(&member, "?return_to=%2Fhc%2Frequests").await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"), "no token before the code");
    assert!(has_input(&page, "code"), "a code form");
    let text = page_text(&page);
    assert!(text.contains("Confirm your e-mail address"), "{text}");
    assert!(!text.contains(&email), "the address is masked on the page");

    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "one mail");
    assert_eq!(mail[0].rcpt_to, std::slice::from_ref(&email));
    assert!(
        mail[0].text().contains("help@example.org"),
        "from MAIL_FROM"
    );
    let code = mail[0].code().expect("a six-digit code in the mail");
    assert!(
        !log_text().contains(&format!("{code}.")) && !log_text().contains(&format!(" {code} ")),
        "the code is never logged"
    );
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["outcome"] == "pending" && e["reason"] == "email_verification_required")
    );

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let again = enter_code(&app, &page, wrong).await;
    assert_eq!(again.status(), 400);
    let again = again.text().await.expect("body");
    assert!(page_text(&again).contains("That code is not right"));
    assert!(!has_input(&again, "jwt"));

    let done = enter_code(&app, &again, &code).await;
    assert_eq!(done.status(), 200);
    let page = done.text().await.expect("body");
    let d = delivery(&page);
    assert_eq!(decode_claims(&d.jwt)["external_id"], member.id.as_str());
    assert_eq!(d.return_to.as_deref(), Some("/hc/requests"));
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["event"] == "email_verified")
    );
    let reused = enter_code(&app, &again, &code).await;
    assert!(
        !has_input(&reused.text().await.expect("body"), "jwt"),
        "a code works once"
    );
}

#[tokio::test]
async fn a_stranger_who_copied_the_address_cannot_guess_the_code() {
    let sink = SmtpSink::start().await;
    let app = verifying_app(&sink).await;
    let attacker = Member::active();
    let victim_email = attacker.email.clone().expect("email");
    app.given_member(&attacker).await;
    app.given_zendesk_user(unlinked_end_user(72, &victim_email))
        .await;

    let mut page = app.sign_in(&attacker, "").await.text().await.expect("body");
    let code = sink.messages()[0].code().expect("code");
    let mut last = 0;
    for guess in (0..20).map(|n| format!("{:06}", (n * 7919) % 1_000_000)) {
        if guess == code {
            continue;
        }
        let response = enter_code(&app, &page, &guess).await;
        last = response.status().as_u16();
        page = response.text().await.expect("body");
        assert!(!has_input(&page, "jwt"), "no token from a guess");
        if !has_input(&page, "code") {
            break;
        }
    }
    assert_eq!(last, 403, "the code runs out after a few tries");
    assert!(
        page_text(&page).contains("no longer works"),
        "{}",
        page_text(&page)
    );
}

#[tokio::test]
async fn deny_refuses_with_a_page_that_says_how_to_join_the_accounts() {
    let app = spawn_app_with(&[("UNLINKED_END_USERS", "deny")]).await;
    let member = Member::active();
    app.given_member(&member).await;
    app.given_zendesk_user(unlinked_end_user(
        73,
        member.email.as_deref().expect("email"),
    ))
    .await;
    let response = app.sign_in(&member, "").await;
    assert_eq!(response.status(), 403);
    let page = response.text().await.expect("body");
    assert!(!has_input(&page, "jwt"));
    assert!(
        page_text(&page).contains("not joined to your membership"),
        "{}",
        page_text(&page)
    );
    assert!(
        audit_events_for(&member.id)
            .iter()
            .any(|e| e["outcome"] == "denied" && e["reason"] == "unlinked_end_user")
    );
}

#[tokio::test]
async fn a_member_already_linked_is_never_asked_for_a_code() {
    let sink = SmtpSink::start().await;
    let app = verifying_app(&sink).await;
    let member = Member::active();
    app.given_member(&member).await;
    let email = member.email.clone().expect("email");
    app.given_zendesk_user(json!({"id": 74, "name": "Art", "email": email,
        "external_id": member.id, "role": "end-user", "suspended": false}))
        .await;
    let page = app.sign_in(&member, "").await.text().await.expect("body");
    assert!(has_input(&page, "jwt"));
    assert!(sink.messages().is_empty(), "no mail");
}
