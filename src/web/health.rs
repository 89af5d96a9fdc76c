//! `/healthz` (the process answers), `/readyz` (ready to serve, with upstream state), `/metrics`.
//!
//! `/readyz` is 503 while Zendesk's JWT configuration is unsafe (external ids could be
//! rewritten) or, in strict mode, not verified yet: no sign-in could succeed then.
//! It stays 200 while iMIS is failing: every replica shares the same iMIS, so taking
//! pods out of the Service would replace our friendly "member system unavailable" page with the
//! ingress's error. The upstream state is in the body (`ok`, `degraded`, `unknown`) and in the
//! metrics for alerting. `shared_state` says where sign-in limits and sign-outs live (`memory` or
//! `redis`) and whether Redis has stopped answering (`degraded`: each pod on its own state).

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::web::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

/// Marks the metrics listener (`METRICS_ADDR`): only there are details and `/metrics` served
/// when it exists.
#[derive(Clone, Copy)]
pub struct Internal;

fn internal(req: &HttpRequest, state: &AppState) -> bool {
    !state.metrics_elsewhere || req.app_data::<Internal>().is_some()
}

pub async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let upstreams: Vec<_> = state
        .signin
        .directory
        .upstream()
        .into_iter()
        .chain(std::iter::once(state.signin.safety.api().health()))
        .map(|u| u.report())
        .collect();
    let draining = state.draining.load(std::sync::atomic::Ordering::SeqCst);
    let ready = state.signin.safety.ready() && !draining;
    let degraded = upstreams.iter().any(|u| u.state == "degraded");
    let status = match (draining, ready, degraded) {
        (true, _, _) => "stopping",
        (false, false, _) => "not_ready",
        (false, true, true) => "degraded",
        (false, true, false) => "ready",
    };
    let body = match internal(&req, &state) {
        true => detailed(&state, status, upstreams),
        // The public listener says only whether to send members here.
        false => json!({ "status": status }),
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

fn detailed(
    state: &AppState,
    status: &str,
    upstreams: Vec<crate::upstream::UpstreamReport>,
) -> serde_json::Value {
    json!({
        "status": status,
        "member_directory": state.signin.directory.kind(),
        "zendesk_config": state.signin.safety.verdict(),
        "upstreams": upstreams,
        "shared_state": state.shared.report(),
    })
}

pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !internal(&req, &state) {
        return crate::web::landing::not_found(req, state).await;
    }
    observe_now(&state);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.signin.metrics.render())
}

/// Sets the gauges that describe this moment (upstream health, breakers, Zendesk's
/// configuration) just before `/metrics` is rendered.
fn observe_now(state: &AppState) {
    let metrics = &state.signin.metrics;
    let health = state.signin.directory.upstream().into_iter();
    for upstream in health.chain(std::iter::once(state.signin.safety.api().health())) {
        let report = upstream.report();
        metrics.upstream_state(
            report.name,
            report.state != "degraded",
            report.circuit == "open",
        );
    }
    let verdict = state.signin.safety.verdict();
    metrics.zendesk_config_safe(matches!(
        verdict,
        crate::zendesk::safety::ConfigVerdict::Safe { .. }
    ));
}
