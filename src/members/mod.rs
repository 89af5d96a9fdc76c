//! The member directory: who may sign in, proven by their password.
//!
//! [`MemberDirectory`] is implemented by the iMIS client ([`imis`]) and by a TOML file of members
//! ([`file`], also behind the built-in [`demo`] directory). The login flow sees only the domain
//! types here: a [`MemberProfile`] from the directory, and a [`Member`] once it is admitted.

pub mod claims;
pub mod demo;
pub mod demo_lapses;
pub mod early;
pub mod email;
pub mod file;
pub mod hashing;
pub mod imis;
pub mod phone;

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use std::path::PathBuf;
use std::sync::Arc;

use crate::metrics::Metrics;
use crate::upstream::{BreakerSettings, IN_FLIGHT_WAIT, InFlight, UpstreamHealth};
use claims::MappedClaims;
use file::{FileDirectory, FileMember};
use imis::{ImisDirectory, ImisSettings};
use phone::PhonePolicy;

#[derive(Debug, Clone)]
pub enum DirectorySettings {
    Imis(ImisSettings),
    File {
        path: PathBuf,
        members: Vec<FileMember>,
    },
}

impl DirectorySettings {
    /// The places for requests to the member system (`IMIS_MAX_IN_FLIGHT`), to share between
    /// the directory and the member-site hand-off.
    pub fn in_flight(&self) -> InFlight {
        match self {
            DirectorySettings::Imis(imis) => InFlight::new(imis.max_in_flight, IN_FLIGHT_WAIT),
            DirectorySettings::File { .. } => InFlight::unlimited(),
        }
    }
}

/// What the directory knows about a member whose password it has just accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberProfile {
    /// The member system's own id (the iMIS ID); becomes Zendesk's `external_id`.
    pub id: String,
    pub name: String,
    /// The primary e-mail address, if the record has one.
    pub email: Option<String>,
    /// The primary phone in E.164 form, if the record has one that could be normalised.
    pub phone: Option<String>,
    pub status: MemberStatus,
    /// Whether another active record in the member system has the same primary e-mail address.
    pub email_sharing: email::Sharing,
    /// What the access policy and the claim mapping may use.
    pub facts: MemberFacts,
}

/// Member-system facts beyond identity, for `POLICY_FILE` rules and claim mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberFacts {
    /// The member system's status code as given (iMIS `PartyStatusId`, e.g. `A`).
    pub status_code: String,
    /// The member type (iMIS `CustomerTypeCode`, e.g. `M`), as the access rules see it.
    pub member_type: Option<String>,
    /// Whether the member system counts them as a member (iMIS `IsMember`).
    pub is_member: Option<bool>,
    /// The date membership is paid through, `yyyy-mm-dd` or an ISO date-time (iMIS `PaidThrough`).
    pub paid_through: Option<String>,
    /// iMIS `AdditionalAttributes` by `Name`, values as text (`CustomerTypeCode`, `IsMember`, ...).
    pub attributes: BTreeMap<String, String>,
    pub organization: Option<Organization>,
    /// Active group memberships; `None` when they were not looked up.
    pub groups: Option<Vec<GroupMembership>>,
}

impl MemberFacts {
    /// Fills the typed facts from attributes with iMIS's names, where a directory gave none.
    pub fn with_typed_from_attributes(mut self) -> Self {
        if self.member_type.is_none() {
            self.member_type = self.attribute("CustomerTypeCode").map(str::to_owned);
        }
        if self.is_member.is_none() {
            self.is_member = self
                .attribute("IsMember")
                .and_then(|v| v.to_ascii_lowercase().parse().ok());
        }
        if self.paid_through.is_none() {
            self.paid_through = self.attribute("PaidThrough").map(str::to_owned);
        }
        self
    }

