//! The `zendesk-sso-bridge` command: wires telemetry, configuration and the application.

use std::io::{BufRead, IsTerminal};
use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use zendesk_sso_bridge::config::{LogFormat, Settings};
use zendesk_sso_bridge::members::demo::DEMO_MEMBERS;
use zendesk_sso_bridge::members::file::hash_password;
use zendesk_sso_bridge::startup::Application;
use zendesk_sso_bridge::telemetry;

/// Zendesk JWT remote-login URL for member systems such as iMIS.
#[derive(Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
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
    },
    /// Read a password from standard input and print its argon2id hash for MEMBERS_FILE.
    HashPassword,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve().await,
        Command::Demo { listen } => demo(listen).await,
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
    telemetry::init(settings.log_format);
    for warning in &settings.warnings {
        tracing::warn!(warning = %warning, "risky configuration");
    }
    let app = Application::build(settings).await?;
    tracing::info!(address = %app.address(), version = env!("CARGO_PKG_VERSION"), "listening");
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn demo(listen: SocketAddr) -> anyhow::Result<ExitCode> {
    telemetry::init(LogFormat::Pretty);
    let app = Application::build_demo(listen).await?;
    let base = format!("http://{}", app.address());
    println!("zendesk-sso-bridge demo — nothing leaves this machine.");
    println!("  Start here:         {base}/");
    println!("  Simulated Zendesk:  {base}/_simulator/hc");
    println!("  Demo members (user name / password):");
    for m in DEMO_MEMBERS {
        println!("    {:<8} {:<14} {}", m.username, m.password, m.note);
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
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
