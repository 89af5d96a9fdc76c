//! The shared state every handler sees, assembled from validated settings: the member
//! directory, the Zendesk API and its safety guard (which refuses to start on an unsafe
//! Zendesk), the sign-in pipeline, cookies, pages and the policies of the HTTP edge.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use actix_web::web;
use anyhow::Context;
use url::Url;

use super::StartupError;
use crate::audit::Audit;
use crate::config::Settings;
use crate::mail::Mailer;
use crate::members::MemberDirectory;
use crate::members::demo::DEMO_MEMBERS;
use crate::members::imis::simulator::MemberSite;
use crate::members::imis::sso::SsoClient;
use crate::metrics::Metrics;
use crate::shared::SharedState;
use crate::signin::Pipeline;
use crate::signin::verify::Verifications;
use crate::web::middleware::{default_csp, delivery_csp};
use crate::web::pages::MemberPages;
use crate::web::return_to::ReturnToPolicy;
use crate::web::session::CookieSealer;
use crate::web::throttle::Throttle;
use crate::web::{AppState, DemoInfo};
use crate::zendesk::api::ZendeskApi;
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::safety::{ConfigVerdict, GuardSettings, SafetyGuard};
use crate::zendesk::simulator::Simulator;

pub struct Built {
    pub state: web::Data<AppState>,
    pub simulator: Option<web::Data<Simulator>>,
    /// The demo's member site (`/_member_site`).
    pub member_site: Option<web::Data<MemberSite>>,
    /// The Content-Security-Policy of every page but the delivery page.
    pub default_csp: String,
    pub https: bool,
}

pub async fn build(
    settings: &Settings,
    address: SocketAddr,
    simulator: Option<Simulator>,
) -> anyhow::Result<Built> {
    let metrics = Metrics::new();
    let imis_in_flight = settings.directory.in_flight();
    let directory = crate::members::open(
        &settings.directory,
        &settings.phone,
        settings.policy.fact_needs(),
        &metrics,
        settings.breaker,
        imis_in_flight.clone(),
    )?;
    // In the demo, the simulator's "let the membership lapse" button reaches the directory.
    let directory: Arc<dyn MemberDirectory> = match &simulator {
        Some(sim) => Arc::new(crate::members::demo_lapses::LapsingDirectory {
            inner: directory,
            lapses: sim.lapses(),
        }),
        None => directory,
    };
    let mailer = Arc::new(mailer(settings, simulator.is_some())?);
    let simulator = simulator.map(|s| web::Data::new(s.with_mailbox(mailer.clone())));
    let safety = safety_guard(settings, address, &metrics, simulator.is_some()).await?;
    let return_to = ReturnToPolicy::new(
        &settings.zendesk.url,
        &settings.zendesk.subdomain,
        &settings.zendesk.brand_hosts,
    );
    let img_src = img_src(settings);
    let delivery_csp = delivery_csp_header(settings, &return_to, &img_src)?;
    let zendesk_base = settings
        .zendesk
        .url
        .as_str()
        .trim_end_matches('/')
        .to_owned();
    let https = settings.public_url.scheme() == "https";
    let session_ttl = session_ttl(settings, directory.as_ref());
    let sso = settings
        .sso
        .as_ref()
        .map(|sso| SsoClient::new(sso.clone(), metrics.clone(), imis_in_flight.clone()))
        .transpose()?;
    let shared = SharedState::new(
        settings.session.key.master(),
        settings.shared.redis_url.as_ref(),
        session_ttl,
        metrics.clone(),
    )?;
    directory.share_tokens(shared.clone());
    // Not in the demo: its simulated Zendesk is reached through the safety guard's client.
    let on_denial = match simulator.is_some() {
        true => None,
        false => crate::lifecycle::OnDenial::new(
            ZendeskApi::new(
                &settings.zendesk.url,
                &settings.zendesk_api,
                metrics.clone(),
                settings.breaker,
            )?,
            settings.policy.clone(),
            Audit::new(metrics.clone()),
            shared.clone(),
        ),
    };
    if let Some(every) = settings.sync.interval {
        crate::lifecycle::schedule::Sweeper {
            api: ZendeskApi::new(
                &api_base(settings, address, simulator.is_some())?,
                &settings.zendesk_api,
                metrics.clone(),
                settings.breaker,
            )?
            .for_sync(),
            directory: directory.clone(),
            policy: settings.policy.clone(),
            shared: shared.clone(),
            audit: Audit::new(metrics.clone()),
            metrics: metrics.clone(),
            max_downgrades: settings.sync.max_downgrades,
            zendesk_rpm: settings.sync.zendesk_rpm,
            concurrency: crate::lifecycle::concurrency(&settings.directory),
            quiet: simulator.is_some(),
            create_users: settings.sync.create_users,
        }
        .spawn(every);
    }
    let state = AppState {
        signin: Pipeline {
            directory,
            policy: settings.policy.clone(),
            safety,
            jwt: JwtSigner::new(&settings.zendesk.jwt_secret),
            audit: Audit::new(metrics.clone()),
            metrics,
            session_recheck: settings.session.recheck,
            unlinked_end_users: settings.unlinked_end_users,
            verifications: Verifications::new(shared.clone()),
            on_denial,
            shared: shared.clone(),
        },
        mailer,
        sign_in_method: settings.sign_in_method,
        sso,
        imis_logout_url: settings.imis_logout_url.clone(),
        cookies: CookieSealer::new(settings.session.key.clone(), https),
        shared: shared.clone(),
        session_ttl,
        return_to,
        public_origin: settings.public_url.origin().ascii_serialization(),
        jwt_endpoint: format!("{zendesk_base}/access/jwt"),
        zendesk_base,
        delivery_csp,
        draining: Arc::new(AtomicBool::new(false)),
        throttle: Throttle::new(settings.throttle, shared.clone()),
        trusted_proxies: settings.trusted_proxies.clone(),
        pages: MemberPages::new(&settings.branding, &settings.locale_ids)?,
        demo: simulator.as_ref().map(|_| demo_info(settings)),
        metrics_elsewhere: settings.metrics_addr.is_some(),
    };
    Ok(Built {
        member_site: demo_member_site(settings, &simulator, &state),
        state: web::Data::new(state),
        simulator,
        default_csp: default_csp(&img_src),
        https,
    })
}

