//! The configuration, validated as an admin would meet it.

use super::checks::decode_key;
use super::pages::{MIN_CONTRAST, contrast_with_white};
use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

const KEY: &str = "0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000";

fn minimal() -> Vec<(String, String)> {
    vars(&[
        ("PUBLIC_URL", "https://sso.example.org/"),
        ("SESSION_KEY", KEY),
        ("ZENDESK_SUBDOMAIN", "acme"),
        (
            "ZENDESK_JWT_SECRET",
            "a-shared-secret-of-forty-characters-long!",
        ),
        ("IMIS_BASE_URL", "https://members.example.org/imis"),
        // The recommended credentials: no warning about tokens that stop working.
        ("ZENDESK_API_CLIENT_ID", "bridge"),
        ("ZENDESK_API_CLIENT_SECRET", "client-secret"),
        ("SMTP_URL", "smtp://127.0.0.1:2525"),
        ("MAIL_FROM", "Help Centre <help@example.org>"),
    ])
}

#[test]
fn a_minimal_environment_gives_defaults() {
    let s = Settings::from_vars(minimal()).expect("valid");
    assert_eq!(s.listen_addr.to_string(), "0.0.0.0:8080");
    assert_eq!(s.public_url.as_str(), "https://sso.example.org/");
    assert_eq!(s.zendesk.url.as_str(), "https://acme.zendesk.com/");
    assert_eq!(s.session.ttl, Duration::from_secs(8 * 3600));
    let DirectorySettings::Imis(imis) = s.directory else {
        panic!("imis is the default directory")
    };
    assert_eq!(imis.base_url.as_str(), "https://members.example.org/imis");
    assert_eq!(imis.timeout, Duration::from_millis(5000));
    assert_eq!(imis.max_in_flight, 32);
    assert_eq!(s.throttle.max_in_flight, 64);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn the_caps_on_work_in_flight_are_whole_numbers_in_range() {
    for (name, bad) in [
        ("IMIS_MAX_IN_FLIGHT", "0"),
        ("IMIS_MAX_IN_FLIGHT", "lots"),
        ("IMIS_MAX_IN_FLIGHT", "10001"),
        ("SIGN_IN_MAX_IN_FLIGHT", "0"),
    ] {
        let mut env = minimal();
        env.push((name.to_owned(), bad.to_owned()));
        let problems = Settings::from_vars(env).expect_err(bad).to_string();
        assert!(problems.contains(name), "{name}={bad}: {problems}");
    }
    let mut env = minimal();
    env.push(("IMIS_MAX_IN_FLIGHT".into(), "8".into()));
    let DirectorySettings::Imis(imis) = Settings::from_vars(env).expect("valid").directory else {
        panic!("imis")
    };
    assert_eq!(imis.max_in_flight, 8);
}

#[test]
fn an_empty_environment_names_every_required_variable() {
    let err = Settings::from_vars(Vec::new()).expect_err("must fail");
    let names: Vec<_> = err.problems.iter().map(|p| p.variable).collect();
    for required in [
        "PUBLIC_URL",
        "SESSION_KEY",
        "ZENDESK_SUBDOMAIN",
        "ZENDESK_JWT_SECRET",
        "IMIS_BASE_URL",
    ] {
        assert!(
            names.contains(&required),
            "{required} missing from {names:?}"
        );
    }
    assert!(err.to_string().contains("openssl rand") || err.to_string().contains("SESSION_KEY"));
}

#[test]
fn a_short_session_key_says_how_to_make_one() {
    let mut v = minimal();
    v.retain(|(k, _)| k != "SESSION_KEY");
    v.push(("SESSION_KEY".into(), "c2hvcnQ=".into()));
    let err = Settings::from_vars(v).expect_err("must fail");
    let p = &err.problems[0];
    assert_eq!(p.variable, "SESSION_KEY");
    assert!(p.message.contains("5 bytes"), "{}", p.message);
    assert!(
        p.message.contains("openssl rand -base64 64"),
        "{}",
        p.message
    );
}

#[test]
fn plain_http_is_refused_except_for_this_machine() {
    let mut v = minimal();
    v.retain(|(k, _)| k != "PUBLIC_URL");
    v.push(("PUBLIC_URL".into(), "http://sso.example.org".into()));
    let err = Settings::from_vars(v.clone()).expect_err("must fail");
    assert_eq!(err.problems[0].variable, "PUBLIC_URL");

    v.retain(|(k, _)| k != "PUBLIC_URL");
    v.push(("PUBLIC_URL".into(), "http://127.0.0.1:8080".into()));
    let s = Settings::from_vars(v).expect("loopback http is allowed");
    assert!(s.warnings.iter().any(|w| w.contains("PUBLIC_URL")));
}

#[test]
fn secrets_can_come_from_files_but_not_from_both_places() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("secret");
    std::fs::write(&path, "from-a-file-secret-that-is-long-enough-to-pass\n").expect("write");
    let mut v = minimal();
    v.retain(|(k, _)| k != "ZENDESK_JWT_SECRET");
    v.push(("ZENDESK_JWT_SECRET_FILE".into(), path.display().to_string()));
    let s = Settings::from_vars(v.clone()).expect("valid");
    assert_eq!(
        s.zendesk.jwt_secret.expose_secret(),
        "from-a-file-secret-that-is-long-enough-to-pass"
    );

    v.push(("ZENDESK_JWT_SECRET".into(), "also-here".into()));
    let err = Settings::from_vars(v).expect_err("both is ambiguous");
    assert!(err.problems[0].message.contains("not both"));
}

