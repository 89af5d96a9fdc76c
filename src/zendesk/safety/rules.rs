//! The account-safety rules: no sign-in may take over someone else's Zendesk account.
//!
//! [`decide`] is the pure decision over what Zendesk holds for the member's external id and
//! e-mail address; the guard ([`super::SafetyGuard`]) fetches that and applies it.
//! The rules, each named by the `reason` it writes to the audit log:
//! - `update_external_ids_on`: a JWT configuration in Zendesk has "Update of external IDs?" On —
//!   the bridge refuses to start, and refuses every sign-in if it is switched on later;
//! - `email_owned_by_other_identity`: a user with the member's e-mail has another external id
//!   (or, when the member is already linked, another user holds that e-mail);
//! - `email_changed` (allowed, audited): the linked user's e-mail differs; Zendesk updates it;
//! - `unlinked_staff`: the e-mail belongs to an agent or admin without an external id;
//! - `suspended`: the user who would be signed in is suspended;
//! - `duplicate_primary_email`: another active member record has the same primary e-mail, and
//!   Zendesk does not already link this member to it (the linked member keeps signing in);
//! - `zendesk_unavailable`: the look-ups failed (fail closed; see [`super::SafetyMode::Degraded`]).

use crate::members::Member;
use crate::members::email::Sharing;
use crate::zendesk::api::ZendeskUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    #[error("the e-mail address belongs to another Zendesk identity")]
    EmailOwnedByOtherIdentity,
    #[error("the e-mail address belongs to an agent or admin who is not linked yet")]
    UnlinkedStaff,
    #[error("the Zendesk user is suspended")]
    Suspended,
    #[error("the Zendesk API could not be asked")]
    ZendeskUnavailable,
    #[error("Zendesk's JWT configuration is unsafe or not verified yet")]
    ZendeskConfigUnsafe,
    #[error("another member record has this primary e-mail, and Zendesk links it to neither")]
    DuplicatePrimaryEmail,
    #[error(
        "the e-mail address belongs to an end user who is not linked yet (UNLINKED_END_USERS=deny)"
    )]
    UnlinkedEndUser,
}

impl Denial {
    pub fn reason(self) -> &'static str {
        match self {
            Denial::EmailOwnedByOtherIdentity => "email_owned_by_other_identity",
            Denial::UnlinkedStaff => "unlinked_staff",
            Denial::Suspended => "suspended",
            Denial::ZendeskUnavailable => "zendesk_unavailable",
            Denial::ZendeskConfigUnsafe => "zendesk_config_unsafe",
            Denial::DuplicatePrimaryEmail => "duplicate_primary_email",
            Denial::UnlinkedEndUser => "unlinked_end_user",
        }
    }
}

/// A sign-in the rules allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    /// The linked Zendesk user has another e-mail, which this sign-in will replace.
    pub email_changed: bool,
    /// Allowed from a recent match while the Zendesk API was down (degraded mode only).
    pub degraded: bool,
    /// The Zendesk user who will be signed in, if one exists yet.
    pub zendesk_user_id: Option<u64>,
    /// That user's tags now (the JWT's `tags` replaces them all: the agents' are kept).
    pub zendesk_tags: Option<Vec<String>>,
    /// Another member record shares this primary e-mail; this member was let in because
    /// Zendesk already links them to it (audited as a conflict).
    pub shared_email_conflict: bool,
    /// This sign-in would link an existing end user who has no external id yet (and their
    /// tickets) to the member: `UNLINKED_END_USERS` decides.
    pub unlinked_end_user: Option<u64>,
}

