//! `/healthz` (the process answers), `/readyz` (ready to serve, with upstream state), `/metrics`.
//!
//! `/readyz` is 503 while Zendesk's JWT configuration is unsafe (external ids could be
//! rewritten) or, in strict mode, not verified yet: no sign-in could succeed then.
//! It stays 200 while iMIS is failing: every replica shares the same iMIS, so taking
//! pods out of the Service would replace our friendly "member system unavailable" page with the
//! ingress's error. The upstream state is in the body (`ok`, `degraded`, `unknown`) and in the
//! metrics for alerting. `shared_state` says where sign-in limits and sign-outs live (`memory` or
//! `redis`) and whether Redis has stopped answering (`degraded`: each pod on its own state).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::web::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("ok")
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
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
    let body = json!({
        "status": status,
        "member_directory": state.signin.directory.kind(),
        "zendesk_config": state.signin.safety.verdict(),
        "upstreams": upstreams,
        "shared_state": state.shared.report(),
    });
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.signin.metrics.render())
}
