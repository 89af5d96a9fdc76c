//! Outgoing mail: the one-time codes that prove a member owns an address before their first
//! link to an existing Zendesk end user (`UNLINKED_END_USERS=verify`).
//!
//! Mail goes out over SMTP (`SMTP_URL`, lettre's URL form: `smtp://host:port` plain,
//! `smtp://host:port?tls=required` STARTTLS, `smtps://host:port` TLS, optional `user:password@`)
//! from `MAIL_FROM`. The demo keeps mail in a mailbox the Zendesk simulator shows instead.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::Context;
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::{ExposeSecret, SecretString};

/// How long one delivery to the SMTP server may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// The demo mailbox keeps this many mails.
const DEMO_MAILBOX_SIZE: usize = 50;

/// `SMTP_URL` and `MAIL_FROM`, validated.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub smtp_url: SecretString,
    pub from: Mailbox,
}

impl MailSettings {
    /// Whether `url` is a URL lettre can use (checked at start-up, without connecting).
    pub fn check_url(url: &str) -> Result<(), String> {
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

/// One mail as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

pub enum Mailer {
    Smtp {
        transport: AsyncSmtpTransport<Tokio1Executor>,
        from: Mailbox,
    },
    /// The demo's: mail is kept for the simulator's mailbox page, newest first.
    Mailbox(Mutex<VecDeque<Mail>>),
}

impl Mailer {
    pub fn smtp(settings: &MailSettings) -> anyhow::Result<Self> {
        let transport =
            AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.smtp_url.expose_secret())
                .context("SMTP_URL is not a usable SMTP URL")?
                .timeout(Some(SEND_TIMEOUT))
                .build();
        Ok(Mailer::Smtp {
            transport,
            from: settings.from.clone(),
        })
    }

    pub fn demo_mailbox() -> Self {
        Mailer::Mailbox(Mutex::new(VecDeque::new()))
    }

    /// Sends a plain-text mail. The body may hold a code: it is never logged here.
    pub async fn send(&self, mail: Mail) -> anyhow::Result<()> {
        match self {
            Mailer::Smtp { transport, from } => {
                let to: Mailbox = mail.to.parse().context("the recipient is not an address")?;
                let message = Message::builder()
                    .from(from.clone())
                    .to(to)
                    .subject(mail.subject)
                    .header(ContentType::TEXT_PLAIN)
                    .body(mail.body)
                    .context("the mail could not be written")?;
                transport
                    .send(message)
                    .await
                    .context("the SMTP server did not take the mail")?;
                Ok(())
            }
            Mailer::Mailbox(mailbox) => {
                let mut mailbox = mailbox
                    .lock()
                    .map_err(|_| anyhow::anyhow!("the demo mailbox is unusable"))?;
                mailbox.push_front(mail);
                mailbox.truncate(DEMO_MAILBOX_SIZE);
                Ok(())
            }
        }
    }

    /// The demo mailbox's mail, newest first (empty for SMTP).
    pub fn demo_mail(&self) -> Vec<Mail> {
        match self {
            Mailer::Mailbox(mailbox) => mailbox
                .lock()
                .map(|m| m.iter().cloned().collect())
                .unwrap_or_default(),
            Mailer::Smtp { .. } => Vec::new(),
        }
    }
}
