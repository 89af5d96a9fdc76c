//! The HTML the member sees. Templates live in `templates/` (askama, auto-escaped); the words
//! of every message page are here, in one place.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use url::Url;

use crate::members::Refusal;
use crate::members::demo::DemoMember;
use crate::web::i18n::{Catalogue, CatalogueError, Lang, LanguageChooser, Texts};
use crate::zendesk::safety::Denial;

/// The organisation's look on the member pages (all optional; the defaults are neutral).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Branding {
    pub name: Option<String>,
    pub logo_url: Option<Url>,
    /// `#rrggbb`, at least 4.5:1 against white (the button text).
    pub primary_colour: Option<String>,
    /// https or mailto: where members get help.
    pub help_url: Option<Url>,
    pub forgot_password_url: Option<Url>,
}

pub const STYLE_CSS: &str = include_str!("../../assets/style.css");
pub const DELIVER_JS: &str = include_str!("../../assets/deliver.js");
pub const ICON_SVG: &str = include_str!("../../assets/icon.svg");
/// The icon's background, replaced by BRAND_PRIMARY_COLOUR.
const DEFAULT_ICON_FILL: &str = "fill=\"#1f5f8b\"";

/// The organisation's look, as the templates use it.
#[derive(Debug, Default)]
pub struct Brand {
    pub name: Option<String>,
    pub logo_url: Option<String>,
    pub help_url: Option<String>,
    pub forgot_password_url: Option<String>,
}

/// What every member page shares: the words of its language and the organisation's look.
#[derive(Clone, Copy)]
pub struct Chrome<'a> {
    pub t: &'a Texts,
    pub brand: &'a Brand,
}

/// The member pages' words, look and style sheet, built once at start-up.
pub struct MemberPages {
    catalogue: Catalogue,
    chooser: LanguageChooser,
    brand: Brand,
    /// `assets/style.css` with BRAND_PRIMARY_COLOUR in place of the default accent.
    pub style_css: String,
    /// The favicon: the organisation's logo (BRAND_LOGO_URL), else our icon in its colour.
    pub favicon: Favicon,
}

pub enum Favicon {
    Logo(String),
    Svg(String),
}

/// The accent colour in `assets/style.css`, replaced by BRAND_PRIMARY_COLOUR.
const DEFAULT_ACCENT: &str = "--accent: #1f5f8b;";

impl MemberPages {
    pub fn new(branding: &Branding, locale_ids: &[(u32, Lang)]) -> Result<Self, CatalogueError> {
        let style_css = match &branding.primary_colour {
            Some(colour) => STYLE_CSS.replace(DEFAULT_ACCENT, &format!("--accent: {colour};")),
            None => STYLE_CSS.to_owned(),
        };
        Ok(Self {
            catalogue: Catalogue::new(branding.name.as_deref())?,
            chooser: LanguageChooser::new(locale_ids),
            brand: Brand {
                name: branding.name.clone(),
                logo_url: branding.logo_url.as_ref().map(|u| u.to_string()),
                help_url: branding.help_url.as_ref().map(|u| u.to_string()),
                forgot_password_url: branding.forgot_password_url.as_ref().map(|u| u.to_string()),
            },
            style_css,
            favicon: match (&branding.logo_url, &branding.primary_colour) {
                (Some(logo), _) => Favicon::Logo(logo.to_string()),
                (None, Some(colour)) => {
                    Favicon::Svg(ICON_SVG.replace(DEFAULT_ICON_FILL, &format!("fill=\"{colour}\"")))
                }
                (None, None) => Favicon::Svg(ICON_SVG.to_owned()),
            },
        })
    }

    /// The language of this request's page: Zendesk's `locale_id` if it names one we speak,
    /// else the browser's `Accept-Language`, else English.
    pub fn lang(&self, req: &HttpRequest, locale_id: Option<&str>) -> Lang {
        let accept = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        self.chooser.choose(locale_id, accept)
    }

