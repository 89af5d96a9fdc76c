//! The optional IQA profile query (`IMIS_PROFILE_QUERY`): one request, run with the member's own
//! token, that returns the member's row — id, name, primary e-mail, phone, status, member type —
//! instead of the user look-up and the party read. Rows come as `GenericEntityData` with
//! `Properties.$values[{Name, Value}]` (values bare or wrapped) or, on some versions, as flat
//! objects; columns are found by the names `IMIS_PROFILE_COLUMNS` gives.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::members::phone::PhonePolicy;
use crate::members::{MemberFacts, MemberProfile, MemberStatus, Organization};

/// Which column holds what (`IMIS_PROFILE_COLUMNS`, `key=Column` pairs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileColumns {
    pub id: String,
    /// The row's iMIS user name: it must be the one iMIS proved (the token's `userName`).
    pub user_name: String,
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
    /// The member's organisation: its name and party id (optional).
    pub organization: String,
    pub organization_id: String,
}

impl Default for ProfileColumns {
    fn default() -> Self {
        Self {
            id: "ID".into(),
            user_name: "UserName".into(),
            name: "FullName".into(),
            email: "Email".into(),
            phone: "Phone".into(),
            status: "Status".into(),
            member_type: "MemberType".into(),
            is_member: "IsMember".into(),
            paid_through: "PaidThrough".into(),
            shares_email: "OtherRecordsWithEmail".into(),
            organization: "Organization".into(),
            organization_id: "OrganizationId".into(),
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
                "user_name" => &mut columns.user_name,
                "name" => &mut columns.name,
                "email" => &mut columns.email,
                "phone" => &mut columns.phone,
                "status" => &mut columns.status,
                "member_type" => &mut columns.member_type,
                "is_member" => &mut columns.is_member,
                "paid_through" => &mut columns.paid_through,
                "shares_email" => &mut columns.shares_email,
                "organization" => &mut columns.organization,
                "organization_id" => &mut columns.organization_id,
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

/// One row of a query answer: column (lower case) → text.
pub type Row = BTreeMap<String, String>;

/// The one row of a query that identifies exactly one member: `Ok(None)` for no row (a Guest's
/// token), an error in words for more than one (or a `TotalCount` above one): a query that does
/// not filter on the signed-in contact (a prompt called without its value does not filter).
pub fn only_row(answer: &Value) -> Result<Option<Row>, String> {
    let rows = rows_of(answer)?;
    let total = answer
        .get("TotalCount")
        .and_then(scalar)
        .and_then(|t| number(&t));
    if rows.len() > 1 || total.is_some_and(|t| t > 1.0) {
        return Err(format!(
            "it returned {} rows (TotalCount {}), not the signed-in member's one",
            rows.len(),
            total.map_or("not given".to_owned(), |t| t.to_string())
        ));
    }
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    row_cells(row)
        .map(Some)
        .ok_or_else(|| "its row is neither Properties nor a flat object".into())
}

/// The rows of a query answer (`Items`, as `$values` or a bare list).
fn rows_of(answer: &Value) -> Result<&Vec<Value>, String> {
    match answer.get("Items").unwrap_or(answer) {
        Value::Array(rows) => Ok(rows),
        Value::Object(map) => match map.get("$values") {
            Some(Value::Array(rows)) => Ok(rows),
            _ => Err("the answer has no list of rows".into()),
        },
        _ => Err("the answer has no list of rows".into()),
    }
}

/// The first row of a query answer as column → text (case-insensitive names); `None` for no row
/// (a Guest's token).
#[cfg(test)]
fn first_row(answer: &Value) -> Option<Row> {
    let items = answer.get("Items").unwrap_or(answer);
    let rows = match items {
        Value::Array(rows) => rows,
        Value::Object(map) => match map.get("$values") {
            Some(Value::Array(rows)) => rows,
            _ => return None,
        },
        _ => return None,
    };
    row_cells(rows.first()?)
}

fn row_cells(row: &Value) -> Option<Row> {
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

/// A number as IQA may type it: `0`, `1.0`, `"1.00"`, `{"$type":"System.Decimal","$value":1.0}`
/// (already unwrapped by [`scalar`]).
fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Whether the row says another record shares the member's e-mail, read by meaning: a count in
/// any numeric form (above zero: shared) or a flag (`true`/`false`, `yes`/`no`). `None` when the
/// column is absent or unreadable: then the search decides, never "alone".
pub fn shared_email(row: &Row, columns: &ProfileColumns) -> Option<bool> {
    let value = row.get(&columns.shares_email.to_ascii_lowercase())?;
    if let Some(n) = number(value) {
        return Some(n > 0.0);
    }
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

/// The row's user name, if the query returns one.
pub fn user_name(row: &Row, columns: &ProfileColumns) -> Option<String> {
    row.get(&columns.user_name.to_ascii_lowercase())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
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
    row: &Row,
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
            shared_email(row, columns).unwrap_or(false),
        ),
        facts: MemberFacts {
            status_code,
            member_type: cell(&columns.member_type),
            is_member: cell(&columns.is_member).and_then(|v| v.to_ascii_lowercase().parse().ok()),
            paid_through: cell(&columns.paid_through),
            organization: organization(cell(&columns.organization), cell(&columns.organization_id)),
            ..MemberFacts::default()
        },
        id,
    })
}

fn organization(name: Option<String>, party_id: Option<String>) -> Option<Organization> {
    (name.is_some() || party_id.is_some()).then_some(Organization { name, party_id })
}

/// A listing query's page: its rows, and the offset of the next page if there is one.
pub struct ListingPage {
    pub rows: Vec<Row>,
    pub next_offset: Option<usize>,
}

/// One page of a listing query (`IMIS_MEMBERS_QUERY`) read at `offset`: every row, and where the
/// next page starts (`NextOffset`, else offset + rows while `HasNext`). An answer without a
/// list of rows is an error, never an empty directory.
pub fn listing_page(answer: &Value, offset: usize) -> Result<ListingPage, String> {
    let rows = rows_of(answer)?;
    let rows: Vec<Row> = rows
        .iter()
        .map(|r| row_cells(r).ok_or("a row is neither Properties nor a flat object"))
        .collect::<Result<_, _>>()?;
    let flag = |key: &str| {
        answer
            .get(key)
            .and_then(scalar)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    };
    let next = answer
        .get("NextOffset")
        .and_then(scalar)
        .and_then(|n| number(&n))
        .map(|n| n as usize)
        .filter(|n| *n > offset);
    let next_offset = match flag("HasNext") {
        true => Some(next.unwrap_or(offset + rows.len())),
        false => None,
    };
    if next_offset.is_some() && rows.is_empty() {
        return Err("it says there is a next page after an empty one".into());
    }
    Ok(ListingPage { rows, next_offset })
}

/// Whether the row says, readably, whether other records share the e-mail (so no search is
/// needed).
pub fn counts_shared_email(row: &Row, columns: &ProfileColumns) -> bool {
    shared_email(row, columns).is_some()
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

    #[test]
    fn the_shared_count_is_read_by_meaning_in_every_form() {
        let columns = ProfileColumns::default();
        let row = |value: Value| {
            first_row(&json!({"Items": {"$values": [{"Properties": {"$values": [
                {"Name": "ID", "Value": "1"},
                {"Name": "OtherRecordsWithEmail", "Value": value}]}}]}}))
            .expect("a row")
        };
        for (value, shared) in [
            (
                json!({"$type": "System.Decimal", "$value": 1.0}),
                Some(true),
            ),
            (json!("1.00"), Some(true)),
            (json!(2.0), Some(true)),
            (json!(true), Some(true)),
            (json!({"$type": "System.Int32", "$value": 0}), Some(false)),
            (json!("0.00"), Some(false)),
            (json!(false), Some(false)),
            (json!("several"), None),
        ] {
            let row = row(value.clone());
            assert_eq!(shared_email(&row, &columns), shared, "{value}");
            assert_eq!(counts_shared_email(&row, &columns), shared.is_some());
        }
    }

    #[test]
    fn a_listing_is_read_page_by_page_and_an_answer_without_rows_is_an_error() {
        let page = json!({"Items": {"$values": [
            {"Properties": {"$values": [{"Name": "ID", "Value": "1"}, {"Name": "OrganizationId", "Value": "23087"}]}},
            {"ID": "2"}]}, "Offset": 0, "Limit": 2, "Count": 2, "TotalCount": 5, "HasNext": true, "NextOffset": 2});
        let read = listing_page(&page, 0).expect("a page");
        assert_eq!(read.rows.len(), 2);
        assert_eq!(read.next_offset, Some(2));
        let p = profile_from_row(
            &read.rows[0],
            &ProfileColumns::default(),
            &PhonePolicy::default(),
        )
        .expect("a profile");
        assert_eq!(
            p.facts.organization.and_then(|o| o.party_id).as_deref(),
            Some("23087")
        );
        let last = json!({"Items": [{"ID": "5"}], "HasNext": false});
        assert_eq!(
            listing_page(&last, 4).expect("the last page").next_offset,
            None
        );
        let without_next_offset = json!({"Items": [{"ID": "3"}], "HasNext": {"$value": true}});
        assert_eq!(
            listing_page(&without_next_offset, 2)
                .expect("a page")
                .next_offset,
            Some(3)
        );
        assert!(listing_page(&json!({"Message": "An error occurred."}), 0).is_err());
    }

    #[test]
    fn a_query_that_returns_more_than_one_row_identifies_nobody() {
        let two = json!({"Items": {"$values": [{"ID": "1"}, {"ID": "2"}]}});
        assert!(only_row(&two).is_err());
        let counted = json!({"Items": {"$values": [{"ID": "1"}]}, "TotalCount": 5});
        assert!(only_row(&counted).is_err(), "one page of many");
        let one = json!({"Items": {"$values": [{"ID": "1"}]}, "TotalCount": 1});
        assert!(only_row(&one).expect("one").is_some());
        assert_eq!(only_row(&json!({"Items": {"$values": []}})), Ok(None));
    }
}