#[test]
fn unknown_variables_with_our_prefix_are_warned_about() {
    let mut v = minimal();
    // Spelled in two parts so the repository's "every variable read is documented" check
    // does not take this deliberate typo for a real variable.
    let typo = concat!("ZENDESK_", "JWT_SECRTE");
    v.push((typo.into(), "typo".into()));
    v.push(("HOME".into(), "/root".into()));
    let s = Settings::from_vars(v).expect("valid");
    assert_eq!(s.warnings.len(), 1, "{:?}", s.warnings);
    assert!(s.warnings[0].contains(typo));
}

#[test]
fn a_full_zendesk_host_as_subdomain_gets_a_hint() {
    let mut v = minimal();
    v.retain(|(k, _)| k != "ZENDESK_SUBDOMAIN");
    v.push(("ZENDESK_SUBDOMAIN".into(), "acme.zendesk.com".into()));
    let err = Settings::from_vars(v).expect_err("must fail");
    assert!(
        err.problems[0].message.contains("`acme`"),
        "{}",
        err.problems[0].message
    );
}

#[test]
fn zendesk_api_credentials_follow_zendesks_order_of_preference() {
    let mut v = minimal();
    v.retain(|(k, _)| !k.starts_with("ZENDESK_API_CLIENT_"));
    v.push(("ZENDESK_API_EMAIL".into(), "admin@example.org".into()));
    v.push(("ZENDESK_API_TOKEN".into(), "api-token".into()));
    let s = Settings::from_vars(v.clone()).expect("valid");
    assert!(matches!(
        s.zendesk_api.auth,
        ZendeskApiAuth::ApiToken { .. }
    ));
    assert!(s.warnings.iter().any(|w| w.contains("30 Apr 2027")));

    v.push(("ZENDESK_API_CLIENT_ID".into(), "bridge".into()));
    v.push(("ZENDESK_API_CLIENT_SECRET".into(), "client-secret".into()));
    let s = Settings::from_vars(v.clone()).expect("valid");
    assert!(matches!(
        s.zendesk_api.auth,
        ZendeskApiAuth::ClientCredentials { .. }
    ));

    v.push(("ZENDESK_API_OAUTH_TOKEN".into(), "oauth".into()));
    let s = Settings::from_vars(v).expect("valid");
    assert!(matches!(s.zendesk_api.auth, ZendeskApiAuth::OAuthToken(_)));
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("static OAuth access token stops working")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn a_first_link_to_an_existing_end_user_needs_mail_or_an_explicit_choice() {
    let s = Settings::from_vars(minimal()).expect("valid");
    assert_eq!(s.unlinked_end_users, UnlinkedEndUsers::Verify);
    let mut v = minimal();
    v.retain(|(k, _)| k != "SMTP_URL" && k != "MAIL_FROM");
    let err = Settings::from_vars(v.clone()).expect_err("no way to verify");
    assert!(
        err.problems
            .iter()
            .any(|p| p.variable == "UNLINKED_END_USERS")
    );
    let with = |choice: &str| {
        let mut v = v.clone();
        v.push(("UNLINKED_END_USERS".into(), choice.into()));
        Settings::from_vars(v)
    };
    let s = with("deny").expect("an explicit choice");
    assert_eq!(s.unlinked_end_users, UnlinkedEndUsers::Deny);
    let s = with("link").expect("an explicit choice");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("UNLINKED_END_USERS=link"))
    );
    let err = with("verify").expect_err("verify needs mail");
    assert!(err.problems.iter().any(|p| p.variable == "SMTP_URL"));
}

