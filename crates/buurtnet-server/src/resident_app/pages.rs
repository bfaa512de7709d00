//! The resident web app's pages (server-rendered shells in Dutch or English; the page script
//! fills in what belongs to this device), its web manifest, icons and service worker.

use crate::http::pages::language;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use buurtnet_domain::Language;
use serde::Deserialize;

#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

/// What every app page gets: its language.
struct Shell {
    nl: bool,
    lang: &'static str,
    other: &'static str,
}

fn shell(state: &AppState, jar: CookieJar, q: &LangQuery, headers: &HeaderMap) -> (CookieJar, Shell) {
    let (jar, t) = language(jar, q.lang.as_deref(), headers, state.config.secure_cookies);
    let nl = t.lang == Language::Nl;
    (jar, Shell { nl, lang: t.code(), other: t.other() })
}

macro_rules! page {
    ($name:ident, $handler:ident, $path:literal) => {
        #[derive(Template, WebTemplate)]
        #[template(path = $path)]
        struct $name {
            nl: bool,
            lang: &'static str,
            other: &'static str,
        }

        pub async fn $handler(
            State(state): State<AppState>,
            jar: CookieJar,
            headers: HeaderMap,
            Query(q): Query<LangQuery>,
        ) -> impl IntoResponse {
            let (jar, s) = shell(&state, jar, &q, &headers);
            (jar, $name { nl: s.nl, lang: s.lang, other: s.other })
        }
    };
}

page!(HomePage, home, "app/home.html");
page!(JoinPage, join, "app/join.html");
page!(ActionPage, action, "app/action.html");
page!(SettingsPage, settings, "app/settings.html");
page!(PrivacyPage, privacy, "app/privacy.html");
page!(LinkPage, link, "app/link.html");

/// `/app/koppelen/{token}`: links this device to the account of a sign-in link (the page script
/// sends the token with the device's own).
pub async fn link_by_token(state: State<AppState>, jar: CookieJar, headers: HeaderMap, q: Query<LangQuery>) -> impl IntoResponse {
    let mut resp = link(state, jar, headers, q).await.into_response();
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// `/app/actie/{link}`: the action page (the link is read by the page script).
pub async fn action_by_link(
    state: State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    q: Query<LangQuery>,
) -> impl IntoResponse {
    let mut resp = action(state, jar, headers, q).await.into_response();
    // The link is a capability: never sent on as a referrer, never cached by others.
    resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    resp
}

/// `/manifest.webmanifest`.
pub async fn manifest() -> Response {
    let body = serde_json::json!({
        "name": "buurtnet – samen alert in je buurt",
        "short_name": "buurtnet",
        "description": "Meldingen van politie en gemeente voor jouw buurt, en tips terug.",
        "lang": "nl",
        "start_url": "/",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#154273",
        "icons": [
            {"src": "/app/icon.svg", "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            {"src": "/app/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/app/icon-512.png", "sizes": "512x512", "type": "image/png"},
            {"src": "/app/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"}
        ]
    });
    ([(header::CONTENT_TYPE, "application/manifest+json")], body.to_string()).into_response()
}

/// `/sw.js`: the service worker (bundled from `web/src/entries/sw.js`), at the root so that it
/// controls every page.
pub async fn service_worker() -> Response {
    let Some(asset) = buurtnet_web::get("sw.js") else {
        return axum::http::StatusCode::NOT_FOUND.into_response();
    };
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::HeaderName::from_static("service-worker-allowed"), "/"),
        ],
        asset.bytes,
    )
        .into_response()
}

/// `/app/icon.svg`: the app's icon (a house with a watchful eye), drawn by hand.
pub async fn icon_svg() -> Response {
    ([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "public, max-age=86400")], include_str!("icon.svg"))
        .into_response()
}

/// The icon as a PNG of `size` pixels (browsers want PNG icons of 192 and 512 to install an
/// app): the same drawing, rendered here.
fn icon_png(size: u32) -> Vec<u8> {
    let s = size as f32 / 64.0;
    let blue = image::Rgba([0x15, 0x42, 0x73, 0xff]);
    let white = image::Rgba([0xff, 0xff, 0xff, 0xff]);
    let yellow = image::Rgba([0xff, 0xb6, 0x12, 0xff]);
    let img = image::RgbaImage::from_fn(size, size, |x, y| {
        let (x, y) = ((x as f32 + 0.5) / s, (y as f32 + 0.5) / s);
        let d = ((x - 32.0).powi(2) + (y - 38.0).powi(2)).sqrt();
        // The roof (a triangle from (14,34) over (32,18) to (50,34)) and the walls (14..50, 34..50).
        let roof = (18.0..=34.0).contains(&y) && (x - 32.0).abs() <= (y - 18.0) * 18.0 / 16.0;
        let walls = (14.0..=50.0).contains(&x) && (34.0..=50.0).contains(&y);
        if d <= 2.5 {
            yellow
        } else if d <= 6.0 {
            blue
        } else if roof || walls {
            white
        } else {
            blue
        }
    });
    let mut out = Vec::new();
    if image::DynamicImage::ImageRgba8(img).write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).is_err() {
        out.clear();
    }
    out
}

pub async fn icon_192() -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=86400")], icon_png(192)).into_response()
}

pub async fn icon_512() -> Response {
    ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "public, max-age=86400")], icon_png(512)).into_response()
}
