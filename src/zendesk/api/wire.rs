//! Zendesk's JSON as it arrives, read tolerantly (strings or numbers, missing keys), and turned
//! into the domain types the rest of the crate sees.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{ZendeskRole, ZendeskUser};

/// A string, a number, or null/missing.
pub(super) fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

pub(super) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Bool(b) => Some(b),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

#[derive(Deserialize)]
pub(super) struct UserWire {
    pub(super) id: u64,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) name: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) email: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) external_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) role: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub(super) suspended: Option<bool>,
    #[serde(default)]
    pub(super) tags: Option<Vec<String>>,
}

impl From<UserWire> for ZendeskUser {
    fn from(w: UserWire) -> Self {
        Self {
            id: w.id,
            name: w.name.unwrap_or_default(),
            email: w.email,
            other_emails: Vec::new(),
            external_id: w.external_id,
            role: ZendeskRole::parse(w.role.as_deref()),
            suspended: w.suspended.unwrap_or(false),
            tags: w.tags.unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct UsersPage {
    #[serde(default)]
    pub(super) users: Vec<UserWire>,
    /// Side-loaded with `include=identities`; `None` when Zendesk did not side-load them.
    #[serde(default)]
    pub(super) identities: Option<Vec<IdentityWire>>,
    #[serde(default)]
    pub(super) next_page: Option<String>,
    #[serde(default)]
    pub(super) meta: Option<PageMeta>,
    #[serde(default)]
    pub(super) links: Option<PageLinks>,
}

#[derive(Deserialize)]
pub(super) struct IdentityWire {
    #[serde(default)]
    pub(super) user_id: Option<u64>,
    #[serde(default, deserialize_with = "lenient_string")]
    r#type: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) value: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct PageMeta {
    #[serde(default)]
    pub(super) has_more: bool,
}

#[derive(Deserialize)]
pub(super) struct PageLinks {
    #[serde(default)]
    pub(super) next: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct UserEnvelope {
    pub(super) user: UserWire,
}

#[derive(Deserialize)]
pub(super) struct TokenEnvelope {
    pub(super) token: TokenWire,
}

#[derive(Deserialize)]
pub(super) struct TokenWire {
    #[serde(default)]
    pub(super) scopes: Option<Vec<String>>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) expires_at: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct OAuthTokenWire {
    #[serde(default, deserialize_with = "lenient_string")]
    pub(super) access_token: Option<String>,
    #[serde(default)]
    pub(super) expires_in: Option<f64>,
}

pub(super) fn users(page: UsersPage) -> impl Iterator<Item = ZendeskUser> {
    page.users.into_iter().map(ZendeskUser::from)
}

/// The page's users, each with its side-loaded e-mail identities (every identity whose value
/// looks like an address counts, whatever its type: fail closed).
pub(super) fn with_identities(mut page: UsersPage) -> Vec<ZendeskUser> {
    let identities = page.identities.take().unwrap_or_default();
    users(page)
        .map(|mut user| {
            user.other_emails = identities
                .iter()
                .filter(|i| i.user_id == Some(user.id))
                .filter(|i| {
                    i.r#type.as_deref().is_none_or(|t| t != "phone_number")
                        && i.value.as_deref().is_some_and(|v| v.contains('@'))
                })
                .filter_map(|i| i.value.clone())
                .filter(|v| !user.has_primary_email(v))
                .collect();
            user
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_read_tolerantly() {
        let page: UsersPage = serde_json::from_str(
            r#"{"users":[{"id":1,"email":"A@Example.org","external_id":12345,"role":"end-user","suspended":"false","extra":{}},
                          {"id":2,"name":null,"external_id":"","role":"agent"}],"count":2}"#,
        )
        .expect("parses");
        let users: Vec<_> = users(page).collect();
        assert_eq!(users[0].external_id.as_deref(), Some("12345"));
        assert!(users[0].has_email("a@example.org"));
        assert!(!users[0].suspended);
        assert_eq!(
            users[1].external_id, None,
            "an empty external id is no external id"
        );
    }
}
