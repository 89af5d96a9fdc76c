//! The contact (`GET /api/CsContact/{id}`): where iMIS keeps Paid Through. It is not a Party
//! attribute (ASI's PersonData never carries it), so a policy that asks about it reads it here,
//! unless the profile query's column already gave it. Also the look-up by iMIS ID the sync uses.

use secrecy::SecretString;

use super::wire::{ContactData, PersonData};
use super::{ImisDirectory, LookupError};
use crate::members::MemberProfile;
use crate::members::email::Sharing;

impl ImisDirectory {
    /// Also read each member's paid-through date from their contact, one more call.
    pub fn with_paid_through(mut self, fetch: bool) -> Self {
        self.fetch_paid_through = fetch;
        self
    }

    /// `PaidThrough` of the contact `id`; `None` when the contact has none (or no contact).
    async fn paid_through(
        &self,
        id: &str,
        token: &SecretString,
    ) -> Result<Option<String>, LookupError> {
        let url = self.endpoint(&["api", "CsContact", id]);
        match self.get_json::<ContactData>("contact", url, token).await {
            Ok(contact) => Ok(contact.property("PaidThrough").map(str::to_owned)),
            Err(LookupError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Fills in the paid-through date when the policy asks about it and nothing gave it yet.
    /// Read with the service account's token where there is one (`own` otherwise).
    pub(super) async fn fill_paid_through(
        &self,
        profile: &mut MemberProfile,
        own: &SecretString,
    ) -> Result<(), LookupError> {
        if !self.fetch_paid_through || profile.facts.paid_through.is_some() {
            return Ok(());
        }
        let token = self.reading_token(own).await?;
        profile.facts.paid_through = self.paid_through(&profile.id, &token).await?;
        Ok(())
    }

    /// The member with iMIS ID `id`, as the sync sees them: the party, their groups and paid
    /// through, read with `token` (the service account's). `None` when iMIS has no such party
    /// (404): they left the directory, which is an answer, not an outage.
    pub(super) async fn lookup_by_id(
        &self,
        id: &str,
        token: &SecretString,
    ) -> Result<Option<MemberProfile>, LookupError> {
        let party =
            self.get_json::<PersonData>("party", self.endpoint(&["api", "Party", id]), token);
        let groups = async {
            match self.fetch_groups {
                true => self.groups(id, token).await.map(Some),
                false => Ok(None),
            }
        };
        let (person, groups) = tokio::join!(party, groups);
        let person = match person {
            Ok(person) => person,
            Err(LookupError::NotFound) => return Ok(None),
            Err(e) => return Err(e),
        };
        let groups = groups?;
        if person.imis_id().is_some_and(|found| found != id) {
            return Err(
                anyhow::anyhow!("iMIS /api/Party/{{id}} answered with another party").into(),
            );
        }
        let Some(mut profile) = person.into_profile(&self.phone) else {
            return Err(anyhow::anyhow!("iMIS party record has no PartyId").into());
        };
        // The sync never links anyone: who else shares the address does not matter to it.
        profile.email_sharing = Sharing::NotSearched;
        if groups.is_some() {
            profile.facts.groups = groups;
        }
        self.fill_paid_through(&mut profile, token).await?;
        Ok(Some(profile))
    }
}
