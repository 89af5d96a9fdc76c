//! The optional IQA profile query (`IMIS_PROFILE_QUERY`): one request, run with the member's own
//! token, that returns the member's row — id, name, primary e-mail, phone, status, member type —
//! instead of the user look-up and the party read. Rows come as `GenericEntityData` with
//! `Properties.$values[{Name, Value}]` (values bare or wrapped) or, on some versions, as flat
//! objects; columns are found by the names `IMIS_PROFILE_COLUMNS` gives.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::members::phone::PhonePolicy;
use crate::members::{MemberFacts, MemberProfile, MemberStatus};

/// Which column holds what (`IMIS_PROFILE_COLUMNS`, `key=Column` pairs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileColumns {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: String,
    pub status: String,
    pub member_type: String,
    pub is_member: String,
    pub paid_through: String,
    /// The number of *other* active records with the same primary e-mail (optional: without it
    /// the duplicate check costs one more request).
    pub shares_email: String,
}

impl Default for ProfileColumns {
    fn default() -> Self {
        Self {
            id: "ID".into(),
            name: "FullName".into(),
            email: "Email".into(),
            phone: "Phone".into(),
            status: "Status".into(),
            member_type: "MemberType".into(),
            is_member: "IsMember".into(),
            paid_through: "PaidThrough".into(),
            shares_email: "OtherRecordsWithEmail".into(),
        }
    }
}

impl ProfileColumns {
    /// `id=ImisId,email=PrimaryEmail`: the given keys replace the defaults.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut columns = Self::default();
        for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, column) = pair
                .split_once('=')
                .ok_or_else(|| format!("`{pair}` is not key=Column"))?;
            let slot = match key.trim() {
                "id" => &mut columns.id,
                "name" => &mut columns.name,
                "email" => &mut columns.email,
                "phone" => &mut columns.phone,
                "status" => &mut columns.status,
                "member_type" => &mut columns.member_type,
                "is_member" => &mut columns.is_member,
                "paid_through" => &mut columns.paid_through,
                "shares_email" => &mut columns.shares_email,
                other => return Err(format!("unknown key `{other}`")),
            };
            *slot = column.trim().to_owned();
        }
        Ok(columns)
    }
}

/// The query's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileQuery {
    /// The IQA path, e.g. `$/ZendeskSSO/Profile`.
    pub path: String,
    pub columns: ProfileColumns,
}

/// The first row of a query answer as column → text (case-insensitive names); `None` for no row
/// (a Guest's token).
pub fn first_row(answer: &Value) -> Option<BTreeMap<String, String>> {
    let items = answer.get("Items").unwrap_or(answer);
    let rows = match items {
        Value::Array(rows) => rows,
        Value::Object(map) => match map.get("$values") {
            Some(Value::Array(rows)) => rows,
            _ => return None,
        },
        _ => return None,
    };
    let row = rows.first()?;
    let mut cells = BTreeMap::new();
    match row.get("Properties") {
        Some(properties) => {
            let list = properties
                .get("$values")
                .or(Some(properties))
                .and_then(Value::as_array)?;
            for property in list {
                if let (Some(name), Some(value)) = (
                    property.get("Name").and_then(Value::as_str),
                    property.get("Value").and_then(scalar),
                ) {
                    cells.insert(name.to_ascii_lowercase(), value);
                }
            }
        }
        None => {
            for (name, value) in row.as_object()? {
                if let Some(value) = scalar(value) {
                    cells.insert(name.to_ascii_lowercase(), value);
                }
            }
        }
    }
    Some(cells)
}

fn scalar(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Object(map) => map.get("$value").and_then(scalar),
        _ => None,
    }
}

/// The member's profile from their row; `None` when the row has no id.
pub fn profile_from_row(
    row: &BTreeMap<String, String>,
    columns: &ProfileColumns,
    phone: &PhonePolicy,
) -> Option<MemberProfile> {
    let cell = |name: &str| {
        row.get(&name.to_ascii_lowercase())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let id = cell(&columns.id)?;
    let status_code = cell(&columns.status).unwrap_or_default();
    let status = match status_code.as_str() {
        "A" | "a" | "Active" | "active" => MemberStatus::Active,
        other => MemberStatus::Inactive {
            code: other.to_owned(),
        },
    };
    Some(MemberProfile {
        name: cell(&columns.name).unwrap_or_default(),
        email: cell(&columns.email),
        phone: cell(&columns.phone).and_then(|p| phone.to_e164(&p)),
        status,
        email_sharing: crate::members::email::Sharing::searched(
            cell(&columns.shares_email)
                .and_then(|n| n.parse::<u64>().ok())
                .is_some_and(|n| n > 0),
        ),
        facts: MemberFacts {
            status_code,
            member_type: cell(&columns.member_type),
            is_member: cell(&columns.is_member).and_then(|v| v.to_ascii_lowercase().parse().ok()),
            paid_through: cell(&columns.paid_through),
            ..MemberFacts::default()
        },
        id,
    })
}

/// Whether the row says how many other records share the e-mail (so no search is needed).
pub fn counts_shared_email(row: &BTreeMap<String, String>, columns: &ProfileColumns) -> bool {
    row.contains_key(&columns.shares_email.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generic_entity_rows_and_flat_rows_are_both_read() {
        let generic = json!({"Items": {"$values": [{"$type": "Asi.Soa.Core.DataContracts.GenericEntityData",
            "Properties": {"$values": [
                {"Name": "ID", "Value": "20277"},
                {"Name": "FullName", "Value": "Art Abingdon"},
                {"Name": "Email", "Value": "art@example.org"},
                {"Name": "Status", "Value": "A"},
                {"Name": "IsMember", "Value": {"$type": "System.Boolean", "$value": true}},
                {"Name": "OtherRecordsWithEmail", "Value": {"$type": "System.Int32", "$value": 0}}]}}]}});
        let flat = json!({"Items": {"$values": [{"id": 20277, "fullname": "Art Abingdon",
            "email": "art@example.org", "status": "A", "ismember": "true"}]}});
        for answer in [generic, flat] {
            let row = first_row(&answer).expect("a row");
            let p = profile_from_row(&row, &ProfileColumns::default(), &PhonePolicy::default())
                .expect("a profile");
            assert_eq!(p.id, "20277");
            assert_eq!(p.email.as_deref(), Some("art@example.org"));
            assert_eq!(p.status, MemberStatus::Active);
            assert_eq!(p.facts.is_member, Some(true));
        }
        assert!(
            first_row(&json!({"Items": {"$values": []}})).is_none(),
            "a Guest"
        );
    }

    #[test]
    fn columns_are_configurable() {
        let c = ProfileColumns::parse("id=ImisId, email = PrimaryEmail").expect("parses");
        assert_eq!(c.id, "ImisId");
        assert_eq!(c.email, "PrimaryEmail");
        assert_eq!(c.name, "FullName");
        assert!(ProfileColumns::parse("colour=Blue").is_err());
    }
}
