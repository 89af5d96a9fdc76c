//! The member directory (iMIS or a members file), phone numbers and the access policy file.

use super::env::{RawSettings, Validator};
use super::*;
use crate::members::imis::query::{ProfileColumns, ProfileQuery};

impl Validator {
    pub(super) fn directory(&mut self, raw: &RawSettings) -> Option<DirectorySettings> {
        match non_empty(raw.member_directory.as_deref()).unwrap_or("imis") {
            "imis" => self.imis(raw).map(DirectorySettings::Imis),
            "file" => self.members_file(raw.members_file.as_deref()),
            other => {
                self.problem(
                    "MEMBER_DIRECTORY",
                    format!("must be `imis` or `file`, not `{other}`"),
                );
                None
            }
        }
    }
    pub(super) fn imis(&mut self, raw: &RawSettings) -> Option<ImisSettings> {
        let base_url = match non_empty(raw.imis_base_url.as_deref()) {
            Some(value) => self.web_url("IMIS_BASE_URL", value),
            None => {
                self.problem(
                    "IMIS_BASE_URL",
                    "is required with MEMBER_DIRECTORY=imis: the iMIS site root, e.g. \
                     `https://members.example.org` or `https://example.org/imis`",
                );
                None
            }
        };
        let username = non_empty(raw.imis_service_username.as_deref()).map(str::to_owned);
        let password = self.optional_secret(
            "IMIS_SERVICE_PASSWORD",
            raw.imis_service_password.clone(),
            raw.imis_service_password_file.clone(),
        );
        let service_account = self
            .both(
                ("IMIS_SERVICE_USERNAME", username),
                ("IMIS_SERVICE_PASSWORD", password),
                " (or unset both to look profiles up with the member's own token)",
            )
            .map(|(username, password)| ServiceAccount { username, password });
        let timeout = self.number(
            "IMIS_TIMEOUT_MS",
            raw.imis_timeout_ms.as_deref(),
            DEFAULT_IMIS_TIMEOUT_MS,
            100..=60_000,
            "milliseconds",
        );
        let max_in_flight = self.number(
            "IMIS_MAX_IN_FLIGHT",
            raw.imis_max_in_flight.as_deref(),
            DEFAULT_IMIS_MAX_IN_FLIGHT,
            1..=10_000,
            "requests",
        );
        let profile_query = self.profile_query(raw);
        let members_query = self.members_query(raw, service_account.is_some());
        Some(ImisSettings {
            base_url: base_url?,
            service_account,
            timeout: Duration::from_millis(timeout),
            profile_query,
            members_query,
            max_in_flight: max_in_flight as usize,
        })
    }

    /// A rule that asks about a fact the directory never gives could never match: refused here,
    /// naming the rule, rather than silently deciding by the default.
    pub(super) fn policy_fits_directory(
        &mut self,
        policy: &crate::policy::Policy,
        directory: Option<&DirectorySettings>,
    ) {
        if let (Some(DirectorySettings::File { .. }), Some(rule)) =
            (directory, policy.rule_naming_group_classes())
        {
            self.problem(
                "POLICY_FILE",
                format!(
                    "rule {rule:?} asks about `group_classes`, which a members file never gives                      (its `groups` are names only): match on `groups` instead, or use iMIS"
                ),
            );
        }
    }

    /// `IMIS_MEMBERS_QUERY`, the sync's listing, with the columns of `IMIS_PROFILE_COLUMNS`.
    fn members_query(&mut self, raw: &RawSettings, service: bool) -> Option<Box<ProfileQuery>> {
        let path = non_empty(raw.imis_members_query.as_deref())?;
        if !path.starts_with("$/") {
            self.problem(
                "IMIS_MEMBERS_QUERY",
                format!("`{path}` is not an IQA path; write it like `$/ZendeskSSO/Members`"),
            );
            return None;
        }
        if !service {
            self.problem(
                "IMIS_MEMBERS_QUERY",
                "is run by the iMIS service account: set IMIS_SERVICE_USERNAME and IMIS_SERVICE_PASSWORD",
            );
        }
        // The columns' problems are reported for IMIS_PROFILE_COLUMNS once.
        let columns =
            ProfileColumns::parse(raw.imis_profile_columns.as_deref().unwrap_or("")).ok()?;
        Some(Box::new(ProfileQuery {
            path: path.to_owned(),
            columns,
        }))
    }

    /// `IMIS_PROFILE_QUERY` and its `IMIS_PROFILE_COLUMNS`.
    fn profile_query(&mut self, raw: &RawSettings) -> Option<Box<ProfileQuery>> {
        let path = non_empty(raw.imis_profile_query.as_deref())?;
        if !path.starts_with("$/") {
            self.problem(
                "IMIS_PROFILE_QUERY",
                format!("`{path}` is not an IQA path; write it like `$/ZendeskSSO/Profile`"),
            );
            return None;
        }
        let columns = match ProfileColumns::parse(raw.imis_profile_columns.as_deref().unwrap_or(""))
        {
            Ok(columns) => columns,
            Err(why) => {
                self.problem(
                    "IMIS_PROFILE_COLUMNS",
                    format!("{why}; write key=Column pairs, keys among id, user_name, name, email, phone, status, member_type, is_member, paid_through, shares_email, organization, organization_id"),
                );
                return None;
            }
        };
        Some(Box::new(ProfileQuery {
            path: path.to_owned(),
            columns,
        }))
    }
    pub(super) fn members_file(&mut self, path: Option<&str>) -> Option<DirectorySettings> {
        let Some(path) = non_empty(path) else {
            self.problem(
                "MEMBERS_FILE",
                "is required with MEMBER_DIRECTORY=file: a TOML file of members (see README, \
                 `zendesk-sso-bridge hash-password` makes the hashes)",
            );
            return None;
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.problem("MEMBERS_FILE", format!("`{path}` cannot be read: {e}"));
                return None;
            }
        };
        match crate::members::file::parse_members(&text) {
            Ok(members) => Some(DirectorySettings::File {
                path: PathBuf::from(path),
                members,
            }),
            Err(e) => {
                self.problem("MEMBERS_FILE", format!("`{path}`: {e}"));
                None
            }
        }
    }
    pub(super) fn phone_policy(&mut self, raw: &RawSettings) -> PhonePolicy {
        let country =
            non_empty(raw.member_phone_country.as_deref()).unwrap_or(DEFAULT_PHONE_COUNTRY);
        let types = non_empty(raw.imis_phone_types.as_deref()).unwrap_or(DEFAULT_PHONE_TYPES);
        let types: Vec<String> = types
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect();
        match PhonePolicy::new(country) {
            Some(policy) => policy.with_preferred_types(types),
            None => {
                self.problem(
                    "MEMBER_PHONE_COUNTRY",
                    format!(
                        "`{country}` is not a two-letter country code such as `US`, `GB` or `FR`"
                    ),
                );
                PhonePolicy::default().with_preferred_types(types)
            }
        }
    }
    pub(super) fn policy(&mut self, path: Option<&str>) -> Policy {
        let Some(path) = non_empty(path) else {
            return Policy::default();
        };
        let parsed = std::fs::read_to_string(path)
            .map_err(|e| format!("`{path}` cannot be read: {e}"))
            .and_then(|text| Policy::parse(&text).map_err(|e| format!("`{path}`: {e}")));
        match parsed {
            Ok(policy) => {
                self.warnings.extend(policy.warnings());
                policy
            }
            Err(e) => {
                self.problem("POLICY_FILE", e);
                Policy::default()
            }
        }
    }
}
