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
pub mod pages_reports;
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
use axum::routing::{MethodRouter, get, post};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use buurtnet_domain::Operation;
use buurtnet_domain::staff::Role;
use session::{SessionAuth, Stage};
use texts::Ct;

pub const SIGN_IN: &str = "/console/aanmelden";

/// Who a console page is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Before signing in: the sign-in steps and the password reset.
    Anyone,
    /// Every signed-in role (the overview, signing out).
    SignedIn,
    /// Staff whose role (and scope) the policy allows this operation.
    Needs(Operation),
}

/// One console page: its path template, methods and who it is for. The router and the page
/// policy are both made from [`page_table`], so a page cannot be added without its access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub path: &'static str,
    pub methods: &'static [&'static str],
    pub access: Access,
}

fn page_table() -> Vec<(Page, MethodRouter<AppState>)> {
    use Access::{Anyone, Needs, SignedIn};
    let p = |path, methods, access| Page { path, methods, access };
    const G: &[&str] = &["GET"];
    const P: &[&str] = &["POST"];
    const GP: &[&str] = &["GET", "POST"];
    vec![
        (p("/console", G, SignedIn), get(pages_home::dashboard)),
        (p("/console/aanmelden", GP, Anyone), get(pages_auth::sign_in_form).post(pages_auth::sign_in_submit)),
        (
            p("/console/tweede-stap", GP, Anyone),
            get(pages_second_factor::second_factor_form).post(pages_second_factor::second_factor_submit),
        ),
        (
            p("/console/tweede-stap/instellen", GP, Anyone),
            get(pages_second_factor::enrol_form).post(pages_second_factor::second_factor_submit),
        ),
        (
            p("/console/tweede-stap/aanzetten", GP, SignedIn),
            get(pages_second_factor::voluntary_form).post(pages_second_factor::voluntary_submit),
        ),
        (p("/console/afmelden", P, Anyone), post(pages_auth::sign_out)),
        (p("/console/overal-afmelden", P, SignedIn), post(pages_auth::sign_out_everywhere)),
        (
            p("/console/wachtwoord-vergeten", GP, Anyone),
            get(pages_auth::reset_request_form).post(pages_auth::reset_request_submit),
        ),
        (p("/console/wachtwoord/{token}", GP, Anyone), get(pages_auth::reset_form).post(pages_auth::reset_submit)),
        (
            p("/console/beheer/medewerkers", GP, Needs(Operation::ManageStaff)),
            get(pages_admin::staff_list).post(pages_admin::staff_create),
        ),
        (p("/console/beheer/medewerkers/{id}", P, Needs(Operation::ManageStaff)), post(pages_admin::staff_change)),
        (p("/console/beheer/audit", G, Needs(Operation::ManageStaff)), get(pages_admin::audit_page)),
        (p("/console/beheer/audit.csv", G, Needs(Operation::ManageStaff)), get(pages_admin::audit_csv)),
        (
            p("/console/buurtonderzoek", GP, Needs(Operation::ReadEnquiries)),
            get(pages_enquiries::queue).post(pages_enquiries::create),
        ),
        (p("/console/buurtonderzoek/maandoverzicht", G, Needs(Operation::ReadEnquiries)), get(pages_enquiries::monthly)),
        (p("/console/buurtonderzoek/{id}", G, Needs(Operation::ReadEnquiries)), get(pages_enquiries::detail)),
        (p("/console/buurtonderzoek/{id}/goedkeuren", P, Needs(Operation::ReadEnquiries)), post(pages_enquiries::approve)),
        (p("/console/buurtonderzoek/{id}/teruggeven", P, Needs(Operation::ReadEnquiries)), post(pages_enquiries::give_back)),
        (p("/console/buurtonderzoek/{id}/sluiten", P, Needs(Operation::ReadEnquiries)), post(pages_enquiries::close)),
        (p("/console/antwoorden/{id}", P, Needs(Operation::HandleReplies)), post(pages_enquiries::reply_step)),
        (p("/console/deelnemers", G, Needs(Operation::ReadCoverage)), get(pages_participants::coverage)),
        (p("/console/rapportages", G, Needs(Operation::ReadReports)), get(pages_reports::page)),
        (
            p("/console/campagnes", GP, Needs(Operation::ReadReports)),
            get(pages_reports::campaigns).post(pages_reports::create_campaign),
        ),
        (p("/console/rapportages/kwartaal/{gm}/{quarter}", G, Needs(Operation::ReadReports)), get(pages_reports::quarterly)),
        (p("/console/kaart", G, Needs(Operation::ManageActions)), get(pages_actions::map_page)),
        (p("/console/kaart/gebieden", G, Needs(Operation::ManageActions)), get(pages_actions::map_areas)),
        (p("/console/acties/{id}", G, Needs(Operation::ManageActions)), get(pages_actions::action_page)),
        (p("/console/acties/{id}/goedkeuren", P, Needs(Operation::ApproveAction)), post(pages_actions::approve)),
        (p("/console/acties/{id}/afsluiten", P, Needs(Operation::ManageActions)), post(pages_actions::close)),
        (p("/console/acties/{id}/bijwerken", P, Needs(Operation::ManageActions)), post(pages_actions::update)),
    ]
}

/// Every console page with its access (for the policy and its tests).
pub fn pages() -> Vec<Page> {
    page_table().into_iter().map(|(page, _)| page).collect()
}

/// The page a concrete path is (its template's segments match, `{…}` matching any one).
pub fn page_of(path: &str) -> Option<Page> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    pages().into_iter().find(|page| {
        let template: Vec<&str> = page.path.split('/').collect();
        template.len() == segments.len()
            && template.iter().zip(&segments).all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
    })
}

/// The operation a console path needs (`None`: no operation, e.g. the overview).
pub fn page_operation(path: &str) -> Option<Operation> {
    match page_of(path)?.access {
        Access::Needs(op) => Some(op),
        Access::Anyone | Access::SignedIn => None,
    }
}

/// The roles a console path is for (`None`: every signed-in role), as the policy says.
pub fn page_roles(path: &str) -> Option<&'static [Role]> {
    page_operation(path).map(Operation::roles)
}

/// The console's routes, merged into the application's router.
pub fn routes(state: &AppState) -> Router<AppState> {
    let mut router = Router::new();
    for (page, handler) in page_table() {
        router = router.route(page.path, handler);
    }
    router
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
    /// Municipality officers, regional coordinators, dispatchers (and admins) get the reports.
    pub can_report: bool,
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
        if let Some(op) = page_operation(parts.uri.path()) {
            user.require(op).map_err(|e| error_page(t, e, parts))?;
        }
        let shell = Shell {
            email: session.user.email.clone(),
            role: session.user.role.clone(),
            scope: session.user.scope.clone(),
            csrf: session.csrf.clone(),
            is_admin: user.may(Operation::ManageStaff),
            can_dispatch: user.may(Operation::ManageActions),
            can_enquire: pages_enquiries::may_see_enquiries(user.role),
            can_count: user.may(Operation::ReadCoverage),
            can_report: user.may(Operation::ReadReports),
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
