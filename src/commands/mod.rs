//! The command-line commands, one function each; `main.rs` only parses and dispatches.
//! `serve` and `demo` build the server; no other command does.

pub mod check;
pub mod link_staff;
pub mod smoke_test;
pub mod sync;

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;

use url::Url;

use crate::config::{Branding, LogFormat, Settings};
use crate::members::demo::DEMO_MEMBERS;
use crate::members::file::hash_password;
use crate::metrics::Metrics;
use crate::startup::{Application, StartupError};
use crate::telemetry;
use crate::zendesk::api::ZendeskApi;

pub async fn serve() -> anyhow::Result<ExitCode> {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            match std::env::var("LOG_FORMAT").is_ok_and(|f| f.trim() == "json") {
                true => eprint!("{}", e.to_json_lines()),
                false => eprintln!("{e}"),
            }
            return Ok(ExitCode::from(2));
        }
    };
    let _log_guard = telemetry::init(settings.log_format);
    for warning in &settings.warnings {
        tracing::warn!(warning = %warning, "risky configuration");
    }
    let app = match Application::build(settings).await {
        Ok(app) => app,
        Err(e) => {
            if let Some(refusal) = e.downcast_ref::<StartupError>() {
                tracing::error!(error = %refusal, "not serving");
                eprintln!("{refusal}");
                return Ok(ExitCode::from(3));
            }
            return Err(e);
        }
    };
    tracing::info!(address = %app.address(), version = env!("CARGO_PKG_VERSION"), "listening");
    app.run_until_signalled().await?;
    Ok(ExitCode::SUCCESS)
}

pub async fn demo(listen: SocketAddr, public_url: Option<Url>) -> anyhow::Result<ExitCode> {
    let _log_guard = telemetry::init(LogFormat::Pretty);
    // The demo reads only BRAND_*, so an admin can preview their member pages.
    let branding = match Branding::from_vars(std::env::vars()) {
        Ok(branding) => branding,
        Err(e) => {
            eprintln!("{e}");
            return Ok(ExitCode::from(2));
        }
    };
    let app = Application::build_demo(listen, public_url.clone(), branding).await?;
    let base = match public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("http://{}", app.address()),
    };
    println!("zendesk-sso-bridge demo — nothing leaves this machine.");
    println!("  Start here:         {base}/");
    println!("  Simulated Zendesk:  {base}/_simulator/hc");
    if let Ok(site) = url::Url::parse(&base)
        .map_err(anyhow::Error::from)
        .and_then(|u| crate::startup::member_site_url(&u))
    {
        println!(
            "  Member site (iMIS): {}_member_site/signin (\"Sign in with your member account\")",
            site
        );
    }
    println!("  Demo members (user name / password):");
    for m in DEMO_MEMBERS {
        println!("    {:<8} {:<14} {}", m.username, m.password, m.note);
    }
    app.run_until_signalled().await?;
    Ok(ExitCode::SUCCESS)
}

/// Settings for the one-shot commands; problems printed like `serve` does.
fn settings_or_exit() -> Result<Settings, ExitCode> {
    Settings::from_env().map_err(|e| {
        eprintln!("{e}");
        ExitCode::from(2)
    })
}

pub async fn explain(username: &str) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let directory = open_directory(&settings, &Metrics::new())?;
    let profile = directory
        .profile_of(username)
        .await
        .map_err(|e| anyhow::anyhow!("{e}: {:?}", e))?;
    let explanation = settings.policy.explain(&profile);
    for line in &explanation.lines {
        println!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn check(json: bool, member: Option<String>) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let report = check::run(&settings, member.as_deref()).await;
    if json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub async fn link_staff(apply: bool) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let _log_guard = telemetry::init(settings.log_format);
    let metrics = Metrics::new();
    let directory = open_directory(&settings, &metrics)?;
    let api = ZendeskApi::new(
        &settings.zendesk.url,
        &settings.zendesk_api,
        metrics,
        settings.breaker,
    )?;
    let api = if apply { api.for_writes() } else { api };
    let plan = self::link_staff::plan(&api, directory.as_ref()).await?;
    print!("{}", plan.to_text(apply));
    if !apply {
        return Ok(ExitCode::SUCCESS);
    }
    let summary = self::link_staff::apply(&api, &plan).await;
    print!("{}", summary.to_text());
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `sync`: the plan, and with `--apply` the changes (see [`sync`]).
pub async fn sync(options: sync::Options) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    // The plan goes to standard output; the log and its audit events to standard error.
    telemetry::init_with_writer(settings.log_format, std::io::stderr);
    sync::run(&settings, options).await
}

pub fn hash_password_from_stdin() -> anyhow::Result<ExitCode> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprintln!("Type the password and press Enter (it will be shown):");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        eprintln!("error: an empty password cannot be hashed");
        return Ok(ExitCode::from(2));
    }
    println!("{}", hash_password(password)?);
    Ok(ExitCode::SUCCESS)
}

/// `healthcheck`: exit 0 if the bridge at `url` answers `/healthz`.
pub async fn healthcheck(url: &Url) -> anyhow::Result<ExitCode> {
    match smoke_test::healthcheck(url).await {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("unhealthy: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `smoke-test`: `/readyz`, or a whole demo sign-in.
pub async fn smoke(url: &Url, demo: bool) -> anyhow::Result<ExitCode> {
    match smoke_test::smoke_test(url, demo).await {
        Ok(report) => {
            println!("ok: {report}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("smoke test failed: {e:#}");
            Ok(ExitCode::FAILURE)
        }
    }
}

fn open_directory(
    settings: &Settings,
    metrics: &Metrics,
) -> anyhow::Result<std::sync::Arc<dyn crate::members::MemberDirectory>> {
    crate::members::open(
        &settings.directory,
        &settings.phone,
        settings.policy.fact_needs(),
        metrics,
        settings.breaker,
        settings.directory.in_flight(),
    )
}
