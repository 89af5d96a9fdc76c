//! The member's language. Four Fluent catalogues (`locales/*.ftl`, compiled in) are formatted
//! once at start-up with the organisation's name, so a page costs a hash look-up per sentence;
//! only sentences with a number in them (the throttling wait) are formatted per request.
//!
//! The language comes from Zendesk's `locale_id` (its numeric locale id, or a language tag),
//! then from the browser's `Accept-Language`, then English.

use std::collections::HashMap;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use fluent_langneg::{NegotiationStrategy, negotiate_languages};
use serde::{Deserialize, Serialize};
use unic_langid::LanguageIdentifier;

/// A language the member pages speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Lang {
    En,
    Fr,
    Es,
    De,
}

impl Lang {
    pub const ALL: [Lang; 4] = [Lang::En, Lang::Fr, Lang::Es, Lang::De];

    /// The BCP 47 tag, as in `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Fr => "fr",
            Lang::Es => "es",
            Lang::De => "de",
        }
    }

    fn catalogue(self) -> &'static str {
        match self {
            Lang::En => include_str!("../../locales/en.ftl"),
            Lang::Fr => include_str!("../../locales/fr.ftl"),
            Lang::Es => include_str!("../../locales/es.ftl"),
            Lang::De => include_str!("../../locales/de.ftl"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    /// The language of a tag such as `fr`, `fr-CA` or `de_AT` (any region, any case).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        Lang::ALL.into_iter().find(|l| l.code() == primary)
    }

    fn langid(self) -> LanguageIdentifier {
        // The four codes above are valid tags.
        self.code().parse().unwrap_or_default()
    }
}

/// Zendesk's numeric locale ids (`GET /api/v2/locales/public.json`) for the languages above.
/// Zendesk does not document what `locale_id` on the remote login URL holds; ZENDESK_LOCALE_IDS
/// adds or overrides ids, and a language tag in `locale_id` is understood too.
pub const ZENDESK_LOCALE_IDS: &[(u32, Lang)] =
    &[(1, Lang::En), (2, Lang::Es), (8, Lang::De), (16, Lang::Fr)];

/// Which language a request's pages are in.
#[derive(Debug, Clone)]
pub struct LanguageChooser {
    locale_ids: HashMap<u32, Lang>,
    available: Vec<LanguageIdentifier>,
}

impl LanguageChooser {
    /// The built-in Zendesk locale ids, plus (overriding them) the configured ones.
    pub fn new(extra_locale_ids: &[(u32, Lang)]) -> Self {
        let locale_ids = ZENDESK_LOCALE_IDS
            .iter()
            .chain(extra_locale_ids)
            .copied()
            .collect();
        Self {
            locale_ids,
            available: Lang::ALL.iter().map(|l| l.langid()).collect(),
        }
    }

    /// Zendesk's `locale_id` first, then `Accept-Language`, then English.
    pub fn choose(&self, locale_id: Option<&str>, accept_language: Option<&str>) -> Lang {
        locale_id
            .and_then(|id| self.by_locale_id(id))
            .or_else(|| accept_language.and_then(|h| self.by_accept_language(h)))
            .unwrap_or(Lang::En)
    }

    fn by_locale_id(&self, value: &str) -> Option<Lang> {
        match value.parse::<u32>() {
            Ok(id) => self.locale_ids.get(&id).copied(),
            Err(_) => Lang::from_tag(value),
        }
    }

    /// The member's preferences in `q` order (a stable sort keeps the header's order for ties);
    /// `q=0` means "not this one".
    fn by_accept_language(&self, header: &str) -> Option<Lang> {
        let mut wanted: Vec<(LanguageIdentifier, u16)> = header
            .split(',')
            .take(20)
            .filter_map(|item| {
                let mut parts = item.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), |q| {
                        q.trim().parse::<f32>().ok().map(|q| (q * 1000.0) as u16)
                    })?;
                let id = tag.parse::<LanguageIdentifier>().ok()?;
                (q > 0).then_some((id, q))
            })
            .collect();
        wanted.sort_by_key(|w| std::cmp::Reverse(w.1));
        let requested: Vec<LanguageIdentifier> = wanted.into_iter().map(|(id, _)| id).collect();
        negotiate_languages(
            &requested,
            &self.available,
            None,
            NegotiationStrategy::Lookup,
        )
        .first()
        .and_then(|id| Lang::from_tag(id.language.as_str()))
    }
}

