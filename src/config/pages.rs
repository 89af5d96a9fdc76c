//! The member pages: branding (checked for contrast) and Zendesk locale ids.

use super::env::{RawSettings, Validator};
use super::*;

/// WCAG AA for normal text.
pub(super) const MIN_CONTRAST: f64 = 4.5;

impl Validator {
    pub(super) fn branding(&mut self, raw: &RawSettings) -> Branding {
        let name = non_empty(raw.brand_name.as_deref()).and_then(|name| {
            if name.chars().count() > 100 || name.chars().any(char::is_control) {
                self.problem(
                    "BRAND_NAME",
                    "must be one line of at most 100 characters (the organisation's name)",
                );
                return None;
            }
            Some(name.to_owned())
        });
        let logo_url = non_empty(raw.brand_logo_url.as_deref())
            .and_then(|v| self.web_url("BRAND_LOGO_URL", v));
        let primary_colour = non_empty(raw.brand_primary_colour.as_deref())
            .and_then(|v| self.colour("BRAND_PRIMARY_COLOUR", v));
        let help_url = non_empty(raw.brand_help_url.as_deref()).and_then(|v| match Url::parse(v) {
            Ok(url) if url.scheme() == "mailto" => Some(url),
            _ => self.web_url("BRAND_HELP_URL", v),
        });
        let forgot_password_url = non_empty(raw.brand_forgot_password_url.as_deref())
            .and_then(|v| self.web_url("BRAND_FORGOT_PASSWORD_URL", v));
        Branding {
            name,
            logo_url,
            primary_colour,
            help_url,
            forgot_password_url,
        }
    }
    /// `#rgb` or `#rrggbb`, dark enough for white text on it (WCAG AA).
    pub(super) fn colour(&mut self, variable: &'static str, value: &str) -> Option<String> {
        let hex = value.strip_prefix('#').unwrap_or(value);
        let full: String = match hex.len() {
            3 => hex.chars().flat_map(|c| [c, c]).collect(),
            _ => hex.to_owned(),
        };
        let channels: Option<Vec<u8>> = (full.len() == 6 && full.is_ascii())
            .then(|| {
                (0..3)
                    .map(|i| u8::from_str_radix(&full[2 * i..2 * i + 2], 16).ok())
                    .collect()
            })
            .flatten();
        let Some(channels) = channels else {
            self.problem(
                variable,
                format!("`{value}` is not a colour; write it as `#rrggbb`, e.g. `#1f5f8b`"),
            );
            return None;
        };
        let contrast = contrast_with_white(&channels);
        if contrast < MIN_CONTRAST {
            self.problem(
                variable,
                format!(
                    "`{value}` is too light: white button text on it has a contrast of \
                     {contrast:.1}:1, and members need at least {MIN_CONTRAST}:1 to read it \
                     (WCAG AA); choose a darker shade"
                ),
            );
            return None;
        }
        Some(format!("#{}", full.to_ascii_lowercase()))
    }
    /// `id=language` pairs, e.g. `1176=en,1186=fr`.
    pub(super) fn locale_ids(&mut self, value: Option<&str>) -> Vec<(u32, Lang)> {
        let Some(value) = non_empty(value) else {
            return Vec::new();
        };
        let mut ids = Vec::new();
        for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let parsed = pair.split_once('=').and_then(|(id, tag)| {
                Some((id.trim().parse::<u32>().ok()?, Lang::from_tag(tag.trim())?))
            });
            match parsed {
                Some(entry) => ids.push(entry),
                None => self.problem(
                    "ZENDESK_LOCALE_IDS",
                    format!(
                        "`{pair}` is not `id=language`; write e.g. `1176=en,1186=fr` \
                         (languages: en, fr, es, de)"
                    ),
                ),
            }
        }
        ids
    }
}

/// The WCAG contrast ratio of an sRGB colour against white.
pub(super) fn contrast_with_white(rgb: &[u8]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        match c <= 0.040_45 {
            true => c / 12.92,
            false => ((c + 0.055) / 1.055).powf(2.4),
        }
    };
    let luminance = match rgb {
        [r, g, b] => 0.2126 * linear(*r) + 0.7152 * linear(*g) + 0.0722 * linear(*b),
        _ => 1.0,
    };
    1.05 / (luminance + 0.05)
}
