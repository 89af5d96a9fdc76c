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
    /// External id of an existing Zendesk organization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// Replaces all of the user's tags; never sent empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    /// Custom user fields by key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_fields: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Zendesk's own locale id, passed through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale_id: Option<u64>,
}
