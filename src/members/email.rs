//! One e-mail identity, compared one way.
//!
//! [`canonical`] is the only form in which the bridge looks an address up or compares two: trimmed,
//! Unicode-normalised (NFKC), case-folded (full Unicode folding, so `ÉLODIE` and `élodie`, `ß` and
//! `ss` are one address), normalised again. Addresses carrying invisible or format characters
//! (zero-width spaces, joiners, direction marks, soft hyphens, byte-order marks) are refused
//! outright: two addresses that look the same must not be two identities.
//!
//! [`Sharing`] says whether another active record holds the same primary address.

use serde::{Deserialize, Serialize};

/// The comparison and look-up key of an address; `None` for one that carries invisible
/// characters or is empty.
pub fn canonical(raw: &str) -> Option<String> {
    crate::canonical::text(raw)
}

/// Whether two addresses are the same identity (never true for a refused address).
pub fn same(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether another active member record has the same primary e-mail address. Only the member
/// Zendesk already links to a shared address may sign in with it (an account-safety rule).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharing {
    /// Searched: no other active record has it.
    #[default]
    Alone,
    /// Searched: another active record has it.
    Shared,
    /// Not searched, because Zendesk already linked this member to the address when the member
    /// was read: the answer could not have changed the decision. The rules treat it as
    /// [`Sharing::Shared`] (only the linked member may use it), but no conflict is audited.
    NotSearched,
    /// Searched with nothing but the member's own token (no service account): iMIS answers with
    /// the caller's permissions, so a search that found only the member proves nothing about
    /// other records. Never read as [`Sharing::Alone`] where it matters: a first link to an
    /// existing Zendesk end user then needs the e-mailed code (`UNLINKED_END_USERS=link` is
    /// refused), so nobody is handed an account on an unproven address.
    Unverified,
}

impl Sharing {
    /// From a search's answer.
    pub fn searched(shared: bool) -> Self {
        if shared { Self::Shared } else { Self::Alone }
    }

    /// Only the member Zendesk already links to the address may sign in with it.
    pub fn needs_link(self) -> bool {
        matches!(self, Self::Shared | Self::NotSearched)
    }
}

/// Sessions sealed before `Sharing` existed carry `shares_primary_email: true/false`. Read
/// with a visitor rather than `#[serde(untagged)]`, which buffers the value and builds an
/// error for each variant it rules out: this runs on every session re-use.
impl<'de> Deserialize<'de> for Sharing {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(SharingVisitor)
    }
}

struct SharingVisitor;

impl serde::de::Visitor<'_> for SharingVisitor {
    type Value = Sharing;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("\"alone\", \"shared\", \"not_searched\" or a boolean")
    }

    fn visit_bool<E: serde::de::Error>(self, shared: bool) -> Result<Sharing, E> {
        Ok(Sharing::searched(shared))
    }

    fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Sharing, E> {
        match name {
            "alone" => Ok(Sharing::Alone),
            "shared" => Ok(Sharing::Shared),
            "not_searched" => Ok(Sharing::NotSearched),
            "unverified" => Ok(Sharing::Unverified),
            other => Err(E::unknown_variant(
                other,
                &["alone", "shared", "not_searched", "unverified"],
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_reads_its_names_and_the_flag_older_sessions_carry() {
        for (json, sharing) in [
            ("true", Sharing::Shared),
            ("false", Sharing::Alone),
            ("\"shared\"", Sharing::Shared),
            ("\"not_searched\"", Sharing::NotSearched),
            ("\"alone\"", Sharing::Alone),
        ] {
            assert_eq!(serde_json::from_str::<Sharing>(json).expect(json), sharing);
        }
        let written = serde_json::to_string(&Sharing::NotSearched).expect("serialise");
        assert_eq!(
            serde_json::from_str::<Sharing>(&written).expect("read back"),
            Sharing::NotSearched
        );
        for wrong in ["\"linked\"", "1", "null"] {
            assert!(serde_json::from_str::<Sharing>(wrong).is_err(), "{wrong}");
        }
        assert!(Sharing::NotSearched.needs_link() && !Sharing::Alone.needs_link());
    }

    #[test]
    fn case_width_and_composition_do_not_make_another_address() {
        for (a, b) in [
            ("Art@Example.org", "art@example.org"),
            (" art@example.org ", "art@example.org"),
            ("ÉLODIE@example.org", "élodie@example.org"),
            ("E\u{301}lodie@example.org", "élodie@example.org"),
            ("straße@example.org", "STRASSE@example.org"),
            ("ａｒｔ@example.org", "art@example.org"),
        ] {
            assert!(same(a, b), "{a} vs {b}");
        }
        assert!(!same("art@example.org", "arthur@example.org"));
        // The ASCII fast path and the full path agree.
        assert_eq!(
            canonical("Art.B@Example.ORG").as_deref(),
            Some("art.b@example.org")
        );
        assert_eq!(
            canonical("ÀRT@Example.ORG").as_deref(),
            Some("àrt@example.org")
        );
    }

    #[test]
    fn invisible_characters_are_refused_not_ignored() {
        for bad in [
            "ar\u{200B}t@example.org",
            "art\u{200D}@example.org",
            "\u{FEFF}art@example.org",
            "art@exam\u{00AD}ple.org",
            "art@example.org\u{202E}",
            "art\u{3164}@example.org",
            "",
        ] {
            assert_eq!(canonical(bad), None, "{bad:?}");
            assert!(!same(bad, "art@example.org"));
        }
    }
}