/// One language's sentences, formatted with the organisation's name.
#[derive(Debug)]
pub struct Texts {
    pub lang: Lang,
    words: HashMap<String, String>,
}

impl Texts {
    /// The sentence `id`; a missing one shows its id (the catalogue test makes that impossible).
    pub fn get<'a>(&'a self, id: &'a str) -> &'a str {
        self.words.get(id).map_or(id, String::as_str)
    }
}

/// The messages that take a value besides `$org`, formatted per request.
const WITH_ARGS: &[&str] = &["throttled-wait", "verify-sent", "verify-mail-body"];

/// Every catalogue, ready to use.
pub struct Catalogue {
    texts: Vec<Texts>,
    bundles: Vec<FluentBundle<FluentResource>>,
    org: Vec<String>,
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue").finish_non_exhaustive()
    }
}

impl Catalogue {
    /// Parses and formats the catalogues; `org` (BRAND_NAME) replaces each one's `org-default`.
    pub fn new(org: Option<&str>) -> Result<Self, CatalogueError> {
        let mut texts = Vec::new();
        let mut bundles = Vec::new();
        let mut orgs = Vec::new();
        for lang in Lang::ALL {
            let bundle = bundle(lang)?;
            let org = match org {
                Some(org) => org.to_owned(),
                None => format(&bundle, lang, "org-default", None)?,
            };
            let mut args = FluentArgs::new();
            args.set("org", FluentValue::from(org.clone()));
            let mut words = HashMap::new();
            // Sentences with a number are formatted per request, by `with_number`.
            for id in message_ids(lang.catalogue()).filter(|id| !WITH_ARGS.contains(id)) {
                words.insert(id.to_owned(), format(&bundle, lang, id, Some(&args))?);
            }
            texts.push(Texts { lang, words });
            bundles.push(bundle);
            orgs.push(org);
        }
        Ok(Self {
            texts,
            bundles,
            org: orgs,
        })
    }

    pub fn texts(&self, lang: Lang) -> &Texts {
        &self.texts[lang.index()]
    }

    /// A sentence with a number in it, e.g. `throttled-wait` with `minutes`.
    pub fn with_number(&self, lang: Lang, id: &str, name: &str, number: u64) -> String {
        self.with_args(lang, id, &[(name, FluentValue::from(number))])
    }

    /// A sentence with text in it, e.g. `verify-sent` with `address`.
    pub fn with_text(&self, lang: Lang, id: &str, name: &str, text: &str) -> String {
        self.with_args(lang, id, &[(name, FluentValue::from(text.to_owned()))])
    }