/// The rules over Zendesk's users with the member's external id and with their e-mail.
pub fn decide(
    member: &Member,
    by_external_id: &[ZendeskUser],
    by_email: &[ZendeskUser],
) -> Result<Allowed, Denial> {
    let linked = by_external_id
        .iter()
        .find(|u| u.has_external_id(&member.id));
    // A copied address: only the member Zendesk already links to it keeps it.
    if member.email_sharing.needs_link() && !linked.is_some_and(|l| l.has_email(&member.email)) {
        return Err(match member.email_sharing {
            // Not searched because Zendesk linked them a moment ago, and no longer does: the
            // next attempt searches (fail closed, without blaming a copy nobody has seen).
            Sharing::NotSearched => Denial::ZendeskUnavailable,
            _ => Denial::DuplicatePrimaryEmail,
        });
    }
    for holder in by_email.iter().filter(|u| u.has_email(&member.email)) {
        if linked.is_some_and(|l| l.id == holder.id) {
            continue;
        }
        match holder.external_id.as_deref() {
            Some(other) if !other.trim().eq_ignore_ascii_case(member.id.trim()) => {
                return Err(Denial::EmailOwnedByOtherIdentity);
            }
            None if holder.role.is_staff() => return Err(Denial::UnlinkedStaff),
            // Zendesk would have to move this address onto the linked user.
            None if linked.is_some() => return Err(Denial::EmailOwnedByOtherIdentity),
            _ => {}
        }
    }
    let target = linked.or_else(|| by_email.iter().find(|u| u.has_email(&member.email)));
    if target.is_some_and(|u| u.suspended) {
        return Err(Denial::Suspended);
    }
    Ok(Allowed {
        email_changed: linked.is_some_and(|l| !l.has_email(&member.email)),
        degraded: false,
        zendesk_user_id: target.map(|u| u.id),
        zendesk_tags: target.map(|u| u.tags.clone()),
        shared_email_conflict: member.email_sharing == Sharing::Shared,
        unlinked_end_user: target
            .filter(|u| linked.is_none() && u.external_id.is_none() && !u.role.is_staff())
            .map(|u| u.id),
    })
}