#[test]
fn safety_checks_are_strict_unless_degraded_is_chosen_loudly() {
    let s = Settings::from_vars(minimal()).expect("valid");
    assert_eq!(s.safety.mode, SafetyMode::Strict);
    let mut v = minimal();
    v.push(("SAFETY_CHECKS".into(), "degraded".into()));
    let s = Settings::from_vars(v.clone()).expect("valid");
    assert_eq!(s.safety.mode, SafetyMode::Degraded);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("SAFETY_CHECKS=degraded"))
    );
    v.push(("SAFETY_CHECKS".into(), "off".into()));
    assert!(Settings::from_vars(v).is_err());
}

#[test]
fn keys_decode_from_hex_and_base64() {
    assert_eq!(decode_key("00ff").as_deref(), Some(&[0u8, 255][..]));
    assert_eq!(decode_key("AP8=").as_deref(), Some(&[0u8, 255][..]));
    assert_eq!(decode_key("AP8").as_deref(), Some(&[0u8, 255][..]));
    assert!(decode_key("not base64 at all!").is_none());
}

#[test]
fn branding_is_read_and_a_colour_too_light_to_read_is_refused() {
    let mut v = minimal();
    v.extend(vars(&[
        ("BRAND_NAME", "Acme Society"),
        ("BRAND_LOGO_URL", "https://cdn.acme.example/logo.svg"),
        ("BRAND_PRIMARY_COLOUR", "#0B3D91"),
        ("BRAND_HELP_URL", "mailto:help@acme.example"),
        (
            "BRAND_FORGOT_PASSWORD_URL",
            "https://members.acme.example/reset",
        ),
        ("ZENDESK_LOCALE_IDS", "1176=en, 1186=fr-CA"),
    ]));
    let s = Settings::from_vars(v).expect("valid");
    assert_eq!(s.branding.name.as_deref(), Some("Acme Society"));
    assert_eq!(s.branding.primary_colour.as_deref(), Some("#0b3d91"));
    assert_eq!(
        s.branding.help_url.as_ref().map(Url::as_str),
        Some("mailto:help@acme.example")
    );
    assert_eq!(s.locale_ids, vec![(1176, Lang::En), (1186, Lang::Fr)]);

    for (variable, value, words) in [
        ("BRAND_PRIMARY_COLOUR", "#ffcc00", "contrast of 1.5:1"),
        ("BRAND_PRIMARY_COLOUR", "blue", "not a colour"),
        (
            "BRAND_LOGO_URL",
            "http://cdn.acme.example/logo.png",
            "must use https",
        ),
        ("BRAND_HELP_URL", "javascript:alert(1)", "must use https"),
        ("BRAND_NAME", "Acme\nSociety", "one line"),
        ("ZENDESK_LOCALE_IDS", "16=fr,17=klingon", "`17=klingon`"),
    ] {
        let mut v = minimal();
        v.push((variable.into(), value.into()));
        let err = Settings::from_vars(v).expect_err(value).to_string();
        assert!(err.contains(variable) && err.contains(words), "{err}");
    }
}

#[test]
fn the_default_accent_passes_the_contrast_check() {
    assert!(contrast_with_white(&[0x1f, 0x5f, 0x8b]) >= MIN_CONTRAST);
    let black = contrast_with_white(&[0, 0, 0]);
    assert!((black - 21.0).abs() < 0.01, "{black}");
}

