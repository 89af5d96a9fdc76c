//! Random identifiers: the short error id a member quotes, and URL-safe tokens (CSRF, codes).

use base64::Engine;

/// A short id shown to the member and written to the log with the full error.
pub fn error_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    id[..8].to_owned()
}

/// 32 random bytes, URL-safe base64: a CSRF token or a verification's id.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_are_long_and_distinct() {
        let a = new_token().expect("token");
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_token().expect("token"));
    }
}
