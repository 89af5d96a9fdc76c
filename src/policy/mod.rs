//! Who may sign in, and what Zendesk learns about them: the optional `POLICY_FILE` (TOML).
//!
//! ```toml
//! [access]
//! default = "deny"                   # when no rule matches: "allow" or "deny" (required)
//! grace_days = 30                    # paid_through = "current" holds this many days after it
//! denied_message = "Help-centre access is for current members: membership@example.org"
//!
//! [[access.rule]]                    # first match wins; every condition given must hold
//! name = "current members"
//! effect = "allow"
//! status = ["A"]                     # the member system's status code, any of
//! member_type = ["M", "CM"]          # the member type, any of
//! is_member = true                   # counted as a member
//! groups = ["Board"]                 # active membership of any of these groups (by name)
//! group_classes = ["Committee"]      # ... or of a group of any of these classes
//! paid_through = "current"           # paid through today or later (less grace_days)
//! ```
//! Rules speak of typed member facts ([`crate::members::MemberFacts`]) that each directory fills
//! in: iMIS from `PartyStatusId`, the `AdditionalAttributes` `CustomerTypeCode` and `IsMember`, and
//! `PaidThrough` from the contact (`/api/CsContact/{id}`) or the profile query's column; the
//! members file from `member_type`, `is_member` and `paid_through`.
//!
//! ```toml
//!
//! [claims.phone]                     # on by default
//! send = true
//! types = ["Mobile", "_Work Phone"]  # PhoneType preference (overrides IMIS_PHONE_TYPES)
//! default_country = "GB"             # overrides MEMBER_PHONE_COUNTRY
//!
//! [claims.organization]
//! from = "name"                      # `organization` = PrimaryOrganization.Name,
//!                                    # or "party_id": `organization_id` = its party id
//! [claims.tags]                      # NOTE: Zendesk REPLACES all of a user's tags with these
//! from = ["member_type", "groups"]
//! prefix = "imis_"
//! allow = ["imis_m", "imis_board"]   # optional allow-list, after prefix and normalising
//!
//! [claims.user_fields]               # Zendesk user field key = iMIS AdditionalAttributes name
//! member_since = { attribute = "JoinDate", type = "date" }     # text | checkbox | date | dropdown
//!
//! [claims]
//! locale = true                      # pass Zendesk's locale_id back as the `locale_id` claim
//! ```
//! Without a file: active members (`PartyStatusId` A) with a primary e-mail may sign in, and
//! only the phone is sent beyond the required claims. `role`, `custom_role_id`, `external_id`
//! and `email` can never be mapped.

mod claims;
mod explain;
mod file;
mod managed;
mod rules;

pub use explain::Explanation;
pub use managed::{Managed, TagScope};
pub use rules::{Effect, Rule};

#[cfg(test)]
use crate::clock::today;
use crate::members::phone::PhonePolicy;
use crate::members::{Member, MemberProfile, MemberStatus, Refusal};
use claims::Mapping;
use file::{PolicyFile, TagSource};
use rules::{Access, days_ago, decide};

/// The access rules and the claim mapping, validated at start-up.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    access: Option<Access>,
    mapping: Mapping,
}

/// Why the policy refused someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefusal {
    /// The base rules (no primary e-mail, a shared one; or inactive, without a policy file).
    Base(Refusal),
    /// A rule (or the default) denied; `message` is the configured contact text.
    Denied {
        rule: String,
        message: Option<String>,
    },
}

/// One member judged: every rule's verdict, what decided, and the outcome `admit` returns.
#[derive(Debug, Clone)]
pub struct Judgement {
    /// (rule name, its effect, whether it matches), in order; empty without a policy file.
    pub verdicts: Vec<(String, Effect, bool)>,
    pub decided_by: String,
    pub outcome: Result<Member, PolicyRefusal>,
}

