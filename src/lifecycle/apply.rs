//! Applying a plan exactly: organisations first, then users in `update_many` jobs of 100
//! (polled until done), then memberships left and Zendesk sessions ended — each request in the
//! sync's budget, each change one audit event.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::diff::{Kind, UserChange};
use super::plan::{Context, Plan};
use crate::audit::Audit;
use crate::zendesk::api::{ApiError, JobOutcome};

/// Users per `update_many` job (Zendesk's most).
const JOB_SIZE: usize = 100;
/// How long one job is waited for before its users count as failed.
const JOB_PATIENCE: Duration = Duration::from_secs(600);

/// What the apply did.
#[derive(Debug, Default)]
pub struct Applied {
    pub organizations: usize,
    pub updated: usize,
    pub downgraded: usize,
    /// End users created (`SYNC_CREATE_USERS`).
    pub created: usize,
    /// (what, why) for every change that could not be made.
    pub failed: Vec<(String, String)>,
}

impl Applied {
    pub fn summary(&self) -> String {
        format!(
            "Applied: {} organisations created or renamed, {} members updated, {} downgraded, {} end users created, {} failed.",
            self.organizations,
            self.updated,
            self.downgraded,
            self.created,
            self.failed.len()
        )
    }
}

pub async fn apply(ctx: &Context<'_>, plan: &Plan, audit: &Audit) -> Applied {
    let mut applied = Applied::default();
    let mut org_ids: HashMap<String, u64> = HashMap::new();
    for org in &plan.organizations {
        match ctx
            .pace
            .request(|| {
                ctx.api
                    .create_or_update_organization(&org.external_id, &org.name)
            })
            .await
        {
            Ok(created) => {
                let event = match org.action {
                    "create" => "organization_created",
                    _ => "organization_renamed",
                };
                audit.organization_synced(event, &org.external_id, created.id);
                org_ids.insert(org.external_id.clone(), created.id);
                applied.organizations += 1;
            }
            Err(e) => applied.failed.push((
                format!("organisation iMIS {}", org.external_id),
                e.to_string(),
            )),
        }
    }
    if let Err(e) = resolve_orgs(ctx, plan, &mut org_ids).await {
        applied.failed.push(("organisations".into(), e.to_string()));
    }
    for chunk in plan.users.chunks(JOB_SIZE) {
        let failed = write_users(ctx, chunk, &org_ids).await;
        for change in chunk {
            let why = failed.get(&change.user_id).cloned().or_else(|| {
                let org = change.join_organization.as_ref()?;
                (!org_ids.contains_key(org)).then(|| format!("organisation iMIS {org} is missing"))
            });
            let result = match why {
                Some(why) => Err(why),
                None => finish(ctx, change).await.map_err(|e| e.to_string()),
            };
            if let (Ok(()), Kind::Downgrade, Some(shared)) = (&result, &change.kind, ctx.shared) {
                shared.recheck_member(&change.member_id).await;
            }
            record(audit, &mut applied, change, result);
        }
    }
    create_users(ctx, plan, audit, &mut applied).await;
    applied
}

/// Zendesk ids of the organisations the plan's users join that existed already.
async fn resolve_orgs(
    ctx: &Context<'_>,
    plan: &Plan,
    org_ids: &mut HashMap<String, u64>,
) -> Result<(), ApiError> {
    let mut missing: Vec<String> = plan
        .users
        .iter()
        .filter_map(|c| c.join_organization.clone())
        .filter(|id| !org_ids.contains_key(id))
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    let found = ctx
        .pace
        .request(|| ctx.api.organizations_by_external_ids(&missing))
        .await?;
    for org in found {
        if let Some(external) = org.external_id {
            org_ids.insert(external, org.id);
        }
    }
    Ok(())
}

/// The user's own body for `update_many`, `None` when only other endpoints change.
pub(super) fn body(change: &UserChange, org_ids: &HashMap<String, u64>) -> Option<Value> {
    let mut user = Map::new();
    if let Some(name) = &change.name {
        user.insert("name".into(), json!(name));
    }
    if let Some(phone) = &change.phone {
        user.insert("phone".into(), json!(phone));
    }
    if let Some(tags) = &change.tags {
        user.insert("tags".into(), json!(tags));
    }
    if !change.user_fields.is_empty() {
        user.insert("user_fields".into(), json!(change.user_fields));
    }
    if let Some(org) = change
        .join_organization
        .as_ref()
        .and_then(|o| org_ids.get(o))
    {
        user.insert("organization_id".into(), json!(org));
    }
    if user.is_empty() {
        return None;
    }
    user.insert("id".into(), json!(change.user_id));
    Some(Value::Object(user))
}

