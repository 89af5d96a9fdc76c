//! The middleware every response passes through, as named functions `startup` puts in order:
//! the security headers, the query-length guard and the request metrics.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{Error, HttpMessage, HttpResponse, web};

use crate::telemetry::AccessFacts;
use crate::web::AppState;
use crate::web::pages::MessagePage;
use crate::web::throttle::client_ip;

/// The longest query string accepted (`return_to` alone is capped at 2048 characters).
pub const MAX_QUERY_BYTES: usize = 4096;

/// The Content-Security-Policy of every page but the delivery page; `img_src` also allows the
/// origin of BRAND_LOGO_URL.
pub fn default_csp(img_src: &str) -> String {
    format!(
        "default-src 'none'; style-src 'self'; img-src {img_src}; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// The delivery page's: its script may run, and its form may post to Zendesk (`form_action`).
pub fn delivery_csp(img_src: &str, form_action: &[String]) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src {img_src}; form-action {}; frame-ancestors 'none'; base-uri 'none'",
        form_action.join(" ")
    )
}

/// Headers on every response: CSP, no sniffing, no referrer, no framing; HSTS on https.
pub fn security_headers(csp: &str, https: bool) -> DefaultHeaders {
    let headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", csp.to_owned()))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        // A sign-in bridge has nothing a search engine should index.
        .add(("X-Robots-Tag", "noindex, nofollow"));
    match https {
        true => headers.add(("Strict-Transport-Security", "max-age=31536000")),
        false => headers,
    }
}

/// Zendesk's own query (return_to, brand_id, locale_id, timestamp) is far shorter; anything
/// longer is refused with the friendly page before any handler runs.
pub async fn refuse_long_queries(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if req.query_string().len() <= MAX_QUERY_BYTES {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_left_body);
    }
    let response = match req.app_data::<web::Data<AppState>>() {
        Some(state) => state.pages.message(
            StatusCode::URI_TOO_LONG,
            state.pages.lang(req.request(), None),
            &MessagePage::bad_request(),
        ),
        None => HttpResponse::new(StatusCode::URI_TOO_LONG),
    };
    Ok(req.into_response(response).map_into_right_body())
}

/// Counts and times every request by method, route pattern and status in `/metrics`, and
/// leaves the client address and the duration for the access line.
pub async fn record_metrics(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = std::time::Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().clone();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
    let client = state
        .as_ref()
        .and_then(|s| client_ip(req.request(), &s.trusted_proxies));
    let response = next.call(req).await?;
    let took = started.elapsed();
    if let Some(state) = state {
        let status = response.status().as_u16();
        state
            .signin
            .metrics
            .http_request(method.as_str(), &route, status, took);
    }
    response
        .request()
        .extensions_mut()
        .insert(AccessFacts { client, took });
    Ok(response)
}