    pub fn chrome(&self, lang: Lang) -> Chrome<'_> {
        Chrome {
            t: self.catalogue.texts(lang),
            brand: &self.brand,
        }
    }

    pub fn texts(&self, lang: Lang) -> &Texts {
        self.catalogue.texts(lang)
    }

    /// "We have sent a code to {address}".
    pub fn verify_sent(&self, lang: Lang, masked_address: &str) -> String {
        self.catalogue
            .with_text(lang, "verify-sent", "address", masked_address)
    }

    /// The code mail's subject and plain-text body.
    pub fn verify_mail(&self, lang: Lang, code: &str) -> (String, String) {
        (
            self.texts(lang).get("verify-mail-subject").to_owned(),
            self.catalogue
                .with_text(lang, "verify-mail-body", "code", code),
        )
    }

    /// A message page in `lang`, as HTML.
    pub fn render_message(&self, lang: Lang, page: &MessagePage) -> askama::Result<String> {
        let note = page.note.as_ref().map(|note| match note {
            Note::Message(id) => self.texts(lang).get(id).to_owned(),
            Note::Text(text) => text.clone(),
            Note::Wait { minutes } => {
                self.catalogue
                    .with_number(lang, "throttled-wait", "minutes", *minutes)
            }
        });
        MessageView {
            chrome: self.chrome(lang),
            page,
            note,
        }
        .render()
    }

    /// A message page in `lang`, as a response.
    pub fn message(&self, status: StatusCode, lang: Lang, page: &MessagePage) -> HttpResponse {
        respond(status, self.render_message(lang, page))
    }
}

#[derive(Template)]
#[template(path = "landing.html")]
pub struct LandingPage<'a> {
    pub chrome: Chrome<'a>,
    pub demo: Option<DemoHints<'a>>,
}

pub struct DemoHints<'a> {
    pub help_centre: &'a str,
    pub members: &'a [DemoMember],
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub chrome: Chrome<'a>,
    /// Offer "Sign in with your member account" above the form (`SIGN_IN_METHOD=both`).
    pub member_site: bool,
    pub csrf_token: &'a str,
    pub username: &'a str,
    /// The message id of what went wrong with the last attempt.
    pub error: Option<&'a str>,
}

/// A token made only of base64url characters and dots, as a JWT is: nothing in it can need HTML
/// escaping, so the delivery page writes it as it is (escaping it character by character was
/// a measurable share of the session hot path). Any other text is refused.
#[derive(Debug, Clone, Copy)]
pub struct TokenText<'a>(&'a str);

impl<'a> TokenText<'a> {
    pub fn new(token: &'a str) -> Option<Self> {
        token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            .then_some(Self(token))
    }
}

impl std::fmt::Display for TokenText<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// "Enter the code we sent": the first link to an existing end user waits for it.
#[derive(Template)]
#[template(path = "verify.html")]
pub struct VerifyPage<'a> {
    pub chrome: Chrome<'a>,
    pub csrf_token: &'a str,
    /// "We have sent a code to a***@example.org", in the page's language.
    pub sent: String,
    /// The last code entered was wrong.
    pub wrong: bool,
}

#[derive(Template)]
#[template(path = "deliver.html")]
pub struct DeliveryPage<'a> {
    pub chrome: Chrome<'a>,
    pub action: &'a str,
    pub jwt: TokenText<'a>,
    pub return_to: Option<&'a str>,
}

/// A link on a message page; `label` is a message id.
pub struct Link {
    pub label: &'static str,
    pub href: String,
}

/// A sentence set apart under the paragraphs.
pub enum Note {
    /// A catalogue message.
    Message(&'static str),
    /// Words from configuration (the access policy's contact text), shown as written.
    Text(String),
    /// How long sign-in stays paused.
    Wait { minutes: u64 },
}

/// Every message page: errors, refusals, signed out. Titles, paragraphs and link labels are
/// message ids in `locales/*.ftl`; the page is put into words when rendered.
#[derive(Default)]
pub struct MessagePage {
    pub title: &'static str,
    pub paragraphs: Vec<&'static str>,
    /// Text from elsewhere (Zendesk's error message), shown escaped.
    pub quoted: Option<String>,
    pub note: Option<Note>,
    pub error_id: Option<String>,
    pub links: Vec<Link>,
    pub admin_links: Vec<Link>,
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessageView<'a> {
    chrome: Chrome<'a>,
    page: &'a MessagePage,
    note: Option<String>,
}

pub const WRONG_CREDENTIALS: &str = "login-wrong-credentials";
pub const MISSING_CREDENTIALS: &str = "login-missing-credentials";

impl MessagePage {
    fn sign_in_again() -> Link {
        Link {
            label: "link-sign-in-again",
            href: "/login".into(),
        }
    }

