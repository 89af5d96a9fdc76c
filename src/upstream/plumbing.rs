//! What both upstream clients (iMIS and the Zendesk API) share besides the breaker: the timed
//! send that feeds `/metrics`, `Retry-After` reading, and the cache of a bearer token that is
//! renewed shortly before it expires.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::future::Cache;
use reqwest::{RequestBuilder, Response, StatusCode};
use secrecy::SecretString;

use super::send_fresh_if_stale;
use crate::metrics::Metrics;

/// Sends `request` (once more on a fresh connection if a pooled one had been closed) and
/// records its duration and outcome for `upstream`/`operation`.
pub async fn timed_send(
    metrics: &Metrics,
    upstream: &'static str,
    operation: &'static str,
    request: RequestBuilder,
) -> reqwest::Result<Response> {
    let started = Instant::now();
    let result = send_fresh_if_stale(request).await;
    let outcome = match &result {
        Ok(r) if r.status().is_server_error() => "error",
        Ok(r) if r.status() == StatusCode::TOO_MANY_REQUESTS => "rate_limited",
        Ok(_) => "ok",
        Err(e) if e.is_timeout() => "timeout",
        Err(_) => "error",
    };
    metrics.upstream_call(upstream, operation, outcome, started.elapsed());
    result
}

/// The most of an upstream answer the bridge reads: iMIS and Zendesk answers are a few KiB; a
/// search page with identities well under 1 MiB.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An upstream answer that could not be read whole.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the answer is larger than {MAX_BODY_BYTES} bytes")]
    TooLarge,
    #[error("the answer could not be read")]
    Read(#[from] reqwest::Error),
}

/// The answer's body, refused before it is buffered when it says (Content-Length) or turns out
/// (streamed) to be larger than [`MAX_BODY_BYTES`].
pub async fn read_body(mut response: Response) -> Result<Vec<u8>, BodyError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_BODY_BYTES as u64)
    {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// How long to wait before retrying: the answer's `Retry-After` in seconds, else `fallback`;
/// `None` (do not retry) when the upstream asks for more than `max`.
pub fn retry_after(response: &Response, fallback: Duration, max: Duration) -> Option<Duration> {
    let asked = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(fallback);
    // Waiting less than asked would only be refused again: answer "busy" at once instead.
    (asked <= max).then_some(asked)
}

/// A bearer token and how long it may be used.
pub struct CachedToken {
    pub token: SecretString,
    lifetime: Duration,
}

impl CachedToken {
    /// Usable until `early` before the upstream's `expires_in` (else `default`), at least 10 s.
    pub fn new(
        token: SecretString,
        expires_in: Option<f64>,
        default: Duration,
        early: Duration,
    ) -> Self {
        let lifetime = expires_in
            .filter(|s| s.is_finite() && *s > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(default)
            .saturating_sub(early)
            .max(Duration::from_secs(10));
        Self { token, lifetime }
    }
}

struct TokenExpiry;

impl moka::Expiry<(), Arc<CachedToken>> for TokenExpiry {
    fn expire_after_create(
        &self,
        _key: &(),
        value: &Arc<CachedToken>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(value.lifetime)
    }
}

/// One upstream credential's token: fetched once however many requests need it at the same
/// moment, kept for its lifetime, forgotten on demand (after a 401).
pub struct TokenCache(Cache<(), Arc<CachedToken>>);

impl Default for TokenCache {
    fn default() -> Self {
        Self(
            Cache::builder()
                .max_capacity(1)
                .expire_after(TokenExpiry)
                .build(),
        )
    }
}

impl TokenCache {
    pub async fn get_or_fetch<E: Send + Sync + 'static>(
        &self,
        fetch: impl Future<Output = Result<Arc<CachedToken>, E>>,
    ) -> Result<Arc<CachedToken>, Arc<E>> {
        self.0.try_get_with((), fetch).await
    }

    pub async fn forget(&self) {
        self.0.invalidate(&()).await;
    }

    /// Forgets the cached token only if it is still `refused`: when a newer one has already
    /// replaced it (another request renewed it first), that one stays. iMIS keeps only the
    /// newest token per user, so fetching again needlessly would expire the one just fetched.
    pub async fn forget_if(&self, refused: &Arc<CachedToken>) {
        use moka::ops::compute::Op;
        self.0
            .entry(())
            .and_compute_with(|current| {
                let op = match current {
                    Some(entry) if Arc::ptr_eq(entry.value(), refused) => Op::Remove,
                    _ => Op::Nop,
                };
                std::future::ready(op)
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// An upstream that answers every request with `total` bytes, chunked (no Content-Length).
    async fn chunked_upstream(total: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("address");
        tokio::spawn(async move {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
            if socket.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b' '; 64 * 1024];
            let mut sent = 0;
            while sent < total {
                let size = chunk.len().min(total - sent);
                let frame = [format!("{size:x}\r\n").as_bytes(), &chunk[..size], b"\r\n"].concat();
                if socket.write_all(&frame).await.is_err() {
                    return;
                }
                sent += size;
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        });
        format!("http://{address}/")
    }

    #[tokio::test]
    async fn a_streamed_answer_is_stopped_at_the_limit_and_a_small_one_read_whole() {
        let big = chunked_upstream(MAX_BODY_BYTES + 1024 * 1024).await;
        let response = reqwest::get(big).await.expect("answer");
        assert!(
            response.content_length().is_none(),
            "no Content-Length to go by"
        );
        assert!(matches!(
            read_body(response).await,
            Err(BodyError::TooLarge)
        ));
        let small = chunked_upstream(100 * 1024).await;
        let response = reqwest::get(small).await.expect("answer");
        assert_eq!(read_body(response).await.expect("read").len(), 100 * 1024);
    }
}
