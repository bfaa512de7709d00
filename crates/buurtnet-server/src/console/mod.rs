//! The staff console: server-rendered pages under `/console` for everyone in PRODUCT.md's
//! table except residents. Sign-in with password and TOTP, server-side sessions, admin pages for
//! staff accounts and the audit log, and the pages of each role. Handlers stay thin: they call
//! the same services as the JSON API, with the signed-in [`StaffUser`].

pub mod pages_actions;
pub mod pages_admin;
pub mod pages_auth;
pub mod pages_enquiries;
pub mod pages_home;
pub mod pages_participants;
pub mod pages_second_factor;
pub mod second_factor;
pub mod session;
pub mod staff_admin;
pub mod staff_mail;
pub mod texts;
pub mod totp;
pub mod totp_seal;

use crate::auth::StaffUser;
use crate::error::AppError;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use buurtnet_domain::staff::Role;
use session::{SessionAuth, Stage};
use texts::Ct;

pub const SIGN_IN: &str = "/console/aanmelden";

/// Which roles each signed-in console page is for: the one table every page's [`Console`]
/// extractor consults (first matching prefix wins; a page not listed is for every role, e.g.
/// the overview). The services behind the pages check role and scope again, as for the API.
pub const PAGE_RULES: &[(&str, &[Role])] = &[
    ("/console/kaart", crate::alerting::actions::ROLES),
    ("/console/acties/", crate::alerting::actions::ROLES),
    ("/console/buurtonderzoek", crate::enquiries::requests::READ_ROLES),
    ("/console/antwoorden/", crate::enquiries::replies::HANDLER_ROLES),
    ("/console/deelnemers", pages_participants::ROLES),
    ("/console/beheer/", &[Role::Admin]),
];

/// The roles a console path is for (`None`: every signed-in role).
pub fn page_roles(path: &str) -> Option<&'static [Role]> {
    PAGE_RULES.iter().find(|(prefix, _)| path.starts_with(prefix)).map(|(_, roles)| *roles)
}

/// The console's routes, merged into the application's router.
pub fn routes(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/console", get(pages_home::dashboard))
        .route("/console/aanmelden", get(pages_auth::sign_in_form).post(pages_auth::sign_in_submit))
        .route(
            "/console/tweede-stap",
            get(pages_second_factor::second_factor_form).post(pages_second_factor::second_factor_submit),
        )
        .route(
            "/console/tweede-stap/instellen",
            get(pages_second_factor::enrol_form).post(pages_second_factor::second_factor_submit),
        )
        .route(
            "/console/tweede-stap/aanzetten",
            get(pages_second_factor::voluntary_form).post(pages_second_factor::voluntary_submit),
        )
        .route("/console/afmelden", post(pages_auth::sign_out))
        .route("/console/overal-afmelden", post(pages_auth::sign_out_everywhere))
        .route("/console/wachtwoord-vergeten", get(pages_auth::reset_request_form).post(pages_auth::reset_request_submit))
        .route("/console/wachtwoord/{token}", get(pages_auth::reset_form).post(pages_auth::reset_submit))
        .route("/console/beheer/medewerkers", get(pages_admin::staff_list).post(pages_admin::staff_create))
        .route("/console/beheer/medewerkers/{id}", post(pages_admin::staff_change))
        .route("/console/beheer/audit", get(pages_admin::audit_page))
        .route("/console/beheer/audit.csv", get(pages_admin::audit_csv))
        .route("/console/buurtonderzoek", get(pages_enquiries::queue).post(pages_enquiries::create))
        .route("/console/buurtonderzoek/maandoverzicht", get(pages_enquiries::monthly))
        .route("/console/buurtonderzoek/{id}", get(pages_enquiries::detail))
        .route("/console/buurtonderzoek/{id}/goedkeuren", post(pages_enquiries::approve))
        .route("/console/buurtonderzoek/{id}/teruggeven", post(pages_enquiries::give_back))
        .route("/console/buurtonderzoek/{id}/sluiten", post(pages_enquiries::close))
        .route("/console/antwoorden/{id}", post(pages_enquiries::reply_step))
        .route("/console/deelnemers", get(pages_participants::coverage))
        .route("/console/kaart", get(pages_actions::map_page))
        .route("/console/kaart/gebieden", get(pages_actions::map_areas))
        .route("/console/acties/{id}", get(pages_actions::action_page))
        .route("/console/acties/{id}/afsluiten", post(pages_actions::close))
        .route("/console/acties/{id}/bijwerken", post(pages_actions::update))
        .layer(middleware::from_fn_with_state(state.clone(), session::resolve))
        .layer(middleware::from_fn_with_state(state.clone(), strict_headers))
}

