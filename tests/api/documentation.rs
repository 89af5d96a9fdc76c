//! Every setting is documented once, in the same words, in `.env.example` and in the Helm
//! chart's `values.yaml`, and those are exactly the variables the service reads.

use std::collections::{BTreeMap, BTreeSet};

use zendesk_sso_bridge::config::known_variables;

const ENV_EXAMPLE: &str = include_str!("../../.env.example");
const VALUES: &str = include_str!("../../helm/zendesk-sso-bridge/values.yaml");

fn words(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| l.trim().trim_start_matches('#').trim())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `.env.example`: blocks separated by blank lines, each its description then one variable
/// (`NAME=...` or `# NAME=...`).
fn env_example() -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    for block in ENV_EXAMPLE.split("\n\n") {
        let lines: Vec<&str> = block.lines().filter(|l| !l.trim().is_empty()).collect();
        let Some((last, doc)) = lines.split_last() else {
            continue;
        };
        let assignment = last.trim_start_matches('#').trim();
        let Some((name, _)) = assignment.split_once('=') else {
            continue;
        };
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            continue;
        }
        assert!(!doc.is_empty(), "{name} has no description in .env.example");
        assert!(
            docs.insert(name.to_owned(), words(doc)).is_none(),
            "{name} twice in .env.example"
        );
    }
    docs
}

/// `values.yaml`: the keys of the `env:` and `secretEnv:` maps, each with the comment above it.
fn values_settings() -> BTreeMap<String, String> {
    let mut docs = BTreeMap::new();
    let mut inside = false;
    let mut comment: Vec<&str> = Vec::new();
    for line in VALUES.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty() {
            inside = matches!(line.trim_end(), "env:" | "secretEnv:");
            comment.clear();
            continue;
        }
        if !inside {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with('#') {
            comment.push(trimmed);
        } else if let Some((key, _)) = trimmed.split_once(':') {
            assert!(
                !comment.is_empty(),
                "{key} has no description in values.yaml"
            );
            docs.insert(key.to_owned(), words(&comment));
            comment.clear();
        }
    }
    docs
}

#[test]
fn env_example_documents_exactly_the_variables_the_service_reads() {
    let documented: BTreeSet<String> = env_example().into_keys().collect();
    // Derived from the struct the environment is read into: what the code really reads.
    let read: BTreeSet<String> = known_variables()
        .into_iter()
        .chain(["RUST_LOG".to_owned()])
        .collect();
    assert_eq!(documented, read);
}

#[test]
fn the_chart_offers_every_setting_in_the_same_words() {
    let example = env_example();
    let chart = values_settings();
    // `NAME_FILE` variants are for mounted files (the chart's extraEnv); the chart passes
    // secrets by secretKeyRef. The listeners' addresses come from `containerPort` and
    // `metrics.port`: offering them would only invite values the chart overrides.
    let set_by_the_chart = ["LISTEN_ADDR", "METRICS_ADDR"];
    let expected: BTreeSet<&String> = example
        .keys()
        .filter(|k| !(k.ends_with("_FILE") && example.contains_key(k.trim_end_matches("_FILE"))))
        .filter(|k| !set_by_the_chart.contains(&k.as_str()))
        .collect();
    let offered: BTreeSet<&String> = chart.keys().collect();
    assert_eq!(offered, expected);
    for (name, doc) in &chart {
        assert_eq!(doc, &example[name], "{name} is described differently");
    }
}

#[test]
fn the_readmes_three_line_policy_admits_current_members_only() {
    let readme = include_str!("../../README.md");
    let start = readme
        .find("To admit current members only")
        .expect("the README shows the policy for current members");
    let block = readme[start..]
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    assert_eq!(block.lines().count(), 3, "{block}");
    let policy =
        zendesk_sso_bridge::policy::Policy::parse(block).expect("the README's policy parses");
    assert!(policy.needs_paid_through());
    let member = |paid: &str| zendesk_sso_bridge::members::MemberProfile {
        id: "1".into(),
        name: "Ann".into(),
        email: Some("ann@example.org".into()),
        phone: None,
        status: zendesk_sso_bridge::members::MemberStatus::Active,
        email_sharing: Default::default(),
        facts: zendesk_sso_bridge::members::MemberFacts {
            status_code: "A".into(),
            paid_through: Some(paid.into()),
            ..Default::default()
        },
    };
    assert!(policy.admit(member("2999-12-31"), None).is_ok());
    assert!(
        policy.admit(member("2001-01-31"), None).is_err(),
        "lapsed, status A: refused"
    );
}