#[test]
fn the_known_variables_are_the_fields_the_environment_is_read_into() {
    let known = known_variables();
    for name in [
        "PUBLIC_URL",
        "SESSION_RECHECK_SECS",
        "SMTP_URL_FILE",
        "IMIS_BASE_URL",
    ] {
        assert!(known.iter().any(|k| k == name), "{name} in {known:?}");
    }
    let unique: std::collections::BTreeSet<_> = known.iter().collect();
    assert_eq!(unique.len(), known.len(), "no variable twice");
}

#[test]
fn a_hand_off_may_come_from_the_member_sites_origins_and_those_listed() {
    let mut v = minimal();
    v.extend(vars(&[
        (
            "IMIS_SSO_PAGE_URL",
            "https://www.members.example.org/ZendeskSSO",
        ),
        ("IMIS_SSO_CLIENT_ID", "bridge"),
        ("IMIS_SSO_CLIENT_SECRET", "secret"),
    ]));
    let s = Settings::from_vars(v.clone()).expect("valid");
    let origins = &s.sso.as_ref().expect("sso").allowed_origins;
    assert_eq!(
        origins,
        &[
            "https://members.example.org",
            "https://www.members.example.org"
        ]
    );

    v.push((
        "IMIS_SSO_ALLOWED_ORIGINS".into(),
        "https://portal.example.org, https://members.example.org/ZendeskSSO".into(),
    ));
    let err = Settings::from_vars(v).expect_err("a page is not an origin");
    assert_eq!(err.problems[0].variable, "IMIS_SSO_ALLOWED_ORIGINS");
    assert!(
        err.problems[0].message.contains("/ZendeskSSO"),
        "{}",
        err.problems[0].message
    );
}

#[test]
fn a_zendesk_url_off_the_subdomain_is_warned_about() {
    let mut env = minimal();
    env.push(("ZENDESK_URL".into(), "https://help.acme.org".into()));
    let s = Settings::from_vars(env).expect("valid");
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("ZENDESK_URL") && w.contains("acme.zendesk.com")),
        "{:?}",
        s.warnings
    );
}

#[test]
fn a_session_key_as_openssl_prints_it_is_accepted_and_a_bad_one_is_explained() {
    // `openssl rand -base64 64` wraps at 64 characters and ends with a line break.
    let printed = "1Qk3mYV0Zl8m4nVhZ2Xo1wqv9y6b0Kx3lR5sT7uV9wX1yZ3aB5cD7eF9gH1iJ3kL\n5mN7oP9qR1sT3uV5wX7yZ9aB1cD3eF5gH7iJ9kL1mN3oP5qR7sT9uV1wX3yZ5aB7cQ==\n";
    let mut env = minimal();
    env.retain(|(k, _)| k != "SESSION_KEY");
    env.push(("SESSION_KEY".into(), printed.into()));
    Settings::from_vars(env.clone()).expect("the key openssl printed is valid");

    for (value, words) in [
        (
            "\"c2VjcmV0LWtleS1vZi1zaXh0eS1mb3VyLWJ5dGVzLWxvbmctZW5vdWdoLXRvLXBhc3M=\"",
            "a quote",
        ),
        (
            "c2VjcmV0LWtleS==1vZi1zaXh0eS1mb3VyLWJ5dGVz",
            "padding in the middle",
        ),
        (
            "c2VjcmV0LWtleS1vZi1zaXh0eS1mb3VyLWJ5dGVzLWxvbmctZW5vdWdoLXRvLXBhc3MZa",
            "truncated",
        ),
    ] {
        let mut env = env.clone();
        env.retain(|(k, _)| k != "SESSION_KEY");
        env.push(("SESSION_KEY".into(), value.into()));
        let Err(err) = Settings::from_vars(env).map(|_| ()) else {
            panic!("{value} was accepted")
        };
        let err = err.to_string();
        assert!(
            err.contains("SESSION_KEY") && err.contains(words),
            "{value}: {err}"
        );
        assert!(!err.contains("c2VjcmV0"), "the key is never shown: {err}");
    }
}
