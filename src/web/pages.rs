//! The HTML the member sees. Templates live in `templates/` (askama, auto-escaped); the words
//! of every message page are here, in one place.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use askama::Template;

use crate::members::Refusal;
use crate::members::demo::DemoMember;
use crate::zendesk::safety::Denial;

pub const STYLE_CSS: &str = include_str!("../../assets/style.css");
pub const DELIVER_JS: &str = include_str!("../../assets/deliver.js");

#[derive(Template)]
#[template(path = "landing.html")]
pub struct LandingPage<'a> {
    pub demo: Option<DemoHints<'a>>,
}

pub struct DemoHints<'a> {
    pub help_centre: &'a str,
    pub members: &'a [DemoMember],
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage<'a> {
    pub csrf_token: &'a str,
    pub username: &'a str,
    pub error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "deliver.html")]
pub struct DeliveryPage<'a> {
    pub action: &'a str,
    pub jwt: &'a str,
    pub return_to: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "simulator_help_centre.html")]
pub struct SimulatorHelpCentre<'a> {
    pub sign_in_url: &'a str,
}

#[derive(Template)]
#[template(path = "simulator_signed_in.html")]
pub struct SimulatorSignedIn<'a> {
    pub claims: &'a [(String, String)],
    pub return_to: Option<&'a str>,
}

pub struct Link {
    pub label: &'static str,
    pub href: String,
}

/// Every message page: errors, refusals, signed out.
#[derive(Template, Default)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub title: &'static str,
    pub paragraphs: Vec<&'static str>,
    /// Text from elsewhere (Zendesk's error message), shown escaped.
    pub quoted: Option<String>,
    /// A sentence built for this page (e.g. how long to wait).
    pub note: Option<String>,
    pub error_id: Option<String>,
    pub links: Vec<Link>,
    pub admin_links: Vec<Link>,
}

pub const WRONG_CREDENTIALS: &str =
    "That user name and password did not match our records. Check them and try again.";
pub const MISSING_CREDENTIALS: &str = "Enter your user name and your password.";

impl MessagePage {
    fn sign_in_again() -> Link {
        Link {
            label: "Start signing in again",
            href: "/login".into(),
        }
    }

