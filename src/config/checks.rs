//! The checks every concern shares: numbers in a range, secrets (or `_FILE`s), pairs set
//! together, addresses and URLs, the session key.

use super::env::Validator;
use super::*;

impl Validator {
    pub(super) fn number(
        &mut self,
        variable: &'static str,
        value: Option<&str>,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
        unit: &str,
    ) -> u64 {
        let Some(value) = non_empty(value) else {
            return default;
        };
        match value.parse::<u64>() {
            Ok(n) if range.contains(&n) => n,
            _ => {
                self.problem(
                    variable,
                    format!(
                        "`{value}` must be a whole number of {unit} from {} to {} (default {default})",
                        range.start(),
                        range.end()
                    ),
                );
                default
            }
        }
    }
    /// A required secret from `NAME` or from the file named by `NAME_FILE`.
    pub(super) fn secret(
        &mut self,
        name: &'static str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<SecretString> {
        let secret = self.optional_secret(name, value, file);
        if secret.is_none() && !self.problems.iter().any(|p| p.variable == name) {
            self.problem(
                name,
                format!("is required (set {name}, or {name}_FILE to a file that holds it)"),
            );
        }
        secret
    }
    pub(super) fn optional_secret(
        &mut self,
        name: &'static str,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<SecretString> {
        let value = value.filter(|v| !v.trim().is_empty());
        let file = file.filter(|v| !v.trim().is_empty());
        match (value, file) {
            (Some(_), Some(_)) => {
                self.problem(name, format!("set either {name} or {name}_FILE, not both"));
                None
            }
            (Some(value), None) => Some(SecretString::from(value)),
            (None, Some(path)) => match std::fs::read_to_string(&path) {
                Ok(text) if !text.trim().is_empty() => Some(SecretString::from(
                    text.trim_end_matches(['\r', '\n']).to_owned(),
                )),
                Ok(_) => {
                    self.problem(name, format!("{name}_FILE `{path}` is empty"));
                    None
                }
                Err(e) => {
                    self.problem(name, format!("{name}_FILE `{path}` cannot be read: {e}"));
                    None
                }
            },
            (None, None) => None,
        }
    }
    /// Two settings that only make sense together: both, or neither (a problem names the
    /// missing one).
    pub(super) fn both<A, B>(
        &mut self,
        (name_a, a): (&'static str, Option<A>),
        (name_b, b): (&'static str, Option<B>),
        hint: &str,
    ) -> Option<(A, B)> {
        match (a, b) {
            (Some(a), Some(b)) => Some((a, b)),
            (None, None) => None,
            (Some(_), None) => {
                self.problem(name_b, format!("is required with {name_a}{hint}"));
                None
            }
            (None, Some(_)) => {
                self.problem(name_a, format!("is required with {name_b}{hint}"));
                None
            }
        }
    }
    pub(super) fn listen_addr(&mut self, value: Option<&str>) -> Option<SocketAddr> {
        let value = non_empty(value).unwrap_or(DEFAULT_LISTEN_ADDR);
        match value.parse() {
            Ok(addr) => Some(addr),
            Err(_) => {
                self.problem(
                    "LISTEN_ADDR",
                    format!("`{value}` is not an address:port such as `0.0.0.0:8080`"),
                );
                None
            }
        }
    }
    /// `METRICS_ADDR`: where `/metrics` and `/readyz`'s details are served instead of the public
    /// listener; unset, they stay on `LISTEN_ADDR`.
    pub(super) fn metrics_addr(
        &mut self,
        value: Option<&str>,
        listen: Option<SocketAddr>,
    ) -> Option<SocketAddr> {
        let value = non_empty(value)?;
        match value.parse::<SocketAddr>() {
            Ok(addr) if listen.is_some_and(|l| l.port() == addr.port() && addr.port() != 0) => {
                self.problem(
                    "METRICS_ADDR",
                    format!("`{value}` uses LISTEN_ADDR's port: give metrics a port of their own"),
                );
                None
            }
            Ok(addr) => Some(addr),
            Err(_) => {
                self.problem(
                    "METRICS_ADDR",
                    format!("`{value}` is not an address:port such as `0.0.0.0:9090`"),
                );
                None
            }
        }
    }
    pub(super) fn public_url(&mut self, value: Option<&str>) -> Option<Url> {
        let Some(value) = non_empty(value) else {
            self.problem(
                "PUBLIC_URL",
                "is required: the external https base URL of this bridge, e.g. \
                 `https://sso.example.org` (Zendesk's remote login URL is PUBLIC_URL/login)",
            );
            return None;
        };
        let url = self.web_url("PUBLIC_URL", value)?;
        if url.query().is_some() || url.fragment().is_some() {
            self.problem("PUBLIC_URL", "must not have a query string or fragment");
            return None;
        }
        Some(url)
    }
    /// An absolute http(s) URL without a trailing slash; plain http only for this machine.
    pub(super) fn web_url(&mut self, variable: &'static str, value: &str) -> Option<Url> {
        let url = match Url::parse(value.trim_end_matches('/')) {
            Ok(url) => url,
            Err(e) => {
                self.problem(
                    variable,
                    format!("`{value}` is not an absolute URL ({e}); write it like `https://host.example.org`"),
                );
                return None;
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            self.problem(variable, "must not contain a user name or password");
            return None;
        }
        match url.scheme() {
            "https" => Some(url),
            "http" if is_loopback(&url) => {
                self.warnings.push(format!(
                    "{variable} uses plain http ({url}); acceptable only for local testing"
                ));
                Some(url)
            }
            _ => {
                self.problem(
                    variable,
                    format!(
                        "`{value}` must use https (plain http is accepted only for localhost / 127.0.0.1)"
                    ),
                );
                None
            }
        }
    }
    pub(super) fn session_key(
        &mut self,
        value: Option<String>,
        file: Option<String>,
    ) -> Option<Key> {
        const HINT: &str = "generate one with `openssl rand -base64 64`";
        let Some(secret) = self.optional_secret("SESSION_KEY", value, file) else {
            if !self.problems.iter().any(|p| p.variable == "SESSION_KEY") {
                self.problem(
                    "SESSION_KEY",
                    format!("is required (or SESSION_KEY_FILE): at least {MIN_SESSION_KEY_BYTES} random bytes, base64 or hex; {HINT}"),
                );
            }
            return None;
        };
        // `openssl rand -base64 64` wraps its output at 64 characters: line breaks and other
        // whitespace anywhere are not part of the key.
        let text: String = secret
            .expose_secret()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        let bytes = decode_key(&text);
        match bytes {
            Some(bytes) if bytes.len() >= MIN_SESSION_KEY_BYTES => Some(Key::derive_from(&bytes)),
            Some(bytes) => {
                self.problem(
                    "SESSION_KEY",
                    format!(
                        "decodes to {} bytes but at least {MIN_SESSION_KEY_BYTES} are required; {HINT}",
                        bytes.len()
                    ),
                );
                None
            }
            None => {
                self.problem(
                    "SESSION_KEY",
                    format!(
                        "is neither base64 nor hex: {}; {HINT}",
                        why_not_a_key(&text)
                    ),
                );
                None
            }
        }
    }
    pub(super) fn trusted_proxies(&mut self, value: Option<&str>) -> Vec<ipnet::IpNet> {
        let mut nets = Vec::new();
        for item in value.unwrap_or_default().split(',').map(str::trim) {
            if item.is_empty() {
                continue;
            }
            let parsed = item
                .parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
            match parsed {
                Ok(net) => nets.push(net),
                Err(_) => self.problem(
                    "TRUSTED_PROXIES",
                    format!(
                        "`{item}` is not an IP address or CIDR range; list your load balancers like `10.0.0.0/8,192.0.2.10`"
                    ),
                ),
            }
        }
        nets
    }
}

pub(super) fn non_empty(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// What is wrong with a key that does not decode, without showing any of it.
fn why_not_a_key(text: &str) -> String {
    let in_alphabet =
        |c: char| c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=');
    if text.is_empty() {
        return "it is empty".into();
    }
    if let Some((at, c)) = text.char_indices().find(|(_, c)| !in_alphabet(*c)) {
        let what = match c {
            '"' | '\'' => "a quote (remove the quotes around the value)",
            c if !c.is_ascii() => "a non-ASCII character",
            _ => "a character that is in neither alphabet",
        };
        return format!("character {} of {} is {what}", at + 1, text.chars().count());
    }
    if let Some(at) = text.find('=')
        && text[at..].chars().any(|c| c != '=')
    {
        return format!("it has `=` padding in the middle (at character {})", at + 1);
    }
    format!(
        "its {} characters are not a whole base64 value (truncated when copied?)",
        text.len()
    )
}

/// A key written as hex or as base64 (standard or URL-safe, padded or not).
pub(super) fn decode_key(text: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    if text.len().is_multiple_of(2)
        && text.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(bytes) = hex::decode(text)
    {
        return Some(bytes);
    }
    [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
}

pub(super) fn is_hostname(s: &str) -> bool {
    s.split('.').all(is_subdomain) && s.contains('.')
}

pub(super) fn is_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}
