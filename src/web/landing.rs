//! `GET /`: a short start page (sign in → help centre), and the demo's instructions.

use actix_web::{HttpResponse, web};

use crate::web::AppState;
use crate::web::pages::{self, DemoHints, LandingPage, MessagePage};

pub async fn landing(state: web::Data<AppState>) -> HttpResponse {
    let demo = state.demo.as_ref().map(|d| DemoHints {
        help_centre: d.help_centre.as_str(),
        members: d.members,
    });
    pages::ok(&LandingPage { demo })
}

pub async fn not_found() -> HttpResponse {
    pages::html(
        actix_web::http::StatusCode::NOT_FOUND,
        &MessagePage::not_found(),
    )
}

pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", pages::STYLE_CSS)
}

pub async fn deliver_script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", pages::DELIVER_JS)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(body)
}
