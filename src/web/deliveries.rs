//! What the browser was last sent to Zendesk with, remembered in a sealed cookie of its own.
//!
//! Two things need it. Zendesk reports a refused token on the remote logout URL
//! (`/logout?kind=error&message=…`), and anyone can craft that link: the message is quoted only
//! when this browser was sent to Zendesk by us within [`REPORT_WINDOW`]. And when Zendesk sends the
//! same browser back again and again (a wrong shared secret, a theme redirect, no logout URL), the
//! delivery page would auto-post forever: after [`LOOP_DELIVERIES`] deliveries within
//! [`LOOP_WINDOW`], `GET /login` stops and says what an admin should check.
//!
//! The cookie holds no identity, only when the count started and how many deliveries there were,
//! so it needs no shared state between replicas.

use std::time::Duration;

use actix_web::cookie::Cookie;
use actix_web::{HttpMessage, HttpRequest};
use serde::{Deserialize, Serialize};

use crate::clock::unix_now;
use crate::web::session::CookieSealer;

pub const DELIVERIES_COOKIE: &str = "zsb_delivered";
/// Deliveries to one browser within [`LOOP_WINDOW`] that make a loop.
pub const LOOP_DELIVERIES: u32 = 5;
pub const LOOP_WINDOW: Duration = Duration::from_secs(60);
/// How long after a delivery Zendesk's error report for this browser is believed.
pub const REPORT_WINDOW: Duration = Duration::from_secs(120);

/// This request's record, once opened.
#[derive(Clone, Copy)]
struct Opened(Option<Deliveries>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deliveries {
    since: i64,
    count: u32,
}

impl Deliveries {
    /// The browser's record, if it was sent to Zendesk within [`REPORT_WINDOW`]. Opened once per
    /// request: `GET /login` reads it for the loop check and again to record its delivery.
    pub fn recent(cookies: &CookieSealer, req: &HttpRequest) -> Option<Self> {
        if let Some(Opened(known)) = req.extensions().get::<Opened>() {
            return *known;
        }
        let opened = cookies.open(req, DELIVERIES_COOKIE);
        req.extensions_mut().insert(Opened(opened));
        opened
    }

    /// The record after one more delivery now.
    pub fn after(previous: Option<Self>, now: i64) -> Self {
        match previous {
            Some(p) if now - p.since < LOOP_WINDOW.as_secs() as i64 => Self {
                since: p.since,
                count: p.count.saturating_add(1),
            },
            _ => Self {
                since: now,
                count: 1,
            },
        }
    }

    /// Whether Zendesk has sent this browser back too often to deliver again now.
    pub fn is_loop(&self, now: i64) -> bool {
        now - self.since < LOOP_WINDOW.as_secs() as i64 && self.count >= LOOP_DELIVERIES
    }

    /// The cookie recording one more delivery to the browser of `req`.
    pub fn record(cookies: &CookieSealer, req: &HttpRequest) -> anyhow::Result<Cookie<'static>> {
        let next = Self::after(Self::recent(cookies, req), unix_now());
        cookies.seal(DELIVERIES_COOKIE, &next, REPORT_WINDOW)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_deliveries_within_a_minute_are_a_loop_and_the_count_restarts_after_it() {
        let mut d = Deliveries::after(None, 1000);
        for second in 1..LOOP_DELIVERIES as i64 {
            assert!(!d.is_loop(1000 + second));
            d = Deliveries::after(Some(d), 1000 + second);
        }
        assert!(d.is_loop(1010));
        assert!(!d.is_loop(1060), "the window is over");
        assert_eq!(Deliveries::after(Some(d), 1061).count, 1);
    }
}