/// One `update_many` job for these users, waited for: the users it failed, with why.
async fn write_users(
    ctx: &Context<'_>,
    chunk: &[UserChange],
    org_ids: &HashMap<String, u64>,
) -> HashMap<u64, String> {
    let bodies: Vec<Value> = chunk.iter().filter_map(|c| body(c, org_ids)).collect();
    let everyone = |why: String| chunk.iter().map(|c| (c.user_id, why.clone())).collect();
    if bodies.is_empty() {
        return HashMap::new();
    }
    let job = match ctx.pace.request(|| ctx.api.update_many(&bodies)).await {
        Ok(job) => job,
        Err(e) => return everyone(e.to_string()),
    };
    match wait_for(ctx, &job).await {
        Ok(outcome) => outcome
            .failed
            .into_iter()
            .filter_map(|(id, _, why)| Some((id?, why)))
            .collect(),
        Err(why) => everyone(why),
    }
}

/// Polls a bulk job until it ends: its outcome, or why it cannot be known to have completed.
async fn wait_for(ctx: &Context<'_>, job: &str) -> Result<JobOutcome, String> {
    let started = tokio::time::Instant::now();
    let mut wait = Duration::from_millis(200);
    loop {
        tokio::time::sleep(wait).await;
        match ctx.pace.request(|| ctx.api.job_status(job)).await {
            Ok(outcome) if outcome.finished() => {
                return match outcome.status.as_str() {
                    "completed" => Ok(outcome),
                    other => Err(format!("the bulk job ended {other}")),
                };
            }
            Ok(_) if started.elapsed() > JOB_PATIENCE => {
                return Err("the bulk job did not finish in 10 minutes".into());
            }
            Ok(_) => wait = (wait * 2).min(Duration::from_secs(5)),
            Err(e) => return Err(format!("the bulk job could not be read: {e}")),
        }
    }
}

/// `SYNC_CREATE_USERS`: end users for admitted members Zendesk has none for, 100 a job. Zendesk
/// creates, never updates: a member whose address another user holds is reported (they link
/// at their first sign-in, with proof), and that user is left as it is.
async fn create_users(ctx: &Context<'_>, plan: &Plan, audit: &Audit, applied: &mut Applied) {
    for chunk in plan.creations.chunks(JOB_SIZE) {
        let bodies: Vec<Value> = chunk
            .iter()
            .map(|n| {
                let mut user = json!({"name": n.name, "email": n.email, "external_id": n.member_id,
                    "role": "end-user", "verified": false});
                if let Some(phone) = &n.phone {
                    user["phone"] = json!(phone);
                }
                if !n.tags.is_empty() {
                    user["tags"] = json!(n.tags);
                }
                if !n.user_fields.is_empty() {
                    user["user_fields"] = json!(n.user_fields);
                }
                user
            })
            .collect();
        let outcome = match ctx.pace.request(|| ctx.api.create_many(&bodies)).await {
            Ok(job) => wait_for(ctx, &job).await,
            Err(e) => Err(e.to_string()),
        };
        for (i, new) in chunk.iter().enumerate() {
            let why = match &outcome {
                Err(why) => Some(why.clone()),
                Ok(o) => o
                    .failed
                    .iter()
                    .find(|(_, index, _)| *index == Some(i))
                    .map(|(_, _, why)| why.clone()),
            };
            match why {
                None => {
                    applied.created += 1;
                    audit.member_synced(
                        "member_created",
                        &new.member_id,
                        0,
                        "admitted",
                        "end user created",
                    );
                }
                Some(why) => {
                    audit.member_synced(
                        "sync_change_failed",
                        &new.member_id,
                        0,
                        &why,
                        "end user not created",
                    );
                    applied
                        .failed
                        .push((format!("new end user for iMIS {}", new.member_id), why));
                }
            }
        }
    }
}

/// What `update_many` cannot do: leave an organisation, end the Zendesk sessions.
async fn finish(ctx: &Context<'_>, change: &UserChange) -> Result<(), ApiError> {
    if let Some(org) = change.leave_organization {
        ctx.pace
            .request(|| ctx.api.leave_organization(change.user_id, org))
            .await?;
    }
    if change.end_sessions {
        ctx.pace
            .request(|| ctx.api.end_sessions(change.user_id))
            .await?;
    }
    Ok(())
}

fn record(audit: &Audit, applied: &mut Applied, change: &UserChange, result: Result<(), String>) {
    let what = super::plan::describe(change);
    match result {
        Ok(()) => {
            let event = match change.kind {
                Kind::Update => {
                    applied.updated += 1;
                    "member_updated"
                }
                Kind::Downgrade => {
                    applied.downgraded += 1;
                    "member_downgraded"
                }
            };
            audit.member_synced(
                event,
                &change.member_id,
                change.user_id,
                &change.reason,
                &what,
            );
        }
        Err(why) => {
            audit.member_synced(
                "sync_change_failed",
                &change.member_id,
                change.user_id,
                &why,
                &what,
            );
            applied
                .failed
                .push((format!("Zendesk user {}", change.user_id), why));
        }
    }
}
