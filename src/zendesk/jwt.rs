//! The Zendesk JWT: claims built only from an admitted [`Member`], signed HS256.
//!
//! The claim set is a struct without a `role` field, so no code path can send one.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::clock::unix_now;
use crate::members::Member;
pub use crate::members::claims::MappedClaims;

/// Exactly what Zendesk receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZendeskClaims {
    /// Issued-at, integer seconds (Zendesk allows about three minutes of skew).
    pub iat: i64,
    /// A v4 UUID: unique per token, as Zendesk refuses a reused `jti`.
    pub jti: String,
    pub email: String,
    pub name: String,
    /// The member system's id; Zendesk matches users on it first.
    pub external_id: String,
    /// E.164, and only when the member has one: an empty value is never sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// What `POLICY_FILE` maps; each claim only when it has a value.
    #[serde(flatten)]
    pub mapped: MappedClaims,
}

impl ZendeskClaims {
    pub fn for_member(member: &Member, now: i64) -> Self {
        Self {
            iat: now,
            jti: Uuid::new_v4().to_string(),
            email: member.email.clone(),
            name: member.name.clone(),
            external_id: member.id.clone(),
            phone: member.phone.clone().filter(|p| !p.is_empty()),
            mapped: member.claims.clone(),
        }
    }
}

/// Signs Zendesk JWTs with the shared secret.
pub struct JwtSigner {
    key: EncodingKey,
    header: Header,
}

impl JwtSigner {
    pub fn new(secret: &SecretString) -> Self {
        Self {
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
            header: Header::new(Algorithm::HS256),
        }
    }

    /// A fresh token for `member`: new `jti`, `iat` now.
    pub fn mint(&self, member: &Member) -> Result<String, jsonwebtoken::errors::Error> {
        self.sign(&ZendeskClaims::for_member(member, unix_now()))
    }

    pub fn sign(&self, claims: &ZendeskClaims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&self.header, claims, &self.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    fn member(phone: Option<&str>) -> Member {
        Member {
            phone: phone.map(str::to_owned),
            ..Member::example()
        }
    }

    fn decode(token: &str, secret: &str) -> serde_json::Map<String, serde_json::Value> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false;
        v.required_spec_claims.clear();
        jsonwebtoken::decode(token, &DecodingKey::from_secret(secret.as_bytes()), &v)
            .expect("valid token")
            .claims
    }

    #[test]
    fn a_token_carries_exactly_the_member_claims() {
        let signer = JwtSigner::new(&SecretString::from("s3cret"));
        let token = signer.mint(&member(Some("+13103884000"))).expect("signed");
        let header = jsonwebtoken::decode_header(&token).expect("header");
        assert_eq!(header.alg, Algorithm::HS256);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        let claims = decode(&token, "s3cret");
        let mut keys: Vec<_> = claims.keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["email", "external_id", "iat", "jti", "name", "phone"]
        );
        assert!(claims["iat"].is_i64());
        assert!(Uuid::parse_str(claims["jti"].as_str().expect("jti")).is_ok());
    }

    #[test]
    fn no_phone_means_no_phone_claim() {
        let signer = JwtSigner::new(&SecretString::from("s3cret"));
        for phone in [None, Some("")] {
            let claims = decode(&signer.mint(&member(phone)).expect("signed"), "s3cret");
            assert!(!claims.contains_key("phone"), "{phone:?}");
            assert!(!claims.contains_key("role"));
        }
    }

    #[test]
    fn every_token_has_its_own_jti() {
        let signer = JwtSigner::new(&SecretString::from("s3cret"));
        let a = decode(&signer.mint(&member(None)).expect("signed"), "s3cret");
        let b = decode(&signer.mint(&member(None)).expect("signed"), "s3cret");
        assert_ne!(a["jti"], b["jti"]);
    }
}
