//! What the member reads: every page in the language Zendesk (or else the browser) asks for,
//! with the organisation's name, logo, colour and links, and the form's accessibility hooks.

use crate::helpers::{Member, TestApp, page_text, select, spawn_app, spawn_app_with};

async fn get_with_language(app: &TestApp, path: &str, accept_language: &str) -> String {
    app.client
        .get(app.url(path))
        .header("Accept-Language", accept_language)
        .send()
        .await
        .expect("GET")
        .text()
        .await
        .expect("body")
}

fn html_lang(html: &str) -> String {
    select(html, "html")
        .first()
        .and_then(|e| e.value().attr("lang"))
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn zendesk_locale_id_picks_the_language_of_the_form() {
    let app = spawn_app().await;
    for (locale_id, lang, words) in [
        ("16", "fr", "Nom d'utilisateur"),
        ("2", "es", "Nombre de usuario"),
        ("8", "de", "Benutzername"),
        ("1", "en", "User name"),
        ("fr-CA", "fr", "Mot de passe"),
    ] {
        let page = app
            .open_login(&format!("?locale_id={locale_id}&return_to=%2Fhc"))
            .await;
        assert_eq!(html_lang(&page), lang, "locale_id={locale_id}");
        assert!(page_text(&page).contains(words), "locale_id={locale_id}");
    }
}

#[tokio::test]
async fn without_a_zendesk_locale_the_browser_languages_decide() {
    let app = spawn_app().await;
    let page = get_with_language(&app, "/login", "it-IT, de;q=0.9, en;q=0.5").await;
    assert_eq!(html_lang(&page), "de");
    assert!(page_text(&page).contains("Anmelden"));

    let page = get_with_language(&app, "/no-such-page", "es-MX,es;q=0.9").await;
    assert!(page_text(&page).contains("Página no encontrada"));

    let page = get_with_language(&app, "/login?locale_id=1", "fr").await;
    assert_eq!(
        html_lang(&page),
        "en",
        "Zendesk's locale wins over the browser"
    );
}

#[tokio::test]
async fn a_wrong_password_is_explained_in_the_members_language_and_keeps_the_user_name() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("?locale_id=16&return_to=%2Fhc").await;
    let response = app.submit_login(&page, &member.username, "wrong").await;
    assert_eq!(response.status(), 401);
    let body = response.text().await.expect("body");
    assert_eq!(html_lang(&body), "fr");
    let alert = select(&body, "[role=alert]");
    assert_eq!(alert.len(), 1);
    assert!(
        alert[0]
            .text()
            .collect::<String>()
            .contains("ne correspondent pas")
    );
    let username = select(&body, "input#username");
    assert_eq!(
        username[0].value().attr("value"),
        Some(member.username.as_str())
    );
    assert_eq!(
        username[0].value().attr("aria-describedby"),
        Some("login-error")
    );
    let password = select(&body, "input#password");
    assert!(
        password[0].value().attr("autofocus").is_some(),
        "focus goes where the member must type next"
    );
}

#[tokio::test]
async fn the_form_has_labels_and_autocomplete_hints() {
    let app = spawn_app().await;
    let page = app.open_login("?return_to=%2Fhc").await;
    for (id, autocomplete) in [("username", "username"), ("password", "current-password")] {
        let input = select(&page, &format!("input#{id}"));
        assert_eq!(input[0].value().attr("autocomplete"), Some(autocomplete));
        assert_eq!(select(&page, &format!("label[for={id}]")).len(), 1, "{id}");
    }
    assert!(
        select(&page, "input#username")[0]
            .value()
            .attr("autofocus")
            .is_some()
    );
    assert!(
        select(&page, ".forgot").is_empty(),
        "no forgot-password link unless configured"
    );
}

#[tokio::test]
async fn start_signing_in_again_keeps_where_the_member_was_going() {
    let app = spawn_app().await;
    let member = Member::active();
    app.given_member(&member).await;
    app.open_login("?locale_id=8&return_to=%2Fhc%2Fde%2Frequests")
        .await;
    // The member followed "Anmeldung neu beginnen" (a bare /login) from an error page.
    let page = app.open_login("").await;
    assert_eq!(html_lang(&page), "de");
    let response = app
        .submit_login(&page, &member.username, &member.password)
        .await;
    let body = response.text().await.expect("body");
    let delivery = crate::helpers::delivery(&body);
    assert_eq!(delivery.return_to.as_deref(), Some("/hc/de/requests"));
    assert!(page_text(&body).contains("Weiter zum Hilfe-Center"));
}

#[tokio::test]
async fn the_organisations_branding_is_on_every_page() {
    let app = spawn_app_with(&[
        ("BRAND_NAME", "Royal Society of Examples"),
        ("BRAND_LOGO_URL", "https://cdn.example.org/rse/logo.svg"),
        ("BRAND_PRIMARY_COLOUR", "#0b3d91"),
        ("BRAND_HELP_URL", "mailto:help@rse.example.org"),
        (
            "BRAND_FORGOT_PASSWORD_URL",
            "https://members.rse.example.org/reset",
        ),
    ])
    .await;
    let response = app.get("/login?return_to=%2Fhc").await;
    let csp = response.headers()["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        csp.contains("img-src 'self' https://cdn.example.org;"),
        "{csp}"
    );
    assert!(!csp.contains("script-src"), "{csp}");
    let page = response.text().await.expect("body");
    let logo = select(&page, "header img.logo");
    assert_eq!(
        logo[0].value().attr("src"),
        Some("https://cdn.example.org/rse/logo.svg")
    );
    assert_eq!(
        logo[0].value().attr("alt"),
        Some("Royal Society of Examples")
    );
    assert_eq!(
        select(&page, ".forgot a")[0].value().attr("href"),
        Some("https://members.rse.example.org/reset")
    );
    assert_eq!(
        select(&page, "footer a")[0].value().attr("href"),
        Some("mailto:help@rse.example.org")
    );

    let page = app
        .get("/logout?kind=error&message=boom")
        .await
        .text()
        .await
        .expect("body");
    assert!(
        page_text(&page).contains("contact Royal Society of Examples."),
        "{}",
        page_text(&page)
    );

    let css = app
        .get("/assets/style.css")
        .await
        .text()
        .await
        .expect("css");
    assert!(css.contains("--accent: #0b3d91;"));
}

#[tokio::test]
async fn the_throttling_wait_is_counted_in_the_members_language() {
    let app = spawn_app_with(&[
        ("THROTTLE_USER_FAILURES", "1"),
        ("THROTTLE_WINDOW_SECS", "600"),
    ])
    .await;
    let member = Member::active();
    app.given_member(&member).await;
    let page = app.open_login("?locale_id=2&return_to=%2Fhc").await;
    app.submit_login(&page, &member.username, "wrong").await;
    let response = app.submit_login(&page, &member.username, "wrong").await;
    assert_eq!(response.status(), 429);
    let text = page_text(&response.text().await.expect("body"));
    assert!(text.contains("Demasiados intentos"), "{text}");
    assert!(
        text.contains("Podrá intentarlo de nuevo dentro de 10 minutos."),
        "{text}"
    );
}
