//! The sync's listing (`IMIS_MEMBERS_QUERY`): every member, a page of 100 at a time, one request
//! at a time, as the service account — ASI's usage guidelines' way to read many members (no
//! directory scan, no parallel bulk pulls). Columns as `IMIS_PROFILE_COLUMNS` names them, Paid
//! Through among them; a row without it costs a contact read, and groups (when the policy uses
//! them) a group read per member.

use anyhow::anyhow;
use secrecy::SecretString;

use super::query::{self, ProfileQuery};
use super::{ImisDirectory, LookupError};
use crate::members::MembersPage;
use crate::members::email::Sharing;

/// Rows a page asks for (iMIS's default page size).
const PAGE_SIZE: usize = 100;

impl ImisDirectory {
    pub(super) async fn listing_page(
        &self,
        listing: &ProfileQuery,
        offset: usize,
        token: &SecretString,
    ) -> Result<MembersPage, LookupError> {
        let mut url = self.endpoint(&["api", "query"]);
        url.query_pairs_mut()
            .append_pair("QueryName", &listing.path)
            .append_pair("limit", &PAGE_SIZE.to_string())
            .append_pair("offset", &offset.to_string());
        let answer: serde_json::Value = match self.get_json("members_query", url, token).await {
            Err(LookupError::NotFound) => {
                return Err(anyhow!(
                    "iMIS answered 404 for /api/query (IMIS_MEMBERS_QUERY {}): the IQA query \
                     endpoint needs iMIS 20.3.77 or later, and the query must exist at that path",
                    listing.path
                )
                .into());
            }
            other => other?,
        };
        let page = query::listing_page(&answer, offset).map_err(|why| {
            anyhow!(
                "IMIS_MEMBERS_QUERY {} answered a page that cannot be read: {why}",
                listing.path
            )
        })?;
        let mut members = Vec::with_capacity(page.rows.len());
        for row in &page.rows {
            let Some(mut profile) = query::profile_from_row(row, &listing.columns, &self.phone)
            else {
                return Err(anyhow!(
                    "IMIS_MEMBERS_QUERY {} returned a row without the id column `{}`",
                    listing.path,
                    listing.columns.id
                )
                .into());
            };
            profile.email_sharing = Sharing::NotSearched;
            if self.fetch_groups {
                profile.facts.groups = Some(self.groups(&profile.id, token).await?);
            }
            self.fill_paid_through(&mut profile, token).await?;
            members.push(profile);
        }
        Ok(MembersPage {
            members,
            next_offset: page.next_offset,
        })
    }
}
