//! Password checks for the members file, bounded in time and memory.
//!
//! An argon2id check holds its whole memory cost (19 MiB with the recommended parameters) while it
//! runs. Strangers' wrong passwords must not multiply that: at most [`slots`] checks run at once,
//! each in one of as many block buffers that are kept and reused, so the memory they hold is fixed
//! however many checks arrive and whichever threads run them. A check that waits longer than
//! [`QUEUE_TIMEOUT`] for its turn is answered "busy".

use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::password_hash::PasswordHash;
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

/// How long a check waits for its turn before the member gets the busy page.
pub const QUEUE_TIMEOUT: Duration = Duration::from_secs(2);

/// Checks at once: the cores, at most four (four checks hold about 76 MiB).
pub fn slots() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("too many password checks are waiting")]
    Busy,
    #[error("the password check did not finish")]
    Aborted,
}

pub struct PasswordChecker {
    turns: Arc<Semaphore>,
    buffers: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Default for PasswordChecker {
    fn default() -> Self {
        Self::new(slots())
    }
}

impl PasswordChecker {
    pub fn new(slots: usize) -> Self {
        Self {
            turns: Arc::new(Semaphore::new(slots.max(1))),
            buffers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Whether `password` matches the PHC string `phc`; `Ok(None)` when `phc` cannot be read.
    pub async fn check(
        &self,
        password: &SecretString,
        phc: String,
    ) -> Result<Option<bool>, CheckError> {
        let turn = tokio::time::timeout(QUEUE_TIMEOUT, self.turns.clone().acquire_owned())
            .await
            .map_err(|_| CheckError::Busy)?
            .map_err(|_| CheckError::Busy)?;
        let mut buffer = self.take_buffer();
        let password = password.clone();
        let (verdict, buffer) = tokio::task::spawn_blocking(move || {
            let verdict = verify(&mut buffer, password.expose_secret().as_bytes(), &phc);
            (verdict, buffer)
        })
        .await
        .map_err(|_| CheckError::Aborted)?;
        self.give_back(buffer);
        drop(turn);
        Ok(verdict)
    }

    fn take_buffer(&self) -> Vec<Block> {
        self.buffers
            .lock()
            .map(|mut b| b.pop().unwrap_or_default())
            .unwrap_or_default()
    }

    fn give_back(&self, buffer: Vec<Block>) {
        if let Ok(mut buffers) = self.buffers.lock() {
            buffers.push(buffer);
        }
    }
}

/// Recomputes the hash of `password` with `phc`'s parameters and salt in `blocks`, and compares it
/// in constant time. `None` when `phc` is not a readable argon2 PHC string.
fn verify(blocks: &mut Vec<Block>, password: &[u8], phc: &str) -> Option<bool> {
    let hash = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let expected = hash.hash?;
    let params = Params::try_from(&hash).ok()?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
        .ok()?;
    Some(out.ct_eq(expected.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_right_password_matches_and_a_wrong_one_does_not() {
        let phc = super::super::file::hash_password("right").expect("hash");
        let checker = PasswordChecker::new(1);
        let right = SecretString::from("right".to_owned());
        let wrong = SecretString::from("wrong".to_owned());
        assert_eq!(
            checker.check(&right, phc.clone()).await.ok(),
            Some(Some(true))
        );
        assert_eq!(checker.check(&wrong, phc).await.ok(), Some(Some(false)));
        assert_eq!(
            checker.check(&right, "not a phc".into()).await.ok(),
            Some(None)
        );
    }
}
