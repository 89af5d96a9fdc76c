//! The plan: every linked end user read, judged and compared, and the changes that would make
//! Zendesk true — a value to print, test and cap before anything is written.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::SyncError;
use super::desired::{Desired, desired};
use super::diff::{Kind, Organizations, UserChange, diff, refuse};
use super::pace::Pace;
use crate::members::MemberDirectory;
use crate::policy::Policy;
use crate::zendesk::api::{ZendeskApi, ZendeskOrganization, ZendeskProfile};

/// What the sync reads with and how hard it may push.
pub struct Context<'a> {
    pub api: &'a ZendeskApi,
    pub directory: &'a dyn MemberDirectory,
    pub policy: &'a Policy,
    pub pace: Pace,
    /// Members read from the member system at once (`IMIS_MAX_IN_FLIGHT`).
    pub concurrency: usize,
    /// Plan Zendesk end users for admitted members who have none (`SYNC_CREATE_USERS`).
    pub create_users: bool,
    /// Where a downgrade tells every replica to read the member again at their sessions' next
    /// use (`None`: a one-shot run without `REDIS_URL`; sessions then last to their re-check).
    pub shared: Option<&'a crate::shared::SharedState>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Zendesk end users linked to a member (external id set), all read.
    pub linked: usize,
    pub organizations: Vec<OrgChange>,
    pub users: Vec<UserChange>,
    pub skipped: Vec<Skipped>,
    /// End users to create for admitted members Zendesk has no user for (`SYNC_CREATE_USERS`).
    pub creations: Vec<NewUser>,
}

