//! The one path every Zendesk token takes:
//! identify the member (by password, by session, by a member-site hand-off) → admit (access
//! policy) → account safety → mint. Every way in ends in [`run`], which decides the outcome and
//! writes the attempt's one audit event; the HTTP handlers only translate requests and pages.

mod failure;
pub mod verify;

pub use failure::Failure;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tracing_actix_web::RequestId;
use uuid::Uuid;

use crate::audit::{Audit, Outcome};
use crate::clock::unix_now;
use crate::members::{Member, MemberDirectory, MemberProfile};
use crate::metrics::Metrics;
use crate::policy::{Policy, PolicyRefusal};
use crate::zendesk::jwt::JwtSigner;
use crate::zendesk::safety::{Allowed, Denial, SafetyGuard};
use verify::{PendingLink, UnlinkedEndUsers, Verifications};

/// What the pipeline is made of, built once at start-up.
pub struct Pipeline {
    pub directory: Arc<dyn MemberDirectory>,
    /// Who may sign in and which claims are sent.
    pub policy: Policy,
    /// The account-safety rules, applied before any token is minted.
    pub safety: Arc<SafetyGuard>,
    pub jwt: JwtSigner,
    pub audit: Audit,
    pub metrics: Metrics,
    /// How long a session's member is trusted before it is read again (`SESSION_RECHECK_SECS`).
    pub session_recheck: Duration,
    /// What a first link to an existing, unlinked end user needs (`UNLINKED_END_USERS`).
    pub unlinked_end_users: UnlinkedEndUsers,
    /// Codes sent and awaited for `UnlinkedEndUsers::Verify`.
    pub verifications: Verifications,
    /// Downgrades a refused member's Zendesk user at once (when the policy marks members).
    pub on_denial: Option<Arc<crate::lifecycle::OnDenial>>,
    /// Where the sync says which members' sessions must read them again (every pod).
    pub shared: Arc<crate::shared::SharedState>,
}

/// A signed-in member, kept in a sealed cookie between sign-ins.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Session {
    /// New at every sign-in that identifies the member afresh; what sign-out revokes.
    pub sid: Uuid,
    pub member: Member,
    /// The member system's user name, to read the member again.
    #[serde(default)]
    pub username: String,
    /// When the member was last read from the directory (Unix seconds).
    #[serde(default)]
    pub checked_at: i64,
}

/// Which ways in the sign-in page offers (`SIGN_IN_METHOD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignInMethod {
    /// The member site's own sign-in page, handed off by iMIS single sign-on.
    ImisSso,
    /// Our form, proved with the member system's password grant.
    #[default]
    Password,
    /// "Sign in with your member account" above the password form.
    Both,
}

/// How the member was identified; the audit `reason` of a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Way {
    Password,
    Session,
    MemberSite,
}

impl Way {
    pub fn reason(self) -> &'static str {
        match self {
            Way::Password => "password",
            Way::Session => "session",
            Way::MemberSite => "imis_sso",
        }
    }
}

/// Who the member is, as the way in established it.
pub enum Identity {
    /// A profile the member directory has just given (password, hand-off).
    Profile {
        profile: MemberProfile,
        /// The member system's user name, for re-reading the member later.
        username: String,
    },
    /// A bridge session: admitted before, re-read when older than `SESSION_RECHECK_SECS`.
    Session(Session),
    /// A member admitted minutes ago who has now proved they own their address.
    Verified(PendingLink),
}

/// A sign-in that may go ahead: the token to deliver and the session to keep.
pub struct Granted {
    pub jwt: String,
    pub session: Session,
    /// The session is new or changed, so the cookie must be written again.
    pub session_changed: bool,
}

/// What the pipeline needs to know about the request.
pub struct Attempt<'a> {
    pub state: &'a Pipeline,
    pub request_id: RequestId,
    pub way: Way,
    /// Zendesk's `locale_id`, for the claim mapping.
    pub locale_id: Option<&'a str>,
}

/// Runs one sign-in: `identify`, then the rest of the pipeline, then the one audit event.
pub async fn run(
    attempt: Attempt<'_>,
    identify: impl Future<Output = Result<Identity, Failure>>,
) -> Result<Granted, Failure> {
    let mut member_id = None;
    // While the directory reads the member (at a sign-in or a session's re-check), the Zendesk
    // look-ups that need only what it has learnt so far start beside it (`members::early`).
    let listener: Arc<dyn crate::members::early::Listener> = attempt.state.safety.clone();
    let result = crate::members::early::listen(listener, async {
        let identity = identify.await?;
        member_id = Some(identity.member_id().to_owned());
        complete(&attempt, identity).await
    })
    .await;
    audit(&attempt, member_id.as_deref(), &result);
    result
}

