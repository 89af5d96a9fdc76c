//! Member phone numbers → E.164, the only form Zendesk's `phone` claim accepts.

use phonenumber::Mode;
use phonenumber::country;

/// How free-text phone numbers are read: the country assumed when a number has no `+` prefix,
/// and (for iMIS) which `PhoneType` to prefer when no phone is flagged primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhonePolicy {
    country: country::Id,
    preferred_types: Vec<String>,
}

impl Default for PhonePolicy {
    fn default() -> Self {
        Self {
            country: country::Id::US,
            preferred_types: vec!["_Work Phone".into(), "_Home Phone".into(), "Mobile".into()],
        }
    }
}

impl PhonePolicy {
    /// `None` when `country` is not an ISO 3166 alpha-2 code that has phone numbers.
    pub fn new(country: &str) -> Option<Self> {
        let country = country.trim().to_ascii_uppercase().parse().ok()?;
        Some(Self {
            country,
            ..Self::default()
        })
    }

    pub fn with_preferred_types(mut self, types: Vec<String>) -> Self {
        self.preferred_types = types;
        self
    }

    pub fn preferred_types(&self) -> &[String] {
        &self.preferred_types
    }

    /// The number in E.164 (`+13103884000`), or `None` when it is not a valid number:
    /// Zendesk rejects what it cannot parse, so an unusable phone is left out.
    pub fn to_e164(&self, raw: &str) -> Option<String> {
        let raw = raw.trim();
        if raw.is_empty() || raw.len() > 64 {
            return None;
        }
        // An international number is parsed without a default country: with one, the crate
        // strips that country's trunk prefix from the number (e.g. the `1` of `+33 1 ...`
        // when the default is US).
        let country = (!raw.starts_with('+')).then_some(self.country);
        let number = phonenumber::parse(country, raw).ok()?;
        phonenumber::is_valid(&number).then(|| number.format().mode(Mode::E164).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_numbers_take_the_default_country() {
        let us = PhonePolicy::default();
        assert_eq!(
            us.to_e164("(310) 388-4000").as_deref(),
            Some("+13103884000")
        );
        let gb = PhonePolicy::new("gb").expect("GB");
        assert_eq!(
            gb.to_e164("020 7946 0018").as_deref(),
            Some("+442079460018")
        );
    }

    #[test]
    fn international_numbers_keep_their_country() {
        let us = PhonePolicy::default();
        assert_eq!(
            us.to_e164("+33 1 42 68 53 00").as_deref(),
            Some("+33142685300")
        );
    }

    #[test]
    fn garbage_is_left_out() {
        let us = PhonePolicy::default();
        for bad in ["", "   ", "n/a", "123", "call me", "(145)070-4643"] {
            assert_eq!(us.to_e164(bad), None, "{bad}");
        }
    }

    #[test]
    fn unknown_countries_are_refused() {
        assert!(PhonePolicy::new("XX").is_none());
        assert!(PhonePolicy::new("United States").is_none());
    }
}
