//! The sync inside `serve` (`SYNC_INTERVAL_SECS`): one sweep an interval across every replica,
//! whoever takes the lease (Redis) first; the others skip their turn. A sweep that fails, or that
//! the brake holds back, is audited and counted like the command's, and the next turn tries
//! again from the world as it is then.

use std::sync::Arc;
use std::time::Duration;

use super::{Context, Run, pace::Pace};
use crate::audit::Audit;
use crate::members::MemberDirectory;
use crate::metrics::Metrics;
use crate::policy::Policy;
use crate::shared::SharedState;
use crate::zendesk::api::ZendeskApi;

/// Everything one sweep needs, owned by the task that runs the sweeps.
pub struct Sweeper {
    /// A client asking for the sync's write scopes.
    pub api: ZendeskApi,
    pub directory: Arc<dyn MemberDirectory>,
    pub policy: Policy,
    pub shared: Arc<SharedState>,
    pub audit: Audit,
    pub metrics: Metrics,
    pub max_downgrades: usize,
    pub zendesk_rpm: u32,
    pub concurrency: usize,
    /// Create end users for admitted members without one (`SYNC_CREATE_USERS`).
    pub create_users: bool,
    /// Sweeps with nothing to change write no audit line (the demo's).
    pub quiet: bool,
}

impl Sweeper {
    /// Sweeps now and then every `every`, for as long as the process runs.
    pub fn spawn(self, every: Duration) {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // The lease lasts the interval (less a moment, so the next turn is free).
                let lease = every
                    .saturating_sub(Duration::from_millis(500))
                    .max(Duration::from_secs(1));
                if !self.shared.take_lease("sync", lease).await {
                    tracing::debug!("another replica sweeps this turn");
                    continue;
                }
                self.sweep().await;
            }
        });
    }

    async fn sweep(&self) {
        if let Err(e) = super::check_scopes(&self.api, &self.policy.managed()).await {
            self.audit
                .sync_run("sync_failed", &e.to_string(), "nothing was written");
            return;
        }
        if let Err(e) = self.api.sso_configs().await {
            self.audit
                .sync_run("sync_failed", &e.to_string(), "nothing was written");
            return;
        }
        let ctx = Context {
            api: &self.api,
            directory: self.directory.as_ref(),
            policy: &self.policy,
            pace: Pace::new(self.zendesk_rpm),
            concurrency: self.concurrency,
            create_users: self.create_users,
            shared: Some(&self.shared),
        };
        let how = Run {
            apply: true,
            max_downgrades: self.max_downgrades,
            force: false,
            audit: &self.audit,
            metrics: &self.metrics,
            quiet: self.quiet,
        };
        if let Err(e) = super::run(&ctx, how).await {
            tracing::warn!(error = %e, "the lifecycle sync did not run to the end");
        }
    }
}
