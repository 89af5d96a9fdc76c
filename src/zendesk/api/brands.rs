//! Brand (user) separation: whether Zendesk isolates end users per brand, and which brands
//! there are. With separation on, every brand has its own SSO configurations (read with
//! `brand_id=`) and one address can belong to several users, so every user look-up asks for
//! `brand_id=all` — never a numeric brand id, which on search leaves agents and admins out.
//!
//! Detected from `GET /api/v2/brands` (`user_separation: "account" | "brand"`); where the brands
//! cannot be listed for lack of a scope, from the `separation` that `GET /api/v2/users/me`
//! carries only on accounts with separation on. What cannot be read is not "off" (fail closed),
//! except a 404 from both: an account without the brands API has no brands to separate.

use anyhow::anyhow;
use reqwest::Method;
use serde_json::Value;
use url::Url;

use super::{ApiError, ZendeskApi, read_json, unavailable};

/// The most brand pages read (100 brands a page).
const MAX_BRAND_PAGES: usize = 10;

/// What the account says about brand separation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Separation {
    /// Users belong to the account: one address, one user.
    Off,
    /// Users may be isolated per brand: these brands' configurations are read too.
    On { brand_ids: Vec<u64> },
}

impl ZendeskApi {
    /// Whether brand separation is on, and the brands to read when it is.
    pub(super) async fn separation(&self) -> Result<Separation, ApiError> {
        match self.brands().await {
            Ok(Some(brands)) => Ok(judge(&brands)),
            Ok(None) => match self.me_separated().await? {
                None | Some(false) => Ok(Separation::Off),
                Some(true) => Err(unavailable(anyhow!(
                    "brand separation is on (users/me carries `separation`), but the brands \
                     cannot be listed (GET /api/v2/brands was refused): the bridge cannot read \
                     every brand's SSO configurations. Give the API credentials the `read` scope"
                ))),
            },
            Err(e) => Err(e),
        }
    }

    /// Every brand (`GET /api/v2/brands`, all pages); `None` when the list is refused (401/403)
    /// or does not exist (404).
    async fn brands(&self) -> Result<Option<Vec<Value>>, ApiError> {
        let mut url = self.endpoint("/api/v2/brands");
        let mut all = Vec::new();
        for _ in 0..MAX_BRAND_PAGES {
            let page = match self.call("brands", Method::GET, url.clone(), None).await {
                Ok(response) => read_json::<Value>(response, "brands").await?,
                Err(ApiError::Unauthorized(..) | ApiError::NotFound(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let Some(brands) = page.get("brands").and_then(Value::as_array) else {
                return Err(unavailable(anyhow!(
                    "Zendesk's brands answer has no \"brands\" list"
                )));
            };
            all.extend(brands.iter().cloned());
            match self.next_link(&page)? {
                Some(next) => url = next,
                None => return Ok(Some(all)),
            }
        }
        Err(unavailable(anyhow!(
            "Zendesk's brand list has more than {MAX_BRAND_PAGES} pages"
        )))
    }

    /// `GET /api/v2/users/me`: `Some(true)` when it carries `separation` (present only with
    /// brand separation on), `None` when users/me does not exist (404).
    async fn me_separated(&self) -> Result<Option<bool>, ApiError> {
        let url = self.endpoint("/api/v2/users/me");
        match self.call("users_me", Method::GET, url, None).await {
            Ok(response) => {
                let me: Value = read_json(response, "users_me").await?;
                Ok(Some(
                    me.get("user")
                        .and_then(|u| u.get("separation"))
                        .is_some_and(|s| !s.is_null()),
                ))
            }
            Err(ApiError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The next page of a list answer (cursor `links.next` while `meta.has_more`, else offset
    /// `next_page`), only on this Zendesk: one elsewhere makes the answer unavailable.
    pub(super) fn next_link(&self, page: &Value) -> Result<Option<Url>, ApiError> {
        let has_more = page
            .pointer("/meta/has_more")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let next = page
            .pointer("/links/next")
            .and_then(Value::as_str)
            .filter(|_| has_more)
            .or_else(|| page.get("next_page").and_then(Value::as_str))
            .map(str::to_owned);
        self.follow(next)
    }
}

/// Separation is on when any brand isolates its users; a `user_separation` this bridge does not
/// know counts as isolating (fail closed). Brands without an id cannot be read separately.
fn judge(brands: &[Value]) -> Separation {
    let separated = brands.iter().any(|b| {
        b.get("user_separation")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.trim().eq_ignore_ascii_case("account"))
    });
    if !separated {
        return Separation::Off;
    }
    let brand_ids = brands
        .iter()
        .filter_map(|b| b.get("id").and_then(Value::as_u64))
        .collect();
    Separation::On { brand_ids }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn separation_is_on_when_any_brand_isolates_its_users() {
        let off = [
            json!({"id": 1, "user_separation": "account"}),
            json!({"id": 2}),
        ];
        assert_eq!(judge(&off), Separation::Off);
        let on = [
            json!({"id": 1, "user_separation": "account"}),
            json!({"id": 2, "user_separation": "brand"}),
        ];
        assert_eq!(
            judge(&on),
            Separation::On {
                brand_ids: vec![1, 2]
            }
        );
        let unknown = [json!({"id": 3, "user_separation": "partial"})];
        assert!(
            matches!(judge(&unknown), Separation::On { .. }),
            "fail closed"
        );
    }
}
