//! The lifecycle sync's settings: its brake, its request budget and the in-process schedule.

use std::time::Duration;

use super::SharedSettings;
use super::env::{RawSettings, Validator};
use crate::lifecycle::{DEFAULT_MAX_DOWNGRADES, DEFAULT_ZENDESK_RPM};
use crate::members::DirectorySettings;
use crate::policy::Policy;

/// The lifecycle sync's brake and request budget, and how often `serve` runs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncSettings {
    /// A plan downgrading more members than this is not applied without `--force`.
    pub max_downgrades: usize,
    /// Zendesk requests a minute the sync may make.
    pub zendesk_rpm: u32,
    /// Create Zendesk end users for admitted members who have none (`SYNC_CREATE_USERS`).
    pub create_users: bool,
    /// `serve` runs the sync this often (one replica at a time); `None`: never (`sync` by hand
    /// or the chart's CronJob).
    pub interval: Option<Duration>,
}

impl Default for SyncSettings {
    fn default() -> Self {
        Self {
            max_downgrades: DEFAULT_MAX_DOWNGRADES,
            zendesk_rpm: DEFAULT_ZENDESK_RPM,
            create_users: false,
            interval: None,
        }
    }
}

impl Validator {
    pub(super) fn sync(
        &mut self,
        raw: &RawSettings,
        shared: &SharedSettings,
        policy: &Policy,
        directory: Option<&DirectorySettings>,
    ) -> SyncSettings {
        let max_downgrades = self.number(
            "SYNC_MAX_DOWNGRADES",
            raw.sync_max_downgrades.as_deref(),
            DEFAULT_MAX_DOWNGRADES as u64,
            0..=1_000_000,
            "members",
        ) as usize;
        let zendesk_rpm = self.number(
            "SYNC_ZENDESK_RPM",
            raw.sync_zendesk_rpm.as_deref(),
            u64::from(DEFAULT_ZENDESK_RPM),
            1..=2_500,
            "requests a minute",
        ) as u32;
        let secs = self.number(
            "SYNC_INTERVAL_SECS",
            raw.sync_interval_secs.as_deref(),
            0,
            0..=7 * 86_400,
            "seconds",
        );
        let interval = (secs > 0).then(|| Duration::from_secs(secs));
        if interval.is_some() {
            if shared.replicas > 1 && shared.redis_url.is_none() {
                self.problem(
                    "SYNC_INTERVAL_SECS",
                    format!(
                        "DEPLOYMENT_REPLICAS is {} but REDIS_URL is not set: every replica would \
                         run its own sync. Set REDIS_URL (the replicas then take turns), or run \
                         the sync as the chart's CronJob (sync.enabled) and unset SYNC_INTERVAL_SECS",
                        shared.replicas
                    ),
                );
            }
            if let Some(DirectorySettings::Imis(imis)) = directory
                && imis.service_account.is_none()
            {
                self.problem(
                    "SYNC_INTERVAL_SECS",
                    "the sync reads members without their password: set IMIS_SERVICE_USERNAME and \
                     IMIS_SERVICE_PASSWORD (an iMIS account that may read parties and contacts)"
                        .to_owned(),
                );
            }
            if let Err(e) = crate::lifecycle::check_managed(&policy.managed()) {
                self.problem("SYNC_INTERVAL_SECS", e.to_string());
            }
        }
        let create_users = match raw
            .sync_create_users
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("false") | Some("no") | Some("0") => false,
            Some("true") | Some("yes") | Some("1") => true,
            Some(other) => {
                self.problem(
                    "SYNC_CREATE_USERS",
                    format!("`{other}` must be `true` or `false` (default false)"),
                );
                false
            }
        };
        let listing = match directory {
            Some(DirectorySettings::Imis(imis)) => imis.members_query.is_some(),
            Some(DirectorySettings::File { .. }) => true,
            None => true,
        };
        if create_users && !listing {
            self.problem(
                "SYNC_CREATE_USERS",
                "needs IMIS_MEMBERS_QUERY: only a listing names the members Zendesk has no user for"
                    .to_owned(),
            );
        }
        SyncSettings {
            max_downgrades,
            zendesk_rpm,
            create_users,
            interval,
        }
    }
}
