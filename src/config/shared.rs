//! State shared by replicas: `REDIS_URL`, and how many replicas the deployment runs.

use super::env::{RawSettings, Validator};
use super::*;

/// Where shared state lives (see `crate::shared`).
#[derive(Debug, Clone, Default)]
pub struct SharedSettings {
    /// `redis://` or `rediss://`, with password and database in the URL; `None`: in this process.
    pub redis_url: Option<SecretString>,
    /// `DEPLOYMENT_REPLICAS`, which the chart sets.
    pub replicas: u32,
}

impl Validator {
    pub(super) fn shared(&mut self, raw: &RawSettings) -> SharedSettings {
        let redis_url = self.optional_secret(
            "REDIS_URL",
            raw.redis_url.clone(),
            raw.redis_url_file.clone(),
        );
        if let Some(url) = &redis_url {
            let scheme = Url::parse(url.expose_secret()).map(|u| u.scheme().to_owned());
            if !matches!(scheme.as_deref(), Ok("redis" | "rediss")) {
                self.problem(
                    "REDIS_URL",
                    "must be a redis:// or rediss:// URL (redis://:password@host:6379/0)",
                );
            }
        }
        let replicas = self.number(
            "DEPLOYMENT_REPLICAS",
            raw.deployment_replicas.as_deref(),
            1,
            1..=10_000,
            "replicas",
        ) as u32;
        if replicas > 1 && redis_url.is_none() {
            self.warnings.push(format!(
                "DEPLOYMENT_REPLICAS is {replicas} but REDIS_URL is not set: each replica keeps its own sign-in limits and sign-outs, so an attacker gets {replicas} times the guesses and a sign-out on one pod does not end a copied session on another. Set REDIS_URL."
            ));
        }
        SharedSettings {
            redis_url,
            replicas,
        }
    }
}
