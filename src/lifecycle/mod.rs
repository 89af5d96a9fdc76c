//! The membership lifecycle: keeping what the bridge told Zendesk true over time.
//!
//! A reconcile, level-triggered and idempotent (kube-rs's reconciler, Terraform's plan/apply):
//! for every Zendesk end user linked to a member (external id = iMIS ID), [`desired`] judges the
//! member now exactly as a sign-in would (`Policy::judge`, the same facts), [`diff`] compares
//! that with what Zendesk shows, [`plan`] collects the differences, the brake is checked on the
//! plan, and only then [`apply`] writes exactly that plan — in bulk, within `SYNC_ZENDESK_RPM`,
//! one audit event per change. Members no longer admitted are downgraded: the policy's tags,
//! user fields and organisation removed and their Zendesk sessions ended; never suspended,
//! deleted, or changed in role, e-mail or external id. Agents and admins are never touched.

pub mod apply;
pub mod desired;
pub mod diff;
pub mod on_denial;
pub mod pace;
pub mod plan;
pub mod schedule;

use crate::audit::Audit;
use crate::metrics::Metrics;
use crate::policy::{Managed, TagScope};
use crate::zendesk::api::{ApiError, TokenInfo, ZendeskApi};

pub use apply::Applied;
pub use on_denial::OnDenial;
pub use plan::{Context, Plan};

/// The most downgrades one run makes without `--force` (`SYNC_MAX_DOWNGRADES`).
pub const DEFAULT_MAX_DOWNGRADES: usize = 25;
/// Zendesk requests a minute the sync may make (`SYNC_ZENDESK_RPM`).
pub const DEFAULT_ZENDESK_RPM: u32 = 100;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error("Zendesk could not be read or written: {0}")]
    Zendesk(#[from] ApiError),
    #[error(
        "the member system could not be read for iMIS ID {member_id}: {why}. Nothing was written"
    )]
    MemberSystem { member_id: String, why: String },
    #[error(
        "the Zendesk API credentials lack the scope {0}: give the OAuth client (or token) {0} — the \
         sync writes users and organisations"
    )]
    MissingScope(&'static str),
    #[error(
        "POLICY_FILE maps no tags (with a `prefix` or an `allow` list), user fields or organisation: \
         nothing in Zendesk tells a current member from a lapsed one, so the sync cannot downgrade \
         anyone. Map a member tag, e.g. [claims.tags] from = [\"member_type\"], prefix = \"imis_\""
    )]
    NothingManaged,
    #[error(
        "the plan would downgrade {planned} members, more than SYNC_MAX_DOWNGRADES ({max}): nothing \
         was written. An iMIS outage, an empty query or a broken policy must never read as \
         \"everyone lapsed\": check the plan, then run once with --force if it is right"
    )]
    Braked { planned: usize, max: usize },
}

/// Members read from the member system at once: a few, within `IMIS_MAX_IN_FLIGHT` (iMIS's usage
/// guidelines forbid multi-threaded bulk pulls).
pub fn concurrency(directory: &crate::members::DirectorySettings) -> usize {
    match directory {
        crate::members::DirectorySettings::Imis(imis) => imis.max_in_flight.clamp(1, 4),
        crate::members::DirectorySettings::File { .. } => 8,
    }
}

/// The sync needs something in Zendesk that marks a member, or it could never downgrade anyone.
pub fn check_managed(managed: &Managed) -> Result<(), SyncError> {
    let tags = matches!(managed.tags, TagScope::Listed(_) | TagScope::Prefix(_));
    match tags || !managed.user_fields.is_empty() || managed.organization {
        true => Ok(()),
        false => Err(SyncError::NothingManaged),
    }
}

/// The write scopes the token lacks (`write` covers all).
pub fn missing_scope(info: &TokenInfo, managed: &Managed) -> Option<&'static str> {
    let has = |scope: &str| {
        info.scopes
            .iter()
            .any(|s| s.trim() == scope || s.trim() == "write")
    };
    if !has("users:write") {
        return Some("users:write");
    }
    if managed.organization && !has("organizations:write") {
        return Some("organizations:write");
    }
    None
}

/// The brake: a plan that downgrades more than `max` members is not applied unless forced.
pub fn brake(plan: &Plan, max: usize, force: bool) -> Result<(), SyncError> {
    let planned = plan.downgrades();
    match planned > max && !force {
        true => Err(SyncError::Braked { planned, max }),
        false => Ok(()),
    }
}

/// Checks that the credentials may write what the sync writes (OAuth tokens say their scopes;
/// an API token's rights cannot be read and are found out at the first write).
pub async fn check_scopes(api: &ZendeskApi, managed: &Managed) -> Result<(), SyncError> {
    match api.token_info().await? {
        Some(info) => match missing_scope(&info, managed) {
            Some(scope) => Err(SyncError::MissingScope(scope)),
            None => Ok(()),
        },
        None => Ok(()),
    }
}

/// How one run goes: apply or only plan, the brake, and where it reports.
pub struct Run<'a> {
    pub apply: bool,
    pub max_downgrades: usize,
    pub force: bool,
    pub audit: &'a Audit,
    pub metrics: &'a Metrics,
    /// A run with nothing to change writes no audit line (the demo's sweeps every few seconds).
    pub quiet: bool,
}

/// One run: plan, brake, and with `apply` the writes. The audit gets one line for the run and
/// the metrics its duration and changes.
pub async fn run(ctx: &Context<'_>, how: Run<'_>) -> Result<(Plan, Option<Applied>), SyncError> {
    let started = std::time::Instant::now();
    let result = run_once(ctx, &how).await;
    let took = started.elapsed();
    match &result {
        Ok((_, Some(a))) => how.metrics.sync_run(
            took,
            &[
                ("updated", a.updated),
                ("downgraded", a.downgraded),
                ("organization", a.organizations),
                ("created", a.created),
                ("failed", a.failed.len()),
            ],
            a.failed.is_empty(),
        ),
        Ok((_, None)) => how.metrics.sync_run(took, &[], true),
        Err(e) => {
            if matches!(e, SyncError::Braked { .. }) {
                how.metrics.sync_braked();
            }
            how.metrics.sync_run(took, &[], false);
        }
    }
    result
}

async fn run_once(ctx: &Context<'_>, how: &Run<'_>) -> Result<(Plan, Option<Applied>), SyncError> {
    let audit = how.audit;
    let plan = match plan::plan(ctx).await {
        Ok(plan) => plan,
        Err(e) => {
            audit.sync_run("sync_failed", &e.to_string(), "nothing was written");
            return Err(e);
        }
    };
    if let Err(e) = brake(&plan, how.max_downgrades, how.force) {
        audit.sync_run("sync_braked", &e.to_string(), &plan.summary());
        return Err(e);
    }
    if !how.apply {
        audit.sync_run("sync_planned", "dry run", &plan.summary());
        return Ok((plan, None));
    }
    if how.quiet && plan.is_empty() {
        tracing::debug!(summary = %plan.summary(), "the sync found nothing to change");
        return Ok((plan, Some(Applied::default())));
    }
    let applied = apply::apply(ctx, &plan, audit).await;
    audit.sync_run(
        "sync_applied",
        if applied.failed.is_empty() {
            "complete"
        } else {
            "some changes failed"
        },
        &format!("{} {}", plan.summary(), applied.summary()),
    );
    Ok((plan, Some(applied)))
}