/// A Zendesk end user to create for an admitted member, as a sign-in would first send them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewUser {
    pub member_id: String,
    pub name: String,
    pub email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub user_fields: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OrgChange {
    /// The iMIS party id: the Zendesk organisation's external id.
    pub external_id: String,
    pub name: String,
    /// `create`, or `rename` an existing one.
    pub action: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Skipped {
    pub user_id: u64,
    pub member_id: String,
    pub why: String,
}

impl Plan {
    pub fn downgrades(&self) -> usize {
        self.users
            .iter()
            .filter(|c| c.kind == Kind::Downgrade)
            .count()
    }

    pub fn updates(&self) -> usize {
        self.users.iter().filter(|c| c.kind == Kind::Update).count()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.organizations.is_empty() && self.creations.is_empty()
    }

    pub fn summary(&self) -> String {
        format!(
            "{} linked members read: {} to update, {} to downgrade, {} organisations to create or \
             rename, {} skipped{}.",
            self.linked,
            self.updates(),
            self.downgrades(),
            self.organizations.len(),
            self.skipped.len(),
            match self.creations.len() {
                0 => String::new(),
                n => format!(", {n} end users to create"),
            }
        )
    }

    pub fn to_text(&self) -> String {
        let mut out = format!("Plan: {}\n", self.summary());
        for org in &self.organizations {
            let _ = writeln!(
                out,
                "  {} organisation {:?} (iMIS {})",
                org.action, org.name, org.external_id
            );
        }
        for c in &self.users {
            let _ = writeln!(
                out,
                "  {} Zendesk user {} (iMIS {}): {}",
                match c.kind {
                    Kind::Update => "update",
                    Kind::Downgrade => "downgrade",
                },
                c.user_id,
                c.member_id,
                describe(c)
            );
        }
        for c in &self.creations {
            let _ = writeln!(
                out,
                "  create an end user for iMIS {} ({})",
                c.member_id, c.name
            );
        }
        for s in &self.skipped {
            let _ = writeln!(
                out,
                "  skip Zendesk user {} (iMIS {}): {}",
                s.user_id, s.member_id, s.why
            );
        }
        out
    }
}

/// One change in words: `lapsed …: tags -imis_m; end Zendesk sessions`.
pub(super) fn describe(c: &UserChange) -> String {
    let mut parts = Vec::new();
    if let Some(name) = &c.name {
        parts.push(format!("name → {name:?}"));
    }
    if c.phone.is_some() {
        parts.push("phone".to_owned());
    }
    for t in &c.tags_added {
        parts.push(format!("tag +{t}"));
    }
    for t in &c.tags_removed {
        parts.push(format!("tag -{t}"));
    }
    for (key, value) in &c.user_fields {
        match value.is_null() {
            true => parts.push(format!("clear field {key}")),
            false => parts.push(format!("field {key} = {value}")),
        }
    }
    if let Some(org) = &c.join_organization {
        parts.push(format!("join organisation (iMIS {org})"));
    }
    if let Some(org) = c.leave_organization {
        parts.push(format!("leave organisation {org}"));
    }
    if c.end_sessions {
        parts.push("end Zendesk sessions".to_owned());
    }
    let what = parts.join("; ");
    match c.kind {
        Kind::Update => what,
        Kind::Downgrade => format!("{} — {what}", c.reason),
    }
}

/// The organisations seen so far: by external id (iMIS party id) and by Zendesk id.
#[derive(Default)]
struct OrgIndex {
    by_party: HashMap<String, Option<ZendeskOrganization>>,
    managed: HashMap<u64, bool>,
}

impl Organizations for OrgIndex {
    fn id_of(&self, party_id: &str) -> Option<u64> {
        self.by_party.get(party_id).cloned().flatten().map(|o| o.id)
    }

    fn is_managed(&self, id: u64) -> bool {
        self.managed.get(&id).copied().unwrap_or(false)
    }
}

/// What the plan gathers while reading, page after page.
#[derive(Default)]
struct Gathered {
    plan: Plan,
    orgs: OrgIndex,
    wanted_orgs: BTreeMap<String, String>,
}

impl Gathered {
    /// One page of linked users, each with what a sign-in would decide for their member.
    async fn absorb(
        &mut self,
        ctx: &Context<'_>,
        judged: Vec<(ZendeskProfile, Desired)>,
    ) -> Result<(), SyncError> {
        let managed = ctx.policy.managed();
        self.plan.linked += judged.len();
        index_orgs(ctx, &mut self.orgs, &judged).await?;
        for (user, desired) in &judged {
            let member_id = user.external_id.as_deref().unwrap_or_default().trim();
            if let Some(why) = refuse(user) {
                self.plan.skipped.push(Skipped {
                    user_id: user.id,
                    member_id: member_id.to_owned(),
                    why,
                });
                continue;
            }
            if let Desired::Admitted(w) = desired
                && let Some((id, name)) = &w.organization
            {
                self.wanted_orgs.entry(id.clone()).or_insert(name.clone());
            }
            if let Some(change) = diff(user, member_id, desired, &managed, &self.orgs) {
                self.plan.users.push(change);
            }
        }
        Ok(())
    }

    /// The plan, with the organisations to create or rename.
    fn finish(mut self) -> Plan {
        for (party_id, name) in std::mem::take(&mut self.wanted_orgs) {
            let action = match self.orgs.by_party.get(&party_id).cloned().flatten() {
                None => "create",
                Some(org) if org.name != name => "rename",
                Some(_) => continue,
            };
            self.plan.organizations.push(OrgChange {
                external_id: party_id,
                name,
                action,
            });
        }
        self.plan
    }
}

/// Reads every linked end user, judges each member as a sign-in would, and plans the
/// difference. With a listing (`IMIS_MEMBERS_QUERY`) the members are read a page at a time and
/// their Zendesk users fetched 100 at a time; then every end user is listed once more and only
/// those the listing did not name are read one by one. Without one, every linked end user's
/// member is read by id. Any answer that cannot be read ends the plan (nothing is written).
pub async fn plan(ctx: &Context<'_>) -> Result<Plan, SyncError> {
    let mut gathered = Gathered::default();
    let listed = by_listing(ctx, &mut gathered).await?;
    by_zendesk(ctx, &mut gathered, listed.as_ref()).await?;
    Ok(gathered.finish())
}

/// The member ids of a whole listing, compared as Zendesk's external ids are.
type Listed = HashSet<String>;

fn key(id: &str) -> String {
    id.trim().to_lowercase()
}

/// The listing's members and their Zendesk users; `None` when the directory cannot list.
async fn by_listing(
    ctx: &Context<'_>,
    gathered: &mut Gathered,
) -> Result<Option<Listed>, SyncError> {
    let mut listed = Listed::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let page = match ctx.directory.members_page(at).await {
            Ok(Some(page)) => page,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(SyncError::MemberSystem {
                    member_id: format!("(the listing at offset {at})"),
                    why: format!("{:#}", anyhow::Error::new(e)),
                });
            }
        };
        offset = page.next_offset;
        let ids: Vec<String> = page
            .members
            .iter()
            .map(|m| m.id.trim().to_owned())
            .collect();
        listed.extend(ids.iter().map(|id| key(id)));
        let users = ctx
            .pace
            .request(|| ctx.api.profiles_by_external_ids(&ids))
            .await?;
        let mut judged = Vec::new();
        for member in page.members {
            let member_id = member.id.trim().to_owned();
            let theirs = |u: &&ZendeskProfile| {
                u.external_id
                    .as_deref()
                    .is_some_and(|e| key(e) == key(&member_id))
            };
            // Staff are never touched (the end-user listing never shows them either).
            let holders: Vec<&ZendeskProfile> = users
                .iter()
                .filter(theirs)
                .filter(|u| refuse(u).is_none())
                .collect();
            let linked_to_staff = users.iter().filter(theirs).any(|u| refuse(u).is_some());
            let wanted = desired(ctx.policy, Some(member));
            if holders.is_empty() {
                if let (true, false, Desired::Admitted(w)) =
                    (ctx.create_users, linked_to_staff, &wanted)
                {
                    gathered.plan.creations.push(NewUser {
                        member_id,
                        name: w.name.clone(),
                        email: w.email.clone(),
                        phone: w.phone.clone(),
                        tags: w.tags.clone(),
                        user_fields: w.user_fields.clone(),
                    });
                }
                continue;
            }
            judged.extend(holders.into_iter().map(|u| (u.clone(), wanted.clone())));
        }
        gathered.absorb(ctx, judged).await?;
    }
    Ok(Some(listed))
}

