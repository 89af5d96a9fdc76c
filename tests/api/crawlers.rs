//! What a browser and a scanner notice first: a robots.txt that disallows everything, `noindex`
//! on every page, and a favicon (the organisation's own when configured), so no console error.

use crate::helpers::{select, spawn_app, spawn_app_with};

#[tokio::test]
async fn robots_are_told_to_stay_away_from_every_page() {
    let app = spawn_app().await;
    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status(), 200);
    assert_eq!(
        robots.text().await.expect("body"),
        "User-agent: *\nDisallow: /\n"
    );
    for path in ["/", "/login", "/logout", "/nowhere"] {
        let page = app.get(path).await;
        assert_eq!(
            page.headers()["x-robots-tag"],
            "noindex, nofollow",
            "{path}"
        );
        let html = page.text().await.expect("body");
        let meta = select(&html, r#"meta[name="robots"]"#);
        assert_eq!(
            meta[0].value().attr("content"),
            Some("noindex, nofollow"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_favicon_is_ours_in_the_brand_colour_or_the_brand_logo() {
    let app = spawn_app_with(&[("BRAND_PRIMARY_COLOUR", "#0b3d91")]).await;
    for path in ["/favicon.ico", "/favicon.svg"] {
        let icon = app.get(path).await;
        assert_eq!(icon.status(), 200, "{path}");
        assert_eq!(icon.headers()["content-type"], "image/svg+xml");
        assert!(icon.text().await.expect("body").contains("#0b3d91"));
    }
    let page = app.get("/login").await.text().await.expect("body");
    assert_eq!(
        select(&page, r#"link[rel="icon"]"#)[0].value().attr("href"),
        Some("/favicon.svg")
    );
    let branded =
        spawn_app_with(&[("BRAND_LOGO_URL", "https://cdn.example.org/rse/logo.svg")]).await;
    let icon = branded.get("/favicon.ico").await;
    assert_eq!(icon.status(), 302);
    assert_eq!(
        icon.headers()["location"],
        "https://cdn.example.org/rse/logo.svg"
    );
}