impl Policy {
    /// Parses and checks a policy file; errors carry line and column and say how to fix it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let c = &file.claims;
        for (name, value) in [
            ("role", &c.role),
            ("custom_role_id", &c.custom_role_id),
            ("external_id", &c.external_id),
            ("email", &c.email),
        ] {
            if value.is_some() {
                return Err(format!(
                    "[claims.{name}] can never be mapped: the bridge never sends role or custom_role_id, \
                     external_id is always the iMIS ID and email always the primary e-mail; remove it"
                ));
            }
        }
        for key in c.user_fields.keys() {
            if matches!(
                key.as_str(),
                "role" | "custom_role_id" | "external_id" | "email"
            ) {
                return Err(format!(
                    "[claims.user_fields] `{key}` is not a user field; remove it"
                ));
            }
        }
        if let Some(tags) = &c.tags
            && tags.from.is_empty()
        {
            return Err("[claims.tags] `from` must list `member_type` and/or `groups`".into());
        }
        if let Some(country) = c.phone.as_ref().and_then(|p| p.default_country.as_deref())
            && PhonePolicy::new(country).is_none()
        {
            return Err(format!(
                "[claims.phone] default_country `{country}` is not a two-letter country code such as `US`"
            ));
        }
        let access = match file.access {
            Some(a) => {
                for rule in &a.rules {
                    if rule.name.trim().is_empty() {
                        return Err("[[access.rule]] every rule needs a `name`".into());
                    }
                }
                Some(Access {
                    default: a.default,
                    grace_days: a.grace_days,
                    denied_message: a.denied_message.filter(|m| !m.trim().is_empty()),
                    rules: a.rules,
                })
            }
            None => None,
        };
        let mapping = Mapping {
            phone: c.phone.as_ref().is_none_or(|p| p.send),
            phone_types: c.phone.as_ref().and_then(|p| p.types.clone()),
            phone_country: c.phone.as_ref().and_then(|p| p.default_country.clone()),
            organization: c.organization.as_ref().map(|o| o.from),
            tags: c
                .tags
                .as_ref()
                .map(|t| (t.from.clone(), t.prefix.clone(), t.allow.clone())),
            user_fields: c.user_fields.clone(),
            locale: c.locale,
        };
        Ok(Self { access, mapping })
    }

    /// Whether the directory must look up group memberships.
    pub fn needs_groups(&self) -> bool {
        let by_rule = self.access.as_ref().is_some_and(|a| {
            a.rules
                .iter()
                .any(|r| r.groups.is_some() || r.group_classes.is_some())
        });
        let by_tags = self
            .mapping
            .tags
            .as_ref()
            .is_some_and(|(from, _, _)| from.contains(&TagSource::Groups));
        by_rule || by_tags
    }

    /// What the directory must fetch beyond identity for this policy.
    pub fn fact_needs(&self) -> crate::members::FactNeeds {
        crate::members::FactNeeds {
            groups: self.needs_groups(),
            paid_through: self.needs_paid_through(),
        }
    }

    /// The first rule that asks about group classes, if any (a members file has none).
    pub fn rule_naming_group_classes(&self) -> Option<&str> {
        self.access.as_ref().and_then(|a| {
            a.rules
                .iter()
                .find(|r| r.group_classes.is_some())
                .map(|r| r.name.as_str())
        })
    }

    /// Whether a rule asks for the paid-through date (the directory must read it).
    pub fn needs_paid_through(&self) -> bool {
        self.access
            .as_ref()
            .is_some_and(|a| a.rules.iter().any(|r| r.paid_through.is_some()))
    }

    /// The tags, user fields and organisation this policy owns in Zendesk (what the sync may
    /// change or remove).
    pub fn managed(&self) -> Managed {
        let m = &self.mapping;
        let tags = match &m.tags {
            None => TagScope::None,
            Some((_, _, Some(allow))) => {
                TagScope::Listed(allow.iter().map(|t| t.trim().to_lowercase()).collect())
            }
            Some((_, prefix, None)) if !prefix.trim().is_empty() => {
                TagScope::Prefix(prefix.trim().to_lowercase())
            }
            Some(_) => TagScope::Unknown,
        };
        Managed {
            tags,
            user_fields: m.user_fields.keys().cloned().collect(),
            organization: m.organization.is_some(),
            phone: m.phone,
        }
    }

    /// The JWT's `tags`: since Zendesk replaces every tag with them, the user's current tags
    /// that are not the policy's (an agent's `vip`, a trigger's) are sent back with the member's.
    /// `current`: the user's tags as Zendesk answered the sign-in's look-up (`None`: no user yet).
    pub fn tags_to_send(
        &self,
        wanted: Option<Vec<String>>,
        current: Option<&[String]>,
    ) -> Option<Vec<String>> {
        let managed = self.managed();
        let (TagScope::Listed(_) | TagScope::Prefix(_) | TagScope::Unknown, Some(current)) =
            (&managed.tags, current)
        else {
            return wanted;
        };
        let mut tags: Vec<String> = current
            .iter()
            .map(|t| t.trim().to_lowercase())
            .filter(|t| !t.is_empty() && !managed.owns_tag(t))
            .chain(wanted.unwrap_or_default())
            .collect();
        tags.sort();
        tags.dedup();
        // An empty list would remove every tag the user has: send nothing instead.
        (!tags.is_empty()).then_some(tags)
    }

    /// The phone policy with this file's preferences over the environment's.
    pub fn phone_policy(&self, base: PhonePolicy) -> PhonePolicy {
        let base = match self
            .mapping
            .phone_country
            .as_deref()
            .and_then(PhonePolicy::new)
        {
            Some(country) => country.with_preferred_types(base.preferred_types().to_vec()),
            None => base,
        };
        match &self.mapping.phone_types {
            Some(types) => base.with_preferred_types(types.clone()),
            None => base,
        }
    }

    /// Start-up warnings about consequential choices.
    pub fn warnings(&self) -> Vec<String> {
        let mut w = Vec::new();
        if self.mapping.tags.is_some() {
            w.push(
                "POLICY_FILE maps tags: Zendesk REPLACES all of a user's tags with the JWT's, so the bridge \
                 sends the user's other tags back as its look-up at sign-in shows them (a tag an agent \
                 added in the last few minutes may still be lost)"
                    .to_owned(),
            );
        }
        w
    }

    /// Whether a policy file gives access rules.
    pub fn has_rules(&self) -> bool {
        self.access.is_some()
    }

    /// The access decision and, when allowed, the member with their mapped claims.
    pub fn judge(&self, profile: MemberProfile) -> Judgement {
        let facts = profile.facts.clone();
        let Some(access) = &self.access else {
            let active = profile.status == MemberStatus::Active;
            return Judgement {
                verdicts: Vec::new(),
                decided_by: if active {
                    "status A"
                } else {
                    "status is not A"
                }
                .into(),
                outcome: profile
                    .admit()
                    .map(|m| self.mapping.map(m, &facts))
                    .map_err(PolicyRefusal::Base),
            };
        };
        let decision = decide(access, &facts, &days_ago(access.grace_days));
        let outcome = match decision.effect {
            Effect::Deny => Err(PolicyRefusal::Denied {
                rule: decision.decided_by.clone(),
                message: access.denied_message.clone(),
            }),
            Effect::Allow => profile
                .admit_any_status()
                .map(|m| self.mapping.map(m, &facts))
                .map_err(PolicyRefusal::Base),
        };
        Judgement {
            verdicts: decision.verdicts,
            decided_by: decision.decided_by,
            outcome,
        }
    }

    /// The access decision a sign-in gets (see [`Policy::judge`]), with Zendesk's locale applied.
    pub fn admit(
        &self,
        profile: MemberProfile,
        locale_id: Option<&str>,
    ) -> Result<Member, PolicyRefusal> {
        let mut member = self.judge(profile).outcome?;
        self.apply_locale(&mut member, locale_id);
        Ok(member)
    }

    /// Sets the `locale_id` claim from Zendesk's `locale_id` query parameter, when the policy
    /// passes it through (done at every mint, as the member may arrive from another locale).
    pub fn apply_locale(&self, member: &mut Member, locale_id: Option<&str>) {
        if self.mapping.locale {
            member.claims.locale_id = locale_id
                .filter(|l| !l.is_empty() && l.len() <= 10 && l.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|l| l.parse().ok());
        }
    }

    /// Every rule's verdict on one member, for `policy explain`: the decision `admit` makes.
    pub fn explain(&self, profile: &MemberProfile) -> Explanation {
        explain::explain(self, profile)
    }
}

