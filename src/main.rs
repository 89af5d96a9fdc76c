//! The `zendesk-sso-bridge` command: wires telemetry, configuration and the application.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use url::Url;
use zendesk_sso_bridge::commands;

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
    /// Keep Zendesk true to the member system: members no longer admitted lose the policy's
    /// tags, fields and organisation and their Zendesk sessions; admitted members are brought
    /// up to date; organisations are created. Prints the plan unless --apply is given.
    Sync {
        /// Make the changes (otherwise only print the plan).
        #[arg(long)]
        apply: bool,
        /// Print the plan (and what was applied) as JSON.
        #[arg(long)]
        json: bool,
        /// Apply even when the plan downgrades more than SYNC_MAX_DOWNGRADES members (once).
        #[arg(long)]
        force: bool,
    },
    /// Read a password from standard input and print its argon2id hash for MEMBERS_FILE.
    HashPassword,
}

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => commands::serve().await,
        Command::Demo { listen, public_url } => commands::demo(listen, public_url).await,
        Command::Healthcheck { url } => commands::healthcheck(&url).await,
        Command::SmokeTest { url, demo } => commands::smoke(&url, demo).await,
        Command::Check { json, member } => commands::check(json, member).await,
        Command::Policy {
            action: PolicyAction::Explain { username },
        } => commands::explain(&username).await,
        Command::LinkStaff { apply } => commands::link_staff(apply).await,
        Command::Sync { apply, json, force } => {
            commands::sync(commands::sync::Options { apply, json, force }).await
        }
        Command::HashPassword => commands::hash_password_from_stdin(),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
