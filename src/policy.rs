//! Who may sign in, and what Zendesk learns about them: the optional `POLICY_FILE` (TOML).
//!
//! ```toml
//! [access]
//! default = "deny"                   # when no rule matches: "allow" or "deny" (required)
//! denied_message = "Help-centre access is for current members: membership@example.org"
//!
//! [[access.rule]]                    # first match wins; every condition given must hold
//! name = "current members"
//! effect = "allow"
//! status = ["A"]                     # iMIS PartyStatusId, any of
//! member_type = ["M", "CM"]          # AdditionalAttributes CustomerTypeCode, any of
//! is_member = true                   # AdditionalAttributes IsMember
//! groups = ["Board"]                 # active membership of any of these groups (by name)
//! group_classes = ["Committee"]      # ... or of a group of any of these classes
//! paid_through = "current"           # AdditionalAttributes PaidThrough is today or later
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

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::members::phone::PhonePolicy;
use crate::members::{Member, MemberFacts, MemberProfile, MemberStatus, Refusal};
use crate::members::claims::MappedClaims;

// ---- the file --------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    access: Option<AccessFile>,
    #[serde(default)]
    claims: ClaimsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessFile {
    default: Effect,
    #[serde(default)]
    denied_message: Option<String>,
    #[serde(default, rename = "rule")]
    rules: Vec<Rule>,
}

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
    status: Option<Vec<String>>,
    #[serde(default)]
    member_type: Option<Vec<String>>,
    #[serde(default)]
    is_member: Option<bool>,
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    group_classes: Option<Vec<String>>,
    #[serde(default)]
    paid_through: Option<PaidThrough>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PaidThrough {
    /// The paid-through date is today or later.
    Current,
    /// The paid-through date is in the past (or missing).
    Expired,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClaimsFile {
    #[serde(default)]
    phone: Option<PhoneFile>,
    #[serde(default)]
    organization: Option<OrganizationFile>,
    #[serde(default)]
    tags: Option<TagsFile>,
    #[serde(default)]
    user_fields: BTreeMap<String, UserFieldFile>,
    #[serde(default)]
    locale: bool,
    // Named here only to be refused with a clear message.
    #[serde(default)]
    role: Option<toml::Value>,
    #[serde(default)]
    custom_role_id: Option<toml::Value>,
    #[serde(default)]
    external_id: Option<toml::Value>,
    #[serde(default)]
    email: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PhoneFile {
    #[serde(default = "yes")]
    send: bool,
    #[serde(default)]
    types: Option<Vec<String>>,
    #[serde(default)]
    default_country: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrganizationFile {
    from: OrganizationSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum OrganizationSource {
    Name,
    PartyId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TagsFile {
    from: Vec<TagSource>,
    #[serde(default)]
    prefix: String,
    #[serde(default)]
    allow: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TagSource {
    MemberType,
    Groups,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFieldFile {
    attribute: String,
    #[serde(rename = "type")]
    kind: FieldType,
    #[serde(default)]
    options: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum FieldType {
    Text,
    Checkbox,
    Date,
    Dropdown,
}

// ---- the compiled policy ---------------------------------------------------------------------

/// The access rules and the claim mapping, validated at start-up.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    access: Option<Access>,
    mapping: Mapping,
}

#[derive(Debug, Clone)]
struct Access {
    default: Effect,
    denied_message: Option<String>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone)]
struct Mapping {
    phone: bool,
    phone_types: Option<Vec<String>>,
    phone_country: Option<String>,
    organization: Option<OrganizationSource>,
    tags: Option<(Vec<TagSource>, String, Option<Vec<String>>)>,
    user_fields: BTreeMap<String, UserFieldFile>,
    locale: bool,
}

impl Default for Mapping {
    fn default() -> Self {
        Self {
            phone: true,
            phone_types: None,
            phone_country: None,
            organization: None,
            tags: None,
            user_fields: BTreeMap::new(),
            locale: false,
        }
    }
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

/// How one member was judged, for `policy explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub lines: Vec<String>,
    pub allowed: bool,
    pub decided_by: String,
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
                "POLICY_FILE maps tags: Zendesk REPLACES all of a user's tags with the ones sent at sign-in \
                 (tags added by agents or triggers are lost)"
                    .to_owned(),
            );
        }
        w
    }

    /// Access decision and, when allowed, the member with their mapped claims.
    pub fn admit(
        &self,
        profile: MemberProfile,
        locale_id: Option<&str>,
    ) -> Result<Member, PolicyRefusal> {
        let facts = profile.facts.clone();
        let member = match &self.access {
            None => profile.admit().map_err(PolicyRefusal::Base)?,
            Some(access) => {
                let (effect, rule) = decide(access, &facts, today());
                if effect == Effect::Deny {
                    return Err(PolicyRefusal::Denied {
                        rule,
                        message: access.denied_message.clone(),
                    });
                }
                profile.admit_any_status().map_err(PolicyRefusal::Base)?
            }
        };
        Ok(self.map(member, &facts, locale_id))
    }

    fn map(&self, mut member: Member, facts: &MemberFacts, locale_id: Option<&str>) -> Member {
        let m = &self.mapping;
        if !m.phone {
            member.phone = None;
        }
        let mut claims = MappedClaims::default();
        if let Some(source) = m.organization
            && let Some(org) = &facts.organization
        {
            match source {
                OrganizationSource::Name => claims.organization = non_empty(org.name.as_deref()),
                OrganizationSource::PartyId => {
                    claims.organization_id = non_empty(org.party_id.as_deref())
                }
            }
        }
        if let Some((from, prefix, allow)) = &m.tags {
            let mut tags: Vec<String> = Vec::new();
            if from.contains(&TagSource::MemberType)
                && let Some(t) = facts.attribute("CustomerTypeCode")
            {
                tags.push(t.to_owned());
            }
            if from.contains(&TagSource::Groups) {
                tags.extend(facts.groups.iter().flatten().map(|g| g.name.clone()));
            }
            let mut tags: Vec<String> = tags
                .iter()
                .filter_map(|t| tag(&format!("{prefix}{t}")))
                .filter(|t| {
                    allow
                        .as_ref()
                        .is_none_or(|a| a.iter().any(|x| x.eq_ignore_ascii_case(t)))
                })
                .collect();
            tags.sort();
            tags.dedup();
            // An empty list would remove every tag the user has: send nothing instead.
            if !tags.is_empty() {
                claims.tags = Some(tags);
            }
        }
        let mut fields = BTreeMap::new();
        for (key, field) in &m.user_fields {
            if let Some(value) = facts
                .attribute(&field.attribute)
                .and_then(|raw| field_value(field, raw))
            {
                fields.insert(key.clone(), value);
            }
        }
        if !fields.is_empty() {
            claims.user_fields = Some(fields);
        }
        member.claims = claims;
        self.apply_locale(&mut member, locale_id);
        member
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

    /// Every rule's verdict on one member, for `policy explain`.
    pub fn explain(&self, profile: &MemberProfile) -> Explanation {
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
            None => {
                lines.push("groups           (not looked up: no rule or mapping uses them)".into())
            }
        }
        let (allowed, decided_by) = match &self.access {
            None => {
                let ok = profile.status == MemberStatus::Active;
                lines.push(
                    "policy           none (POLICY_FILE not set): active members may sign in"
                        .into(),
                );
                (
                    ok,
                    if ok {
                        "status A".into()
                    } else {
                        "status is not A".into()
                    },
                )
            }
            Some(access) => {
                for rule in &access.rules {
                    let verdict = match matches(rule, facts, today()) {
                        true => "matches",
                        false => "does not match",
                    };
                    lines.push(format!(
                        "rule             {:?} ({:?}): {verdict}",
                        rule.name, rule.effect
                    ));
                }
                let (effect, rule) = decide(access, facts, today());
                (effect == Effect::Allow, rule)
            }
        };
        let base = profile.clone().admit_any_status();
        let allowed = allowed && base.is_ok();
        if let Err(refusal) = base {
            lines.push(format!("base rule        {refusal}"));
        }
        lines.push(format!(
            "decision         {} (decided by {decided_by})",
            if allowed { "ALLOWED" } else { "DENIED" }
        ));
        if allowed && let Ok(member) = profile.clone().admit_any_status() {
            let member = self.map(member, facts, None);
            let claims = crate::zendesk::jwt::ZendeskClaims::for_member(&member, 0);
            if let Ok(json) = serde_json::to_string_pretty(&claims) {
                lines.push(format!("claims sent      {json}"));
            }
        }
        Explanation {
            lines,
            allowed,
            decided_by,
        }
    }
}

fn non_empty(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// Zendesk tags: lower case, no spaces.
fn tag(raw: &str) -> Option<String> {
    let t: String = raw
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_whitespace() { '_' } else { c })
        .filter(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | ':' | '/'))
        .collect();
    (!t.is_empty()).then_some(t)
}

fn field_value(field: &UserFieldFile, raw: &str) -> Option<Value> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    match field.kind {
        FieldType::Text => Some(Value::String(raw.to_owned())),
        FieldType::Checkbox => match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" => Some(Value::Bool(true)),
            "false" | "0" | "no" | "n" => Some(Value::Bool(false)),
            _ => None,
        },
        FieldType::Date => date(raw).map(Value::String),
        FieldType::Dropdown => {
            let value = tag(raw)?;
            field
                .options
                .as_ref()
                .is_none_or(|o| o.iter().any(|x| x == &value))
                .then_some(Value::String(value))
        }
    }
}

