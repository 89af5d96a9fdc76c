//! Proof that a member owns their address before a first link to an existing, unlinked Zendesk
//! end user (`UNLINKED_END_USERS=verify`): a six-digit code by e-mail, short-lived, few tries,
//! few codes per address. Only a hash of each code is kept, and no code is ever logged.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use redis::RedisResult;

use crate::members::Member;
use crate::shared::keys::KeyMaker;
use crate::shared::{RedisStore, SharedState};

/// How long a code works.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes allowed for one sign-in before it must start again.
pub const MAX_TRIES: u32 = 5;
/// Codes sent to one address per [`CODE_TTL`].
pub const MAX_CODES_PER_ADDRESS: u32 = 3;

/// What `UNLINKED_END_USERS` says about a first sign-in whose address belongs to an existing
/// Zendesk end user who is not linked to anyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnlinkedEndUsers {
    /// Ask for a code sent to that address first (the default).
    #[default]
    Verify,
    /// Refuse, with a page saying how to get the accounts joined.
    Deny,
    /// Link at once (for member systems that verify every e-mail change).
    Link,
}

/// A sign-in waiting for its code.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingLink {
    pub member: Member,
    pub username: String,
    /// The Zendesk end user the code proves the right to.
    pub zendesk_user_id: u64,
}

struct Pending {
    code_hash: [u8; 32],
    tries: u32,
    link: PendingLink,
}

/// What a code entry comes to.
#[derive(Debug)]
pub enum Confirmation {
    Confirmed(Box<PendingLink>),
    Wrong {
        tries_left: u32,
    },
    /// Unknown, expired, or out of tries: start again.
    Expired,
}

/// What Redis keeps of a code: its hash and the sign-in it confirms, sealed.
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredPending {
    code_hash: [u8; 32],
    link: PendingLink,
}

/// Codes in flight: in Redis with `REDIS_URL` (so the code works on whichever replica the member
/// reaches), else — and while Redis does not answer — in this process.
pub struct Verifications {
    pending: moka::sync::Cache<String, Arc<Mutex<Pending>>>,
    /// Codes sent per address (keyed by a hash of its canonical form).
    sent: moka::sync::Cache<[u8; 32], u32>,
    shared: Arc<SharedState>,
}

impl Default for Verifications {
    fn default() -> Self {
        Self::new(SharedState::in_memory())
    }
}