    /// An attribute's value, by name (case-insensitive), if present and not blank.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organization {
    pub name: Option<String>,
    pub party_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMembership {
    pub name: String,
    pub class: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MemberStatus {
    Active,
    /// Any other status; `code` is the member system's own (iMIS `PartyStatusId`).
    Inactive {
        code: String,
    },
}

/// A member allowed to sign in: active, with an id, a name and a primary e-mail address.
/// Only [`MemberProfile::admit`] makes one; the session carries it between sign-ins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: String,
    pub name: String,
    pub email: String,
    pub phone: Option<String>,
    /// Claims chosen by `POLICY_FILE` (organization, tags, user fields, locale).
    #[serde(default)]
    pub claims: MappedClaims,
    /// Whether another active record has the same primary e-mail address: only the member
    /// Zendesk already links to a shared address may sign in with it (an account-safety rule).
    #[serde(default, alias = "shares_primary_email")]
    pub email_sharing: email::Sharing,
}

#[cfg(test)]
impl Member {
    /// Art Abingdon (iMIS ID 20277, art@example.org), as the unit tests sign him in.
    pub fn example() -> Self {
        Self {
            id: "20277".into(),
            name: "Art Abingdon".into(),
            email: "art@example.org".into(),
            phone: None,
            claims: MappedClaims::default(),
            email_sharing: email::Sharing::default(),
        }
    }
}

/// One page of a directory's listing, and where the next starts.
#[derive(Debug)]
pub struct MembersPage {
    pub members: Vec<MemberProfile>,
    pub next_offset: Option<usize>,
}

/// Why an authenticated person may not sign in to the help centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the member record is not active")]
    Inactive,
    #[error("the member record has no primary e-mail address")]
    NoPrimaryEmail,
    #[error("the credentials are valid but no member record belongs to them")]
    NoMemberRecord,
    #[error("more than one active member record has this primary e-mail address")]
    DuplicatePrimaryEmail,
}

impl Refusal {
    /// The `reason` written to the audit log and the metrics.
    pub fn reason(self) -> &'static str {
        match self {
            Refusal::Inactive => "inactive",
            Refusal::NoPrimaryEmail => "no_primary_email",
            Refusal::NoMemberRecord => "no_member_record",
            Refusal::DuplicatePrimaryEmail => "duplicate_primary_email",
        }
    }
}

impl MemberProfile {
    /// The default access rule: active members with a usable primary e-mail address.
    pub fn admit(self) -> Result<Member, Refusal> {
        if self.status != MemberStatus::Active {
            return Err(Refusal::Inactive);
        }
        self.admit_any_status()
    }

    /// The base rules without the status one (an access policy decides about status).
    pub fn admit_any_status(self) -> Result<Member, Refusal> {
        let email = self
            .email
            .as_deref()
            .and_then(normalise_email)
            .ok_or(Refusal::NoPrimaryEmail)?;
        let name = clean_text(&self.name);
        let name = if name.is_empty() { email.clone() } else { name };
        Ok(Member {
            id: self.id,
            name,
            email,
            phone: self.phone,
            claims: MappedClaims::default(),
            email_sharing: self.email_sharing,
        })
    }
}

/// Why the directory could not give a profile.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    #[error(transparent)]
    Refused(Refusal),
    #[error("the member system is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Too many sign-ins are waiting: for a password check, or for a place to ask iMIS.
    #[error("too many sign-ins are waiting on the member system")]
    Busy,
}

/// Where members are looked up and their passwords checked.
#[async_trait]
pub trait MemberDirectory: Send + Sync {
    /// Proves the password and returns the member's profile.
    /// Unknown users and wrong passwords both give [`DirectoryError::InvalidCredentials`].
    async fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<MemberProfile, DirectoryError>;

    /// The profile of `username` without a password (service account): `policy explain`, and
    /// sessions read again after `SESSION_RECHECK_SECS`.
    async fn profile_of(&self, username: &str) -> Result<MemberProfile, DirectoryError>;

    /// The member with this id (the iMIS ID) without a password, for the lifecycle sync;
    /// `Ok(None)` when the directory has no such member (they left it: an answer, not an outage).
    async fn profile_by_id(&self, id: &str) -> Result<Option<MemberProfile>, DirectoryError>;

    /// One page of every member, for the sync, when the directory can list them
    /// (`IMIS_MEMBERS_QUERY`): `Ok(None)` when it cannot (the sync then reads each linked member
    /// by id).
    async fn members_page(&self, _offset: usize) -> Result<Option<MembersPage>, DirectoryError> {
        Ok(None)
    }

    /// Active records whose primary e-mail is `email` (case-insensitive), for `link-staff`.
    async fn find_by_primary_email(
        &self,
        email: &str,
    ) -> Result<Vec<MemberProfile>, DirectoryError>;

    /// The member iMIS handed off from its own sign-in page (see [`imis::sso`]), with their
    /// user name. By default the grant's user name is looked up like [`Self::profile_of`].
    async fn profile_for_grant(
        &self,
        grant: &imis::sso::Grant,
    ) -> Result<(MemberProfile, String), DirectoryError> {
        let user_name = grant
            .user_name
            .clone()
            .ok_or(DirectoryError::Refused(Refusal::NoMemberRecord))?;
        Ok((self.profile_of(&user_name).await?, user_name))
    }

    /// A cheap "can we reach it" check for `zendesk-sso-bridge check`, with a short description.
    async fn probe(&self) -> anyhow::Result<String>;

    /// Whether [`MemberDirectory::profile_of`] can work (iMIS needs a service account).
    fn can_look_up(&self) -> bool {
        true
    }

