//! A member directory kept in a TOML file, with argon2id password hashes.
//!
//! ```toml
//! [[member]]
//! id = "1001"                    # becomes Zendesk's external_id
//! username = "ada"
//! password_hash = "$argon2id$v=19$m=19456,t=2,p=1$..."   # `zendesk-sso-bridge hash-password`
//! name = "Ada Lovelace"
//! email = "ada@example.org"
//! phone = "(310) 388-4000"        # optional; normalised to E.164
//! active = true                  # optional, default true
//! ```

use std::collections::HashSet;
use std::sync::Arc;

use argon2::Argon2;

use super::hashing::{CheckError, PasswordChecker};
use argon2::password_hash::{PasswordHash, PasswordHasher, SaltString};
use async_trait::async_trait;
use secrecy::SecretString;
use serde::Deserialize;

use super::phone::PhonePolicy;
use super::{
    DirectoryError, GroupMembership, MemberDirectory, MemberFacts, MemberProfile, MemberStatus,
    Organization,
};

/// One member as written in the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileMember {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default = "yes")]
    pub active: bool,
    /// The member type the access rules match (`member_type = ["M"]`).
    #[serde(default)]
    pub member_type: Option<String>,
    /// Whether they count as a member (`is_member = true`).
    #[serde(default)]
    pub is_member: Option<bool>,
    /// Paid through this date, `yyyy-mm-dd` (`paid_through = "current"`).
    #[serde(default)]
    pub paid_through: Option<String>,
    /// Other facts, for `[claims.user_fields]` (and, with iMIS's names such as
    /// `CustomerTypeCode`, for the typed facts above when those are not given).
    #[serde(default)]
    pub attributes: std::collections::BTreeMap<String, String>,
    /// Active group memberships, by name.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The member's organization (for `[claims.organization] from = "name"`).
    #[serde(default)]
    pub organization: Option<String>,
    /// The organization's id in the member system (iMIS party id): `from = "party_id"`, and
    /// the external id of the Zendesk organisation the sync creates.
    #[serde(default)]
    pub organization_id: Option<String>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MembersFile {
    #[serde(default)]
    member: Vec<FileMember>,
}

/// Parses and checks a members file: TOML errors carry line and column; every hash must be a
/// PHC string (`$argon2id$...`); ids and user names must be unique.
pub fn parse_members(text: &str) -> Result<Vec<FileMember>, String> {
    let file: MembersFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut usernames = HashSet::new();
    let mut ids = HashSet::new();
    for (i, m) in file.member.iter().enumerate() {
        let which = format!("member #{} (`{}`)", i + 1, m.username);
        if m.id.trim().is_empty() || m.username.trim().is_empty() {
            return Err(format!("{which}: `id` and `username` must not be empty"));
        }
        let Some(key) = crate::canonical::user_name(&m.username) else {
            return Err(format!(
                "{which}: the user name holds an invisible character"
            ));
        };
        if !usernames.insert(key) {
            return Err(format!("{which}: the user name appears twice"));
        }
        if !ids.insert(m.id.trim()) {
            return Err(format!("{which}: the id `{}` appears twice", m.id));
        }
        if PasswordHash::new(&m.password_hash).is_err() {
            return Err(format!(
                "{which}: `password_hash` is not an argon2 PHC string; make one with `zendesk-sso-bridge hash-password`"
            ));
        }
    }
    Ok(file.member)
}

/// An argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("{e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing failed: {e}"))
}

/// The file directory: members in memory, passwords checked off the async workers.
pub struct FileDirectory {
    members: Arc<Vec<FileMember>>,
    phone: PhonePolicy,
    /// Verified against when the user name is unknown, so both cases cost the same.
    decoy_hash: String,
    /// Bounded in checks at once and in the memory they hold.
    passwords: PasswordChecker,
}

impl FileDirectory {
    pub fn new(members: Vec<FileMember>, phone: PhonePolicy) -> anyhow::Result<Self> {
        let decoy_hash = hash_password("decoy password that matches nobody")?;
        Ok(Self {
            members: Arc::new(members),
            phone,
            decoy_hash,
            passwords: PasswordChecker::default(),
        })
    }

    /// The member with `username`, compared in the one canonical form the throttle counts in.
    fn index_of(&self, username: &str) -> Option<usize> {
        let wanted = crate::canonical::user_name(username)?;
        self.members
            .iter()
            .position(|m| crate::canonical::user_name(&m.username).as_ref() == Some(&wanted))
    }

    fn same_email(a: &FileMember, email: &str) -> bool {
        a.email
            .as_deref()
            .is_some_and(|e| super::email::same(e, email))
    }

