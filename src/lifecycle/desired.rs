//! What Zendesk should know about one linked member now: the same judgement a sign-in makes
//! (`Policy::judge`), read from the same facts.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::members::MemberProfile;
use crate::policy::{Policy, PolicyRefusal};

/// The member as a sign-in would send them now, or why they are no longer admitted.
#[derive(Debug, Clone, PartialEq)]
pub enum Desired {
    Admitted(Wanted),
    /// `reason`: `not_in_member_system`, `inactive`, `no_primary_email`, or `denied: rule "…"`.
    NotAdmitted {
        reason: String,
    },
}

/// What a sign-in would send for an admitted member.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Wanted {
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    pub tags: Vec<String>,
    pub user_fields: BTreeMap<String, Value>,
    /// The member's organisation: (iMIS party id, name), when the policy maps organisations.
    pub organization: Option<(String, String)>,
}

/// Judges `profile` (`None`: the member system has no such member) as a sign-in would.
pub fn desired(policy: &Policy, profile: Option<MemberProfile>) -> Desired {
    let Some(profile) = profile else {
        return Desired::NotAdmitted {
            reason: "not_in_member_system".into(),
        };
    };
    let organization = profile.facts.organization.clone().and_then(|org| {
        let id = org.party_id.filter(|id| !id.trim().is_empty())?;
        let name = org
            .name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or(id.clone());
        Some((id.trim().to_owned(), name.trim().to_owned()))
    });
    match policy.judge(profile).outcome {
        Ok(member) => Desired::Admitted(Wanted {
            name: member.name,
            email: member.email,
            phone: member.phone,
            tags: member.claims.tags.unwrap_or_default(),
            user_fields: member.claims.user_fields.unwrap_or_default(),
            organization: organization.filter(|_| policy.managed().organization),
        }),
        Err(PolicyRefusal::Base(refusal)) => Desired::NotAdmitted {
            reason: refusal.reason().into(),
        },
        Err(PolicyRefusal::Denied { rule, .. }) => Desired::NotAdmitted {
            reason: format!("denied by {rule}"),
        },
    }
}
