//! `zendesk-sso-bridge sync`: one reconcile of the member system into Zendesk. Prints the plan
//! and writes nothing; `--apply` applies it; `--json` prints the plan as JSON. Audit events go to
//! standard error (the log), the plan to standard output.

use std::process::ExitCode;

use serde_json::json;

use crate::audit::Audit;
use crate::config::Settings;
use crate::lifecycle::{self, Context, SyncError, pace::Pace};
use crate::metrics::Metrics;
use crate::zendesk::api::ZendeskApi;

/// Exit status when the brake held the plan back.
const BRAKED: u8 = 3;

pub struct Options {
    pub apply: bool,
    pub json: bool,
    pub force: bool,
}

pub async fn run(settings: &Settings, options: Options) -> anyhow::Result<ExitCode> {
    let metrics = Metrics::new();
    let audit = Audit::new(metrics.clone());
    let managed = settings.policy.managed();
    if let Err(e) = lifecycle::check_managed(&managed) {
        return Ok(refused(&e));
    }
    let directory = super::open_directory(settings, &metrics)?;
    if !directory.can_look_up() {
        eprintln!(
            "error: the sync reads members without their password: set IMIS_SERVICE_USERNAME and \
             IMIS_SERVICE_PASSWORD (an iMIS account that may read parties and contacts)"
        );
        return Ok(ExitCode::from(2));
    }
    let api = ZendeskApi::new(
        &settings.zendesk.url,
        &settings.zendesk_api,
        metrics.clone(),
        settings.breaker,
    )?
    .for_sync();
    if let Err(e) = lifecycle::check_scopes(&api, &managed).await {
        return Ok(refused(&e));
    }
    // Brand separation decides how users are listed (`brand_id=all`): read it first.
    if let Err(e) = api.sso_configs().await {
        return Ok(refused(&SyncError::Zendesk(e)));
    }
    // With Redis, a downgrade reaches the running replicas: their sessions of the member read
    // the member again at once.
    let shared = match &settings.shared.redis_url {
        Some(url) => Some(crate::shared::SharedState::new(
            settings.session.key.master(),
            Some(url),
            settings.session.ttl,
            metrics.clone(),
        )?),
        None => None,
    };
    let ctx = Context {
        api: &api,
        directory: directory.as_ref(),
        policy: &settings.policy,
        pace: Pace::new(settings.sync.zendesk_rpm),
        concurrency: lifecycle::concurrency(&settings.directory),
        create_users: settings.sync.create_users,
        shared: shared.as_deref(),
    };
    let result = lifecycle::run(
        &ctx,
        lifecycle::Run {
            apply: options.apply,
            max_downgrades: settings.sync.max_downgrades,
            force: options.force,
            audit: &audit,
            metrics: &metrics,
            quiet: false,
        },
    )
    .await;
    let (plan, applied) = match result {
        Ok(done) => done,
        Err(e @ SyncError::Braked { .. }) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(BRAKED));
        }
        Err(e) => return Ok(refused(&e)),
    };
    if options.json {
        let applied = applied.as_ref().map(|a| {
            json!({"organizations": a.organizations, "updated": a.updated,
                   "downgraded": a.downgraded, "created": a.created,
                   "failed": a.failed.iter().map(|(what, why)| json!({"what": what, "why": why})).collect::<Vec<_>>()})
        });
        println!(
            "{}",
            json!({"plan": plan, "applied": applied, "dry_run": !options.apply})
        );
    } else {
        print!("{}", plan.to_text());
        match &applied {
            None if plan.is_empty() => println!("Nothing to change."),
            None => {
                println!("Dry run: nothing was written. Run with --apply to make these changes.")
            }
            Some(applied) => {
                println!("{}", applied.summary());
                for (what, why) in &applied.failed {
                    println!("  failed: {what}: {why}");
                }
            }
        }
    }
    Ok(match applied {
        Some(applied) if !applied.failed.is_empty() => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    })
}

fn refused(e: &SyncError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}
