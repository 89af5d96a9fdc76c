//! `Application::build`: the route table, the middleware order and the shared state live here
//! and only here. The server binds before it is built, so tests can ask for port 0 and read
//! the real port back.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::dev::{Server, Service};
use actix_web::http::StatusCode;
use actix_web::middleware::DefaultHeaders;
use actix_web::{App, HttpResponse, HttpServer, web};
use anyhow::Context;
use futures_util::future::Either;
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;
use url::Url;

use crate::audit::Audit;
use crate::config::{Branding, DirectorySettings, Settings, ShutdownSettings};
use crate::mail::Mailer;
use crate::members::demo::{DEMO_MEMBERS, demo_members};
use crate::metrics::Metrics;
use crate::signin::Pipeline;
use crate::telemetry::RootSpan;
use crate::web::pages::MemberPages;
use crate::web::return_to::ReturnToPolicy;
use crate::web::session::{CookieSealer, SignedOut};
use crate::web::throttle::Throttle;
use crate::web::{AppState, DemoInfo, health, landing, login, logout, pages, verify};
use crate::zendesk::api::ZendeskApi;
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::safety::{ConfigVerdict, GuardSettings, SafetyGuard};
use crate::zendesk::simulator::Simulator;

/// Why `serve` will not start although the configuration is valid.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("refusing to serve: {0}")]
    UnsafeZendeskConfig(String),
}

/// The longest query string accepted (`return_to` alone is capped at 2048 characters).
const MAX_QUERY_BYTES: usize = 4096;

