//! The `return_to` rule: where a member may be sent after signing in.
//!
//! Accepted: a path on the Zendesk host (`/hc/en-us/requests`) that cannot turn into a
//! protocol-relative or other-host URL, or an absolute URL whose origin is exactly the Zendesk
//! origin, `https://{subdomain}.zendesk.com`, or `https://{brand host}`. Anything else is dropped
//! (Zendesk then shows its default page) and the reason logged.

use percent_encoding::percent_decode_str;
use url::{Origin, Url};

/// Longer values are refused outright.
pub const MAX_RETURN_TO_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("longer than {MAX_RETURN_TO_LEN} characters")]
    TooLong,
    #[error("contains white space or control characters")]
    ControlCharacters,
    #[error("contains a backslash")]
    Backslash,
    #[error("protocol-relative (starts with //)")]
    ProtocolRelative,
    #[error("percent-encoding hides a control character, or a // or /\\ start")]
    EncodedTrick,
    #[error("neither an absolute URL nor a path starting with /")]
    NotAUrl,
    #[error("scheme is not http(s)")]
    Scheme,
    #[error("contains a user name or password")]
    UserInfo,
    #[error("host is not Zendesk or a configured brand host")]
    Host,
    #[error("dot segments resolve it to a protocol-relative (//) path")]
    DotSegments,
}

impl Rejection {
    pub fn reason(self) -> &'static str {
        match self {
            Rejection::TooLong => "too_long",
            Rejection::ControlCharacters => "control_characters",
            Rejection::Backslash => "backslash",
            Rejection::ProtocolRelative => "protocol_relative",
            Rejection::EncodedTrick => "encoded_trick",
            Rejection::NotAUrl => "not_a_url",
            Rejection::Scheme => "scheme",
            Rejection::UserInfo => "userinfo",
            Rejection::Host => "host",
            Rejection::DotSegments => "dot_segments",
        }
    }
}

#[derive(Debug, Clone)]
pub struct ReturnToPolicy {
    zendesk: Url,
    allowed: Vec<Origin>,
}

impl ReturnToPolicy {
    pub fn new(zendesk_url: &Url, subdomain: &str, brand_hosts: &[String]) -> Self {
        let mut allowed = vec![zendesk_url.origin()];
        let https = |host: &str| {
            Url::parse(&format!("https://{host}"))
                .ok()
                .map(|u| u.origin())
        };
        allowed.extend(https(&format!("{subdomain}.zendesk.com")));
        allowed.extend(brand_hosts.iter().filter_map(|h| https(h)));
        allowed.dedup();
        Self {
            zendesk: zendesk_url.clone(),
            allowed,
        }
    }

    /// Origins the delivery page may post to or be redirected among, for its CSP.
    pub fn origins(&self) -> impl Iterator<Item = String> + '_ {
        self.allowed.iter().map(|o| o.ascii_serialization())
    }

    /// The value to forward to Zendesk, or why it is refused.
    pub fn check(&self, raw: &str) -> Result<String, Rejection> {
        if raw.len() > MAX_RETURN_TO_LEN {
            return Err(Rejection::TooLong);
        }
        if is_plain_path(raw) {
            return Ok(raw.to_owned());
        }
        self.check_fully(raw)
    }

    /// Every rule, for anything but a plain path.
    fn check_fully(&self, raw: &str) -> Result<String, Rejection> {
        if raw.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Rejection::ControlCharacters);
        }
        if raw.contains('\\') {
            return Err(Rejection::Backslash);
        }
        let decoded = fully_decoded(raw);
        if decoded.chars().any(char::is_control) {
            return Err(Rejection::EncodedTrick);
        }
        if raw.starts_with('/') {
            if raw.starts_with("//") {
                return Err(Rejection::ProtocolRelative);
            }
            if decoded.starts_with("//") || decoded.starts_with("/\\") {
                return Err(Rejection::EncodedTrick);
            }
            return self.resolved_path(raw, &decoded);
        }
        let lower = raw.get(..8).unwrap_or(raw).to_ascii_lowercase();
        if !(lower.starts_with("https://") || lower.starts_with("http://")) {
            return Err(if raw.contains(':') {
                Rejection::Scheme
            } else {
                Rejection::NotAUrl
            });
        }
        let url = Url::parse(raw).map_err(|_| Rejection::NotAUrl)?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Rejection::UserInfo);
        }
        if !self.allowed.contains(&url.origin()) {
            return Err(Rejection::Host);
        }
        Ok(url.into())
    }
}

impl ReturnToPolicy {
    /// A path is forwarded only as Zendesk will resolve it: dot segments (also percent-encoded
    /// ones) removed. Anything that then starts with `//` would leave Zendesk's host.
    fn resolved_path(&self, raw: &str, decoded: &str) -> Result<String, Rejection> {
        let resolved = self.zendesk.join(raw).map_err(|_| Rejection::NotAUrl)?;
        if resolved.origin() != self.zendesk.origin() {
            return Err(Rejection::Host);
        }
        if resolved.path().starts_with("//") {
            return Err(Rejection::DotSegments);
        }
        // A server that decodes once more must not find a way out either.
        let decoded_resolved = self.zendesk.join(decoded).map_err(|_| Rejection::NotAUrl)?;
        if decoded_resolved.origin() != self.zendesk.origin()
            || decoded_resolved.path().starts_with("//")
        {
            return Err(Rejection::DotSegments);
        }
        let mut canonical = resolved.path().to_owned();
        if let Some(query) = resolved.query() {
            canonical.push('?');
            canonical.push_str(query);
        }
        if let Some(fragment) = resolved.fragment() {
            canonical.push('#');
            canonical.push_str(fragment);
        }
        Ok(canonical)
    }
}