#[cfg(test)]
mod tests {
    use super::rules::date;
    use super::*;
    use crate::members::MemberFacts;
    use crate::members::{GroupMembership, Organization};
    use serde_json::Value;

    fn profile(
        status: &str,
        attributes: &[(&str, &str)],
        groups: &[(&str, &str)],
    ) -> MemberProfile {
        MemberProfile {
            id: "20277".into(),
            name: "Art".into(),
            email: Some("art@example.org".into()),
            phone: Some("+13103884000".into()),
            status: if status == "A" {
                MemberStatus::Active
            } else {
                MemberStatus::Inactive {
                    code: status.into(),
                }
            },
            email_sharing: Default::default(),
            facts: MemberFacts {
                status_code: status.into(),
                attributes: attributes
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                organization: Some(Organization {
                    name: Some("Versaton Global Headquarters".into()),
                    party_id: Some("23087".into()),
                }),
                groups: Some(
                    groups
                        .iter()
                        .map(|(n, c)| GroupMembership {
                            name: n.to_string(),
                            class: Some(c.to_string()),
                        })
                        .collect(),
                ),
                ..MemberFacts::default()
            }
            .with_typed_from_attributes(),
        }
    }

    const POLICY: &str = r#"
[access]
default = "deny"
denied_message = "Help-centre access is for current members."

[[access.rule]]
name = "board"
effect = "allow"
groups = ["Board"]

[[access.rule]]
name = "lapsed"
effect = "deny"
status = ["I", "S"]

[[access.rule]]
name = "paying members"
effect = "allow"
member_type = ["M", "CM"]
is_member = true
paid_through = "current"
"#;