/// The console's own security headers: a CSP without any inline script or style (the resident
/// pages' looser policy is not used here), no framing, no referrer, no caching of pages.
async fn strict_headers(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let tiles = state.config.console.tile_url.as_deref().and_then(origin_of).map(|o| format!(" {o}")).unwrap_or_default();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:{tiles}; connect-src 'self'; \
         font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    h.insert("x-frame-options", HeaderValue::from_static("DENY"));
    h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

/// `https://host:port` of a URL (for the CSP's `img-src`).
fn origin_of(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split('/').next()?;
    (matches!(scheme, "https" | "http") && !host.is_empty() && !host.contains(['{', '}', ' ', ';', '\'']))
        .then(|| format!("{scheme}://{host}"))
}

/// Picks the language (query, cookie, Accept-Language) and remembers an explicit choice.
pub fn language(jar: CookieJar, q: Option<&str>, headers: &HeaderMap, secure: bool) -> (CookieJar, Ct) {
    let accept = headers.get("accept-language").and_then(|v| v.to_str().ok());
    let lang = crate::i18n::choose(q, jar.get("lang").map(|c| c.value()), accept);
    let jar = if q.is_some() {
        jar.add(Cookie::build(("lang", lang.as_str())).path("/").same_site(SameSite::Lax).secure(secure).http_only(true).build())
    } else {
        jar
    };
    (jar, Ct { lang })
}

/// What every signed-in page shows around its content: who is signed in, the menu for their
/// role, and the CSRF token for the sign-out forms.
#[derive(Debug, Clone)]
pub struct Shell {
    pub email: String,
    pub role: String,
    pub scope: String,
    pub csrf: String,
    pub is_admin: bool,
    /// Dispatchers (and admins) get the map.
    pub can_dispatch: bool,
    /// Requesters, approvers, handlers (and admins) get the enquiries.
    pub can_enquire: bool,
    /// Municipality officers, regional coordinators (and admins) get the participant figures.
    pub can_count: bool,
    /// Whether the account has a second factor (otherwise it may turn one on).
    pub has_second_factor: bool,
}

/// A signed-in console page: a full session (second factor done), its user and language.
/// Anything else is sent to the sign-in page.
pub struct Console {
    pub session: SessionAuth,
    pub user: StaffUser,
    pub t: Ct,
    pub jar: CookieJar,
    pub shell: Shell,
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let q = parts
            .uri
            .query()
            .and_then(|q| form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang").map(|(_, v)| v.into_owned()));
        let jar = CookieJar::from_headers(&parts.headers);
        let (jar, t) = language(jar, q.as_deref(), &parts.headers, state.config.secure_cookies);
        let session = match parts.extensions.get::<SessionAuth>() {
            Some(s) if s.stage == Stage::Full => s.clone(),
            Some(_) => return Err(Redirect::to("/console/tweede-stap").into_response()),
            None => return Err(Redirect::to(SIGN_IN).into_response()),
        };
        let user = StaffUser::from_row(&session.user).map_err(|e| error_page(t, e, parts))?;
        if let Some(roles) = page_roles(parts.uri.path()) {
            user.require_role(roles).map_err(|e| error_page(t, e, parts))?;
        }
        let shell = Shell {
            email: session.user.email.clone(),
            role: session.user.role.clone(),
            scope: session.user.scope.clone(),
            csrf: session.csrf.clone(),
            is_admin: user.role == Role::Admin,
            can_dispatch: crate::alerting::actions::ROLES.contains(&user.role),
            can_enquire: pages_enquiries::may_see_enquiries(user.role),
            can_count: pages_participants::ROLES.contains(&user.role),
            has_second_factor: session.user.totp_enabled_at.is_some() || session.user.skip_second_factor,
        };
        Ok(Console { session, user, t, jar, shell })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console/message.html")]
pub struct MessagePage {
    pub t: Ct,
    pub title: String,
    pub text: String,
    pub class: &'static str,
    pub request_id: String,
}

/// The console's one error-to-page adapter: the status, a translated title, the public message
/// and the request id (never internal detail).
pub fn error_page(t: Ct, err: AppError, parts: &Parts) -> Response {
    let request_id = parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_string();
    render_error(t, err, request_id)
}

pub fn render_error(t: Ct, err: AppError, request_id: String) -> Response {
    let status = err.status();
    if status.is_server_error() {
        tracing::error!(error.detail = %err, "console request failed");
    }
    let text = match (&err, t.lang) {
        (AppError::Forbidden(_), buurtnet_domain::Language::Nl) => t.get("not_allowed").to_string(),
        _ => err.public_message(),
    };
    let retry = match &err {
        AppError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
        _ => None,
    };
    let mut resp =
        (status, MessagePage { t, title: t.get("error_title").to_string(), text, class: "errors", request_id }).into_response();
    if let Some(secs) = retry {
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    resp
}

/// A time as the API gives it (RFC 3339) shown in Dutch time, to the minute; other text as is.
pub fn local_time(s: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|d| crate::enquiries::texts::dutch_time(d.to_utc()).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| s.to_string())
}

/// A plain message page (200).
pub fn message_page(t: Ct, title: &str, text: &str) -> Response {
    (StatusCode::OK, MessagePage { t, title: title.to_string(), text: text.to_string(), class: "ok", request_id: String::new() })
        .into_response()
}