impl Identity {
    fn member_id(&self) -> &str {
        match self {
            Identity::Profile { profile, .. } => &profile.id,
            Identity::Session(session) => &session.member.id,
            Identity::Verified(link) => &link.member.id,
        }
    }
}

/// A session between re-checks goes straight to the token; anything else is admitted and
/// checked first.
///
/// Only the second is boxed: its future is sized for every look-up it may await (tens of KiB),
/// so a sign-in waiting for its place (`identify`) holds a small future and a flood of them
/// costs little memory, while a session re-use, the hot path, allocates none of it.
async fn complete(attempt: &Attempt<'_>, identity: Identity) -> Result<Granted, Failure> {
    match identity {
        Identity::Session(session)
            if session.is_fresh(attempt.state.session_recheck)
                && !downgraded_since(attempt, &session).await =>
        {
            reuse(attempt, session).await
        }
        identity => Box::pin(admit_and_check(attempt, identity)).await,
    }
}

/// Whether the lifecycle sync downgraded this session's member after the session last read
/// them: then the session reads them again now, whatever its age. Asked only when the policy
/// marks members in Zendesk (there is a sync to have done it).
async fn downgraded_since(attempt: &Attempt<'_>, session: &Session) -> bool {
    attempt.state.on_denial.is_some()
        && attempt
            .state
            .shared
            .must_recheck(&session.member.id, session.checked_at)
            .await
}

/// Between re-checks a session costs no upstream call, but Zendesk's configuration is judged
/// for every token all the same.
async fn reuse(attempt: &Attempt<'_>, session: Session) -> Result<Granted, Failure> {
    let safety = &attempt.state.safety;
    let gate = match safety.settled_gate() {
        Some(settled) => settled,
        None => Box::pin(safety.gate()).await,
    };
    gate.map_err(Failure::denied)?;
    grant(attempt, session, false)
}

/// admit → safety → mint, for a member read just now (or read again: a session past
/// `SESSION_RECHECK_SECS`).
async fn admit_and_check(attempt: &Attempt<'_>, identity: Identity) -> Result<Granted, Failure> {
    let (session, verified) = match identity {
        Identity::Profile { profile, username } => {
            let member = admit(attempt, profile)?;
            (Session::new(member, username), None)
        }
        Identity::Verified(link) => (
            Session::new(link.member, link.username),
            Some(link.zendesk_user_id),
        ),
        Identity::Session(stale) => (reread(attempt, stale).await?, None),
    };
    let allowed = attempt.state.safety.check(&session.member).await;
    let allowed = note_allowed(attempt, &session.member, allowed)?;
    let mut session = session;
    let policy = &attempt.state.policy;
    session.member.claims.tags = policy.tags_to_send(
        session.member.claims.tags.take(),
        allowed.zendesk_tags.as_deref(),
    );
    first_link(attempt, &session, allowed.unlinked_end_user, verified).await?;
    grant(attempt, session, true)
}

/// The token for `session`'s member, in the locale Zendesk asked for.
fn grant(
    attempt: &Attempt<'_>,
    mut session: Session,
    session_changed: bool,
) -> Result<Granted, Failure> {
    let state = attempt.state;
    state
        .policy
        .apply_locale(&mut session.member, attempt.locale_id);
    let jwt = state
        .jwt
        .mint(&session.member)
        .map_err(|e| anyhow::Error::new(e).context("signing the Zendesk JWT"))?;
    Ok(Granted {
        jwt,
        session,
        session_changed,
    })
}

/// The access policy over a fresh profile.
fn admit(attempt: &Attempt<'_>, profile: MemberProfile) -> Result<Member, Failure> {
    let member_id = profile.id.clone();
    attempt
        .state
        .policy
        .admit(profile, attempt.locale_id)
        .map_err(|refusal| {
            let reason = match &refusal {
                PolicyRefusal::Base(refusal) => refusal.reason().to_owned(),
                PolicyRefusal::Denied { rule, .. } => format!("denied by {rule}"),
            };
            // A member Zendesk still treats as one loses that now, not at the next sweep.
            if let Some(on_denial) = &attempt.state.on_denial {
                on_denial.member_denied(&member_id, &reason);
            }
            match refusal {
                PolicyRefusal::Base(refusal) => Failure::Refused(refusal),
                PolicyRefusal::Denied { rule, message } => {
                    tracing::info!(target: "audit", event = "policy_decision", member_id = %member_id, rule = %rule, request_id = %attempt.request_id, "denied by the access policy");
                    Failure::PolicyDenied { message }
                }
            }
        })
}

