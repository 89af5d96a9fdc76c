//! Single sign-on from the iMIS site (`IMIS_SSO_*`), the sign-in method in force, and iMIS's
//! SingleLogout page.

use super::env::{RawSettings, Validator};
use super::*;
use crate::members::imis::sso::SsoSettings;
use crate::signin::SignInMethod;

impl Validator {
    /// The client application and its page; `None` when no `IMIS_SSO_*` is set.
    /// `imis_timeout`: the iMIS directory's `IMIS_TIMEOUT_MS`, when the directory is iMIS.
    pub(super) fn imis_sso(
        &mut self,
        raw: &RawSettings,
        imis_timeout: Option<Duration>,
    ) -> Option<SsoSettings> {
        let page = non_empty(raw.imis_sso_page_url.as_deref());
        let id = self.optional_secret(
            "IMIS_SSO_CLIENT_ID",
            raw.imis_sso_client_id.clone(),
            raw.imis_sso_client_id_file.clone(),
        );
        let secret = self.optional_secret(
            "IMIS_SSO_CLIENT_SECRET",
            raw.imis_sso_client_secret.clone(),
            raw.imis_sso_client_secret_file.clone(),
        );
        if page.is_none() && id.is_none() && secret.is_none() {
            return None;
        }
        let page_url = match page {
            Some(page) => self.web_url("IMIS_SSO_PAGE_URL", page),
            None => {
                self.problem(
                    "IMIS_SSO_PAGE_URL",
                    "is required with IMIS_SSO_CLIENT_ID: the iMIS page holding the Single Sign-On \
                     content item of the client application (e.g. https://members.example.org/ZendeskSSO)",
                );
                None
            }
        };
        let client = self.both(
            ("IMIS_SSO_CLIENT_ID", id),
            ("IMIS_SSO_CLIENT_SECRET", secret),
            " (the client application in iMIS: Settings > Contacts > Client applications)",
        );
        let base = non_empty(raw.imis_base_url.as_deref())
            .and_then(|b| Url::parse(b.trim_end_matches('/')).ok());
        if base.is_none() {
            self.problem(
                "IMIS_BASE_URL",
                "is required with IMIS_SSO_*: the hand-off is exchanged at IMIS_BASE_URL/token",
            );
        }
        let allowed_origins = self.allowed_origins(raw, page_url.as_ref(), base.as_ref());
        let (client_id, client_secret) = client?;
        let mut token_url = base?;
        let path = format!("{}/token", token_url.path().trim_end_matches('/'));
        token_url.set_path(&path);
        Some(SsoSettings {
            page_url: page_url?,
            token_url,
            client_id: client_id.expose_secret().to_owned(),
            client_secret,
            allowed_origins,
            timeout: match imis_timeout {
                Some(timeout) => timeout,
                None => Duration::from_millis(self.number(
                    "IMIS_TIMEOUT_MS",
                    raw.imis_timeout_ms.as_deref(),
                    DEFAULT_IMIS_TIMEOUT_MS,
                    100..=60_000,
                    "milliseconds",
                )),
            },
        })
    }

    /// Where a hand-off may be posted from: the origins of `IMIS_SSO_PAGE_URL` and
    /// `IMIS_BASE_URL`, and those in `IMIS_SSO_ALLOWED_ORIGINS` (`null` included, if listed).
    fn allowed_origins(
        &mut self,
        raw: &RawSettings,
        page: Option<&Url>,
        base: Option<&Url>,
    ) -> Vec<String> {
        let mut origins: Vec<String> = page
            .into_iter()
            .chain(base)
            .map(|url| url.origin().ascii_serialization())
            .collect();
        let listed = non_empty(raw.imis_sso_allowed_origins.as_deref()).unwrap_or_default();
        for entry in listed.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match parse_origin(entry) {
                Ok(origin) => origins.push(origin),
                Err(why) => self.problem("IMIS_SSO_ALLOWED_ORIGINS", why),
            }
        }
        origins.sort();
        origins.dedup();
        origins
    }

    /// `SIGN_IN_METHOD`: `imis_sso` when the `IMIS_SSO_*` settings are present, else `password`.
    pub(super) fn sign_in_method(&mut self, raw: &RawSettings, has_sso: bool) -> SignInMethod {
        let method = match non_empty(raw.sign_in_method.as_deref()) {
            None if has_sso => SignInMethod::ImisSso,
            None | Some("password") => SignInMethod::Password,
            Some("imis_sso") => SignInMethod::ImisSso,
            Some("both") => SignInMethod::Both,
            Some(other) => {
                self.problem(
                    "SIGN_IN_METHOD",
                    format!("must be `imis_sso`, `password` or `both`, not `{other}`"),
                );
                SignInMethod::Password
            }
        };
        if method != SignInMethod::Password && !has_sso {
            self.problem(
                "SIGN_IN_METHOD",
                "needs IMIS_SSO_PAGE_URL, IMIS_SSO_CLIENT_ID and IMIS_SSO_CLIENT_SECRET",
            );
        }
        method
    }

    /// `IMIS_LOGOUT_URL`: iMIS's SingleLogout page, visited after a normal sign-out.
    pub(super) fn imis_logout_url(&mut self, raw: &RawSettings) -> Option<Url> {
        non_empty(raw.imis_logout_url.as_deref()).and_then(|v| self.web_url("IMIS_LOGOUT_URL", v))
    }
}

/// One `IMIS_SSO_ALLOWED_ORIGINS` entry, as browsers write it in `Origin`:
/// `scheme://host[:port]` (lower case, no default port), or `null`.
fn parse_origin(entry: &str) -> Result<String, String> {
    if entry.eq_ignore_ascii_case("null") {
        return Ok("null".into());
    }
    let not_an_origin = || {
        format!(
            "`{entry}` is not an origin: write it as a browser sends it, like `https://members.example.org` (scheme, host and port only), or `null`"
        )
    };
    let url = Url::parse(entry).map_err(|_| not_an_origin())?;
    if !matches!(url.scheme(), "https" | "http")
        || url.host().is_none()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(not_an_origin());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod origin_tests {
    use super::parse_origin;

    #[test]
    fn origins_are_written_as_browsers_send_them() {
        assert_eq!(
            parse_origin("https://Members.Example.org:443").as_deref(),
            Ok("https://members.example.org")
        );
        assert_eq!(
            parse_origin("http://127.0.0.1:8080").as_deref(),
            Ok("http://127.0.0.1:8080")
        );
        assert_eq!(
            parse_origin("https://members.example.org/").as_deref(),
            Ok("https://members.example.org")
        );
        assert_eq!(parse_origin("NULL").as_deref(), Ok("null"));
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for entry in [
            "https://members.example.org/ZendeskSSO",
            "https://members.example.org?x=1",
            "members.example.org",
            "ftp://members.example.org",
            "https://user@members.example.org",
            "*",
        ] {
            assert!(parse_origin(entry).is_err(), "{entry}");
        }
    }
}