/// `yyyy-mm-dd` from an ISO date or date-time (iMIS writes `2020-01-15T00:00:00`).
fn date(raw: &str) -> Option<String> {
    let d = raw.get(..10)?;
    let b = d.as_bytes();
    let digits = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_digit);
    let ok = digits(0..4) && b[4] == b'-' && digits(5..7) && b[7] == b'-' && digits(8..10);
    let month: u32 = d[5..7].parse().ok()?;
    let day: u32 = d[8..10].parse().ok()?;
    (ok && (1..=12).contains(&month) && (1..=31).contains(&day)).then(|| d.to_owned())
}

fn today() -> String {
    let days = crate::clock::unix_now().div_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

fn any_of(list: &Option<Vec<String>>, value: Option<&str>) -> bool {
    match list {
        None => true,
        Some(list) => {
            value.is_some_and(|v| list.iter().any(|x| x.trim().eq_ignore_ascii_case(v.trim())))
        }
    }
}

fn matches(rule: &Rule, facts: &MemberFacts, today: String) -> bool {
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
    let is_member = rule.is_member.is_none_or(|want| {
        facts
            .attribute("IsMember")
            .is_some_and(|v| v.eq_ignore_ascii_case(if want { "true" } else { "false" }))
    });
    let paid = rule.paid_through.is_none_or(|want| {
        let current = facts
            .attribute("PaidThrough")
            .and_then(date)
            .is_some_and(|d| d >= today);
        (want == PaidThrough::Current) == current
    });
    any_of(&rule.status, Some(&facts.status_code))
        && any_of(&rule.member_type, facts.attribute("CustomerTypeCode"))
        && is_member
        && in_group
        && in_class
        && paid
}

fn decide(access: &Access, facts: &MemberFacts, today: String) -> (Effect, String) {
    for rule in &access.rules {
        if matches(rule, facts, today.clone()) {
            return (rule.effect, format!("rule {:?}", rule.name));
        }
    }
    (access.default, "the default".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::members::{GroupMembership, Organization};

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
            shares_primary_email: false,
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
            },
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
    fn today_is_a_civil_date() {
        let t = today();
        assert!(date(&t).is_some(), "{t}");
        assert!(t.as_str() > "2024-01-01");
    }
}
