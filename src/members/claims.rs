//! The claims the access policy chose to send for a member, beyond identity: a domain value the
//! session carries; `zendesk::jwt` puts it on the wire.

use serde::{Deserialize, Serialize};

/// Optional claims chosen by the access policy file. None of them can be `role`,
/// `custom_role_id`, `external_id` or `email`: those are not fields here.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappedClaims {
    /// Exact name of an existing Zendesk organization (appended to the user's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<String>,
    /// External id of an existing Zendesk organization. The JWT article's table types it
    /// integer while naming it the organisation's external id (a string in the Organizations
    /// API): an all-digit id (iMIS party ids are) is sent as a JSON number, anything else as text.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "number_if_digits",
        deserialize_with = "text_or_number"
    )]
    pub organization_id: Option<String>,
    /// Replaces all of the user's tags; never sent empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom user fields by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Zendesk's own locale id, passed through. Sent as `locale`, the integer the JWT article's
    /// table documents for end users (`locale_id` is the agents' name); sessions sealed before
    /// carry `locale_id` and still open.
    #[serde(
        default,
        rename = "locale",
        alias = "locale_id",
        skip_serializing_if = "Option::is_none"
    )]
    pub locale_id: Option<u64>,
}

/// A claim sealed in a session as either a string or a number.
fn text_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `Some("23087")` → `23087`; `Some("org-7")` → `"org-7"`.
fn number_if_digits<S: serde::Serializer>(
    value: &Option<String>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match value.as_deref().map(|v| (v, v.parse::<u64>())) {
        Some((v, Ok(n))) if !v.starts_with('0') || v == "0" => serializer.serialize_u64(n),
        Some((v, _)) => serializer.serialize_str(v),
        None => serializer.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_are_written_as_the_jwt_articles_table_documents_them_for_end_users() {
        let claims = MappedClaims {
            organization_id: Some("23087".into()),
            locale_id: Some(1176),
            ..MappedClaims::default()
        };
        let json = serde_json::to_value(&claims).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"organization_id": 23087, "locale": 1176})
        );
        for id in ["org-7", "0123"] {
            let claims = MappedClaims {
                organization_id: Some(id.into()),
                ..MappedClaims::default()
            };
            assert_eq!(
                serde_json::to_value(&claims).expect("json")["organization_id"],
                id,
                "kept as text"
            );
        }
        let back: MappedClaims = serde_json::from_value(json).expect("a session's claims");
        assert_eq!(back.organization_id.as_deref(), Some("23087"));
        let old: MappedClaims =
            serde_json::from_str(r#"{"locale_id": 1000}"#).expect("an older session's claims");
        assert_eq!(old.locale_id, Some(1000));
    }
}