    fn outcome(policy: &Policy, p: MemberProfile) -> Result<(), String> {
        policy.admit(p, None).map(|_| ()).map_err(|e| match e {
            PolicyRefusal::Denied { rule, .. } => rule,
            PolicyRefusal::Base(r) => r.reason().to_owned(),
        })
    }

    #[test]
    fn rules_decide_in_order_and_the_default_catches_the_rest() {
        let policy = Policy::parse(POLICY).expect("valid");
        let paid = [
            ("CustomerTypeCode", "M"),
            ("IsMember", "true"),
            ("PaidThrough", "2999-12-31T00:00:00"),
        ];
        let table: Vec<(MemberProfile, Result<(), String>)> = vec![
            (profile("A", &paid, &[]), Ok(())),
            (profile("I", &paid, &[]), Err("rule \"lapsed\"".into())),
            (profile("I", &[], &[("Board", "Governance")]), Ok(())),
            (
                profile(
                    "A",
                    &[("CustomerTypeCode", "NM"), ("IsMember", "false")],
                    &[],
                ),
                Err("the default".into()),
            ),
            (
                profile(
                    "A",
                    &[
                        ("CustomerTypeCode", "M"),
                        ("IsMember", "true"),
                        ("PaidThrough", "2001-01-01"),
                    ],
                    &[],
                ),
                Err("the default".into()),
            ),
            (
                profile(
                    "A",
                    &[
                        ("CustomerTypeCode", "cm"),
                        ("IsMember", "True"),
                        ("PaidThrough", "2999-01-01"),
                    ],
                    &[],
                ),
                Ok(()),
            ),
        ];
        for (i, (p, expected)) in table.into_iter().enumerate() {
            assert_eq!(outcome(&policy, p), expected, "case {i}");
        }
    }

    #[test]
    fn without_a_policy_only_active_members_with_an_email_are_admitted() {
        let policy = Policy::default();
        assert!(policy.admit(profile("A", &[], &[]), None).is_ok());
        assert_eq!(
            outcome(&policy, profile("I", &[], &[])),
            Err("inactive".into())
        );
        let mut no_email = profile("A", &[], &[]);
        no_email.email = None;
        assert_eq!(outcome(&policy, no_email), Err("no_primary_email".into()));
    }

    const MAPPING: &str = r#"
[claims]
locale = true
[claims.phone]
send = false
[claims.organization]
from = "party_id"
[claims.tags]
from = ["member_type", "groups"]
prefix = "imis_"
allow = ["imis_m", "imis_board_of_directors"]
[claims.user_fields]
member_since = { attribute = "JoinDate", type = "date" }
is_member = { attribute = "IsMember", type = "checkbox" }
member_type = { attribute = "CustomerTypeCode", type = "dropdown", options = ["m", "cm"] }
chapter = { attribute = "Chapter", type = "text" }
"#;

    #[test]
    fn each_claim_type_is_mapped_and_checked() {
        let policy = Policy::parse(MAPPING).expect("valid");
        let p = profile(
            "A",
            &[
                ("CustomerTypeCode", "M"),
                ("IsMember", "true"),
                ("JoinDate", "2019-04-02T00:00:00"),
                ("Chapter", " North "),
            ],
            &[
                ("Board of Directors", "Governance"),
                ("Golf club", "Social"),
            ],
        );
        let m = policy.admit(p, Some("1176")).expect("admitted");
        assert_eq!(m.phone, None, "phone switched off");
        let c = &m.claims;
        assert_eq!(c.organization_id.as_deref(), Some("23087"));
        assert_eq!(c.organization, None);
        assert_eq!(
            c.tags.as_deref(),
            Some(&["imis_board_of_directors".to_owned(), "imis_m".to_owned()][..])
        );
        let fields = c.user_fields.as_ref().expect("fields");
        assert_eq!(fields["member_since"], Value::String("2019-04-02".into()));
        assert_eq!(fields["is_member"], Value::Bool(true));
        assert_eq!(fields["member_type"], Value::String("m".into()));
        assert_eq!(fields["chapter"], Value::String("North".into()));
        assert_eq!(c.locale_id, Some(1176));
    }

