//! Audit events: one structured line per sign-in outcome, for the admin and the auditor.
//!
//! Every event is logged with target `audit` and `event`, `outcome`, `reason`, `member_id`
//! (the iMIS ID, when known) and `request_id`; the same outcome/reason pair is counted in
//! `/metrics`. Nothing secret (passwords, tokens, JWTs) is ever a field here.

use tracing_actix_web::RequestId;

use crate::metrics::Metrics;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A JWT was minted and delivered.
    Success,
    /// The person is known but not allowed (inactive, no e-mail, ...).
    Denied,
    /// Sign-in did not happen (wrong password, forged form, member system down, ...).
    Failed,
    /// Waiting for the member to prove something (a code sent to their address).
    Pending,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Denied => "denied",
            Outcome::Failed => "failed",
            Outcome::Pending => "pending",
        }
    }
}

#[derive(Clone)]
pub struct Audit {
    metrics: Metrics,
}

impl Audit {
    pub fn new(metrics: Metrics) -> Self {
        Self { metrics }
    }

    pub fn sign_in(
        &self,
        request_id: RequestId,
        outcome: Outcome,
        reason: &'static str,
        member_id: Option<&str>,
        error_id: Option<&str>,
    ) {
        tracing::info!(
            target: "audit",
            event = "sign_in",
            outcome = outcome.as_str(),
            reason,
            member_id = member_id.unwrap_or_default(),
            error_id = error_id.unwrap_or_default(),
            request_id = %request_id,
        );
        self.metrics.sign_in(outcome.as_str(), reason);
    }

    /// Zendesk kept sending one browser back to sign in; the bridge stopped auto-posting.
    pub fn redirect_loop(&self, request_id: RequestId, member_id: Option<&str>) {
        tracing::warn!(
            target: "audit",
            event = "sign_in",
            outcome = Outcome::Failed.as_str(),
            reason = "redirect_loop",
            member_id = member_id.unwrap_or_default(),
            request_id = %request_id,
        );
        self.metrics
            .sign_in(Outcome::Failed.as_str(), "redirect_loop");
    }

    /// A Zendesk error report on the logout URL for a browser the bridge had not just sent to
    /// Zendesk: anyone can craft that link, so it is neither quoted nor counted as a refusal.
    pub fn unverified_zendesk_error(&self, request_id: RequestId) {
        tracing::info!(
            target: "audit",
            event = "zendesk_error_unverified",
            request_id = %request_id,
        );
    }

    /// Zendesk refused a token and said why on the remote logout URL.
    pub fn zendesk_refused(&self, request_id: RequestId, message: &str) {
        tracing::warn!(
            target: "audit",
            event = "sign_in",
            outcome = Outcome::Failed.as_str(),
            reason = "zendesk_refused",
            zendesk_message = %redact_emails(message),
            request_id = %request_id,
        );
        self.metrics
            .sign_in(Outcome::Failed.as_str(), "zendesk_refused");
    }

    /// A linked Zendesk user's e-mail address is about to be replaced by the member system's.
    pub fn email_changed(
        &self,
        request_id: RequestId,
        member_id: &str,
        zendesk_user_id: Option<u64>,
    ) {
        tracing::info!(
            target: "audit",
            event = "email_changed",
            member_id,
            zendesk_user_id = zendesk_user_id.unwrap_or_default(),
            request_id = %request_id,
            "the linked Zendesk user's e-mail address will be updated by this sign-in"
        );
    }

    /// One change the lifecycle sync made (or could not make) to a Zendesk user:
    /// `member_updated`, `member_downgraded`, `sync_change_failed`.
    pub fn member_synced(
        &self,
        event: &'static str,
        member_id: &str,
        zendesk_user_id: u64,
        reason: &str,
        changes: &str,
    ) {
        tracing::info!(
            target: "audit",
            event,
            member_id,
            zendesk_user_id,
            reason,
            changes,
        );
    }

    /// An organisation the sync created or renamed: `organization_created`, `organization_renamed`.
    pub fn organization_synced(&self, event: &'static str, external_id: &str, zendesk_id: u64) {
        tracing::info!(
            target: "audit",
            event,
            organization_external_id = external_id,
            zendesk_organization_id = zendesk_id,
        );
    }

    /// One sync run: `sync_planned`, `sync_applied`, `sync_braked` or `sync_failed`, with why.
    pub fn sync_run(&self, event: &'static str, reason: &str, summary: &str) {
        tracing::info!(target: "audit", event, reason, summary);
    }

    pub fn sign_out(&self, request_id: RequestId, member_id: Option<&str>) {
        tracing::info!(
            target: "audit",
            event = "sign_out",
            member_id = member_id.unwrap_or_default(),
            request_id = %request_id,
        );
    }
}

/// `jane.doe@example.org` → `j***@example.org`, for text that may quote an address.
pub fn redact_emails(text: &str) -> String {
    text.split(' ')
        .map(|word| match word.split_once('@') {
            Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                let first: String = local.chars().take(1).collect();
                format!("{first}***@{domain}")
            }
            _ => word.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_in_messages_are_masked() {
        assert_eq!(
            redact_emails("Users with the email address jane.doe@example.org are not allowed"),
            "Users with the email address j***@example.org are not allowed"
        );
        assert_eq!(redact_emails("no address here"), "no address here");
    }
}
