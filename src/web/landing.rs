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

/// `/robots.txt`: a sign-in bridge has nothing to index.
pub async fn robots() -> HttpResponse {
    asset("text/plain; charset=utf-8", "User-agent: *\nDisallow: /\n")
}

/// `/favicon.ico` and `/favicon.svg`: the organisation's logo, else our icon in its colour.
pub async fn favicon(state: web::Data<AppState>) -> HttpResponse {
    match &state.pages.favicon {
        pages::Favicon::Logo(url) => HttpResponse::Found()
            .insert_header(("Location", url.as_str()))
            .insert_header(("Cache-Control", "public, max-age=3600"))
            .finish(),
        pages::Favicon::Svg(svg) => HttpResponse::Ok()
            .content_type("image/svg+xml")
            .insert_header(("Cache-Control", "public, max-age=3600"))
            .body(svg.clone()),
    }
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
