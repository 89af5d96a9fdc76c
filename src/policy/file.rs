//! The `POLICY_FILE` format (TOML), as written by the admin; [`super::Policy::parse`] checks it.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::rules::{Effect, Rule};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PolicyFile {
    pub(super) access: Option<AccessFile>,
    #[serde(default)]
    pub(super) claims: ClaimsFile,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessFile {
    pub(super) default: Effect,
    /// Days after the paid-through date that `paid_through = "current"` still holds.
    #[serde(default)]
    pub(super) grace_days: u32,
    #[serde(default)]
    pub(super) denied_message: Option<String>,
    #[serde(default, rename = "rule")]
    pub(super) rules: Vec<Rule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClaimsFile {
    #[serde(default)]
    pub(super) phone: Option<PhoneFile>,
    #[serde(default)]
    pub(super) organization: Option<OrganizationFile>,
    #[serde(default)]
    pub(super) tags: Option<TagsFile>,
    #[serde(default)]
    pub(super) user_fields: BTreeMap<String, UserFieldFile>,
    #[serde(default)]
    pub(super) locale: bool,
    // Named here only to be refused with a clear message.
    #[serde(default)]
    pub(super) role: Option<toml::Value>,
    #[serde(default)]
    pub(super) custom_role_id: Option<toml::Value>,
    #[serde(default)]
    pub(super) external_id: Option<toml::Value>,
    #[serde(default)]
    pub(super) email: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhoneFile {
    #[serde(default = "yes")]
    pub(super) send: bool,
    #[serde(default)]
    pub(super) types: Option<Vec<String>>,
    #[serde(default)]
    pub(super) default_country: Option<String>,
}

pub(super) fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrganizationFile {
    pub(super) from: OrganizationSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum OrganizationSource {
    Name,
    PartyId,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TagsFile {
    pub(super) from: Vec<TagSource>,
    #[serde(default)]
    pub(super) prefix: String,
    #[serde(default)]
    pub(super) allow: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum TagSource {
    MemberType,
    Groups,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct UserFieldFile {
    pub(super) attribute: String,
    #[serde(rename = "type")]
    pub(super) kind: FieldType,
    #[serde(default)]
    pub(super) options: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(super) enum FieldType {
    Text,
    Checkbox,
    Date,
    Dropdown,
}
