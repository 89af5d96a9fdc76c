//! `Application::build`: the route table and the middleware order live here and only here
//! ([`routes`], [`Application::build_with_listener`]); the shared state is assembled in
//! [`state`]. The server binds before it is built, so tests can ask for port 0 and read the
//! real port back.

mod demo;
mod state;

pub use demo::member_site_url;

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::config::{Settings, ShutdownSettings};
use crate::members::imis::simulator::MemberSite;
use crate::telemetry::RootSpan;
use crate::web::middleware::{record_metrics, refuse_long_queries, security_headers};
use crate::web::{health, imis_sso, landing, login, logout, verify};
use crate::zendesk::simulator::Simulator;

/// Why `serve` will not start although the configuration is valid.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("refusing to serve: {0}")]
    UnsafeZendeskConfig(String),
}

/// The most a form body may hold (user name + password + token fit in far less).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// Every route the bridge answers (the demo adds the simulator under `/_simulator`).
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(landing::landing))
        .route("/login", web::get().to(login::show))
        .route("/login", web::post().to(login::submit))
        .route("/login/verify", web::post().to(verify::submit))
        .route("/login/sso", web::get().to(imis_sso::begin))
        .route("/imis/sso", web::post().to(imis_sso::hand_off))
        .route("/imis/sso", web::get().to(imis_sso::probe))
        .route("/logout", web::get().to(logout::logout))
        .route("/healthz", web::get().to(health::healthz))
        .route("/readyz", web::get().to(health::readyz))
        .route("/metrics", web::get().to(health::metrics))
        .route("/robots.txt", web::get().to(landing::robots))
        .route("/favicon.ico", web::get().to(landing::favicon))
        .route("/favicon.svg", web::get().to(landing::favicon))
        .route("/assets/style.css", web::get().to(landing::style))
        .route("/assets/deliver.js", web::get().to(landing::deliver_script));
}

/// The metrics listener (`METRICS_ADDR`): `/metrics`, `/readyz` with its details, `/healthz`.
fn internal_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(health::metrics))
        .route("/readyz", web::get().to(health::readyz))
        .route("/healthz", web::get().to(health::healthz));
}

pub struct Application {
    address: SocketAddr,
    server: Server,
    /// The metrics listener, when `METRICS_ADDR` is set.
    metrics: Option<(SocketAddr, Server)>,
    draining: Arc<AtomicBool>,
    shutdown: ShutdownSettings,
}

impl Application {
    /// The `serve` command: everything from validated settings.
    /// Refuses (with [`StartupError::UnsafeZendeskConfig`]) when Zendesk's JWT configuration
    /// lets a sign-in rewrite external ids.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(settings.listen_addr)
            .with_context(|| format!("cannot listen on LISTEN_ADDR={}", settings.listen_addr))?;
        Self::build_with_listener(settings, listener, None).await
    }

    /// The `demo` command: see [`demo`].
    pub async fn build_demo(
        listen: SocketAddr,
        public_url: Option<url::Url>,
        branding: crate::config::Branding,
    ) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        let (settings, simulator) = demo::settings(&listener, public_url, branding)?;
        Self::build_with_listener(settings, listener, Some(simulator)).await
    }

    async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
        simulator: Option<Simulator>,
    ) -> anyhow::Result<Self> {
        let address = listener.local_addr()?;
        let metrics_listener = settings
            .metrics_addr
            .map(|addr| {
                TcpListener::bind(addr)
                    .with_context(|| format!("cannot listen on METRICS_ADDR={addr}"))
            })
            .transpose()?;
        let built = state::build(&settings, address, simulator).await?;
        let (state, simulator, member_site) = (built.state, built.simulator, built.member_site);
        let (csp, https) = (built.default_csp, built.https);
        let draining = state.draining.clone();
        let metrics = match metrics_listener {
            Some(listener) => Some(metrics_server(listener, state.clone(), &settings)?),
            None => None,
        };
        let server = HttpServer::new(move || {
            // Outermost first: the request span, security headers, metrics, the query guard.
            let app = App::new()
                .app_data(state.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(MAX_FORM_BYTES)
                        .error_handler(login::bad_request),
                )
                .app_data(web::QueryConfig::default().error_handler(login::bad_request))
                .wrap(from_fn(refuse_long_queries))
                .wrap(from_fn(record_metrics))
                .wrap(security_headers(&csp, https))
                .wrap(TracingLogger::<RootSpan>::new())
                .configure(routes);
            let app = match &simulator {
                Some(sim) => app.service(
                    web::scope("/_simulator")
                        .app_data(sim.clone())
                        .configure(Simulator::configure),
                ),
                None => app,
            };
            let app = match &member_site {
                Some(site) => app.service(
                    web::scope("/_member_site")
                        .app_data(site.clone())
                        .configure(MemberSite::configure),
                ),
                None => app,
            };
            app.default_service(web::to(landing::not_found))
        })
        .listen(listener)
        .context("the listener could not be used")?
        .disable_signals()
        .shutdown_timeout(settings.shutdown.timeout.as_secs())
        .run();
        Ok(Self {
            address,
            server,
            metrics,
            draining,
            shutdown: settings.shutdown,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Where `/metrics` is served, when `METRICS_ADDR` is set.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().map(|(address, _)| *address)
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        if let Some((_, metrics)) = self.metrics {
            tokio::spawn(metrics);
        }
        self.server.await
    }

    /// Runs until SIGTERM or SIGINT, then drains: `/readyz` answers 503 for
    /// `SHUTDOWN_DRAIN_SECS` while requests are still served, then the listener closes and
    /// in-flight requests get up to `SHUTDOWN_TIMEOUT_SECS` to finish.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let metrics_handle = self.metrics.as_ref().map(|(_, m)| m.handle());
        if let Some((_, metrics)) = self.metrics {
            tokio::spawn(metrics);
        }
        let draining = self.draining.clone();
        let drain = self.shutdown.drain;
        tokio::spawn(async move {
            let signal = wait_for_stop_signal().await;
            tracing::info!(
                signal,
                drain_secs = drain.as_secs(),
                "stopping: draining first"
            );
            draining.store(true, Ordering::SeqCst);
            tokio::time::sleep(drain).await;
            tracing::info!("no longer accepting connections; finishing in-flight requests");
            handle.stop(true).await;
            if let Some(metrics) = metrics_handle {
                metrics.stop(true).await;
            }
        });
        self.server.await
    }
}

/// One worker answering Prometheus and the kubelet's detailed probes on `METRICS_ADDR`.
fn metrics_server(
    listener: TcpListener,
    state: web::Data<crate::web::AppState>,
    settings: &Settings,
) -> anyhow::Result<(SocketAddr, Server)> {
    let address = listener.local_addr()?;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(health::Internal)
            .configure(internal_routes)
    })
    .workers(1)
    .listen(listener)
    .context("the metrics listener could not be used")?
    .disable_signals()
    .shutdown_timeout(settings.shutdown.timeout.as_secs())
    .run();
    Ok((address, server))
}

async fn wait_for_stop_signal() -> &'static str {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        // Without signal handlers the process can only be killed; never stop on our own.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    }
}
