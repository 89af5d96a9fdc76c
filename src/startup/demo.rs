//! The `demo` command's settings: a random session key and JWT secret, the demo members, and
//! the Zendesk simulator at `/_simulator`. No configuration is read; `branding` lets an admin
//! preview their member pages, `public_url` is where browsers reach it (default: the listening
//! address).

use std::net::TcpListener;

use secrecy::SecretString;
use url::Url;

use crate::config::{Branding, DirectorySettings, Settings};
use crate::members::demo::demo_members;
use crate::members::imis::sso::SsoSettings;
use crate::signin::SignInMethod;
use crate::zendesk::simulator::Simulator;

pub fn settings(
    listener: &TcpListener,
    public_url: Option<Url>,
    branding: Branding,
) -> anyhow::Result<(Settings, Simulator)> {
    let address = listener.local_addr()?;
    let public_url = match public_url {
        Some(url) => url,
        None => Url::parse(&format!("http://{address}"))?,
    };
    let simulator_url = public_url.join("/_simulator")?;
    let member_site = member_site_url(&public_url)?;
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
        shared: Default::default(),
        metrics_addr: None,
        policy: crate::policy::Policy::parse(DEMO_POLICY)
            .map_err(|e| anyhow::anyhow!("the demo policy: {e}"))?,
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
        sso: Some(SsoSettings {
            page_url: member_site.join("/_member_site/sso")?,
            // The bridge reaches the simulated iMIS directly, as it would reach iMIS.
            token_url: Url::parse(&format!(
                "http://127.0.0.1:{}/_member_site/token",
                address.port()
            ))?,
            client_id: DEMO_CLIENT_ID.into(),
            client_secret: SecretString::from(crate::ids::new_token()?),
            allowed_origins: vec![member_site.origin().ascii_serialization()],
            timeout: std::time::Duration::from_secs(5),
        }),
        sign_in_method: SignInMethod::Both,
        imis_logout_url: None,
        sync: crate::config::SyncSettings {
            interval: Some(DEMO_SYNC_INTERVAL),
            ..Default::default()
        },
        warnings: Vec::new(),
    };
    let simulator = Simulator::new(&secret, &public_url, simulator_url);
    Ok((settings, simulator))
}

/// The demo's policy: every active member with an e-mail, tagged `imis_m` — the tag the sync
/// takes away when a membership lapses.
const DEMO_POLICY: &str = "[claims.tags]\nfrom = [\"member_type\"]\nprefix = \"imis_\"\n";

/// How often the demo's sync sweeps the simulated Zendesk.
pub const DEMO_SYNC_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3);

/// The client application the demo's member site knows the bridge by.
pub const DEMO_CLIENT_ID: &str = "zendesk-sso-bridge-demo";

/// The member site's address: the bridge's with `localhost` and `127.0.0.1` swapped, so that
/// browsers treat the two as different sites and the hand-off is a real cross-site POST.
pub fn member_site_url(public_url: &Url) -> anyhow::Result<Url> {
    let mut url = public_url.clone();
    match url.host_str() {
        Some("localhost") => url.set_host(Some("127.0.0.1"))?,
        Some("127.0.0.1") => url.set_host(Some("localhost"))?,
        _ => {}
    }
    url.set_path("/");
    Ok(url)
}