/// The Zendesk API and the account-safety guard; refuses to start while Zendesk's
/// configuration is unsafe or unreadable.
async fn safety_guard(
    settings: &Settings,
    address: SocketAddr,
    metrics: &Metrics,
    demo: bool,
) -> anyhow::Result<Arc<SafetyGuard>> {
    // The demo's simulated Zendesk is this server: ask it on the address it listens on.
    let api = ZendeskApi::new(
        &api_base(settings, address, demo)?,
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
    if !demo && let ConfigVerdict::Unsafe { reason, .. } = safety.verify_config().await {
        return Err(StartupError::UnsafeZendeskConfig(reason).into());
    }
    safety.clone().spawn_rechecks(settings.safety.recheck, demo);
    Ok(safety)
}

/// Where the Zendesk API is: the demo's simulated Zendesk is this server, asked on the address
/// it listens on.
fn api_base(settings: &Settings, address: SocketAddr, demo: bool) -> anyhow::Result<Url> {
    Ok(match demo {
        true => Url::parse(&format!("http://127.0.0.1:{}/_simulator", address.port()))?,
        false => settings.zendesk.url.clone(),
    })
}

/// Without a way to read a member again, a session lasts no longer than a re-check.
fn session_ttl(settings: &Settings, directory: &dyn MemberDirectory) -> std::time::Duration {
    match directory.can_look_up() {
        true => settings.session.ttl,
        false => settings.session.ttl.min(settings.session.recheck),
    }
}

/// Images may come from this bridge and from BRAND_LOGO_URL's origin.
fn img_src(settings: &Settings) -> String {
    match &settings.branding.logo_url {
        Some(logo) => format!("'self' {}", logo.origin().ascii_serialization()),
        None => "'self'".to_owned(),
    }
}

/// What the demo's start page shows: the simulated help centre and the demo members.
fn demo_info(settings: &Settings) -> DemoInfo {
    DemoInfo {
        help_centre: settings
            .zendesk
            .url
            .join("/_simulator/hc")
            .unwrap_or_else(|_| settings.zendesk.url.clone()),
        members: DEMO_MEMBERS,
    }
}

/// In the demo, the simulated member site that hands members off to this bridge.
fn demo_member_site(
    settings: &Settings,
    simulator: &Option<web::Data<Simulator>>,
    state: &AppState,
) -> Option<web::Data<MemberSite>> {
    let sso = settings.sso.as_ref().filter(|_| simulator.is_some())?;
    let hand_off = settings.public_url.join("/imis/sso").ok()?;
    Some(web::Data::new(MemberSite::new(
        state.signin.directory.clone(),
        hand_off,
        sso.client_id.clone(),
        sso.client_secret.clone(),
    )))
}

/// SMTP when configured; the demo keeps its mail (and without mail settings `deny` or `link`
/// was chosen, so nothing is sent).
fn mailer(settings: &Settings, demo: bool) -> anyhow::Result<Mailer> {
    match (&settings.mail, demo) {
        (Some(mail), false) => Mailer::smtp(mail),
        _ => Ok(Mailer::demo_mailbox()),
    }
}

/// The delivery page's CSP: its form may post to this bridge and to the Zendesk hosts
/// `return_to` allows.
fn delivery_csp_header(
    settings: &Settings,
    return_to: &ReturnToPolicy,
    img_src: &str,
) -> anyhow::Result<actix_web::http::header::HeaderValue> {
    let form_action: Vec<String> = std::iter::once(settings.public_url.origin())
        .map(|o| o.ascii_serialization())
        .chain(return_to.origins())
        .collect();
    actix_web::http::header::HeaderValue::from_str(&delivery_csp(img_src, &form_action))
        .context("the delivery page's Content-Security-Policy is not a valid header")
}
