//! The difference between what Zendesk shows of a linked member and what it should: a pure
//! function of plain values, so that a table test covers every rule.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::desired::{Desired, Wanted};
use crate::policy::{Managed, TagScope};
use crate::zendesk::api::{ZendeskProfile, ZendeskRole};

/// What happens to one Zendesk user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Still admitted: brought to what a sign-in would send.
    Update,
    /// No longer admitted: the policy's tags, fields and organisation removed, sessions ended.
    Downgrade,
}

/// The changes to one Zendesk user; only what differs is set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserChange {
    pub user_id: u64,
    pub member_id: String,
    pub kind: Kind,
    /// Why: `admitted`, or why the member is no longer admitted.
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// The user's whole new tag list (`update_many` replaces tags), when it changes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags_removed: Vec<String>,
    /// Changed fields; `null` clears one.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_fields: BTreeMap<String, Value>,
    /// Join this organisation (by its iMIS party id, the Zendesk organisation's external id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_organization: Option<String>,
    /// Leave this Zendesk organisation (one the policy manages).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave_organization: Option<u64>,
    /// End the user's Zendesk sessions (`DELETE /api/v2/users/{id}/sessions`).
    pub end_sessions: bool,
}

impl UserChange {
    fn new(user: &ZendeskProfile, member_id: &str, kind: Kind, reason: &str) -> Self {
        Self {
            user_id: user.id,
            member_id: member_id.to_owned(),
            kind,
            reason: reason.to_owned(),
            name: None,
            phone: None,
            tags: None,
            tags_added: Vec::new(),
            tags_removed: Vec::new(),
            user_fields: BTreeMap::new(),
            join_organization: None,
            leave_organization: None,
            end_sessions: false,
        }
    }

    /// Whether anything would be written.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.phone.is_none()
            && self.tags.is_none()
            && self.user_fields.is_empty()
            && self.join_organization.is_none()
            && self.leave_organization.is_none()
    }
}

/// Where Zendesk stands on the organisations the policy manages.
pub trait Organizations {
    /// The Zendesk id of the organisation with this external id (iMIS party id), if it exists.
    fn id_of(&self, party_id: &str) -> Option<u64>;
    /// Whether the Zendesk organisation `id` is one the sync manages (it has an external id).
    fn is_managed(&self, id: u64) -> bool;
}

/// Why a linked user is left alone.
pub fn refuse(user: &ZendeskProfile) -> Option<String> {
    match &user.role {
        ZendeskRole::EndUser => None,
        role => Some(format!(
            "the user is {} in Zendesk: the sync never touches agents or admins",
            role.as_str()
        )),
    }
}

/// The change that brings `user` to `desired`, or `None` when nothing differs.
pub fn diff(
    user: &ZendeskProfile,
    member_id: &str,
    desired: &Desired,
    managed: &Managed,
    orgs: &dyn Organizations,
) -> Option<UserChange> {
    let change = match desired {
        Desired::Admitted(wanted) => update(user, member_id, wanted, managed, orgs),
        Desired::NotAdmitted { reason } => downgrade(user, member_id, reason, managed, orgs),
    };
    (!change.is_empty()).then_some(change)
}

fn update(
    user: &ZendeskProfile,
    member_id: &str,
    wanted: &Wanted,
    managed: &Managed,
    orgs: &dyn Organizations,
) -> UserChange {
    let mut change = UserChange::new(user, member_id, Kind::Update, "admitted");
    if !wanted.name.is_empty() && wanted.name != user.name {
        change.name = Some(wanted.name.clone());
    }
    if managed.phone
        && let Some(phone) = &wanted.phone
        && user.phone.as_deref() != Some(phone.as_str())
    {
        change.phone = Some(phone.clone());
    }
    if managed.tags != TagScope::None {
        set_tags(&mut change, user, managed, &wanted.tags);
    }
    for key in &managed.user_fields {
        let want = wanted.user_fields.get(key).cloned().unwrap_or(Value::Null);
        if user.user_fields.get(key).unwrap_or(&Value::Null) != &want {
            change.user_fields.insert(key.clone(), want);
        }
    }
    if let Some((party_id, _)) = &wanted.organization {
        let id = orgs.id_of(party_id);
        if id.is_none() || id != user.organization_id {
            change.join_organization = Some(party_id.clone());
        }
    }
    change
}

fn downgrade(
    user: &ZendeskProfile,
    member_id: &str,
    reason: &str,
    managed: &Managed,
    orgs: &dyn Organizations,
) -> UserChange {
    let mut change = UserChange::new(user, member_id, Kind::Downgrade, reason);
    set_tags(&mut change, user, managed, &[]);
    for key in &managed.user_fields {
        if user.user_fields.get(key).is_some_and(|v| !v.is_null()) {
            change.user_fields.insert(key.clone(), Value::Null);
        }
    }
    if managed.organization
        && let Some(org) = user.organization_id
        && orgs.is_managed(org)
    {
        change.leave_organization = Some(org);
    }
    // Only a user who still looks like a member is downgraded, so a second run plans nothing.
    change.end_sessions = !change.is_empty();
    change
}

