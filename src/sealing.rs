//! AES-256-GCM sealing, one layout for everything the bridge seals: a random 96-bit nonce ‖
//! ciphertext ‖ 128-bit tag, with associated data that binds the sealed bytes to their purpose.
//! The bridge's cookies use it with the cookie's name as associated data (the cookie crate's
//! private-cookie format, so cookies its `PrivateJar` sealed still open); values kept in Redis
//! with none.

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Seals and opens with one key, keyed once (not per value).
#[derive(Clone)]
pub struct Sealer(Aes256Gcm);

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self(Aes256Gcm::new(&(*key).into()))
    }

    /// `plain`, encrypted and authenticated for `purpose`. The nonce comes from the thread's
    /// CSPRNG (ChaCha, seeded and reseeded from the OS): a system call per cookie was 1.5 % of
    /// the session hot path.
    pub fn seal(&self, purpose: &[u8], plain: &[u8]) -> anyhow::Result<Vec<u8>> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let mut sealed = Vec::with_capacity(NONCE_LEN + plain.len() + TAG_LEN);
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(plain);
        let tag = self
            .0
            .encrypt_in_place_detached(&Nonce::from(nonce), purpose, &mut sealed[NONCE_LEN..])
            .map_err(|_| anyhow::anyhow!("sealing failed"))?;
        sealed.extend_from_slice(&tag);
        Ok(sealed)
    }

    /// What [`Sealer::seal`] sealed for `purpose`, if it is authentic (decrypted in place).
    pub fn open(&self, purpose: &[u8], mut sealed: Vec<u8>) -> Option<Vec<u8>> {
        let body_end = sealed.len().checked_sub(TAG_LEN)?;
        let (head, tag) = sealed.split_at_mut(body_end);
        let (nonce, body) = head.split_at_mut_checked(NONCE_LEN)?;
        let nonce: [u8; NONCE_LEN] = (*nonce).try_into().ok()?;
        let tag: [u8; TAG_LEN] = (*tag).try_into().ok()?;
        self.0
            .decrypt_in_place_detached(&Nonce::from(nonce), purpose, body, &Tag::from(tag))
            .ok()?;
        sealed.truncate(body_end);
        sealed.drain(..NONCE_LEN);
        Some(sealed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_value_opens_only_with_its_key_and_purpose_and_hides_its_content() {
        let sealer = Sealer::new(&[7u8; 32]);
        let sealed = sealer
            .seal(b"zsb_session", b"ada@example.org")
            .expect("sealed");
        assert!(!sealed.windows(3).any(|w| w == b"ada"));
        assert_ne!(
            sealed,
            sealer
                .seal(b"zsb_session", b"ada@example.org")
                .expect("sealed")
        );
        assert_eq!(
            sealer.open(b"zsb_session", sealed.clone()).as_deref(),
            Some(&b"ada@example.org"[..])
        );
        assert_eq!(
            sealer.open(b"zsb_login", sealed.clone()),
            None,
            "another purpose"
        );
        assert_eq!(
            Sealer::new(&[8u8; 32]).open(b"zsb_session", sealed.clone()),
            None
        );
        let mut tampered = sealed;
        tampered[NONCE_LEN] ^= 1;
        assert_eq!(sealer.open(b"zsb_session", tampered), None);
        for short in [vec![], vec![0u8; NONCE_LEN + TAG_LEN - 1]] {
            assert_eq!(sealer.open(b"", short), None);
        }
        let empty = sealer.seal(b"", b"").expect("sealed");
        assert_eq!(sealer.open(b"", empty).as_deref(), Some(&b""[..]));
    }
}
