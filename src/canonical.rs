//! One canonical form for text that names a person: e-mail addresses and user names are looked
//! up, compared and counted only in this form.
//!
//! Trimmed, Unicode-normalised (NFKC), case-folded (full Unicode folding, so `ÉLODIE` and
//! `élodie`, `ß` and `ss` are one name), normalised again. Text carrying invisible or format
//! characters (zero-width spaces, joiners, direction marks, soft hyphens, byte-order marks) is
//! refused outright: two names that look the same must not be two identities.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The comparison key of `raw`; `None` for text that carries invisible characters or is empty.
pub fn text(raw: &str) -> Option<String> {
    let trimmed = raw.trim();
    // Printable ASCII has no invisible characters, NFKC leaves it alone and folding is
    // lower-casing: the common case costs one small allocation.
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Some(trimmed.to_ascii_lowercase());
    }
    if trimmed.is_empty() || trimmed.chars().any(is_invisible) {
        return None;
    }
    let folded = caseless::default_case_fold_str(&trimmed.nfkc().collect::<String>());
    Some(folded.nfkc().collect())
}

/// A user name's key: [`text`] with runs of white space made one space.
pub fn user_name(raw: &str) -> Option<String> {
    let key = text(raw)?;
    if !key.contains(char::is_whitespace) {
        return Some(key);
    }
    Some(key.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Format characters (Cf: zero-width, joiners, direction marks, BOM, soft hyphen), controls, and
/// the few invisible ones Unicode files elsewhere (Hangul fillers, Mongolian vowel separator).
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || c.general_category() == GeneralCategory::Format
        || matches!(
            c,
            '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{180E}'
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn look_alike_user_names_share_one_key() {
        for (a, b) in [
            ("Ada", "ada"),
            (" ADA  Lovelace ", "ada lovelace"),
            ("ａｄａ", "ada"),
            ("ÉLODIE", "e\u{301}lodie"),
            ("STRASSE", "straße"),
        ] {
            assert_eq!(user_name(a), user_name(b), "{a:?} vs {b:?}");
        }
        assert_ne!(user_name("ada"), user_name("adam"));
    }

    #[test]
    fn invisible_characters_are_refused() {
        for bad in [
            "a\u{200B}da",
            "ada\u{200D}",
            "\u{FEFF}ada",
            "a\u{00AD}da",
            "",
        ] {
            assert_eq!(user_name(bad), None, "{bad:?}");
        }
    }
}