impl Verifications {
    pub fn new(shared: Arc<SharedState>) -> Self {
        Self {
            shared,
            pending: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CODE_TTL)
                .build(),
            sent: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(CODE_TTL)
                .build(),
        }
    }

    /// A new code for `link`: `(id, code)`, or `None` when this address has had its codes.
    pub async fn start(&self, link: PendingLink) -> anyhow::Result<Option<(String, String)>> {
        if let Some(redis) = self.shared.redis() {
            match self.start_shared(redis, link.clone()).await {
                Ok(started) => {
                    self.shared.answered();
                    return started;
                }
                Err(e) => self.shared.fell_back("codes", &e),
            }
        }
        self.start_here(link)
    }

    /// Checks `code` for the sign-in `id`; a confirmed or exhausted one is gone afterwards.
    pub async fn confirm(&self, id: &str, code: &str) -> Confirmation {
        if let Some(redis) = self.shared.redis() {
            match self.confirm_shared(redis, id, code).await {
                Ok(confirmation) => {
                    self.shared.answered();
                    return confirmation;
                }
                Err(e) => self.shared.fell_back("codes", &e),
            }
        }
        self.confirm_here(id, code)
    }

    async fn start_shared(
        &self,
        redis: &RedisStore,
        link: PendingLink,
    ) -> RedisResult<anyhow::Result<Option<(String, String)>>> {
        let address = crate::members::email::canonical(&link.member.email).unwrap_or_default();
        let digest = self.shared.keys.digest("codes-sent", &[address.as_bytes()]);
        let sent = redis
            .count(&KeyMaker::name("codes-sent", &digest), CODE_TTL)
            .await?;
        if sent > u64::from(MAX_CODES_PER_ADDRESS) {
            return Ok(Ok(None));
        }
        let (id, code) = match new_code() {
            Ok(pair) => pair,
            Err(e) => return Ok(Err(e)),
        };
        let stored = StoredPending {
            code_hash: hash(&[id.as_bytes(), code.as_bytes()]),
            link,
        };
        let sealed = match serde_json::to_vec(&stored)
            .map_err(anyhow::Error::from)
            .and_then(|plain| self.shared.keys.seal(&plain))
        {
            Ok(sealed) => sealed,
            Err(e) => return Ok(Err(e)),
        };
        let digest = self.shared.keys.digest("code", &[id.as_bytes()]);
        redis
            .set(&KeyMaker::name("code", &digest), &sealed, CODE_TTL)
            .await?;
        Ok(Ok(Some((id, code))))
    }

    /// Every entry uses a try (counted atomically first), so parallel guesses cannot outrun the
    /// limit; the right code is claimed once.
    async fn confirm_shared(
        &self,
        redis: &RedisStore,
        id: &str,
        code: &str,
    ) -> RedisResult<Confirmation> {
        let digest = self.shared.keys.digest("code", &[id.as_bytes()]);
        let key = KeyMaker::name("code", &digest);
        let Some(sealed) = redis.get(&key).await? else {
            return Ok(Confirmation::Expired);
        };
        let stored = self
            .shared
            .keys
            .open(sealed)
            .and_then(|plain| serde_json::from_slice::<StoredPending>(&plain).ok());
        let Some(stored) = stored else {
            return Ok(Confirmation::Expired);
        };
        let tries = redis
            .count(&KeyMaker::name("code-tries", &digest), CODE_TTL)
            .await?;
        if tries > u64::from(MAX_TRIES) {
            redis.delete(&key).await?;
            return Ok(Confirmation::Expired);
        }
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let given = hash(&[id.as_bytes(), code.as_bytes()]);
        if bool::from(given.ct_eq(&stored.code_hash)) {
            let claimed = redis
                .set_once(&KeyMaker::name("code-used", &digest), b"1", CODE_TTL)
                .await?;
            redis.delete(&key).await?;
            return Ok(match claimed {
                true => Confirmation::Confirmed(Box::new(stored.link)),
                false => Confirmation::Expired,
            });
        }
        if tries >= u64::from(MAX_TRIES) {
            redis.delete(&key).await?;
            return Ok(Confirmation::Expired);
        }
        Ok(Confirmation::Wrong {
            tries_left: MAX_TRIES - tries as u32,
        })
    }

    fn start_here(&self, link: PendingLink) -> anyhow::Result<Option<(String, String)>> {
        let address = hash(&[crate::members::email::canonical(&link.member.email)
            .unwrap_or_default()
            .as_bytes()]);
        let sent = self.sent.get(&address).unwrap_or(0);
        if sent >= MAX_CODES_PER_ADDRESS {
            return Ok(None);
        }
        self.sent.insert(address, sent + 1);
        let (id, code) = new_code()?;
        let pending = Pending {
            code_hash: hash(&[id.as_bytes(), code.as_bytes()]),
            tries: 0,
            link,
        };
        self.pending
            .insert(id.clone(), Arc::new(Mutex::new(pending)));
        Ok(Some((id, code)))
    }

    fn confirm_here(&self, id: &str, code: &str) -> Confirmation {
        let Some(entry) = self.pending.get(id) else {
            return Confirmation::Expired;
        };
        let Ok(mut pending) = entry.lock() else {
            return Confirmation::Expired;
        };
        let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
        let given = hash(&[id.as_bytes(), code.as_bytes()]);
        if bool::from(given.ct_eq(&pending.code_hash)) {
            self.pending.invalidate(id);
            return Confirmation::Confirmed(Box::new(pending.link.clone()));
        }
        pending.tries += 1;
        if pending.tries >= MAX_TRIES {
            self.pending.invalidate(id);
            return Confirmation::Expired;
        }
        Confirmation::Wrong {
            tries_left: MAX_TRIES - pending.tries,
        }
    }
}

/// A sign-in id and its six-digit code.
fn new_code() -> anyhow::Result<(String, String)> {
    let id = crate::ids::new_token()?;
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok((id, format!("{:06}", u32::from_le_bytes(random) % 1_000_000)))
}

fn hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> PendingLink {
        PendingLink {
            member: Member::example(),
            username: "art".into(),
            zendesk_user_id: 7,
        }
    }

    #[tokio::test]
    async fn the_right_code_confirms_once() {
        let v = Verifications::default();
        let (id, code) = v.start(link()).await.expect("random").expect("sent");
        assert_eq!(code.len(), 6);
        assert!(
            matches!(v.confirm(&id, &code).await, Confirmation::Confirmed(l) if l.zendesk_user_id == 7)
        );
        assert!(
            matches!(v.confirm(&id, &code).await, Confirmation::Expired),
            "used up"
        );
    }

    #[tokio::test]
    async fn wrong_codes_run_out() {
        let v = Verifications::default();
        let (id, code) = v.start(link()).await.expect("random").expect("sent");
        let wrong = if code == "000000" { "111111" } else { "000000" };
        for left in (1..MAX_TRIES).rev() {
            assert!(
                matches!(v.confirm(&id, wrong).await, Confirmation::Wrong { tries_left } if tries_left == left)
            );
        }
        assert!(matches!(v.confirm(&id, wrong).await, Confirmation::Expired));
        assert!(
            matches!(v.confirm(&id, &code).await, Confirmation::Expired),
            "even the right one now"
        );
    }

    #[tokio::test]
    async fn an_address_gets_a_few_codes_only() {
        let v = Verifications::default();
        for _ in 0..MAX_CODES_PER_ADDRESS {
            assert!(v.start(link()).await.expect("random").is_some());
        }
        let mut other_case = link();
        other_case.member.email = "ART@Example.org".into();
        assert!(v.start(other_case).await.expect("random").is_none());
    }
}
