//! `GET /`: a short start page (sign in → help centre), and the demo's instructions.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::web::AppState;
use crate::web::pages::{self, DemoHints, LandingPage, MessagePage};

pub async fn landing(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let demo = state.demo.as_ref().map(|d| DemoHints {
        help_centre: d.help_centre.as_str(),
        members: d.members,
    });
    let lang = state.pages.lang(&req, None);
    pages::ok(&LandingPage {
        chrome: state.pages.chrome(lang),
        demo,
    })
}

pub async fn not_found(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let lang = state.pages.lang(&req, None);
    state
        .pages
        .message(StatusCode::NOT_FOUND, lang, &MessagePage::not_found())
}

/// The style sheet, in the organisation's colour.
pub async fn style(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .body(state.pages.style_css.clone())
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
