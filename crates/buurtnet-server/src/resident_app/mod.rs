//! The resident web app (PWA): its JSON endpoints under `/api/v1/app/…` (the action page a
//! notification opens, the device's recent actions, tips with photos, linking a device to an
//! account, the settings the page needs) and, served at `/`, its pages, manifest and service
//! worker. Devices register through the devices API (`/api/v1/devices`), the live feed is
//! `/api/v1/live`.

pub(crate) mod api;
pub mod links;
mod pages;
pub mod views;

use crate::state::AppState;
use axum::Router;
use axum::routing::get;

/// The app's pages, merged into the server's router (its JSON endpoints are in the API's route
/// table, `http::api_table`, so that the OpenAPI document and the route tests see them).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/app", get(pages::home))
        .route("/app/meedoen", get(pages::join))
        .route("/app/instellingen", get(pages::settings))
        .route("/app/privacy", get(pages::privacy))
        .route("/app/actie/{link}", get(pages::action_by_link))
        .route("/app/koppelen/{token}", get(pages::link_by_token))
        .route("/manifest.webmanifest", get(pages::manifest))
        .route("/sw.js", get(pages::service_worker))
        .route("/app/icon.svg", get(pages::icon_svg))
        .route("/app/icon-192.png", get(pages::icon_192))
        .route("/app/icon-512.png", get(pages::icon_512))
}
