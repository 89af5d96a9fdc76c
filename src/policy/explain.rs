//! `policy explain`: the facts fetched for one member and the very decision `admit` makes,
//! written out line by line.

use super::{Policy, PolicyRefusal};
use crate::members::MemberProfile;

/// How one member was judged, for `policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub lines: Vec<String>,
    pub allowed: bool,
    pub decided_by: String,
}

/// Formats `policy.judge(profile)`: the same decision a sign-in gets.
pub fn explain(policy: &Policy, profile: &MemberProfile) -> Explanation {
    let facts = &profile.facts;
    let mut lines = vec![
        format!("iMIS ID          {}", profile.id),
        format!("name             {}", profile.name),
        format!(
            "primary e-mail   {}",
            profile.email.as_deref().unwrap_or("(none)")
        ),
        format!(
            "phone (E.164)    {}",
            profile.phone.as_deref().unwrap_or("(none)")
        ),
        format!("status           {}", facts.status_code),
    ];
    for (k, v) in &facts.attributes {
        lines.push(format!("attribute        {k} = {v}"));
    }
    if let Some(org) = &facts.organization {
        lines.push(format!(
            "organization     {} (party {})",
            org.name.as_deref().unwrap_or("?"),
            org.party_id.as_deref().unwrap_or("?")
        ));
    }
    match &facts.groups {
        Some(groups) if !groups.is_empty() => {
            for g in groups {
                lines.push(format!(
                    "group            {} [{}]",
                    g.name,
                    g.class.as_deref().unwrap_or("-")
                ));
            }
        }
        Some(_) => lines.push("groups           (none active)".into()),
        None => lines.push("groups           (not looked up: no rule or mapping uses them)".into()),
    }
    let judgement = policy.judge(profile.clone());
    if !policy.has_rules() {
        lines
            .push("policy           none (POLICY_FILE not set): active members may sign in".into());
    }
    for (name, effect, matched) in &judgement.verdicts {
        let verdict = if *matched {
            "matches"
        } else {
            "does not match"
        };
        lines.push(format!("rule             {name:?} ({effect:?}): {verdict}"));
    }
    if let Err(PolicyRefusal::Base(refusal)) = &judgement.outcome {
        lines.push(format!("base rule        {refusal}"));
    }
    let allowed = judgement.outcome.is_ok();
    lines.push(format!(
        "decision         {} (decided by {})",
        if allowed { "ALLOWED" } else { "DENIED" },
        judgement.decided_by
    ));
    if let Ok(member) = &judgement.outcome {
        let claims = crate::zendesk::jwt::ZendeskClaims::for_member(member, 0);
        if let Ok(json) = serde_json::to_string_pretty(&claims) {
            lines.push(format!("claims sent      {json}"));
        }
    }
    Explanation {
        lines,
        allowed,
        decided_by: judgement.decided_by,
    }
}
