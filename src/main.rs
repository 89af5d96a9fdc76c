//! The `zendesk-sso-bridge` command: wires telemetry, configuration and the application.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use url::Url;
use zendesk_sso_bridge::config::{Branding, LogFormat, Settings};
use zendesk_sso_bridge::link_staff;
use zendesk_sso_bridge::members::demo::DEMO_MEMBERS;
use zendesk_sso_bridge::members::file::hash_password;
use zendesk_sso_bridge::metrics::Metrics;
use zendesk_sso_bridge::startup::{Application, StartupError, directory_for};
use zendesk_sso_bridge::telemetry;
use zendesk_sso_bridge::zendesk::api::ZendeskApi;

/// Zendesk JWT remote-login URL for member systems such as iMIS.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum PolicyAction {
    /// Show the data fetched for one member and which rule decides (no password needed; uses
    /// the iMIS service account).
    Explain {
        /// The member's user name.
        username: String,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Serve, configured from the environment (the default; see .env.example).
    Serve,
    /// Run a self-contained demo: demo members and a Zendesk simulator, no configuration.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Where browsers reach it, if not the listening address (e.g. behind a Service).
        #[arg(long)]
        public_url: Option<Url>,
    },
    /// Exit 0 if the bridge at --url answers /healthz (for images without a shell).
    Healthcheck {
        /// Base URL of the bridge.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: Url,
    },
    /// Probe a running bridge: /readyz, or with --demo a whole demo sign-in (Helm test).
    SmokeTest {
        /// Base URL of the bridge.
        #[arg(long)]
        url: Url,
        /// The bridge runs `demo`: sign a demo member in through the simulator.
        #[arg(long)]
        demo: bool,
    },
    /// Test the configuration: reach iMIS and Zendesk, check Zendesk's JWT settings, sign a
    /// sample token. Exit code 0 when every check passes.
    Check {
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Also show the claims a token for this member would carry (service account needed).
        #[arg(long)]
        member: Option<String>,
    },
    /// The access policy (POLICY_FILE).
    Policy {
        #[command(subcommand)]
        action: PolicyAction,
    },
    /// Link Zendesk agents and admins to their member records (sets external_id). Dry run
    /// unless --apply is given; never touches end users.
    LinkStaff {
        /// Make the changes (otherwise only print the plan).
        #[arg(long)]
        apply: bool,
    },
    /// Read a password from standard input and print its argon2id hash for MEMBERS_FILE.
    HashPassword,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Demo { listen, public_url } => demo(listen, public_url).await,
        Command::Healthcheck { url } => match zendesk_sso_bridge::smoke::healthcheck(&url).await {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("unhealthy: {e:#}");
                Ok(ExitCode::FAILURE)
            }
        },
        Command::SmokeTest { url, demo } => {
            match zendesk_sso_bridge::smoke::smoke_test(&url, demo).await {
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
        Command::Check { json, member } => check(json, member).await,
        Command::Policy {
            action: PolicyAction::Explain { username },
        } => explain(&username).await,
        Command::LinkStaff { apply } => link_staff(apply).await,
        Command::HashPassword => hash_from_stdin(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve() -> anyhow::Result<ExitCode> {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{e}");
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

async fn demo(listen: SocketAddr, public_url: Option<Url>) -> anyhow::Result<ExitCode> {
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

async fn explain(username: &str) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let directory = directory_for(&settings, &Metrics::new())?;
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

async fn check(json: bool, member: Option<String>) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let report = zendesk_sso_bridge::check::run(&settings, member.as_deref()).await;
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

async fn link_staff(apply: bool) -> anyhow::Result<ExitCode> {
    let settings = match settings_or_exit() {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let _log_guard = telemetry::init(settings.log_format);
    let metrics = Metrics::new();
    let directory = directory_for(&settings, &metrics)?;
    let api = ZendeskApi::new(
        &settings.zendesk.url,
        &settings.zendesk_api,
        metrics,
        settings.breaker,
    )?;
    let plan = link_staff::plan(&api, directory.as_ref()).await?;
    print!("{}", plan.to_text(apply));
    if !apply {
        return Ok(ExitCode::SUCCESS);
    }
    let summary = link_staff::apply(&api, &plan).await;
    print!("{}", summary.to_text());
    Ok(if summary.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn hash_from_stdin() -> anyhow::Result<ExitCode> {
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
