//! Downgrade at once on denial: when a sign-in or a session re-check finds a member no longer
//! admitted, their Zendesk user is downgraded right then with the sync's own rules (`diff`), so
//! that the help centre closes within `SESSION_RECHECK_SECS`, not at the next sweep. In the
//! background: the member's page never waits for it. Once per member per
//! [`DEBOUNCE`]: a lapsed member's retries, or a stranger with their password, cannot make it a
//! flood of writes.

use std::sync::Arc;
use std::time::Duration;

use super::desired::Desired;
use super::diff::{Organizations, diff, refuse};
use crate::audit::Audit;
use crate::policy::Policy;
use crate::zendesk::api::{ApiError, ZendeskApi};

/// How long after one downgrade attempt another for the same member is not made.
pub const DEBOUNCE: Duration = Duration::from_secs(300);

pub struct OnDenial {
    /// A client asking for the sync's write scopes.
    api: ZendeskApi,
    policy: Policy,
    audit: Audit,
    /// Where the member's other sessions (other browsers, other pods) are told to read them again.
    shared: Arc<crate::shared::SharedState>,
    recent: moka::sync::Cache<String, ()>,
}

/// Known from one user's organisation: whether the sync manages it (it has an external id).
struct OneOrg(Option<u64>);

impl Organizations for OneOrg {
    fn id_of(&self, _: &str) -> Option<u64> {
        None
    }

    fn is_managed(&self, id: u64) -> bool {
        self.0 == Some(id)
    }
}

impl OnDenial {
    /// `None` when the policy marks nothing in Zendesk (there is nothing to take away).
    pub fn new(
        api: ZendeskApi,
        policy: Policy,
        audit: Audit,
        shared: Arc<crate::shared::SharedState>,
    ) -> Option<Arc<Self>> {
        super::check_managed(&policy.managed()).ok()?;
        Some(Arc::new(Self {
            api: api.for_sync(),
            policy,
            audit,
            shared,
            recent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(DEBOUNCE)
                .build(),
        }))
    }

    /// The member `member_id` was refused for `reason`: downgrade their Zendesk user(s), in the
    /// background.
    pub fn member_denied(self: &Arc<Self>, member_id: &str, reason: &str) {
        let key = member_id.trim().to_lowercase();
        if key.is_empty() || self.recent.contains_key(&key) {
            return;
        }
        self.recent.insert(key, ());
        let (this, member_id, reason) = (self.clone(), member_id.to_owned(), reason.to_owned());
        tokio::spawn(async move {
            if let Err(e) = this.downgrade(&member_id, &reason).await {
                tracing::warn!(member_id = %member_id, error = %e, "the Zendesk user of a member refused just now could not be downgraded (the next sync will; the OAuth client needs users:write)");
            }
        });
    }

    async fn downgrade(&self, member_id: &str, reason: &str) -> Result<(), ApiError> {
        let managed = self.policy.managed();
        let desired = Desired::NotAdmitted {
            reason: reason.to_owned(),
        };
        for user in self.api.profiles_by_external_id(member_id).await? {
            if refuse(&user).is_some() {
                continue;
            }
            let org = match user.organization_id.filter(|_| managed.organization) {
                Some(id) => self
                    .api
                    .organizations_by_ids(&[id])
                    .await?
                    .into_iter()
                    .find(|o| {
                        o.id == id
                            && o.external_id
                                .as_deref()
                                .is_some_and(|e| !e.trim().is_empty())
                    })
                    .map(|o| o.id),
                None => None,
            };
            let Some(change) = diff(&user, member_id, &desired, &managed, &OneOrg(org)) else {
                continue;
            };
            if let Some(body) = super::apply::body(&change, &Default::default()) {
                self.api.update_user(user.id, &body).await?;
            }
            if let Some(org) = change.leave_organization {
                self.api.leave_organization(user.id, org).await?;
            }
            self.api.end_sessions(user.id).await?;
            self.shared.recheck_member(member_id).await;
            self.audit.member_synced(
                "member_downgraded",
                member_id,
                user.id,
                reason,
                &format!("at once on denial: {}", super::plan::describe(&change)),
            );
        }
        Ok(())
    }
}