/// Every end user a page at a time; the linked ones the listing did not name (all of them
/// without a listing) are judged by their member read by id.
async fn by_zendesk(
    ctx: &Context<'_>,
    gathered: &mut Gathered,
    listed: Option<&Listed>,
) -> Result<(), SyncError> {
    let mut page = None;
    loop {
        let url = page.clone();
        let (users, next) = ctx
            .pace
            .request(|| ctx.api.end_users_page(url.clone()))
            .await?;
        let linked: Vec<ZendeskProfile> = users
            .into_iter()
            .filter(|u| {
                u.external_id
                    .as_deref()
                    .is_some_and(|e| !e.trim().is_empty())
            })
            .filter(|u| {
                listed
                    .is_none_or(|l| !l.contains(&key(u.external_id.as_deref().unwrap_or_default())))
            })
            .collect();
        let judged = judge(ctx, &linked).await?;
        gathered.absorb(ctx, judged).await?;
        match next {
            Some(next) => page = Some(next),
            None => return Ok(()),
        }
    }
}

/// Each linked user with what a sign-in would decide for their member, read a few at a time.
async fn judge(
    ctx: &Context<'_>,
    linked: &[ZendeskProfile],
) -> Result<Vec<(ZendeskProfile, Desired)>, SyncError> {
    let mut judged = Vec::with_capacity(linked.len());
    for chunk in linked.chunks(ctx.concurrency.max(1)) {
        let reads = chunk.iter().map(|u| {
            ctx.directory
                .profile_by_id(u.external_id.as_deref().unwrap_or_default().trim())
        });
        let profiles = futures_util::future::join_all(reads).await;
        for (user, profile) in chunk.iter().zip(profiles) {
            let profile = profile.map_err(|e| SyncError::MemberSystem {
                member_id: user.external_id.clone().unwrap_or_default(),
                why: format!("{:#}", anyhow::Error::new(e)),
            })?;
            judged.push((user.clone(), desired(ctx.policy, profile)));
        }
    }
    Ok(judged)
}

/// Looks up the organisations this page names that are not known yet: the members' (by
/// external id) and the users' current ones (by id, to know whether the sync manages them).
async fn index_orgs(
    ctx: &Context<'_>,
    orgs: &mut OrgIndex,
    judged: &[(ZendeskProfile, Desired)],
) -> Result<(), SyncError> {
    if !ctx.policy.managed().organization {
        return Ok(());
    }
    let mut parties: Vec<String> = judged
        .iter()
        .filter_map(|(_, d)| match d {
            Desired::Admitted(w) => w.organization.as_ref().map(|(id, _)| id.clone()),
            Desired::NotAdmitted { .. } => None,
        })
        .filter(|id| !orgs.by_party.contains_key(id))
        .collect();
    parties.sort();
    parties.dedup();
    if !parties.is_empty() {
        let found = ctx
            .pace
            .request(|| ctx.api.organizations_by_external_ids(&parties))
            .await?;
        for party in &parties {
            let org = found
                .iter()
                .find(|o| o.external_id.as_deref() == Some(party.as_str()))
                .cloned();
            if let Some(org) = &org {
                orgs.managed.insert(org.id, true);
            }
            orgs.by_party.insert(party.clone(), org);
        }
    }
    let mut ids: Vec<u64> = judged
        .iter()
        .filter_map(|(u, _)| u.organization_id)
        .filter(|id| !orgs.managed.contains_key(id))
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if !ids.is_empty() {
        let found = ctx
            .pace
            .request(|| ctx.api.organizations_by_ids(&ids))
            .await?;
        for id in ids {
            let managed = found.iter().any(|o| {
                o.id == id
                    && o.external_id
                        .as_deref()
                        .is_some_and(|e| !e.trim().is_empty())
            });
            orgs.managed.insert(id, managed);
        }
    }
    Ok(())
}
