//! iMIS wire format, read tolerantly, and its mapping to [`MemberProfile`].
//!
//! iMIS versions disagree on shapes, so: every `$type` is ignored; a collection is
//! `{"$values": [...]}` or a bare array; a scalar may be wrapped as `{"$value": ...}`; every
//! field is optional; unknown keys are ignored; an element that cannot be read is skipped.

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::members::phone::PhonePolicy;
use crate::members::{GroupMembership, MemberFacts, MemberProfile, MemberStatus, Organization};

/// A collection in either of iMIS's shapes; unreadable elements are skipped.
#[derive(Debug)]
pub struct Values<T>(pub Vec<T>);

impl<T> Default for Values<T> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Values<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = match Value::deserialize(d)? {
            Value::Array(items) => items,
            Value::Object(mut map) => match map.remove("$values") {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(Values(
            items
                .into_iter()
                .filter_map(|item| serde_json::from_value(item).ok())
                .collect(),
        ))
    }
}

/// A scalar as text: strings, numbers and booleans, bare or wrapped in `{"$value": ...}`.
fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    fn of(v: &Value) -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Object(map) => map.get("$value").and_then(of),
            _ => None,
        }
    }
    Ok(of(&Value::deserialize(d)?))
}

/// A boolean: `true`, `"true"`, `{"$type": "System.Boolean", "$value": true}`, ...
fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(
        text(d)?.and_then(|s| match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        }),
    )
}

/// `POST /token` success body.
#[derive(Debug, Deserialize)]
pub struct TokenResponse {
    #[serde(default, deserialize_with = "text")]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub expires_in: Option<String>,
    #[serde(
        default,
        alias = "username",
        alias = "UserName",
        deserialize_with = "text"
    )]
    #[serde(rename = "userName")]
    pub user_name: Option<String>,
}

/// `POST /token` error body (OAuth 2).
#[derive(Debug, Default, Deserialize)]
pub struct OAuthError {
    #[serde(default, deserialize_with = "text")]
    pub error: Option<String>,
}

/// A PagedResult envelope; only `Items` matters here.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PagedResult<T> {
    #[serde(default = "Values::default", bound = "T: DeserializeOwned")]
    pub items: Values<T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserData {
    #[serde(default, deserialize_with = "text")]
    pub user_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    pub user_name: Option<String>,
    // Whether iMIS still lets this login in. The field names are not documented (UNSETTLED):
    // every spelling seen or plausible is read, and any one that says "no" is believed.
    #[serde(default, deserialize_with = "flag")]
    is_disabled: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    disabled: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    is_locked_out: Option<bool>,
    #[serde(default, deserialize_with = "flag")]
    is_active: Option<bool>,
    #[serde(default, deserialize_with = "text")]
    effective_date: Option<String>,
    #[serde(default, deserialize_with = "text")]
    expiration_date: Option<String>,
    #[serde(default)]
    status: Option<Value>,
}

impl UserData {
    /// Why iMIS no longer lets this login in, if its record says so: disabled, locked out,
    /// inactive, not yet effective or expired on `today` (`yyyy-mm-dd`).
    pub fn closed_because(&self, today: &str) -> Option<&'static str> {
        let date = |raw: &Option<String>| raw.as_deref().and_then(crate::clock::date);
        if self.is_disabled == Some(true) || self.disabled == Some(true) {
            return Some("disabled");
        }
        if self.is_locked_out == Some(true) {
            return Some("locked out");
        }
        if self.is_active == Some(false) {
            return Some("inactive");
        }
        if date(&self.expiration_date).is_some_and(|d| d.as_str() < today) {
            return Some("expired");
        }
        if date(&self.effective_date).is_some_and(|d| d.as_str() > today) {
            return Some("not yet effective");
        }
        let status = match &self.status {
            Some(Value::String(s)) => Some(s.as_str()),
            Some(Value::Object(map)) => map
                .get("Name")
                .or_else(|| map.get("$value"))
                .and_then(Value::as_str),
            _ => None,
        };
        match status.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            Some("disabled" | "inactive" | "expired" | "locked" | "lockedout") => {
                Some("its status says so")
            }
            _ => None,
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PersonData {
    #[serde(default, deserialize_with = "text")]
    party_id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default)]
    person_name: Option<PersonName>,
    #[serde(default)]
    status: Option<Status>,
    #[serde(default)]
    emails: Values<EmailData>,
    #[serde(default)]
    phones: Values<PhoneData>,
    #[serde(default)]
    alternate_ids: Values<AlternateId>,
    #[serde(default)]
    additional_attributes: Values<Attribute>,
    #[serde(default)]
    primary_organization: Option<PrimaryOrganization>,
}

