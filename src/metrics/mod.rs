//! Prometheus metrics: requests (count and latency per route), sign-ins by outcome, upstream
//! latency, health and circuit breakers, Zendesk's configuration, shared state, the build and
//! the process (`process.rs`). Every label comes from a fixed set.

mod process;

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SignInLabels {
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    upstream: &'static str,
    operation: &'static str,
    outcome: &'static str,
}

type LatencyFamily = Family<UpstreamLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

struct Inner {
    registry: Registry,
    http: Family<HttpLabels, Counter>,
    sign_ins: Family<SignInLabels, Counter>,
    upstream: LatencyFamily,
    rate_limit_remaining: Gauge,
    rate_limited: Counter,
    denials: Family<DenialLabels, Counter>,
    request_duration: Family<RouteLabels, Histogram, fn() -> Histogram>,
    state: StateGauges,
    sync: SyncGauges,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

/// The lifecycle sync run inside `serve`.
struct SyncGauges {
    last_success: Gauge,
    duration: Gauge<f64, std::sync::atomic::AtomicU64>,
    changes: Family<KindLabels, Counter>,
    braked: Counter,
}

impl SyncGauges {
    fn register(r: &mut Registry) -> Self {
        Self {
            last_success: registered(
                r,
                "sync_last_success_timestamp_seconds",
                "When the lifecycle sync last finished without a failure (Unix seconds)",
                Default::default(),
            ),
            duration: registered(
                r,
                "sync_duration_seconds",
                "How long the last lifecycle sync took",
                Default::default(),
            ),
            changes: registered(
                r,
                "sync_changes",
                "Changes the lifecycle sync made, by kind (updated, downgraded, organization, failed)",
                Default::default(),
            ),
            braked: registered(
                r,
                "sync_braked",
                "Lifecycle sync runs the brake held back (SYNC_MAX_DOWNGRADES)",
                Default::default(),
            ),
        }
    }
}

/// What `/metrics` says about this moment: upstreams, Zendesk's configuration, shared state.
struct StateGauges {
    upstream_healthy: Family<UpstreamNameLabels, Gauge>,
    upstream_circuit_open: Family<UpstreamNameLabels, Gauge>,
    zendesk_config_safe: Gauge,
    shared_fallbacks: Family<PieceLabels, Counter>,
    shared_degraded: Gauge,
}

impl StateGauges {
    fn register(r: &mut Registry) -> Self {
        Self {
            upstream_healthy: registered(
                r,
                "upstream_healthy",
                "1 unless the upstream (imis, zendesk) failed several times in a row",
                Default::default(),
            ),
            upstream_circuit_open: registered(
                r,
                "upstream_circuit_open",
                "1 while the upstream's circuit breaker is open (calls fail at once)",
                Default::default(),
            ),
            zendesk_config_safe: registered(
                r,
                "zendesk_config_safe",
                "1 when Zendesk's SSO configuration was read and judged safe; 0 unsafe or unverified",
                Default::default(),
            ),
            shared_fallbacks: registered(
                r,
                "shared_state_fallbacks",
                "Operations served from this pod's own state because Redis did not answer, by piece",
                Default::default(),
            ),
            shared_degraded: registered(
                r,
                "shared_state_degraded",
                "1 while some shared state is per pod because Redis does not answer",
                Default::default(),
            ),
        }
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamNameLabels {
    upstream: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BuildLabels {
    version: &'static str,
}

fn request_histogram() -> Histogram {
    Histogram::new([
        0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// The methods a label may name; every other is `OTHER`, so strangers cannot add series.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "POST" => "POST",
        "HEAD" => "HEAD",
        _ => "OTHER",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PieceLabels {
    piece: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DenialLabels {
    rule: &'static str,
}

/// Cheap to clone; every clone records into the same registry.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

/// `metric`, registered under `name` (each clone records into the registered one).
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut r = Registry::with_prefix("zendesk_sso_bridge");
        let inner = Inner {
            http: registered(
                &mut r,
                "http_requests",
                "HTTP requests by route and status",
                Default::default(),
            ),
            request_duration: registered(
                &mut r,
                "http_request_duration_seconds",
                "Time to answer a request, by method and route pattern",
                Family::new_with_constructor(request_histogram),
            ),
            sign_ins: registered(
                &mut r,
                "sign_ins",
                "Sign-in outcomes (success, denied, failed) by reason",
                Default::default(),
            ),
            upstream: registered(
                &mut r,
                "upstream_request_duration_seconds",
                "Latency of calls to the member system and Zendesk",
                Family::new_with_constructor(latency_histogram),
            ),
            rate_limit_remaining: registered(
                &mut r,
                "zendesk_api_rate_limit_remaining",
                "X-Rate-Limit-Remaining of the last Zendesk API answer",
                Default::default(),
            ),
            rate_limited: registered(
                &mut r,
                "zendesk_api_rate_limited",
                "Zendesk API answers with 429 Too Many Requests",
                Default::default(),
            ),
            denials: registered(
                &mut r,
                "safety_denials",
                "Sign-ins refused by an account-safety rule, by rule",
                Default::default(),
            ),
            state: StateGauges::register(&mut r),
            sync: SyncGauges::register(&mut r),
            registry: Registry::default(),
        };
        let build_info = Family::<BuildLabels, Gauge>::default();
        let version = env!("CARGO_PKG_VERSION");
        build_info.get_or_create(&BuildLabels { version }).set(1);
        r.register("build_info", "The running version (always 1)", build_info);
        r.register_collector(Box::new(process::ProcessCollector));
        Self {
            inner: Arc::new(Inner {
                registry: r,
                ..inner
            }),
        }
    }

    /// One request. Labels come from known sets only, so strangers cannot add series: the
    /// method is GET, POST, HEAD or OTHER; the route is a pattern of the route table or
    /// `unmatched`; the status is a number the bridge itself answered.
    pub fn http_request(&self, method: &str, route: &str, status: u16, took: Duration) {
        let method = method_label(method);
        self.inner
            .request_duration
            .get_or_create(&RouteLabels {
                method,
                route: route.to_owned(),
            })
            .observe(took.as_secs_f64());
        self.inner
            .http
            .get_or_create(&HttpLabels {
                method,
                route: route.to_owned(),
                status,
            })
            .inc();
    }

    pub fn upstream_state(&self, upstream: &'static str, healthy: bool, circuit_open: bool) {
        let labels = UpstreamNameLabels { upstream };
        self.inner
            .state
            .upstream_healthy
            .get_or_create(&labels)
            .set(i64::from(healthy));
        self.inner
            .state
            .upstream_circuit_open
            .get_or_create(&labels)
            .set(i64::from(circuit_open));
    }

    /// One lifecycle sync run: how long it took and, when it finished, what it changed.
    pub fn sync_run(&self, took: Duration, changes: &[(&'static str, usize)], succeeded: bool) {
        let sync = &self.inner.sync;
        sync.duration.set(took.as_secs_f64());
        for (kind, n) in changes {
            sync.changes
                .get_or_create(&KindLabels { kind })
                .inc_by(*n as u64);
        }
        if succeeded {
            sync.last_success.set(crate::clock::unix_now());
        }
    }

    pub fn sync_braked(&self) {
        self.inner.sync.braked.inc();
    }

    pub fn zendesk_config_safe(&self, safe: bool) {
        self.inner.state.zendesk_config_safe.set(i64::from(safe));
    }

    pub fn shared_state_fallback(&self, piece: &'static str) {
        self.inner
            .state
            .shared_fallbacks
            .get_or_create(&PieceLabels { piece })
            .inc();
    }

    pub fn shared_state_degraded(&self, degraded: bool) {
        self.inner.state.shared_degraded.set(i64::from(degraded));
    }

    pub fn sign_in(&self, outcome: &'static str, reason: &'static str) {
        self.inner
            .sign_ins
            .get_or_create(&SignInLabels { outcome, reason })
            .inc();
    }

    pub fn upstream_call(
        &self,
        upstream: &'static str,
        operation: &'static str,
        outcome: &'static str,
        elapsed: Duration,
    ) {
        self.inner
            .upstream
            .get_or_create(&UpstreamLabels {
                upstream,
                operation,
                outcome,
            })
            .observe(elapsed.as_secs_f64());
    }

    pub fn zendesk_rate_limit_remaining(&self, remaining: i64) {
        self.inner.rate_limit_remaining.set(remaining);
    }

    pub fn zendesk_rate_limited(&self) {
        self.inner.rate_limited.inc();
    }

    pub fn safety_denial(&self, rule: &'static str) {
        self.inner
            .denials
            .get_or_create(&DenialLabels { rule })
            .inc();
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.inner.registry);
        out
    }
}
