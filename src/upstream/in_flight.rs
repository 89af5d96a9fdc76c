//! A cap on the requests in flight to one upstream (`IMIS_MAX_IN_FLIGHT`): iMIS's usage
//! guidelines forbid hammering it, whatever the number of members signing in. A request over
//! the cap waits briefly for a place, then gives up as busy; the member sees the "busy, try
//! again" page, never a hang.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a place before the sign-in is answered "busy".
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(2);

/// The places for requests to one upstream, shared by every client of it.
#[derive(Debug, Clone)]
pub struct InFlight {
    places: Arc<Semaphore>,
    cap: usize,
    wait: Duration,
}

/// No place came free in time.
#[derive(Debug, thiserror::Error)]
#[error("{cap} requests were already in flight to the member system for {wait:?}")]
pub struct Crowded {
    cap: usize,
    wait: Duration,
}

impl InFlight {
    pub fn new(cap: usize, wait: Duration) -> Self {
        let cap = cap.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            places: Arc::new(Semaphore::new(cap)),
            cap,
            wait,
        }
    }

    /// No cap that matters (a directory without a remote system, a one-off command).
    pub fn unlimited() -> Self {
        Self::new(Semaphore::MAX_PERMITS, Duration::ZERO)
    }

    /// A place for one request, held until the guard is dropped.
    pub async fn enter(&self) -> Result<OwnedSemaphorePermit, Crowded> {
        let crowded = || Crowded {
            cap: self.cap,
            wait: self.wait,
        };
        if let Ok(place) = self.places.clone().try_acquire_owned() {
            return Ok(place);
        }
        match tokio::time::timeout(self.wait, self.places.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => Err(crowded()),
        }
    }

    /// Requests in flight now.
    pub fn in_use(&self) -> usize {
        self.cap - self.places.available_permits()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn over_the_cap_a_request_waits_then_is_crowded_out() {
        let gate = InFlight::new(2, Duration::from_millis(30));
        let (a, _b) = (
            gate.enter().await.expect("1"),
            gate.enter().await.expect("2"),
        );
        assert_eq!(gate.in_use(), 2);
        assert!(
            gate.enter().await.is_err(),
            "the third waits 30 ms, then gives up"
        );
        drop(a);
        assert!(gate.enter().await.is_ok(), "a place came free");
    }

    #[tokio::test]
    async fn a_waiting_request_gets_the_first_place_freed() {
        let gate = InFlight::new(1, Duration::from_secs(5));
        let held = gate.enter().await.expect("1");
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter().await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(held);
        assert!(waiter.await.expect("joined"));
    }
}
