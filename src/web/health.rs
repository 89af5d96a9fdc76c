//! `/healthz` (the process answers), `/readyz` (ready to serve, with upstream state), `/metrics`.
//!
//! `/readyz` stays 200 while iMIS is failing: every replica shares the same iMIS, so taking
//! pods out of the Service would replace our friendly "member system unavailable" page with the
//! ingress's error. The upstream state is in the body (`ok`, `degraded`, `unknown`) and in the
//! metrics for alerting.

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
        .directory
        .upstream()
        .map(|u| u.report())
        .into_iter()
        .collect();
    let degraded = upstreams.iter().any(|u| u.state == "degraded");
    HttpResponse::Ok().json(json!({
        "status": if degraded { "degraded" } else { "ready" },
        "member_directory": state.directory.kind(),
        "upstreams": upstreams,
    }))
}

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(state.metrics.render())
}