/// A session older than `SESSION_RECHECK_SECS`: the member is read again and admitted again.
async fn reread(attempt: &Attempt<'_>, stale: Session) -> Result<Session, Failure> {
    let state = attempt.state;
    let profile = state
        .directory
        .profile_of(&stale.username)
        .await
        .map_err(Failure::from_directory)?;
    if profile.id != stale.member.id {
        // The user name now belongs to another record: this session is not theirs.
        return Err(Failure::Refused(crate::members::Refusal::NoMemberRecord));
    }
    let member = admit(attempt, profile)?;
    Ok(Session {
        member,
        checked_at: unix_now(),
        ..stale
    })
}

/// A first link to an existing end user: as `UNLINKED_END_USERS` says.
async fn first_link(
    attempt: &Attempt<'_>,
    session: &Session,
    unlinked: Option<u64>,
    verified: Option<u64>,
) -> Result<(), Failure> {
    let Some(user) = unlinked else {
        return Ok(());
    };
    match attempt.state.unlinked_end_users {
        // Without a duplicate search that could see other records, the address is unproven:
        // only the e-mailed code may hand this end user over.
        UnlinkedEndUsers::Link
            if session.member.email_sharing == crate::members::email::Sharing::Unverified =>
        {
            tracing::warn!(member_id = %session.member.id, "a first link to an existing end user needs a duplicate-address search run with the iMIS service account (IMIS_SERVICE_USERNAME), or UNLINKED_END_USERS=verify: refused");
            Err(Failure::denied(Denial::UnlinkedEndUser))
        }
        UnlinkedEndUsers::Link => Ok(()),
        UnlinkedEndUsers::Deny => Err(Failure::denied(Denial::UnlinkedEndUser)),
        UnlinkedEndUsers::Verify if verified == Some(user) => {
            tracing::info!(target: "audit", event = "email_verified", member_id = %session.member.id, zendesk_user_id = user, request_id = %attempt.request_id, "the member proved they own the address; Zendesk links the end user at this sign-in");
            // Zendesk's answer changes once it links the user: do not keep the old one.
            attempt.state.safety.forget(&session.member).await;
            Ok(())
        }
        UnlinkedEndUsers::Verify => Err(Failure::VerificationNeeded(Box::new(PendingLink {
            member: session.member.clone(),
            username: session.username.clone(),
            zendesk_user_id: user,
        }))),
    }
}

fn note_allowed(
    attempt: &Attempt<'_>,
    member: &Member,
    allowed: Result<Allowed, Denial>,
) -> Result<Allowed, Failure> {
    let allowed = allowed.map_err(Failure::denied)?;
    if allowed.email_changed {
        attempt
            .state
            .audit
            .email_changed(attempt.request_id, &member.id, allowed.zendesk_user_id);
    }
    if allowed.shared_email_conflict {
        tracing::warn!(
            target: "audit",
            event = "email_conflict",
            member_id = %member.id,
            zendesk_user_id = allowed.zendesk_user_id.unwrap_or_default(),
            request_id = %attempt.request_id,
            "another member record has this member's primary e-mail; allowed because Zendesk already links this member to it, the others are refused"
        );
    }
    if allowed.degraded {
        tracing::warn!(
            target: "audit",
            event = "safety_degraded",
            member_id = %member.id,
            request_id = %attempt.request_id,
            "Zendesk API unreachable: allowed on a recent match (SAFETY_CHECKS=degraded)"
        );
    }
    Ok(allowed)
}

/// The attempt's one audit event (and its metric).
fn audit(attempt: &Attempt<'_>, member_id: Option<&str>, result: &Result<Granted, Failure>) {
    let state = attempt.state;
    match result {
        Ok(_) => state.audit.sign_in(
            attempt.request_id,
            Outcome::Success,
            attempt.way.reason(),
            member_id,
            None,
        ),
        Err(failure) => {
            if let Failure::Denied { denial, .. } = failure {
                state.metrics.safety_denial(denial.reason());
            }
            state.audit.sign_in(
                attempt.request_id,
                failure.outcome(),
                failure.reason(),
                member_id,
                failure.error_id(),
            )
        }
    }
}

impl Session {
    /// A new session (a new `sid`) for a member admitted just now.
    pub fn new(member: Member, username: String) -> Self {
        Self {
            sid: Uuid::new_v4(),
            member,
            username,
            checked_at: unix_now(),
        }
    }

    /// Read from the member directory less than `recheck` ago.
    pub fn is_fresh(&self, recheck: Duration) -> bool {
        unix_now() - self.checked_at < recheck.as_secs() as i64
    }
}
