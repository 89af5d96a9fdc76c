//! Outgoing mail and what a first link to an existing Zendesk end user needs.

use super::env::{RawSettings, Validator};
use super::*;

impl Validator {
    pub(super) fn mail(&mut self, raw: &RawSettings) -> Option<MailSettings> {
        let url = self.optional_secret("SMTP_URL", raw.smtp_url.clone(), raw.smtp_url_file.clone());
        let from = non_empty(raw.mail_from.as_deref());
        let url = url.filter(|url| match MailSettings::check_url(url.expose_secret()) {
            Ok(()) => true,
            Err(why) => {
                self.problem(
                    "SMTP_URL",
                    format!(
                        "is not a usable SMTP URL ({why}); e.g. smtps://user:password@smtp.example.org:465 \
                         or smtp://smtp.example.org:587?tls=required"
                    ),
                );
                false
            }
        });
        let from = from.and_then(|from| match from.parse::<lettre::message::Mailbox>() {
            Ok(mailbox) => Some(mailbox),
            Err(e) => {
                self.problem(
                    "MAIL_FROM",
                    format!("is not an address ({e}); e.g. Help Centre <help@example.org>"),
                );
                None
            }
        });
        match (url, from) {
            (Some(smtp_url), Some(from)) => Some(MailSettings { smtp_url, from }),
            (Some(_), None) if non_empty(raw.mail_from.as_deref()).is_none() => {
                self.problem(
                    "MAIL_FROM",
                    "is required with SMTP_URL: the sender of the codes",
                );
                None
            }
            (None, Some(_))
                if non_empty(raw.smtp_url.as_deref()).is_none()
                    && non_empty(raw.smtp_url_file.as_deref()).is_none() =>
            {
                self.problem(
                    "SMTP_URL",
                    "is required with MAIL_FROM: the server that sends mail",
                );
                None
            }
            _ => None,
        }
    }
    pub(super) fn unlinked_end_users(
        &mut self,
        raw: &RawSettings,
        has_mail: bool,
    ) -> UnlinkedEndUsers {
        match non_empty(raw.unlinked_end_users.as_deref()) {
            Some("verify") | None if has_mail => UnlinkedEndUsers::Verify,
            None => {
                self.problem(
                    "UNLINKED_END_USERS",
                    "choose what a first sign-in does when its e-mail belongs to an existing Zendesk \
                     end user who is not linked yet (their tickets would become the member's): \
                     set SMTP_URL and MAIL_FROM so the bridge can e-mail a code first (verify, the \
                     default), or set UNLINKED_END_USERS=deny (refuse, an admin joins the accounts) \
                     or UNLINKED_END_USERS=link (only if the member system verifies every e-mail change)",
                );
                UnlinkedEndUsers::Verify
            }
            Some("verify") => {
                self.problem(
                    "SMTP_URL",
                    "UNLINKED_END_USERS=verify e-mails a code: set SMTP_URL and MAIL_FROM",
                );
                UnlinkedEndUsers::Verify
            }
            Some("deny") => UnlinkedEndUsers::Deny,
            Some("link") => {
                self.warnings.push(
                    "UNLINKED_END_USERS=link: a first sign-in links an existing Zendesk end user with \
                     the same e-mail (and their tickets) without proof that the member owns the \
                     address. Safe only if the member system verifies every e-mail change"
                        .into(),
                );
                UnlinkedEndUsers::Link
            }
            Some(other) => {
                self.problem(
                    "UNLINKED_END_USERS",
                    format!("must be `verify`, `deny` or `link`, not `{other}`"),
                );
                UnlinkedEndUsers::Verify
            }
        }
    }
}