/// The user's tags less the policy's, plus `wanted`; set on `change` when that differs.
fn set_tags(change: &mut UserChange, user: &ZendeskProfile, managed: &Managed, wanted: &[String]) {
    let have: BTreeSet<String> = user.tags.iter().map(|t| t.to_lowercase()).collect();
    let mut new: BTreeSet<String> = have
        .iter()
        .filter(|t| !managed.owns_tag(t))
        .cloned()
        .collect();
    new.extend(wanted.iter().map(|t| t.to_lowercase()));
    if new != have {
        change.tags_added = new.difference(&have).cloned().collect();
        change.tags_removed = have.difference(&new).cloned().collect();
        change.tags = Some(new.into_iter().collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Orgs;
    impl Organizations for Orgs {
        fn id_of(&self, party_id: &str) -> Option<u64> {
            (party_id == "23087").then_some(700)
        }
        fn is_managed(&self, id: u64) -> bool {
            id == 700
        }
    }

    fn managed() -> Managed {
        Managed {
            tags: TagScope::Prefix("imis_".into()),
            user_fields: vec!["member_since".into()],
            organization: true,
            phone: true,
        }
    }

    fn user(tags: &[&str], fields: Value, org: Option<u64>) -> ZendeskProfile {
        ZendeskProfile {
            id: 11,
            name: "Art Abingdon".into(),
            email: Some("art@example.org".into()),
            external_id: Some("20277".into()),
            role: ZendeskRole::EndUser,
            suspended: false,
            phone: Some("+13103884000".into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            user_fields: serde_json::from_value(fields).expect("fields"),
            organization_id: org,
        }
    }

    fn member(tags: &[&str], since: Option<&str>) -> Desired {
        Desired::Admitted(Wanted {
            name: "Art Abingdon".into(),
            email: "art@example.org".into(),
            phone: Some("+13103884000".into()),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            user_fields: since
                .map(|s| [("member_since".to_owned(), json!(s))].into())
                .unwrap_or_default(),
            organization: Some(("23087".into(), "Versaton".into())),
        })
    }

    fn lapsed() -> Desired {
        Desired::NotAdmitted {
            reason: "denied by the default".into(),
        }
    }

    #[test]
    fn each_rule_of_the_lifecycle_in_one_table() {
        let since = json!({"member_since": "2020-01-15"});
        // (case, observed, desired, expected: (kind, new tags, fields, join, leave, end sessions))
        type Expect = Option<(
            Kind,
            Option<Vec<&'static str>>,
            Value,
            Option<&'static str>,
            Option<u64>,
            bool,
        )>;
        let table: Vec<(&str, ZendeskProfile, Desired, Expect)> = vec![
            (
                "a current member already as a sign-in would leave them: nothing",
                user(&["imis_m", "vip"], since.clone(), Some(700)),
                member(&["imis_m"], Some("2020-01-15")),
                None,
            ),
            (
                "a lapsed member loses the policy's tags, fields and organisation, keeps `vip`",
                user(&["imis_m", "vip"], since.clone(), Some(700)),
                lapsed(),
                Some((
                    Kind::Downgrade,
                    Some(vec!["vip"]),
                    json!({"member_since": null}),
                    None,
                    Some(700),
                    true,
                )),
            ),
            (
                "a lapsed member already downgraded: nothing, not even their sessions again",
                user(&["vip"], json!({"member_since": null}), Some(5)),
                lapsed(),
                None,
            ),
            (
                "a renewed member gets the member tag back, keeping `vip`, and rejoins",
                user(&["vip"], json!({}), None),
                member(&["imis_m"], Some("2020-01-15")),
                Some((
                    Kind::Update,
                    Some(vec!["imis_m", "vip"]),
                    since.clone(),
                    Some("23087"),
                    None,
                    false,
                )),
            ),
            (
                "a member who changed type swaps only the policy's tag",
                user(&["imis_m", "vip"], since.clone(), Some(700)),
                member(&["imis_cm"], Some("2020-01-15")),
                Some((
                    Kind::Update,
                    Some(vec!["imis_cm", "vip"]),
                    json!({}),
                    None,
                    None,
                    false,
                )),
            ),
            (
                "an organisation the sync does not manage is never left",
                user(&["imis_m"], json!({}), Some(5)),
                lapsed(),
                Some((Kind::Downgrade, Some(vec![]), json!({}), None, None, true)),
            ),
        ];
        for (case, observed, desired, expected) in table {
            let got = diff(&observed, "20277", &desired, &managed(), &Orgs);
            let got = got.map(|c| {
                (
                    c.kind,
                    c.tags,
                    serde_json::to_value(&c.user_fields).expect("json"),
                    c.join_organization,
                    c.leave_organization,
                    c.end_sessions,
                )
            });
            let expected = expected.map(|(k, t, f, j, l, e)| {
                (
                    k,
                    t.map(|t| t.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
                    f,
                    j.map(str::to_owned),
                    l,
                    e,
                )
            });
            assert_eq!(got, expected, "{case}");
        }
    }

    #[test]
    fn agents_and_admins_are_never_touched() {
        let mut agent = user(&["imis_m"], json!({}), None);
        agent.role = ZendeskRole::Agent;
        assert!(refuse(&agent).is_some());
        agent.role = ZendeskRole::Other("light-agent".into());
        assert!(refuse(&agent).is_some());
        assert!(refuse(&user(&[], json!({}), None)).is_none());
    }
}