/// A contact (`GET /api/CsContact/{id}`): a generic entity whose `Properties` carry
/// `PaidThrough`, `MemberType`, `RenewMonths`, ...
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContactData {
    #[serde(default)]
    properties: Values<Attribute>,
}

impl ContactData {
    /// A property's value by name (case-insensitive), if present and not blank.
    pub fn property(&self, name: &str) -> Option<&str> {
        self.properties
            .0
            .iter()
            .find(|p| {
                p.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|p| p.value.as_deref())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Attribute {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PrimaryOrganization {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    organization_party_id: Option<String>,
}

/// One row of `GET /api/GroupMember?PartyId=`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupMemberData {
    #[serde(default)]
    group: Option<GroupData>,
    #[serde(default, deserialize_with = "flag")]
    is_active: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupData {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
    #[serde(default)]
    group_class: Option<GroupClass>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GroupClass {
    #[serde(default, deserialize_with = "text")]
    name: Option<String>,
}

impl GroupMemberData {
    /// The membership, if it is active (a missing `IsActive` counts as active) and named.
    pub fn into_membership(self) -> Option<GroupMembership> {
        if self.is_active == Some(false) {
            return None;
        }
        let group = self.group?;
        Some(GroupMembership {
            name: present(&group.name)?.to_owned(),
            class: group
                .group_class
                .and_then(|c| present(&c.name).map(str::to_owned)),
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PersonName {
    #[serde(default, deserialize_with = "text")]
    full_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    first_name: Option<String>,
    #[serde(default, deserialize_with = "text")]
    last_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Status {
    #[serde(default, deserialize_with = "text")]
    party_status_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EmailData {
    #[serde(default, deserialize_with = "text")]
    address: Option<String>,
    #[serde(default, deserialize_with = "text")]
    email_type: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    is_primary: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PhoneData {
    #[serde(default, deserialize_with = "text")]
    number: Option<String>,
    #[serde(default, deserialize_with = "text")]
    phone_type: Option<String>,
    #[serde(default, deserialize_with = "flag")]
    is_primary: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AlternateId {
    #[serde(default, deserialize_with = "text")]
    id: Option<String>,
    #[serde(default, deserialize_with = "text")]
    id_type: Option<String>,
}

fn present(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl PersonData {
    /// The iMIS ID: `PartyId`, else `Id`, else the `AlternateIds` entry of type `Id`.
    pub fn imis_id(&self) -> Option<&str> {
        present(&self.party_id).or(present(&self.id)).or_else(|| {
            self.alternate_ids
                .0
                .iter()
                .find(|a| present(&a.id_type).is_some_and(|t| t.eq_ignore_ascii_case("Id")))
                .and_then(|a| present(&a.id))
        })
    }

    /// `PersonName.FullName`, else `Name`, else first and last name.
    fn full_name(&self) -> String {
        let person = self.person_name.as_ref();
        if let Some(full) = person.and_then(|p| present(&p.full_name)) {
            return full.to_owned();
        }
        if let Some(name) = present(&self.name) {
            return name.to_owned();
        }
        person
            .map(|p| {
                [present(&p.first_name), present(&p.last_name)]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .unwrap_or_default()
    }

    /// The entry flagged `IsPrimary`, else the one of type `_Primary`.
    fn primary_email(&self) -> Option<String> {
        let with_address = || {
            self.emails
                .0
                .iter()
                .filter(|e| present(&e.address).is_some())
        };
        with_address()
            .find(|e| e.is_primary == Some(true))
            .or_else(|| {
                with_address().find(|e| {
                    present(&e.email_type).is_some_and(|t| t.eq_ignore_ascii_case("_Primary"))
                })
            })
            .and_then(|e| present(&e.address))
            .map(str::to_owned)
    }

    /// The phone flagged `IsPrimary`, else the first by the configured `PhoneType` preference,
    /// taking the first candidate that is a valid number.
    fn primary_phone(&self, policy: &PhonePolicy) -> Option<String> {
        let numbers = || {
            self.phones
                .0
                .iter()
                .filter(|p| present(&p.number).is_some())
        };
        let flagged = numbers().filter(|p| p.is_primary == Some(true));
        let by_type = policy.preferred_types().iter().flat_map(|wanted| {
            numbers().filter(move |p| {
                p.is_primary != Some(true)
                    && present(&p.phone_type).is_some_and(|t| t.eq_ignore_ascii_case(wanted))
            })
        });
        flagged
            .chain(by_type)
            .find_map(|p| present(&p.number).and_then(|n| policy.to_e164(n)))
    }

    /// Maps to our domain type; `None` when the record has no iMIS ID at all.
    pub fn into_profile(self, policy: &PhonePolicy) -> Option<MemberProfile> {
        let id = self.imis_id()?.to_owned();
        let status_code = self
            .status
            .as_ref()
            .and_then(|s| present(&s.party_status_id))
            .unwrap_or_default()
            .to_owned();
        let attributes = self
            .additional_attributes
            .0
            .iter()
            .filter_map(|a| {
                Some((
                    present(&a.name)?.to_owned(),
                    a.value.clone().unwrap_or_default(),
                ))
            })
            .collect();
        let organization = self.primary_organization.as_ref().map(|o| Organization {
            name: present(&o.name).map(str::to_owned),
            party_id: present(&o.organization_party_id).map(str::to_owned),
        });
        let status = match self
            .status
            .as_ref()
            .and_then(|s| present(&s.party_status_id))
        {
            Some(code) if code.eq_ignore_ascii_case("A") => MemberStatus::Active,
            Some(code) => MemberStatus::Inactive {
                code: code.to_owned(),
            },
            None => MemberStatus::Inactive {
                code: "unknown".into(),
            },
        };
        Some(MemberProfile {
            id,
            name: self.full_name(),
            email: self.primary_email(),
            phone: self.primary_phone(policy),
            status,
            email_sharing: Default::default(),
            facts: MemberFacts {
                status_code,
                attributes,
                organization,
                groups: None,
                ..MemberFacts::default()
            }
            .with_typed_from_attributes(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(json: &str) -> Option<MemberProfile> {
        let person: PersonData = serde_json::from_str(json).expect("parses");
        person.into_profile(&PhonePolicy::default())
    }

    /// The PersonData example of the iMIS reference, shared with the benchmarks.
    const REFERENCE_EXAMPLE: &str = include_str!("../../../tests/fixtures/imis/person.json");

    #[test]
    fn the_reference_person_maps_to_a_profile() {
        let p = map(REFERENCE_EXAMPLE).expect("mapped");
        assert_eq!(p.id, "20277");
        assert_eq!(p.name, "Mr. Art Abingdon");
        assert_eq!(p.email.as_deref(), Some("artabingdon@imisdemo.com"));
        assert_eq!(p.phone.as_deref(), Some("+13103884000"));
        assert_eq!(p.status, MemberStatus::Active);
    }

    #[test]
    fn a_contacts_paid_through_is_read_bare_or_wrapped() {
        for body in [
            r#"{"$type":"Asi.Soa.Core.DataContracts.GenericEntityData, Asi.Contracts","EntityTypeName":"CsContact",
                "Properties":{"$values":[{"Name":"MemberType","Value":"M"},{"Name":"PaidThrough","Value":{"$type":"System.DateTime","$value":"2026-12-31T00:00:00"}}]}}"#,
            r#"{"Properties":[{"Name":"paidthrough","Value":"2026-12-31T00:00:00"}]}"#,
        ] {
            let contact: ContactData = serde_json::from_str(body).expect("parses");
            assert_eq!(contact.property("PaidThrough"), Some("2026-12-31T00:00:00"));
        }
        let empty: ContactData = serde_json::from_str(
            r#"{"Properties":{"$values":[{"Name":"PaidThrough","Value":""}]}}"#,
        )
        .expect("parses");
        assert_eq!(empty.property("PaidThrough"), None);
    }

    #[test]
    fn bare_arrays_work_like_dollar_values() {
        let p = map(r#"{"PartyId":"1","Status":{"PartyStatusId":"A"},
            "Emails":[{"Address":"a@example.org","EmailType":"_Primary"}],
            "Phones":[{"Number":"(202) 555-0173","PhoneType":"_Home Phone"}]}"#)
        .expect("mapped");
        assert_eq!(p.email.as_deref(), Some("a@example.org"));
        assert_eq!(p.phone.as_deref(), Some("+12025550173"));
    }

    #[test]
    fn wrapped_scalars_and_numbers_are_read_as_values() {
        let p = map(r#"{"PartyId":{"$type":"System.String","$value":"77"},
            "Status":{"PartyStatusId":{"$value":"a"}},
            "Emails":{"$values":[{"Address":"x@example.org","IsPrimary":{"$type":"System.Boolean","$value":true}}]}}"#)
        .expect("mapped");
        assert_eq!(p.id, "77");
        assert_eq!(p.status, MemberStatus::Active);
        assert_eq!(p.email.as_deref(), Some("x@example.org"));
        assert_eq!(map(r#"{"PartyId":20277}"#).expect("mapped").id, "20277");
    }

    #[test]
    fn is_primary_wins_over_the_primary_type_and_a_false_flag_is_not_primary() {
        let p = map(r#"{"Id":"5","Emails":{"$values":[
            {"Address":"typed@example.org","EmailType":"_Primary","IsPrimary":false},
            {"Address":"flagged@example.org","EmailType":"Other","IsPrimary":"true"}]}}"#)
        .expect("mapped");
        assert_eq!(p.email.as_deref(), Some("flagged@example.org"));
    }

    #[test]
    fn missing_optional_keys_give_an_inactive_profile_without_contact_details() {
        let p = map(r#"{"Id":"9"}"#).expect("mapped");
        assert_eq!(p.email, None);
        assert_eq!(p.phone, None);
        assert_eq!(p.name, "");
        assert!(matches!(p.status, MemberStatus::Inactive { .. }));
    }

    #[test]
    fn the_id_can_come_from_alternate_ids_and_the_name_from_its_parts() {
        let p = map(r#"{"AlternateIds":{"$values":[{"Id":"X1","IdType":"MajorKey"},{"Id":"42","IdType":"Id"}]},
            "PersonName":{"FirstName":"Grace","LastName":"Hopper"}}"#)
        .expect("mapped");
        assert_eq!(p.id, "42");
        assert_eq!(p.name, "Grace Hopper");
        assert!(map(r#"{"Name":"No Id"}"#).is_none());
    }

    #[test]
    fn phone_preference_follows_the_configured_types_and_skips_invalid_numbers() {
        let json = r#"{"Id":"1","Phones":{"$values":[
            {"Number":"(145)070-4643","PhoneType":"Mobile"},
            {"Number":"(202) 555-0173","PhoneType":"_Home Phone"},
            {"Number":"(310) 388-4000","PhoneType":"_Work Phone"}]}}"#;
        let person: PersonData = serde_json::from_str(json).expect("parses");
        let mobile_first = PhonePolicy::default()
            .with_preferred_types(vec!["Mobile".into(), "_Home Phone".into()]);
        assert_eq!(
            person
                .into_profile(&mobile_first)
                .and_then(|p| p.phone)
                .as_deref(),
            Some("+12025550173")
        );
        let p = map(r#"{"Id":"1","Phones":[{"Number":"(310) 388-4000","PhoneType":"_Fax"}]}"#)
            .expect("mapped");
        assert_eq!(p.phone, None, "a fax is not a phone to call");
    }

    #[test]
    fn unknown_keys_and_unreadable_elements_are_ignored() {
        let p = map(r#"{"Id":"1","Surprise":{"deep":[1,2]},"Emails":{"$values":[
            "not an object", {"Address":"ok@example.org","IsPrimary":true,"Extra":1}]}}"#)
        .expect("mapped");
        assert_eq!(p.email.as_deref(), Some("ok@example.org"));
    }

    #[test]
    fn attributes_and_the_organization_are_kept_as_facts() {
        let p = map(REFERENCE_EXAMPLE).expect("mapped");
        assert_eq!(p.facts.status_code, "A");
        assert_eq!(p.facts.attribute("customertypecode"), Some("M"));
        assert_eq!(
            p.facts.attribute("IsMember"),
            Some("true"),
            "a wrapped boolean as text"
        );
        let org = p.facts.organization.expect("organization");
        assert_eq!(org.name.as_deref(), Some("Versaton Global Headquarters"));
        assert_eq!(org.party_id.as_deref(), Some("23087"));
    }

    #[test]
    fn group_rows_read_in_both_shapes_and_inactive_ones_are_dropped() {
        let page: PagedResult<GroupMemberData> = serde_json::from_str(
            r#"{"Items":{"$values":[
              {"Group":{"Name":"Board","GroupClass":{"Name":"Governance"}},"IsActive":true},
              {"Group":{"Name":"Old committee"},"IsActive":{"$type":"System.Boolean","$value":false}},
              {"Group":{"Name":"Golf"}}]}}"#,
        )
        .expect("parses");
        let groups: Vec<_> = page
            .items
            .0
            .into_iter()
            .filter_map(GroupMemberData::into_membership)
            .collect();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].class.as_deref(), Some("Governance"));
        assert_eq!(groups[1].name, "Golf");
    }

    #[test]
    fn user_search_results_read_in_both_shapes() {
        for json in [
            r#"{"$type":"Asi.Soa.Core.DataContracts.PagedResult","Items":{"$type":"x","$values":[{"UserId":"20277","UserName":"Art"}]},"Count":1}"#,
            r#"{"Items":[{"UserId":20277,"UserName":"Art"}],"TotalCount":1}"#,
        ] {
            let page: PagedResult<UserData> = serde_json::from_str(json).expect("parses");
            assert_eq!(page.items.0[0].user_id.as_deref(), Some("20277"), "{json}");
        }
    }
}
