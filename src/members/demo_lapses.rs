//! The demo's membership lapses: the simulator's "let this membership lapse" button marks a demo
//! member, and the demo directory then reports them inactive — as iMIS would once staff changed
//! their status — so the demo's sync downgrades them in the simulated Zendesk. Demo only.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};

use async_trait::async_trait;
use secrecy::SecretString;

use super::{DirectoryError, MemberDirectory, MemberProfile, MemberStatus, MembersPage};
use crate::upstream::UpstreamHealth;

/// The demo members whose membership lapsed, by id.
#[derive(Debug, Default)]
pub struct Lapses(RwLock<BTreeSet<String>>);

impl Lapses {
    pub fn lapse(&self, id: &str) {
        if let Ok(mut ids) = self.0.write() {
            ids.insert(id.trim().to_owned());
        }
    }

    pub fn is_lapsed(&self, id: &str) -> bool {
        self.0.read().is_ok_and(|ids| ids.contains(id.trim()))
    }

    fn apply(&self, mut profile: MemberProfile) -> MemberProfile {
        if self.is_lapsed(&profile.id) {
            profile.status = MemberStatus::Inactive {
                code: "lapsed".into(),
            };
            profile.facts.status_code = "I".into();
        }
        profile
    }
}

/// The demo directory, with the lapses applied to every profile it gives.
pub struct LapsingDirectory {
    pub inner: Arc<dyn MemberDirectory>,
    pub lapses: Arc<Lapses>,
}

#[async_trait]
impl MemberDirectory for LapsingDirectory {
    async fn authenticate(
        &self,
        username: &str,
        password: &SecretString,
    ) -> Result<MemberProfile, DirectoryError> {
        let profile = self.inner.authenticate(username, password).await?;
        Ok(self.lapses.apply(profile))
    }

    async fn profile_of(&self, username: &str) -> Result<MemberProfile, DirectoryError> {
        Ok(self.lapses.apply(self.inner.profile_of(username).await?))
    }

    async fn profile_by_id(&self, id: &str) -> Result<Option<MemberProfile>, DirectoryError> {
        let found = self.inner.profile_by_id(id).await?;
        Ok(found.map(|p| self.lapses.apply(p)))
    }

    async fn members_page(&self, offset: usize) -> Result<Option<MembersPage>, DirectoryError> {
        let page = self.inner.members_page(offset).await?;
        Ok(page.map(|mut page| {
            page.members = page
                .members
                .into_iter()
                .map(|p| self.lapses.apply(p))
                .collect();
            page
        }))
    }

    async fn find_by_primary_email(
        &self,
        email: &str,
    ) -> Result<Vec<MemberProfile>, DirectoryError> {
        let found = self.inner.find_by_primary_email(email).await?;
        Ok(found
            .into_iter()
            .map(|p| self.lapses.apply(p))
            .filter(|p| p.status == MemberStatus::Active)
            .collect())
    }

    async fn profile_for_grant(
        &self,
        grant: &super::imis::sso::Grant,
    ) -> Result<(MemberProfile, String), DirectoryError> {
        let (profile, user_name) = self.inner.profile_for_grant(grant).await?;
        Ok((self.lapses.apply(profile), user_name))
    }

    async fn probe(&self) -> anyhow::Result<String> {
        self.inner.probe().await
    }

    fn can_look_up(&self) -> bool {
        self.inner.can_look_up()
    }

    fn kind(&self) -> &'static str {
        self.inner.kind()
    }

    fn upstream(&self) -> Option<&UpstreamHealth> {
        self.inner.upstream()
    }
}