/// The most a form body may hold (user name + password + token fit in far less).
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The Content-Security-Policy of every page but the delivery page; `img-src` also allows the
/// origin of BRAND_LOGO_URL.
fn default_csp(img_src: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src {img_src}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

pub struct Application {
    address: SocketAddr,
    server: Server,
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

    /// The `demo` command: a random session key and JWT secret, the demo members, and the
    /// Zendesk simulator at `/_simulator`. No configuration is read.
    /// `public_url` is where browsers reach it (default: the listening address).
    /// The demo: built-in members and a Zendesk simulator; `branding` lets an admin preview
    /// their member pages.
    pub async fn build_demo(
        listen: SocketAddr,
        public_url: Option<Url>,
        branding: Branding,
    ) -> anyhow::Result<Self> {
        let listener =
            TcpListener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
        let address = listener.local_addr()?;
        let public_url = match public_url {
            Some(url) => url,
            None => Url::parse(&format!("http://{address}"))?,
        };
        let simulator_url = public_url.join("/_simulator")?;
        let secret = SecretString::from(crate::web::session::new_token()?);
        let settings = Settings {
            listen_addr: address,
            public_url: public_url.clone(),
            session: crate::config::SessionSettings {
                key: actix_web::cookie::Key::generate(),
                ttl: std::time::Duration::from_secs(8 * 3600),
                recheck: std::time::Duration::from_secs(900),
            },
            zendesk: crate::config::ZendeskSettings {
                subdomain: "demo".into(),
                url: simulator_url.clone(),
                jwt_secret: secret.clone(),
                brand_hosts: Vec::new(),
            },
            zendesk_api: crate::config::ZendeskApiSettings {
                auth: crate::config::ZendeskApiAuth::OAuthToken(SecretString::from("demo")),
                timeout: std::time::Duration::from_secs(5),
                cache_ttl: std::time::Duration::ZERO,
            },
            safety: crate::config::SafetySettings {
                mode: crate::config::SafetyMode::Strict,
                recheck: std::time::Duration::from_secs(300),
                agent_sso: Default::default(),
            },
            shutdown: crate::config::ShutdownSettings {
                drain: std::time::Duration::ZERO,
                timeout: std::time::Duration::from_secs(5),
            },
            throttle: Default::default(),
            policy: Default::default(),
            breaker: Default::default(),
            trusted_proxies: Vec::new(),
            directory: DirectorySettings::File {
                path: "(built-in demo members)".into(),
                members: demo_members()?,
            },
            phone: Default::default(),
            log_format: crate::config::LogFormat::Pretty,
            branding,
            locale_ids: Vec::new(),
            unlinked_end_users: Default::default(),
            mail: None,
            warnings: Vec::new(),
        };
        let simulator = Simulator::new(&secret, &public_url, simulator_url);
        Self::build_with_listener(settings, listener, Some(simulator)).await
    }

    async fn build_with_listener(
        settings: Settings,
        listener: TcpListener,
        simulator: Option<Simulator>,
    ) -> anyhow::Result<Self> {
        let address = listener.local_addr()?;
        let metrics = Metrics::new();
        let directory = crate::members::open(
            &settings.directory,
            &settings.phone,
            settings.policy.needs_groups(),
            &metrics,
            settings.breaker,
        )?;
        let mailer = Arc::new(match (&settings.mail, &simulator) {
            (_, Some(_)) => Mailer::demo_mailbox(),
            (Some(mail), None) => Mailer::smtp(mail)?,
            // Without mail settings the configuration chose `deny` or `link`: nothing is sent.
            (None, None) => Mailer::demo_mailbox(),
        });
        let simulator = simulator.map(|s| web::Data::new(s.with_mailbox(mailer.clone())));
        // The demo's simulated Zendesk is this server: ask it on the address it listens on.
        let api_base = match &simulator {
            Some(_) => Url::parse(&format!("http://127.0.0.1:{}/_simulator", address.port()))?,
            None => settings.zendesk.url.clone(),
        };
        let api = ZendeskApi::new(
            &api_base,
            &settings.zendesk_api,
            metrics.clone(),
            settings.breaker,
        )?;
        let safety = Arc::new(SafetyGuard::new(
            api,
            GuardSettings {
                mode: settings.safety.mode,
                public_url: settings.public_url.clone(),
                jwt_secret: settings.zendesk.jwt_secret.clone(),
                agent_sso: settings.safety.agent_sso,
                cache_ttl: settings.zendesk_api.cache_ttl,
            },
        ));
        // In demo mode the simulated Zendesk answers from this very server, once it runs.
        if simulator.is_none()
            && let ConfigVerdict::Unsafe { reason, .. } = safety.verify_config().await
        {
            return Err(StartupError::UnsafeZendeskConfig(reason).into());
        }
        safety
            .clone()
            .spawn_rechecks(settings.safety.recheck, simulator.is_some());
        let zendesk_base = settings
            .zendesk
            .url
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let return_to = ReturnToPolicy::new(
            &settings.zendesk.url,
            &settings.zendesk.subdomain,
            &settings.zendesk.brand_hosts,
        );
        let form_action: Vec<String> =
            std::iter::once(settings.public_url.origin().ascii_serialization())
                .chain(return_to.origins())
                .collect();
        let img_src = match &settings.branding.logo_url {
            Some(logo) => format!("'self' {}", logo.origin().ascii_serialization()),
            None => "'self'".to_owned(),
        };
        let delivery_csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src {img_src}; form-action {}; frame-ancestors 'none'; base-uri 'none'",
            form_action.join(" ")
        );
        let default_csp = default_csp(&img_src);
        let member_pages = MemberPages::new(&settings.branding, &settings.locale_ids)?;
        let demo = simulator.as_ref().map(|_| DemoInfo {
            help_centre: settings
                .zendesk
                .url
                .join("/_simulator/hc")
                .unwrap_or_else(|_| settings.zendesk.url.clone()),
            members: DEMO_MEMBERS,
        });
        let https = settings.public_url.scheme() == "https";
        let draining = Arc::new(AtomicBool::new(false));
        // Without a way to read a member again, a session lasts no longer than a re-check.
        let session_ttl = match directory.can_look_up() {
            true => settings.session.ttl,
            false => settings.session.ttl.min(settings.session.recheck),
        };
        let state = web::Data::new(AppState {
            signin: Pipeline {
                directory,
                policy: settings.policy.clone(),
                safety,
                jwt: JwtSigner::new(&settings.zendesk.jwt_secret),
                audit: Audit::new(metrics.clone()),
                metrics,
                session_recheck: settings.session.recheck,
                unlinked_end_users: settings.unlinked_end_users,
                verifications: Default::default(),
            },
            mailer,
            cookies: CookieSealer::new(settings.session.key.clone(), https),
            signed_out: SignedOut::new(session_ttl),
            session_ttl,
            return_to,
            jwt_endpoint: format!("{zendesk_base}/access/jwt"),
            zendesk_base,
            delivery_csp: actix_web::http::header::HeaderValue::from_str(&delivery_csp)
                .context("the delivery page's Content-Security-Policy is not a valid header")?,
            draining: draining.clone(),
            throttle: Throttle::new(settings.throttle),
            trusted_proxies: settings.trusted_proxies.clone(),
            pages: member_pages,
            demo,
        });
        let server = HttpServer::new(move || {
            let mut headers = DefaultHeaders::new()
                .add(("Content-Security-Policy", default_csp.clone()))
                .add(("X-Content-Type-Options", "nosniff"))
                .add(("Referrer-Policy", "no-referrer"))
                .add(("X-Frame-Options", "DENY"))
                .add(("Cross-Origin-Opener-Policy", "same-origin"));
            if https {
                headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
            }
            let app = App::new()
                .app_data(state.clone())
                .app_data(
                    web::FormConfig::default()
                        .limit(MAX_FORM_BYTES)
                        .error_handler(login::bad_request),
                )
                .app_data(web::QueryConfig::default().error_handler(login::bad_request))
                .wrap_fn(|req, srv| {
                    // Zendesk's own query (return_to, brand_id, locale_id, timestamp) is far
                    // shorter; anything longer is refused before any handler runs.
                    if req.query_string().len() > MAX_QUERY_BYTES {
                        let response = match req.app_data::<web::Data<AppState>>() {
                            Some(state) => state.pages.message(
                                StatusCode::URI_TOO_LONG,
                                state.pages.lang(req.request(), None),
                                &pages::MessagePage::bad_request(),
                            ),
                            None => HttpResponse::new(StatusCode::URI_TOO_LONG),
                        };
                        return Either::Left(std::future::ready(Ok(req.into_response(response))));
                    }
                    Either::Right(srv.call(req))
                })
                .wrap_fn(|req, srv| {
                    let metrics = req
                        .app_data::<web::Data<AppState>>()
                        .map(|s| s.signin.metrics.clone());
                    let method = req.method().to_string();
                    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
                    let response = srv.call(req);
                    async move {
                        let response = response.await?;
                        if let Some(metrics) = metrics {
                            metrics.http_request(&method, &route, response.status().as_u16());
                        }
                        Ok(response)
                    }
                })
                .wrap(headers)
                .wrap(TracingLogger::<RootSpan>::new())
                .route("/", web::get().to(landing::landing))
                .route("/login", web::get().to(login::show))
                .route("/login", web::post().to(login::submit))
                .route("/login/verify", web::post().to(verify::submit))
                .route("/logout", web::get().to(logout::logout))
                .route("/healthz", web::get().to(health::healthz))
                .route("/readyz", web::get().to(health::readyz))
                .route("/metrics", web::get().to(health::metrics))
                .route("/assets/style.css", web::get().to(landing::style))
                .route("/assets/deliver.js", web::get().to(landing::deliver_script));
            let app = match &simulator {
                Some(sim) => app.service(
                    web::scope("/_simulator")
                        .app_data(sim.clone())
                        .configure(Simulator::configure),
                ),
                None => app,
            };
            app.default_service(web::to(landing::not_found))
        })
        .listen(listener)?
        .disable_signals()
        .shutdown_timeout(settings.shutdown.timeout.as_secs())
        .run();
        Ok(Self {
            address,
            server,
            draining,
            shutdown: settings.shutdown,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    pub fn port(&self) -> u16 {
        self.address.port()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    /// Runs until SIGTERM or SIGINT, then drains: `/readyz` answers 503 for
    /// `SHUTDOWN_DRAIN_SECS` while requests are still served, then the listener closes and
    /// in-flight requests get up to `SHUTDOWN_TIMEOUT_SECS` to finish.
    pub async fn run_until_signalled(self) -> std::io::Result<()> {
        let handle = self.server.handle();
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
        });
        self.server.await
    }
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