    pub fn unavailable(error_id: &str) -> Self {
        Self {
            title: "unavailable-title",
            paragraphs: vec!["unavailable-text"],
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn unexpected(error_id: &str) -> Self {
        Self {
            title: "unexpected-title",
            paragraphs: vec!["unexpected-text"],
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        let paragraphs = match refusal {
            Refusal::Inactive => vec!["refused-inactive", "refused-inactive-next"],
            Refusal::NoPrimaryEmail => vec!["refused-no-email", "refused-no-email-next"],
            Refusal::DuplicatePrimaryEmail => {
                vec!["refused-shared-email", "refused-shared-email-next"]
            }
            Refusal::NoMemberRecord => vec!["refused-no-record", "refused-no-record-next"],
        };
        Self {
            title: "refused-title",
            paragraphs,
            ..Self::default()
        }
    }

    /// An account-safety rule said no. The words never reveal whose account is involved.
    pub fn denied(denial: Denial, error_id: &str) -> Self {
        let (title, paragraphs) = match denial {
            Denial::EmailOwnedByOtherIdentity | Denial::UnlinkedStaff => (
                "refused-title",
                vec!["denied-email-taken", "denied-email-taken-next"],
            ),
            Denial::Suspended => (
                "refused-title",
                vec!["denied-suspended", "denied-suspended-next"],
            ),
            Denial::ZendeskUnavailable | Denial::ZendeskConfigUnsafe => {
                ("denied-zendesk-title", vec!["denied-zendesk-text"])
            }
            Denial::DuplicatePrimaryEmail => (
                "refused-title",
                vec!["refused-shared-email", "refused-shared-email-next"],
            ),
            Denial::UnlinkedEndUser => (
                "refused-title",
                vec!["denied-unlinked", "denied-unlinked-next"],
            ),
        };
        Self {
            title,
            paragraphs,
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    /// The access policy said no; `message` is the association's configured contact text.
    pub fn policy_denied(message: Option<String>) -> Self {
        Self {
            title: "refused-title",
            paragraphs: vec!["policy-denied-text"],
            note: Some(message.map_or(Note::Message("policy-denied-contact"), Note::Text)),
            ..Self::default()
        }
    }

    pub fn throttled(minutes: u64) -> Self {
        Self {
            title: "throttled-title",
            paragraphs: vec!["throttled-text", "throttled-reset"],
            note: Some(Note::Wait { minutes }),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    /// The member site's hand-off was refused by iMIS (expired, used or forged).
    pub fn hand_off_expired() -> Self {
        Self {
            title: "sso-expired-title",
            paragraphs: vec!["sso-expired-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    /// A hand-off this bridge did not start: start a proper journey at `/login`.
    pub fn hand_off_unsolicited() -> Self {
        Self {
            title: "sso-unsolicited-title",
            paragraphs: vec!["sso-unsolicited-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn code_expired() -> Self {
        Self {
            title: "verify-expired-title",
            paragraphs: vec!["verify-expired-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn code_not_sent(error_id: &str) -> Self {
        Self {
            title: "verify-send-failed-title",
            paragraphs: vec!["verify-send-failed-text"],
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn form_expired() -> Self {
        Self {
            title: "expired-title",
            paragraphs: vec!["expired-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn bad_request() -> Self {
        Self {
            title: "bad-request-title",
            paragraphs: vec!["bad-request-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn not_found() -> Self {
        Self {
            title: "not-found-title",
            paragraphs: vec!["not-found-text"],
            links: vec![Link {
                label: "link-start-page",
                href: "/".into(),
            }],
            ..Self::default()
        }
    }

    pub fn signed_out(help_centre: String) -> Self {
        Self {
            title: "signed-out-title",
            paragraphs: vec!["signed-out-text"],
            links: vec![Link {
                label: "link-help-centre",
                href: help_centre,
            }],
            ..Self::default()
        }
    }

    /// Too many sign-ins in flight: nothing was sent, try again shortly.
    pub fn busy() -> Self {
        Self {
            title: "busy-title",
            paragraphs: vec!["busy-text"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    /// Zendesk keeps sending this browser back: stop auto-posting and say what to check.
    pub fn redirect_loop(zendesk: &str) -> Self {
        Self {
            title: "loop-title",
            paragraphs: vec!["loop-text", "loop-admin"],
            links: vec![Self::sign_in_again()],
            admin_links: Self::zendesk_admin_links(zendesk),
            ..Self::default()
        }
    }

    /// A Zendesk error report this browser was not sent to Zendesk for: nothing is quoted.
    pub fn zendesk_error_unverified() -> Self {
        Self {
            title: "zendesk-error-title",
            paragraphs: vec!["zendesk-error-neutral"],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    fn zendesk_admin_links(zendesk: &str) -> Vec<Link> {
        vec![
            Link {
                label: "admin-normal",
                href: format!("{zendesk}/access/normal"),
            },
            Link {
                label: "admin-bypass",
                href: format!("{zendesk}/access/sso_bypass"),
            },
        ]
    }

    /// Zendesk refused the sign-in and sent its reason to the remote logout URL.
    pub fn zendesk_error(message: String, zendesk: &str) -> Self {
        Self {
            title: "zendesk-error-title",
            paragraphs: vec!["zendesk-error-said", "zendesk-error-next"],
            quoted: Some(message),
            links: vec![Self::sign_in_again()],
            admin_links: Self::zendesk_admin_links(zendesk),
            ..Self::default()
        }
    }
}

/// An HTML response that must never be cached (every page here is per-member or per-attempt).
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    respond(status, page.render())
}

fn respond(status: StatusCode, rendered: askama::Result<String>) -> HttpResponse {
    match rendered {
        Ok(body) => HttpResponse::build(status)
            .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .body(body),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            HttpResponse::InternalServerError()
                .insert_header((header::CONTENT_TYPE, "text/plain; charset=utf-8"))
                .body("Something went wrong. Please try again.")
        }
    }
}

pub fn ok(page: &impl Template) -> HttpResponse {
    html(StatusCode::OK, page)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> MemberPages {
        MemberPages::new(&Branding::default(), &[]).expect("catalogues")
    }

    #[test]
    fn quoted_text_is_escaped() {
        let page = MessagePage::zendesk_error(
            "<script>alert(1)</script>".into(),
            "https://acme.zendesk.com",
        );
        let body = pages().render_message(Lang::En, &page).expect("renders");
        assert!(
            body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{body}"
        );
        assert!(!body.contains("<script>alert"));
        let said = body.find("refused the sign-in and said").expect("said");
        let quote = body.find("<blockquote").expect("quote");
        let next = body.find("You have not been signed in").expect("next");
        assert!(said < quote && quote < next, "the quote follows 'said:'");
    }

    #[test]
    fn the_delivery_form_posts_the_token_and_return_to() {
        let pages = pages();
        let page = DeliveryPage {
            chrome: pages.chrome(Lang::En),
            action: "https://acme.zendesk.com/access/jwt",
            jwt: TokenText::new("a.b-c_9").expect("token text"),
            return_to: Some("https://acme.zendesk.com/hc?a=1&b=\"2\""),
        };
        let body = page.render().expect("renders");
        assert!(body.contains(r#"action="https://acme.zendesk.com/access/jwt""#));
        assert!(body.contains(r#"name="jwt" value="a.b-c_9""#));
        assert!(body.contains("a=1&#38;b=&#34;2&#34;"), "{body}");
    }

    #[test]
    fn only_base64url_text_is_written_unescaped() {
        assert!(TokenText::new("eyJ0eXAi.eyJpYXQi.1ZSEfwq-aqW_HdI").is_some());
        for bad in ["a\"b", "a<b", "a&b", "a b", "a'b", "a/b+c=", "é"] {
            assert!(TokenText::new(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_brand_colour_replaces_the_accent() {
        assert!(STYLE_CSS.contains(DEFAULT_ACCENT));
        let branding = Branding {
            primary_colour: Some("#0b3d91".into()),
            ..Branding::default()
        };
        let pages = MemberPages::new(&branding, &[]).expect("catalogues");
        assert!(pages.style_css.contains("--accent: #0b3d91;"));
        assert!(!pages.style_css.contains(DEFAULT_ACCENT));
    }
}
