//! The server itself: sessions, throttling, the circuit breaker, shutdown and log format.

use super::env::{RawSettings, Validator};
use super::*;

impl Validator {
    pub(super) fn session(&mut self, raw: &RawSettings) -> Option<SessionSettings> {
        let session_key = self.session_key(raw.session_key.clone(), raw.session_key_file.clone());
        let session_ttl = self.number(
            "SESSION_TTL_SECS",
            raw.session_ttl_secs.as_deref(),
            DEFAULT_SESSION_TTL_SECS,
            60..=7 * 24 * 60 * 60,
            "seconds",
        );
        let session_recheck = self.number(
            "SESSION_RECHECK_SECS",
            raw.session_recheck_secs.as_deref(),
            DEFAULT_SESSION_RECHECK_SECS,
            1..=24 * 60 * 60,
            "seconds",
        );
        Some(SessionSettings {
            key: session_key?,
            ttl: Duration::from_secs(session_ttl),
            recheck: Duration::from_secs(session_recheck),
        })
    }

    pub(super) fn throttle(&mut self, raw: &RawSettings) -> ThrottleSettings {
        ThrottleSettings {
            user_failures: self.number(
                "THROTTLE_USER_FAILURES",
                raw.throttle_user_failures.as_deref(),
                DEFAULT_THROTTLE_USER_FAILURES,
                1..=1000,
                "failed sign-ins",
            ) as u32,
            ip_failures: self.number(
                "THROTTLE_IP_FAILURES",
                raw.throttle_ip_failures.as_deref(),
                DEFAULT_THROTTLE_IP_FAILURES,
                1..=100_000,
                "failed sign-ins",
            ) as u32,
            window: Duration::from_secs(self.number(
                "THROTTLE_WINDOW_SECS",
                raw.throttle_window_secs.as_deref(),
                DEFAULT_THROTTLE_WINDOW_SECS,
                10..=86_400,
                "seconds",
            )),
            max_in_flight: self.number(
                "SIGN_IN_MAX_IN_FLIGHT",
                raw.sign_in_max_in_flight.as_deref(),
                DEFAULT_SIGN_IN_MAX_IN_FLIGHT,
                1..=100_000,
                "sign-ins",
            ) as u32,
            max_in_flight_per_address: self.number(
                "SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS",
                raw.sign_in_max_in_flight_per_address.as_deref(),
                DEFAULT_SIGN_IN_MAX_IN_FLIGHT_PER_ADDRESS,
                1..=10_000,
                "sign-ins",
            ) as u32,
        }
    }

    pub(super) fn breaker(&mut self, raw: &RawSettings) -> BreakerSettings {
        BreakerSettings {
            failures: self.number(
                "UPSTREAM_CIRCUIT_FAILURES",
                raw.upstream_circuit_failures.as_deref(),
                u64::from(BreakerSettings::default().failures),
                1..=1000,
                "failures",
            ) as u32,
            cooldown: Duration::from_secs(self.number(
                "UPSTREAM_CIRCUIT_COOLDOWN_SECS",
                raw.upstream_circuit_cooldown_secs.as_deref(),
                BreakerSettings::default().cooldown.as_secs(),
                1..=3600,
                "seconds",
            )),
        }
    }

    pub(super) fn shutdown(&mut self, raw: &RawSettings) -> ShutdownSettings {
        ShutdownSettings {
            drain: Duration::from_secs(self.number(
                "SHUTDOWN_DRAIN_SECS",
                raw.shutdown_drain_secs.as_deref(),
                DEFAULT_SHUTDOWN_DRAIN_SECS,
                0..=300,
                "seconds",
            )),
            timeout: Duration::from_secs(self.number(
                "SHUTDOWN_TIMEOUT_SECS",
                raw.shutdown_timeout_secs.as_deref(),
                DEFAULT_SHUTDOWN_TIMEOUT_SECS,
                1..=300,
                "seconds",
            )),
        }
    }

    pub(super) fn log_format(&mut self, raw: &RawSettings) -> LogFormat {
        match non_empty(raw.log_format.as_deref()) {
            None | Some("json") => LogFormat::Json,
            Some("pretty") => LogFormat::Pretty,
            Some(other) => {
                self.problem(
                    "LOG_FORMAT",
                    format!("must be `json` or `pretty`, not `{other}`"),
                );
                LogFormat::Json
            }
        }
    }
}
