//! Logging: JSON lines (or pretty text) through `tracing`, and a request root span that records
//! the method, route and path — never the query string, which carries `return_to` and, on the
//! logout URL, e-mail addresses.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;

mod json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Pretty,
}

/// The default filter when `RUST_LOG` is not set.
pub const DEFAULT_FILTER: &str = "info";

/// Log lines waiting for the writer thread. The queue's slots are allocated up front (32 bytes
/// each, plus each waiting line's text): tracing-appender's default of 128 000 cost 4 MB of
/// resident memory at rest and let a burst queue tens of MB of lines. 4 096 lines are a tenth
/// of a second of the busiest load measured (bench/results).
pub const LOG_QUEUE_LINES: usize = 4_096;

/// Bytes of log lines gathered into one write to stdout while lines are queued.
const LOG_WRITE_BUFFER: usize = 64 * 1024;

/// Installs the global subscriber writing to stdout from a background thread, so request
/// workers only format lines. Nothing is dropped: a full queue makes writers wait. Keep the
/// guard for the life of the process; dropping it flushes what is queued.
pub fn init(format: LogFormat) -> tracing_appender::non_blocking::WorkerGuard {
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .buffered_lines_limit(LOG_QUEUE_LINES)
        .lossy(false)
        .thread_name("log-writer")
        // The writer drains every queued line, then flushes: under load a batch of lines is one
        // write(2), not one each (stdout alone is line-buffered). An idle moment flushes at once.
        .finish(std::io::BufWriter::with_capacity(
            LOG_WRITE_BUFFER,
            std::io::stdout(),
        ));
    init_with_writer(format, writer);
    guard
}

/// Installs the global subscriber writing to `writer` (tests capture logs this way).
/// A second call does nothing.
pub fn init_with_writer<W>(format: LogFormat, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        || EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    match format {
        // Records of crates that log through `log` are not bridged into these lines: a
        // dependency's debug output may carry cookie or token values (the secrets-in-logs test
        // runs at trace level).
        LogFormat::Json => {
            let _ = tracing::subscriber::set_global_default(
                tracing_subscriber::registry()
                    .with(filter())
                    .with(json::JsonLayer::new(writer)),
            );
        }
        LogFormat::Pretty => {
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter())
                .with_writer(writer)
                .compact()
                .try_init();
        }
    }
}

/// What the access line says beyond the request itself, filled in by the web layer's metrics
/// middleware (which knows the trusted proxies and times the handler).
#[derive(Debug, Clone, Copy)]
pub struct AccessFacts {
    /// The member's address, resolved through `TRUSTED_PROXIES`.
    pub client: Option<std::net::IpAddr>,
    pub took: std::time::Duration,
}

/// User agents are logged up to this many characters.
const MAX_USER_AGENT_CHARS: usize = 200;

/// The root span of every request.
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        // Only the request id lives on the span (every event inside carries it); the access
        // line below names method, route, path and status itself. Fewer span fields keep the
        // JSON formatter's per-event cost down.
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        tracing::info_span!("request", request_id = %request_id)
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        if let Ok(response) = outcome {
            let request = response.request();
            let status = response.response().status().as_u16();
            let route = request.match_pattern();
            let facts = request.extensions().get::<AccessFacts>().copied();
            let client = facts.and_then(|f| f.client).map(|ip| ip.to_string());
            let duration_ms = facts.map(|f| f.took.as_secs_f64() * 1000.0);
            let user_agent: String = request
                .headers()
                .get(actix_web::http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .chars()
                .take(MAX_USER_AGENT_CHARS)
                .collect();
            span.in_scope(|| {
                tracing::info!(
                    target: "access",
                    method = %request.method(),
                    route = route.as_deref().unwrap_or("unmatched"),
                    path = request.path(),
                    status,
                    client = client.as_deref().unwrap_or_default(),
                    user_agent,
                    duration_ms,
                    "request finished"
                )
            });
        }
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
