//! The access rules: which member facts each rule asks about, and the first-match decision.

use serde::Deserialize;

use crate::members::MemberFacts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    Allow,
    Deny,
}

/// One access rule: it matches when every condition it gives holds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    pub effect: Effect,
    #[serde(default)]
    pub status: Option<Vec<String>>,
    #[serde(default)]
    pub member_type: Option<Vec<String>>,
    #[serde(default)]
    pub is_member: Option<bool>,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
    #[serde(default)]
    pub group_classes: Option<Vec<String>>,
    #[serde(default)]
    pub paid_through: Option<PaidThrough>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaidThrough {
    /// The paid-through date is today or later (or within `[access] grace_days` of today).
    Current,
    /// The paid-through date is in the past (or missing).
    Expired,
}

#[derive(Debug, Clone)]
pub struct Access {
    pub default: Effect,
    /// Days after the paid-through date that a member still counts as current.
    pub grace_days: u32,
    pub denied_message: Option<String>,
    pub rules: Vec<Rule>,
}

/// Each rule's verdict, in order, and what decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub effect: Effect,
    /// `rule "name"` or `the default`.
    pub decided_by: String,
    /// (rule name, its effect, whether it matches) for every rule.
    pub verdicts: Vec<(String, Effect, bool)>,
}

/// `paid_from`: the earliest paid-through date that counts as current (today less the grace).
pub fn decide(access: &Access, facts: &MemberFacts, paid_from: &str) -> Decision {
    let verdicts: Vec<_> = access
        .rules
        .iter()
        .map(|rule| {
            (
                rule.name.clone(),
                rule.effect,
                matches(rule, facts, paid_from),
            )
        })
        .collect();
    let (effect, decided_by) = verdicts
        .iter()
        .find(|(_, _, matched)| *matched)
        .map(|(name, effect, _)| (*effect, format!("rule {name:?}")))
        .unwrap_or((access.default, "the default".into()));
    Decision {
        effect,
        decided_by,
        verdicts,
    }
}

fn any_of(list: &Option<Vec<String>>, value: Option<&str>) -> bool {
    match list {
        None => true,
        Some(list) => {
            value.is_some_and(|v| list.iter().any(|x| x.trim().eq_ignore_ascii_case(v.trim())))
        }
    }
}

fn matches(rule: &Rule, facts: &MemberFacts, paid_from: &str) -> bool {
    let groups = facts.groups.as_deref().unwrap_or_default();
    let in_group = rule.groups.as_ref().is_none_or(|wanted| {
        groups
            .iter()
            .any(|g| wanted.iter().any(|w| w.eq_ignore_ascii_case(&g.name)))
    });
    let in_class = rule.group_classes.as_ref().is_none_or(|wanted| {
        groups.iter().any(|g| {
            g.class
                .as_deref()
                .is_some_and(|c| wanted.iter().any(|w| w.eq_ignore_ascii_case(c)))
        })
    });
    let is_member = rule
        .is_member
        .is_none_or(|want| facts.is_member == Some(want));
    let paid = rule.paid_through.is_none_or(|want| {
        let current = facts
            .paid_through
            .as_deref()
            .and_then(date)
            .is_some_and(|d| d.as_str() >= paid_from);
        (want == PaidThrough::Current) == current
    });
    any_of(&rule.status, Some(&facts.status_code))
        && any_of(&rule.member_type, facts.member_type.as_deref())
        && is_member
        && in_group
        && in_class
        && paid
}

pub use crate::clock::{date, days_ago};