    pub fn unavailable(error_id: &str) -> Self {
        Self {
            title: "We can't check your membership right now",
            paragraphs: vec![
                "The member system did not answer. Your password was not rejected: please try again in a few minutes.",
            ],
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn unexpected(error_id: &str) -> Self {
        Self {
            title: "Something went wrong",
            paragraphs: vec![
                "We could not sign you in because of an error on our side. Please try again in a few minutes.",
            ],
            error_id: Some(error_id.to_owned()),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn refused(refusal: Refusal) -> Self {
        let paragraphs = match refusal {
            Refusal::Inactive => vec![
                "Your membership is not active, so you can't use the help centre with it.",
                "If you think this is a mistake, or to renew, please contact the association.",
            ],
            Refusal::NoPrimaryEmail => vec![
                "Your member record has no primary e-mail address, which the help centre needs to reach you.",
                "Please add one to your member profile, or contact the association.",
            ],
            Refusal::DuplicatePrimaryEmail => vec![
                "Your e-mail address is shared by more than one member record, so we can't tell which help-centre account is yours.",
                "Please contact the association so they can correct your member record.",
            ],
            Refusal::NoMemberRecord => vec![
                "Your password was accepted, but we could not find a member record for your account.",
                "Please contact the association so they can check your account.",
            ],
        };
        Self {
            title: "We can't sign you in to the help centre",
            paragraphs,
            ..Self::default()
        }
    }

    /// An account-safety rule said no. The words never reveal whose account is involved.
    pub fn denied(denial: Denial, error_id: &str) -> Self {
        let (title, paragraphs): (&'static str, Vec<&'static str>) = match denial {
            Denial::EmailOwnedByOtherIdentity | Denial::UnlinkedStaff => (
                "We can't sign you in to the help centre",
                vec![
                    "Your e-mail address is already used by another help-centre account, so we can't sign you in with it.",
                    "Please contact the association and quote the reference below; they can link your account safely.",
                ],
            ),
            Denial::Suspended => (
                "We can't sign you in to the help centre",
                vec![
                    "Your help-centre account is suspended.",
                    "Please contact the association and quote the reference below.",
                ],
            ),
            Denial::ZendeskUnavailable | Denial::ZendeskConfigUnsafe => (
                "The help centre can't be reached right now",
                vec![
                    "We could not complete the checks that keep help-centre accounts safe. Your password was not rejected: please try again shortly.",
                ],
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
            title: "We can't sign you in to the help centre",
            paragraphs: vec!["Your membership does not include access to the help centre."],
            note: Some(message.unwrap_or_else(|| {
                "If you think this is a mistake, please contact the association.".to_owned()
            })),
            ..Self::default()
        }
    }

    pub fn throttled(minutes: u64) -> Self {
        let plural = if minutes == 1 { "" } else { "s" };
        Self {
            title: "Too many sign-in attempts",
            paragraphs: vec![
                "There have been too many unsuccessful sign-in attempts, so sign-in is paused for a while to protect your account.",
                "If you have forgotten your password, reset it in the member system first.",
            ],
            note: Some(format!("You can try again in {minutes} minute{plural}.")),
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn form_expired() -> Self {
        Self {
            title: "This sign-in page has expired",
            paragraphs: vec![
                "For your security, sign-in forms only work for a short time and only from this site. Nothing was sent.",
            ],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn bad_request() -> Self {
        Self {
            title: "We couldn't read that request",
            paragraphs: vec![
                "The link or form you used was not complete or not valid. Please start again from the help centre.",
            ],
            links: vec![Self::sign_in_again()],
            ..Self::default()
        }
    }

    pub fn not_found() -> Self {
        Self {
            title: "Page not found",
            paragraphs: vec!["There is nothing at this address."],
            links: vec![Link {
                label: "Go to the start page",
                href: "/".into(),
            }],
            ..Self::default()
        }
    }

    pub fn signed_out(help_centre: String) -> Self {
        Self {
            title: "You are signed out",
            paragraphs: vec![
                "You have been signed out of the help centre. To sign in again, visit the help centre.",
            ],
            links: vec![Link {
                label: "Back to the help centre",
                href: help_centre,
            }],
            ..Self::default()
        }
    }

    /// Zendesk refused the sign-in and sent its reason to the remote logout URL.
    pub fn zendesk_error(message: String, zendesk: &str) -> Self {
        Self {
            title: "The help centre could not sign you in",
            paragraphs: vec![
                "Zendesk, which runs our help centre, refused the sign-in and said:",
                "You have not been signed in. Please try again in a few minutes; if this keeps happening, contact the association and quote the message above.",
            ],
            quoted: Some(message),
            links: vec![Self::sign_in_again()],
            admin_links: vec![
                Link {
                    label: "Sign in with a Zendesk password (/access/normal)",
                    href: format!("{zendesk}/access/normal"),
                },
                Link {
                    label: "Request a one-time sign-in link for the account owner (/access/sso_bypass)",
                    href: format!("{zendesk}/access/sso_bypass"),
                },
            ],
            ..Self::default()
        }
    }
}

/// An HTML response that must never be cached (every page here is per-member or per-attempt).
pub fn html(status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
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

    #[test]
    fn quoted_text_is_escaped() {
        let page = MessagePage::zendesk_error(
            "<script>alert(1)</script>".into(),
            "https://acme.zendesk.com",
        );
        let body = page.render().expect("renders");
        assert!(
            body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
            "{body}"
        );
        assert!(!body.contains("<script>alert"));
    }

    #[test]
    fn the_delivery_form_posts_the_token_and_return_to() {
        let page = DeliveryPage {
            action: "https://acme.zendesk.com/access/jwt",
            jwt: "a.b.c",
            return_to: Some("https://acme.zendesk.com/hc?a=1&b=\"2\""),
        };
        let body = page.render().expect("renders");
        assert!(body.contains(r#"action="https://acme.zendesk.com/access/jwt""#));
        assert!(body.contains(r#"name="jwt" value="a.b.c""#));
        assert!(body.contains("a=1&#38;b=&#34;2&#34;"), "{body}");
    }
}