    fn profile(&self, m: &FileMember) -> MemberProfile {
        let shared = m.email.as_deref().is_some_and(|email| {
            self.members
                .iter()
                .filter(|other| other.active && Self::same_email(other, email))
                .count()
                > 1
        });
        MemberProfile {
            facts: MemberFacts {
                status_code: if m.active { "A" } else { "I" }.into(),
                member_type: m.member_type.clone(),
                is_member: m.is_member,
                paid_through: m.paid_through.clone(),
                attributes: m.attributes.clone(),
                organization: (m.organization.is_some() || m.organization_id.is_some()).then(
                    || Organization {
                        name: m.organization.clone(),
                        party_id: m.organization_id.clone(),
                    },
                ),
                groups: Some(
                    m.groups
                        .iter()
                        .map(|g| GroupMembership {
                            name: g.clone(),
                            class: None,
                        })
                        .collect(),
                ),
            }
            .with_typed_from_attributes(),
            email_sharing: super::email::Sharing::searched(shared),
            id: m.id.trim().to_owned(),
            name: m.name.clone(),
            email: m.email.clone(),
            phone: m.phone.as_deref().and_then(|p| self.phone.to_e164(p)),
            status: if m.active {
                MemberStatus::Active
            } else {
                MemberStatus::Inactive {
                    code: "inactive".into(),
                }
            },
        }
    }
}

#[async_trait]
impl MemberDirectory for FileDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<MemberProfile, DirectoryError> {
        let index = self.index_of(username);
        let hash = match index {
            Some(i) => self.members[i].password_hash.clone(),
            None => self.decoy_hash.clone(),
        };
        let verified = self
            .passwords
            .check(password, hash)
            .await
            .map_err(|e| match e {
                CheckError::Busy => DirectoryError::Busy,
                e @ CheckError::Aborted => DirectoryError::Unavailable(e.into()),
            })?;
        match (index, verified) {
            (Some(i), Some(true)) => Ok(self.profile(&self.members[i])),
            (_, Some(_)) => Err(DirectoryError::InvalidCredentials),
            (_, None) => Err(DirectoryError::Unavailable(anyhow::anyhow!(
                "a password hash in the members file cannot be read"
            ))),
        }
    }

    /// Every member in one page: the file is already in memory.
    async fn members_page(
        &self,
        _offset: usize,
    ) -> Result<Option<super::MembersPage>, DirectoryError> {
        Ok(Some(super::MembersPage {
            members: self.members.iter().map(|m| self.profile(m)).collect(),
            next_offset: None,
        }))
    }

    async fn profile_by_id(&self, id: &str) -> Result<Option<MemberProfile>, DirectoryError> {
        Ok(self
            .members
            .iter()
            .find(|m| m.id.trim() == id.trim())
            .map(|m| self.profile(m)))
    }

    async fn find_by_primary_email(
        &self,
        email: &str,
    ) -> Result<Vec<MemberProfile>, DirectoryError> {
        Ok(self
            .members
            .iter()
            .filter(|m| m.active && Self::same_email(m, email))
            .map(|m| self.profile(m))
            .collect())
    }

    async fn profile_of(&self, username: &str) -> Result<MemberProfile, DirectoryError> {
        self.index_of(username)
            .map(|i| self.profile(&self.members[i]))
            .ok_or(DirectoryError::Refused(super::Refusal::NoMemberRecord))
    }

    async fn probe(&self) -> anyhow::Result<String> {
        Ok(format!("{} members loaded", self.members.len()))
    }

    fn kind(&self) -> &'static str {
        "file"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> FileDirectory {
        let hash = hash_password("correct horse").expect("hash");
        let text = format!(
            r#"
[[member]]
id = "1001"
username = "Ada"
password_hash = "{hash}"
name = "Ada Lovelace"
email = "ada@example.org"
phone = "(310) 388-4000"
"#
        );
        FileDirectory::new(
            parse_members(&text).expect("valid file"),
            PhonePolicy::default(),
        )
        .expect("directory")
    }

    #[tokio::test]
    async fn the_right_password_gives_the_profile_whatever_the_username_case() {
        let p = directory()
            .authenticate(" ada ", &SecretString::from("correct horse"))
            .await
            .expect("authenticated");
        assert_eq!(p.id, "1001");
        assert_eq!(p.phone.as_deref(), Some("+13103884000"));
        assert_eq!(p.status, MemberStatus::Active);
    }

    #[tokio::test]
    async fn wrong_passwords_and_unknown_users_look_the_same() {
        let d = directory();
        let wrong = d.authenticate("ada", &SecretString::from("nope")).await;
        let unknown = d.authenticate("bob", &SecretString::from("nope")).await;
        assert!(matches!(wrong, Err(DirectoryError::InvalidCredentials)));
        assert!(matches!(unknown, Err(DirectoryError::InvalidCredentials)));
    }

    #[test]
    fn a_bad_file_says_where() {
        let err = parse_members("[[member]]\nid = 1\n").expect_err("must fail");
        assert!(err.contains("line"), "{err}");
        let err = parse_members(
            "[[member]]\nid = \"1\"\nusername = \"a\"\npassword_hash = \"plain\"\nname = \"A\"\n",
        )
        .expect_err("must fail");
        assert!(err.contains("hash-password"), "{err}");
    }
}