    /// Shares upstream tokens with the other replicas through `shared` (Redis), where the
    /// directory has any: iMIS keeps only the newest token per user.
    fn share_tokens(&self, _shared: Arc<crate::shared::SharedState>) {}

    /// A short name for logs and `/readyz`.
    fn kind(&self) -> &'static str;

    /// The health of the remote system behind this directory, if there is one.
    fn upstream(&self) -> Option<&UpstreamHealth> {
        None
    }
}

/// The facts beyond identity that the policy reads, so that the directory fetches them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FactNeeds {
    /// Group memberships (`GET /api/GroupMember`).
    pub groups: bool,
    /// The paid-through date (`GET /api/CsContact/{id}`, unless the profile query gives it).
    pub paid_through: bool,
}

/// The member directory the settings ask for, fetching the facts the policy `needs`.
/// `imis_in_flight`: the cap on requests to iMIS ([`DirectorySettings::in_flight`]).
pub fn open(
    settings: &DirectorySettings,
    phone: &PhonePolicy,
    needs: FactNeeds,
    metrics: &Metrics,
    breaker: BreakerSettings,
    imis_in_flight: InFlight,
) -> anyhow::Result<Arc<dyn MemberDirectory>> {
    Ok(match settings {
        DirectorySettings::Imis(imis) => Arc::new(
            ImisDirectory::new(
                imis,
                phone.clone(),
                metrics.clone(),
                breaker,
                imis_in_flight,
            )?
            .with_groups(needs.groups)
            .with_paid_through(needs.paid_through),
        ),
        DirectorySettings::File { members, .. } => {
            Arc::new(FileDirectory::new(members.clone(), phone.clone())?)
        }
    })
}

/// A plausible single address (`local@domain.tld`), trimmed; `None` otherwise.
pub fn normalise_email(raw: &str) -> Option<String> {
    let email = raw.trim();
    let (local, domain) = email.split_once('@')?;
    let plausible = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && email.len() <= 254
        && email::canonical(email).is_some()
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        });
    plausible.then(|| email.to_owned())
}

/// Collapses runs of white space and drops control characters and the bidirectional
/// embedding, override and isolate characters (U+202A–U+202E, U+2066–U+2069), which would make
/// a name display as something else in Zendesk (`Ann\u{202E}nimda` shows as "Annadmin").
pub fn clean_text(raw: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    let kept: String = raw.chars().filter(|c| !bidi(*c)).collect();
    kept.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile() -> MemberProfile {
        MemberProfile {
            id: "20277".into(),
            name: "  Art \t Abingdon ".into(),
            email: Some(" art@example.org ".into()),
            phone: None,
            status: MemberStatus::Active,
            email_sharing: Default::default(),
            facts: MemberFacts::default(),
        }
    }

    #[test]
    fn an_active_member_with_an_email_is_admitted_with_clean_fields() {
        let m = profile().admit().expect("admitted");
        assert_eq!(m.name, "Art Abingdon");
        assert_eq!(m.email, "art@example.org");
    }

    #[test]
    fn inactive_members_and_members_without_email_are_refused() {
        let mut p = profile();
        p.status = MemberStatus::Inactive { code: "I".into() };
        assert_eq!(p.admit(), Err(Refusal::Inactive));
        for bad in [
            None,
            Some(""),
            Some("not-an-address"),
            Some("a@b"),
            Some("a b@c.org"),
        ] {
            let mut p = profile();
            p.email = bad.map(str::to_owned);
            assert_eq!(p.admit(), Err(Refusal::NoPrimaryEmail), "{bad:?}");
        }
    }

    #[test]
    fn a_primary_email_shared_with_another_record_is_carried_to_the_safety_rules() {
        let mut p = profile();
        p.email_sharing = email::Sharing::Shared;
        assert_eq!(
            p.admit().expect("admitted").email_sharing,
            email::Sharing::Shared
        );
    }

    #[test]
    fn an_address_with_invisible_characters_is_no_primary_email() {
        let mut p = profile();
        p.email = Some("art\u{200B}@example.org".into());
        assert_eq!(p.admit(), Err(Refusal::NoPrimaryEmail));
    }

    #[test]
    fn bidirectional_overrides_never_reach_the_name_claim() {
        let mut p = profile();
        p.name = "Ann \u{202E}nimda\u{202C} \u{2067}Smith\u{2069}".into();
        assert_eq!(p.admit().expect("admitted").name, "Ann nimda Smith");
    }

    #[test]
    fn a_member_without_a_name_is_named_by_their_email() {
        let mut p = profile();
        p.name = " ".into();
        assert_eq!(p.admit().expect("admitted").name, "art@example.org");
    }
}