    fn with_args(&self, lang: Lang, id: &str, values: &[(&str, FluentValue<'static>)]) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            args.set(*name, value.clone());
        }
        args.set("org", FluentValue::from(self.org[lang.index()].as_str()));
        format(&self.bundles[lang.index()], lang, id, Some(&args))
            .unwrap_or_else(|_| self.texts(lang).get(id).to_owned())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("locales/{lang}.ftl does not parse: {detail}")]
    Syntax { lang: &'static str, detail: String },
    #[error("locales/{lang}.ftl: message `{id}` {detail}")]
    Message {
        lang: &'static str,
        id: String,
        detail: String,
    },
}

fn bundle(lang: Lang) -> Result<FluentBundle<FluentResource>, CatalogueError> {
    let resource =
        FluentResource::try_new(lang.catalogue().to_owned()).map_err(|(_, errors)| {
            CatalogueError::Syntax {
                lang: lang.code(),
                detail: format!("{errors:?}"),
            }
        })?;
    let mut bundle = FluentBundle::new_concurrent(vec![lang.langid()]);
    // No Unicode isolation marks around names: the pages are left-to-right only.
    bundle.set_use_isolating(false);
    bundle
        .add_resource(resource)
        .map_err(|errors| CatalogueError::Syntax {
            lang: lang.code(),
            detail: format!("{errors:?}"),
        })?;
    Ok(bundle)
}

fn format(
    bundle: &FluentBundle<FluentResource>,
    lang: Lang,
    id: &str,
    args: Option<&FluentArgs>,
) -> Result<String, CatalogueError> {
    let problem = |detail: &str| CatalogueError::Message {
        lang: lang.code(),
        id: id.to_owned(),
        detail: detail.to_owned(),
    };
    let message = bundle
        .get_message(id)
        .ok_or_else(|| problem("is missing"))?;
    let pattern = message.value().ok_or_else(|| problem("has no value"))?;
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, args, &mut errors);
    match errors.is_empty() {
        true => Ok(text.into_owned()),
        false => Err(problem(&format!("{errors:?}"))),
    }
}

/// The message ids of a catalogue, in order (`id = ...` at the start of a line).
fn message_ids(source: &str) -> impl Iterator<Item = &str> {
    source.lines().filter_map(|line| {
        let (id, _) = line.split_once(" =")?;
        let starts_well = id.chars().next().is_some_and(|c| c.is_ascii_lowercase());
        (starts_well && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')).then_some(id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_catalogue_has_exactly_the_english_messages() {
        let english: Vec<&str> = message_ids(Lang::En.catalogue()).collect();
        assert!(english.len() > 40, "{english:?}");
        for lang in [Lang::Fr, Lang::Es, Lang::De] {
            let theirs: Vec<&str> = message_ids(lang.catalogue()).collect();
            assert_eq!(english, theirs, "locales/{}.ftl", lang.code());
        }
    }

    #[test]
    fn every_message_formats_in_every_language() {
        let catalogue = Catalogue::new(None).expect("catalogues format");
        for lang in Lang::ALL {
            let texts = catalogue.texts(lang);
            for id in message_ids(Lang::En.catalogue()).filter(|id| !WITH_ARGS.contains(id)) {
                assert_ne!(texts.get(id), id, "{} {id}", lang.code());
                assert!(!texts.get(id).contains('{'), "{} {id}", lang.code());
            }
        }
    }

    #[test]
    fn the_organisation_name_and_numbers_are_filled_in() {
        let catalogue = Catalogue::new(Some("Acme Society")).expect("formats");
        assert_eq!(
            catalogue.texts(Lang::En).get("policy-denied-contact"),
            "If you think this is a mistake, please contact Acme Society."
        );
        let default = Catalogue::new(None).expect("formats");
        assert!(
            default
                .texts(Lang::Fr)
                .get("policy-denied-contact")
                .ends_with("contactez votre association.")
        );
        assert_eq!(
            default.with_number(Lang::En, "throttled-wait", "minutes", 1),
            "You can try again in 1 minute."
        );
        assert_eq!(
            default.with_number(Lang::De, "throttled-wait", "minutes", 10),
            "Sie können es in 10 Minuten erneut versuchen."
        );
    }

    #[test]
    fn the_language_follows_zendesk_then_the_browser_then_english() {
        let chooser = LanguageChooser::new(&[(1186, Lang::Fr)]);
        let cases = [
            (Some("16"), None, Lang::Fr),
            (Some("2"), Some("de"), Lang::Es),
            (Some("8"), None, Lang::De),
            (Some("1"), Some("fr"), Lang::En),
            (Some("1186"), None, Lang::Fr),
            (Some("fr-CA"), None, Lang::Fr),
            (Some("es_MX"), None, Lang::Es),
            (Some("999999"), Some("de-AT,de;q=0.9"), Lang::De),
            (Some("ja"), None, Lang::En),
            (None, Some("it, fr;q=0.8, en;q=0.9"), Lang::En),
            (None, Some("it, fr;q=0.9, en;q=0.8"), Lang::Fr),
            (None, Some("es-419"), Lang::Es),
            (None, Some("de;q=0, fr;q=0.1"), Lang::Fr),
            (None, Some("*"), Lang::En),
            (None, Some(";;;,,=q"), Lang::En),
            (None, None, Lang::En),
        ];
        for (locale_id, accept, expected) in cases {
            assert_eq!(
                chooser.choose(locale_id, accept),
                expected,
                "{locale_id:?} {accept:?}"
            );
        }
    }
}