/// What Zendesk sends on almost every visit: a path such as `/hc/en-us/requests`, only letters,
/// digits, `-`, `_` and single `/`s. Nothing in it can be decoded, resolved or read as another
/// host, so it is forwarded as it is without parsing it (on every session re-use). Anything else,
/// a dot, a `%`, a query, takes the full check.
fn is_plain_path(raw: &str) -> bool {
    raw.starts_with('/')
        && !raw.contains("//")
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'-' | b'_'))
}

/// Percent-decodes until nothing changes (at most a few rounds), lossily.
fn fully_decoded(raw: &str) -> String {
    let mut current = raw.to_owned();
    for _ in 0..4 {
        let next = percent_decode_str(&current)
            .decode_utf8_lossy()
            .into_owned();
        if next == current {
            break;
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> ReturnToPolicy {
        let zendesk = Url::parse("https://acme.zendesk.com").expect("url");
        ReturnToPolicy::new(&zendesk, "acme", &["help.acme.org".to_owned()])
    }

    proptest::proptest! {
        /// The shortcut for plain paths keeps exactly what the full rules would keep.
        #[test]
        fn a_plain_path_is_kept_as_the_full_rules_keep_it(raw in "/[a-zA-Z0-9_/-]{0,40}") {
            let p = policy();
            proptest::prop_assert_eq!(p.check(&raw), p.check_fully(&raw));
        }
    }

    #[test]
    fn plain_paths_take_the_shortcut_and_nothing_else_does() {
        for plain in ["/", "/hc/en-us/requests", "/agent/tickets/12_3-x"] {
            assert!(is_plain_path(plain), "{plain}");
        }
        for other in [
            "",
            "hc/en-us",
            "//evil.example",
            "/a//b",
            "/hc/../x",
            "/hc/%2e%2e/x",
            "/hc?x=1",
            "/hc#top",
            "/h\\c",
            "https://acme.zendesk.com/hc",
        ] {
            assert!(!is_plain_path(other), "{other}");
        }
    }

    #[test]
    fn zendesk_and_brand_destinations_are_kept() {
        let p = policy();
        for ok in [
            "/hc/en-us/requests",
            "/hc/en-us/articles/123?x=1&y=%20z#top",
            "https://acme.zendesk.com/hc/en-us",
            "https://ACME.zendesk.com/agent",
            "https://help.acme.org/hc/fr",
            "https://acme.zendesk.com:443/hc",
        ] {
            assert!(p.check(ok).is_ok(), "{ok} should be kept");
        }
        assert_eq!(
            p.check("https://ACME.zendesk.com/agent").as_deref(),
            Ok("https://acme.zendesk.com/agent")
        );
    }

    #[test]
    fn attacks_are_refused_with_a_reason() {
        let p = policy();
        let cases = [
            ("//evil.com", Rejection::ProtocolRelative),
            ("/\\evil.com", Rejection::Backslash),
            ("/%2F%2Fevil.com", Rejection::EncodedTrick),
            ("/%5Cevil.com", Rejection::EncodedTrick),
            ("https://acme.zendesk.com.evil.com", Rejection::Host),
            ("https://acme.zendesk.com@evil.com", Rejection::UserInfo),
            ("javascript:alert(1)", Rejection::Scheme),
            ("http://acme.zendesk.com/hc", Rejection::Host),
            ("evil.com", Rejection::NotAUrl),
            ("/hc\n/x", Rejection::ControlCharacters),
        ];
        for (raw, why) in cases {
            assert_eq!(p.check(raw), Err(why), "{raw}");
        }
        assert_eq!(
            p.check(&format!("/{}", "a".repeat(3000))),
            Err(Rejection::TooLong)
        );
    }

    #[test]
    fn dot_segments_are_resolved_and_a_way_out_is_refused() {
        let p = policy();
        for raw in [
            "/.//evil.example/x",
            "/hc/../..//evil.example/x",
            "/%2e%2e//evil.example/x",
            "/hc/%2E%2e/%2e%2E//evil.example/x",
            "/%252e%252e//evil.example/x",
        ] {
            assert_eq!(p.check(raw), Err(Rejection::DotSegments), "{raw}");
        }
        assert_eq!(
            p.check("/hc/./en-us/../fr/requests?a=1#b").as_deref(),
            Ok("/hc/fr/requests?a=1#b"),
            "forwarded in the form Zendesk resolves it to"
        );
    }

    #[test]
    fn the_csp_origins_list_every_allowed_host() {
        let origins: Vec<_> = policy().origins().collect();
        assert_eq!(
            origins,
            ["https://acme.zendesk.com", "https://help.acme.org"]
        );
    }
}
