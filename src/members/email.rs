//! One e-mail identity, compared one way.
//!
//! [`canonical`] is the only form in which the bridge looks an address up or compares two: trimmed,
//! Unicode-normalised (NFKC), case-folded (full Unicode folding, so `ÉLODIE` and `élodie`, `ß` and
//! `ss` are one address), normalised again. Addresses carrying invisible or format characters
//! (zero-width spaces, joiners, direction marks, soft hyphens, byte-order marks) are refused
//! outright: two addresses that look the same must not be two identities.

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

#[cfg(test)]
mod tests {
    use super::*;

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
