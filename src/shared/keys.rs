//! Names and values for Redis that give nothing away: every key is `{zsb}:<purpose>:<hex>` where
//! the hex is an HMAC (keyed from `SESSION_KEY`) of what it counts — a user name, an address, a
//! session id — and every stored value that describes a member is sealed (AES-256-GCM).
//! `{zsb}` is a hash tag: every key lands in one slot, so the scripts also run on Redis Cluster.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::sealing::Sealer;

type HmacSha256 = Hmac<Sha256>;

/// A short, keyed digest: 128 bits are plenty for names nobody can enumerate without the key.
pub type Digest = [u8; 16];

#[derive(Clone)]
pub struct KeyMaker {
    mac: HmacSha256,
    values: Sealer,
}

impl KeyMaker {
    /// Keys derived from `master` (the session key's bytes), one for names, one for values.
    pub fn new(master: &[u8]) -> Self {
        let derive = |label: &[u8]| {
            let mut mac =
                <HmacSha256 as Mac>::new_from_slice(master).expect("HMAC takes any key length");
            mac.update(b"zendesk-sso-bridge shared state: ");
            mac.update(label);
            mac.finalize().into_bytes()
        };
        let names = derive(b"names");
        let values = derive(b"values");
        Self {
            mac: <HmacSha256 as Mac>::new_from_slice(&names).expect("HMAC takes any key length"),
            values: Sealer::new(&values.into()),
        }
    }

    /// The keyed digest of `parts` for `purpose`.
    pub fn digest(&self, purpose: &str, parts: &[&[u8]]) -> Digest {
        let mut mac = self.mac.clone();
        mac.update(purpose.as_bytes());
        for part in parts {
            mac.update(&(part.len() as u64).to_le_bytes());
            mac.update(part);
        }
        let full = mac.finalize().into_bytes();
        let mut short = [0u8; 16];
        short.copy_from_slice(&full[..16]);
        short
    }

    /// The Redis key for `digest` under `purpose`.
    pub fn name(purpose: &str, digest: &Digest) -> String {
        format!("{{zsb}}:{purpose}:{}", hex::encode(digest))
    }

    /// `plain`, encrypted and authenticated, with its random nonce in front.
    pub fn seal(&self, plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        self.values.seal(b"", plain)
    }

    /// What [`KeyMaker::seal`] sealed, if it is authentic.
    pub fn open(&self, sealed: Vec<u8>) -> Option<Vec<u8>> {
        self.values.open(b"", sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_hide_what_they_count_and_values_are_sealed() {
        let keys = KeyMaker::new(&[7u8; 64]);
        let digest = keys.digest("user", &[b"ada"]);
        let name = KeyMaker::name("user", &digest);
        assert!(name.starts_with("{zsb}:user:") && !name.contains("ada"));
        assert_eq!(digest, keys.digest("user", &[b"ada"]));
        assert_ne!(digest, keys.digest("address", &[b"ada"]));
        assert_ne!(digest, KeyMaker::new(&[8u8; 64]).digest("user", &[b"ada"]));
        let sealed = keys.seal(b"ada@example.org").expect("sealed");
        assert!(!sealed.windows(3).any(|w| w == b"ada"));
        assert_eq!(
            keys.open(sealed.clone()).as_deref(),
            Some(&b"ada@example.org"[..])
        );
        assert_eq!(KeyMaker::new(&[8u8; 64]).open(sealed), None);
    }
}