/// Whether one of `users` has the external id `id` and the address `email`.
pub(super) fn linked_to(users: &[ZendeskUser], id: &str, email: &str) -> bool {
    users
        .iter()
        .any(|u| u.has_external_id(id) && u.has_email(email))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zendesk::api::ZendeskRole;

    fn member() -> Member {
        Member::example()
    }

    fn user(id: u64, email: &str, external_id: Option<&str>, role: ZendeskRole) -> ZendeskUser {
        ZendeskUser {
            id,
            name: "someone".into(),
            email: Some(email.into()),
            other_emails: Vec::new(),
            external_id: external_id.map(str::to_owned),
            role,
            suspended: false,
            tags: Vec::new(),
        }
    }

    use ZendeskRole::{Admin, Agent, EndUser};

    #[test]
    fn a_copied_email_admits_only_the_member_zendesk_links_to_it() {
        let mut owner = member();
        owner.email_sharing = Sharing::Shared;
        let linked = user(1, "art@example.org", Some("20277"), EndUser);
        let a = decide(
            &owner,
            std::slice::from_ref(&linked),
            std::slice::from_ref(&linked),
        )
        .expect("the linked owner keeps signing in");
        assert!(a.shared_email_conflict);
        let mut copier = member();
        copier.id = "30001".into();
        copier.email_sharing = Sharing::Shared;
        assert_eq!(
            decide(&copier, &[], std::slice::from_ref(&linked)),
            Err(Denial::DuplicatePrimaryEmail)
        );
        assert_eq!(
            decide(&copier, &[], &[]),
            Err(Denial::DuplicatePrimaryEmail),
            "nobody linked yet: both are refused"
        );
    }

    #[test]
    fn an_address_not_searched_for_copies_needs_the_link_the_directory_saw() {
        let mut m = member();
        m.email_sharing = Sharing::NotSearched;
        let linked = user(1, "art@example.org", Some("20277"), EndUser);
        let a = decide(&m, std::slice::from_ref(&linked), &[]).expect("still linked");
        assert!(
            !a.shared_email_conflict,
            "no copy was seen, none is audited"
        );
        assert_eq!(
            decide(&m, &[], &[]),
            Err(Denial::ZendeskUnavailable),
            "the link is gone by the check: refused, and the next attempt searches"
        );
    }

    #[test]
    fn an_email_held_as_a_secondary_identity_counts_like_a_primary_one() {
        let mut other = user(2, "someone@example.org", Some("99999"), EndUser);
        other.other_emails = vec!["ART@EXAMPLE.ORG".into()];
        assert_eq!(
            decide(&member(), &[], &[other]),
            Err(Denial::EmailOwnedByOtherIdentity)
        );
    }

    #[test]
    fn addresses_that_differ_only_by_unicode_case_are_one_address() {
        let mut m = member();
        m.email = "ÉLODIE@example.org".into();
        let admin = user(5, "élodie@example.org", None, Admin);
        assert_eq!(decide(&m, &[], &[admin]), Err(Denial::UnlinkedStaff));
    }

    #[test]
    fn a_new_member_with_no_zendesk_user_is_allowed() {
        let a = decide(&member(), &[], &[]).expect("allowed");
        assert_eq!(a.zendesk_user_id, None);
        assert!(!a.email_changed);
    }

    #[test]
    fn the_linked_user_with_the_same_email_is_allowed() {
        let u = user(1, "ART@example.org", Some("20277"), EndUser);
        let a = decide(
            &member(),
            std::slice::from_ref(&u),
            std::slice::from_ref(&u),
        )
        .expect("allowed");
        assert_eq!(a.zendesk_user_id, Some(1));
        assert!(!a.email_changed);
    }

    #[test]
    fn an_email_owned_by_another_external_id_is_denied_whatever_the_case() {
        let other = user(2, "art@example.org", Some("99999"), EndUser);
        assert_eq!(
            decide(&member(), &[], &[other]),
            Err(Denial::EmailOwnedByOtherIdentity)
        );
        let same_id_other_case = user(3, "art@example.org", Some(" 20277 "), EndUser);
        assert!(decide(&member(), &[], &[same_id_other_case]).is_ok());
    }

    #[test]
    fn a_linked_user_whose_email_changed_is_allowed_and_flagged() {
        let linked = user(1, "old@example.org", Some("20277"), EndUser);
        let a = decide(&member(), &[linked], &[]).expect("allowed");
        assert!(a.email_changed);
    }

    #[test]
    fn moving_the_email_onto_the_linked_user_from_another_user_is_denied() {
        let linked = user(1, "old@example.org", Some("20277"), EndUser);
        let holder = user(2, "art@example.org", None, EndUser);
        assert_eq!(
            decide(&member(), &[linked], &[holder]),
            Err(Denial::EmailOwnedByOtherIdentity)
        );
    }

    #[test]
    fn unlinked_staff_are_never_linked_by_a_sign_in() {
        for role in [Agent, Admin, ZendeskRole::Other("light-agent".into())] {
            let staff = user(5, "art@example.org", None, role.clone());
            assert_eq!(
                decide(&member(), &[], &[staff]),
                Err(Denial::UnlinkedStaff),
                "{role:?}"
            );
        }
    }

    #[test]
    fn linked_staff_sign_in_like_anyone_else() {
        let staff = user(5, "art@example.org", Some("20277"), Agent);
        assert!(
            decide(
                &member(),
                std::slice::from_ref(&staff),
                std::slice::from_ref(&staff)
            )
            .is_ok()
        );
    }

    #[test]
    fn an_unlinked_end_user_with_the_email_is_linked_by_zendesk() {
        let end_user = user(7, "art@example.org", None, EndUser);
        let a = decide(&member(), &[], &[end_user]).expect("allowed");
        assert_eq!(a.zendesk_user_id, Some(7));
        assert_eq!(
            a.unlinked_end_user,
            Some(7),
            "a first link, for UNLINKED_END_USERS"
        );
        let linked = user(1, "art@example.org", Some("20277"), EndUser);
        let a = decide(
            &member(),
            std::slice::from_ref(&linked),
            std::slice::from_ref(&linked),
        )
        .expect("allowed");
        assert_eq!(a.unlinked_end_user, None, "already linked");
    }

    #[test]
    fn the_user_who_would_sign_in_being_suspended_is_denied() {
        let mut linked = user(1, "art@example.org", Some("20277"), EndUser);
        linked.suspended = true;
        assert_eq!(
            decide(
                &member(),
                std::slice::from_ref(&linked),
                std::slice::from_ref(&linked)
            ),
            Err(Denial::Suspended)
        );
        let mut by_email = user(2, "art@example.org", None, EndUser);
        by_email.suspended = true;
        assert_eq!(decide(&member(), &[], &[by_email]), Err(Denial::Suspended));
    }
}
