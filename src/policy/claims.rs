//! The claim mapping: what Zendesk learns about an admitted member beyond identity.

use std::collections::BTreeMap;

use serde_json::Value;

use super::file::{FieldType, OrganizationSource, TagSource, UserFieldFile};
use super::rules::date;
use crate::members::claims::MappedClaims;
use crate::members::{Member, MemberFacts};

#[derive(Debug, Clone)]
pub(super) struct Mapping {
    pub(super) phone: bool,
    pub(super) phone_types: Option<Vec<String>>,
    pub(super) phone_country: Option<String>,
    pub(super) organization: Option<OrganizationSource>,
    pub(super) tags: Option<(Vec<TagSource>, String, Option<Vec<String>>)>,
    pub(super) user_fields: BTreeMap<String, UserFieldFile>,
    pub(super) locale: bool,
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

impl Mapping {
    pub fn map(&self, mut member: Member, facts: &MemberFacts) -> Member {
        let m = self;
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
                && let Some(t) = facts.member_type.as_deref()
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
        member
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
