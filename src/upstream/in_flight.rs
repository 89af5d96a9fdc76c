//! A cap on work in flight: the requests to iMIS (`IMIS_MAX_IN_FLIGHT`; iMIS's usage guidelines
//! forbid hammering it, whatever the number of members signing in) and the sign-ins of a pod
//! (`SIGN_IN_MAX_IN_FLIGHT`). Work over the cap waits briefly for a place, then gives up as
//! busy; the member sees the "busy, try again" page, never a hang. The waiting line itself can
//! be bounded ([`InFlight::with_max_waiting`]), so a flood of connections costs memory for the
//! places and the line only: the rest are answered "busy" at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Work waiting for a place now, and the most that may wait.
    waiting: Arc<AtomicUsize>,
    max_waiting: usize,
}

/// No place came free in time.
#[derive(Debug, thiserror::Error)]
#[error("{cap} were already in flight, and stayed so for {wait:?} or too many were waiting")]
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
            waiting: Arc::new(AtomicUsize::new(0)),
            max_waiting: usize::MAX,
        }
    }

    /// At most `max` wait for a place at once; any more are crowded out at once.
    pub fn with_max_waiting(mut self, max: usize) -> Self {
        self.max_waiting = max;
        self
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
        let Some(_in_line) = InLine::join(&self.waiting, self.max_waiting) else {
            return Err(crowded());
        };
        match tokio::time::timeout(self.wait, self.places.clone().acquire_owned()).await {
            Ok(Ok(place)) => Ok(place),
            _ => Err(crowded()),
        }
    }

    /// Requests in flight now.
    #[cfg(test)]
    fn in_use(&self) -> usize {
        self.cap - self.places.available_permits()
    }
}

/// One place in the waiting line, given back when dropped (also when the waiting request is
/// cancelled: its client went away).
struct InLine<'a>(&'a AtomicUsize);

impl<'a> InLine<'a> {
    fn join(waiting: &'a AtomicUsize, max: usize) -> Option<Self> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < max).then_some(n + 1)
            })
            .ok()
            .map(|_| Self(waiting))
    }
}

impl Drop for InLine<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
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
    async fn past_the_waiting_line_work_is_crowded_out_at_once() {
        let gate = InFlight::new(1, Duration::from_secs(5)).with_max_waiting(1);
        let held = gate.enter().await.expect("the place");
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.enter().await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let started = std::time::Instant::now();
        assert!(gate.enter().await.is_err(), "the line is full");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "without waiting"
        );
        drop(held);
        assert!(
            waiter.await.expect("joined"),
            "the one in line got the place"
        );
        let _again = gate.enter().await.expect("the line is empty again");
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
