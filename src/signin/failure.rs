//! Every way a sign-in ends without a token, each with the audit `reason` it writes.

use std::time::Duration;

use crate::audit::Outcome;
use crate::ids::error_id;
use crate::members::{DirectoryError, Refusal};
use crate::zendesk::safety::Denial;

#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("the request could not be read")]
    BadRequest,
    #[error("the sign-in form expired or did not come from our page")]
    FormExpired {
        /// The form came back, but its token or `Sec-Fetch-Site` did not match.
        forged: bool,
    },
    #[error("the user name or the password is missing")]
    MissingCredentials,
    #[error("the user name or password is wrong")]
    InvalidCredentials,
    #[error("sign-in refused: {0}")]
    Refused(Refusal),
    #[error("sign-in refused by the access policy")]
    PolicyDenied { message: Option<String> },
    #[error("too many failed sign-ins; retry after {retry_after:?}")]
    Throttled { retry_after: Duration },
    #[error("too many sign-ins in flight")]
    Busy,
    #[error("sign-in refused by an account-safety rule: {denial} (error id {error_id})")]
    Denied { denial: Denial, error_id: String },
    #[error("the member system is unavailable (error id {error_id})")]
    MemberSystemUnavailable {
        error_id: String,
        #[source]
        source: anyhow::Error,
    },
    #[error("the member-site hand-off expired, was used already, or was forged")]
    HandOffExpired,
    #[error("a member-site hand-off this bridge did not start")]
    HandOffUnsolicited,
    #[error("a member-site hand-off posted from a page that is not the member site's")]
    HandOffForeignOrigin,
    #[error("the code entered is not the one sent")]
    WrongCode,
    #[error("the code expired, was used, or ran out of tries")]
    CodeExpired,
    #[error("the member must confirm their e-mail address before the first link")]
    VerificationNeeded(Box<super::verify::PendingLink>),
    #[error("unexpected error (error id {error_id})")]
    Unexpected {
        error_id: String,
        #[source]
        source: anyhow::Error,
    },
}

impl From<anyhow::Error> for Failure {
    fn from(source: anyhow::Error) -> Self {
        Failure::Unexpected {
            error_id: error_id(),
            source,
        }
    }
}

impl Failure {
    pub fn denied(denial: Denial) -> Self {
        Failure::Denied {
            denial,
            error_id: error_id(),
        }
    }

    pub fn member_system_unavailable(source: anyhow::Error) -> Self {
        Failure::MemberSystemUnavailable {
            error_id: error_id(),
            source,
        }
    }

    pub fn from_directory(error: DirectoryError) -> Self {
        match error {
            DirectoryError::InvalidCredentials => Failure::InvalidCredentials,
            DirectoryError::Refused(refusal) => Failure::Refused(refusal),
            DirectoryError::Busy => Failure::Busy,
            DirectoryError::Unavailable(source) => Failure::MemberSystemUnavailable {
                error_id: error_id(),
                source,
            },
        }
    }

    /// The audit log's `reason`.
    pub fn reason(&self) -> &'static str {
        match self {
            Failure::BadRequest => "malformed_form",
            Failure::FormExpired { forged: false } => "form_expired",
            Failure::FormExpired { forged: true } => "csrf",
            Failure::MissingCredentials => "missing_credentials",
            Failure::InvalidCredentials => "invalid_credentials",
            Failure::Refused(refusal) => refusal.reason(),
            Failure::PolicyDenied { .. } => "policy",
            Failure::Throttled { .. } => "throttled",
            Failure::Busy => "busy",
            Failure::Denied { denial, .. } => denial.reason(),
            Failure::MemberSystemUnavailable { .. } => "member_system_unavailable",
            Failure::VerificationNeeded(_) => "email_verification_required",
            Failure::WrongCode => "wrong_code",
            Failure::HandOffExpired => "imis_sso_expired",
            Failure::HandOffUnsolicited => "imis_sso_unsolicited",
            Failure::HandOffForeignOrigin => "imis_sso_foreign_origin",
            Failure::CodeExpired => "code_expired",
            Failure::Unexpected { .. } => "unexpected",
        }
    }

    /// Denied: the person is known and not allowed. Failed: the sign-in did not happen.
    pub fn outcome(&self) -> Outcome {
        match self {
            Failure::Refused(_) | Failure::PolicyDenied { .. } | Failure::Denied { .. } => {
                Outcome::Denied
            }
            Failure::VerificationNeeded(_) => Outcome::Pending,
            _ => Outcome::Failed,
        }
    }

    /// The short id the member sees, when the page shows one.
    pub fn error_id(&self) -> Option<&str> {
        match self {
            Failure::Denied { error_id, .. }
            | Failure::MemberSystemUnavailable { error_id, .. }
            | Failure::Unexpected { error_id, .. } => Some(error_id),
            _ => None,
        }
    }
}