    #[test]
    fn mappings_that_would_send_nothing_send_no_claim_at_all() {
        let policy = Policy::parse(MAPPING).expect("valid");
        let p = profile(
            "A",
            &[
                ("CustomerTypeCode", "NM"),
                ("JoinDate", "not a date"),
                ("IsMember", "maybe"),
            ],
            &[],
        );
        let m = policy.admit(p, Some("fr")).expect("admitted");
        assert_eq!(
            m.claims.tags, None,
            "no empty tags (it would clear every tag)"
        );
        let fields = m.claims.user_fields.unwrap_or_default();
        assert!(!fields.contains_key("member_since") && !fields.contains_key("is_member"));
        assert!(
            !fields.contains_key("member_type"),
            "not one of the dropdown options"
        );
        assert_eq!(m.claims.locale_id, None);
    }

    #[test]
    fn forbidden_claims_and_bad_files_are_refused_with_the_fix() {
        for (text, words) in [
            ("[claims.role]\nfrom = \"x\"\n", "can never be mapped"),
            ("[claims.email]\n", "can never be mapped"),
            (
                "[claims.user_fields]\nexternal_id = { attribute = \"Id\", type = \"text\" }\n",
                "not a user field",
            ),
            (
                "[access]\ndenied_message = \"x\"\n",
                "missing field `default`",
            ),
            ("[access]\ndefault = \"maybe\"\n", "unknown variant"),
            ("[claims.tags]\nfrom = []\n", "must list"),
            (
                "[claims.phone]\ndefault_country = \"Atlantis\"\n",
                "two-letter",
            ),
            (
                "[claims.user_fields]\nx = { attribute = \"A\", type = \"number\" }\n",
                "unknown variant",
            ),
            ("[acces]\n", "unknown field"),
        ] {
            let err = Policy::parse(text).expect_err(text);
            assert!(err.contains(words), "{text}: {err}");
        }
        let err = Policy::parse(
            "[access]\ndefault = \"allow\"\n[[access.rule]]\nname = \"x\"\neffect = \"alow\"\n",
        )
        .expect_err("typo");
        assert!(err.contains("line 5"), "{err}");
    }

    #[test]
    fn groups_are_looked_up_only_when_something_uses_them() {
        assert!(!Policy::default().needs_groups());
        assert!(Policy::parse(POLICY).expect("valid").needs_groups());
        assert!(Policy::parse(MAPPING).expect("valid").needs_groups());
        assert!(
            !Policy::parse("[access]\ndefault = \"allow\"\n")
                .expect("valid")
                .needs_groups()
        );
    }

    #[test]
    fn a_grace_period_keeps_a_member_current_for_that_many_days_after_paid_through() {
        let policy = Policy::parse(
            "[access]\ndefault = \"deny\"\ngrace_days = 30\n[[access.rule]]\nname = \"current\"\neffect = \"allow\"\npaid_through = \"current\"\n",
        )
        .expect("valid");
        let paid = |days: u32| profile("A", &[("PaidThrough", &crate::clock::days_ago(days))], &[]);
        assert_eq!(outcome(&policy, paid(0)), Ok(()));
        assert_eq!(outcome(&policy, paid(30)), Ok(()), "the last day of grace");
        assert_eq!(outcome(&policy, paid(31)), Err("the default".into()));
        let strict = Policy::parse(
            "[access]\ndefault = \"deny\"\n[[access.rule]]\nname = \"current\"\neffect = \"allow\"\npaid_through = \"current\"\n",
        )
        .expect("valid");
        assert_eq!(outcome(&strict, paid(1)), Err("the default".into()));
        assert!(strict.needs_paid_through() && !Policy::default().needs_paid_through());
    }

    #[test]
    fn today_is_a_civil_date() {
        let t = today();
        assert!(date(&t).is_some(), "{t}");
        assert!(t.as_str() > "2024-01-01");
    }
}
