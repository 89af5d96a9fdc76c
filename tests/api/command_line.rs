//! The binary: `--version`, `--help`, and `serve` refusing a bad environment with every
//! problem named at once.

use std::process::Command;

fn bridge() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zendesk-sso-bridge"));
    cmd.env_clear();
    cmd
}

#[test]
fn version_and_help_answer() {
    let out = bridge().arg("--version").output().expect("runs");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["demo", "--help"],
        &["hash-password", "--help"],
    ] {
        let out = bridge().args(args).output().expect("runs");
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage"),
            "{args:?}"
        );
    }
}

#[test]
fn serve_with_no_configuration_lists_every_problem_and_exits_2() {
    let out = bridge().arg("serve").output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for variable in [
        "PUBLIC_URL",
        "SESSION_KEY",
        "ZENDESK_SUBDOMAIN",
        "ZENDESK_JWT_SECRET",
        "IMIS_BASE_URL",
    ] {
        assert!(
            err.contains(&format!("- {variable}:")),
            "{variable} not named in:\n{err}"
        );
    }
    assert!(
        err.contains("openssl rand -base64 64"),
        "says how to make a key:\n{err}"
    );
}

#[test]
fn serve_reports_bad_values_with_their_fix() {
    let out = bridge()
        .arg("serve")
        .env("PUBLIC_URL", "http://sso.example.org")
        .env("SESSION_KEY", "dG9vIHNob3J0")
        .env("ZENDESK_SUBDOMAIN", "https://acme.zendesk.com")
        .env("ZENDESK_JWT_SECRET", "s")
        .env("IMIS_TIMEOUT_MS", "soon")
        .env("LOG_FORMAT", "xml")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    for expected in [
        "PUBLIC_URL: `http://sso.example.org` must use https",
        "SESSION_KEY: decodes to 9 bytes",
        "ZENDESK_SUBDOMAIN: `https://acme.zendesk.com` is not a subdomain; give only the first label, e.g. `acme`",
        "IMIS_BASE_URL: is required with MEMBER_DIRECTORY=imis",
        "IMIS_TIMEOUT_MS: `soon` must be a whole number",
        "LOG_FORMAT: must be `json` or `pretty`",
    ] {
        assert!(err.contains(expected), "missing `{expected}` in:\n{err}");
    }

    let out = bridge()
        .arg("serve")
        .env("MEMBER_DIRECTORY", "ldap")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("MEMBER_DIRECTORY: must be `imis` or `file`, not `ldap`"),
        "{err}"
    );
}

#[test]
fn hash_password_prints_an_argon2id_hash() {
    use std::io::Write;
    let mut child = bridge()
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"correct horse\n")
        .expect("write");
    let out = child.wait_with_output().expect("finishes");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("$argon2id$"));
}

#[test]
fn with_log_format_json_configuration_errors_are_json_lines_naming_the_variable() {
    let out = bridge()
        .arg("serve")
        .env("LOG_FORMAT", "json")
        .env("PUBLIC_URL", "http://sso.example.org")
        .env("METRICS_ADDR", "0.0.0.0:8080")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .all(|l| l["level"] == "ERROR" && l["target"] == "config")
    );
    let variables: Vec<&str> = lines
        .iter()
        .filter_map(|l| l["variable"].as_str())
        .collect();
    for variable in ["PUBLIC_URL", "METRICS_ADDR", "ZENDESK_SUBDOMAIN"] {
        assert!(
            variables.contains(&variable),
            "{variable} not named in {err}"
        );
    }
}
