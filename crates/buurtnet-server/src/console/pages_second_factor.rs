//! The second step of sign-in (TOTP) and its enrolment pages: after the password
//! (`/console/tweede-stap`, `/console/tweede-stap/instellen`), and turned on from a signed-in
//! session (`/console/tweede-stap/aanzetten`, which asks for the password again first). The
//! rules (a secret per enrolment view and session, limits on wrong codes) are in
//! [`super::second_factor`].

use super::pages_auth::LangQuery;
use super::second_factor::{self, Accepted, Enrolment};
use super::session::{self, SessionAuth, Stage};
use super::texts::Ct;
use super::{Console, SIGN_IN, language, message_page, render_error};
use crate::abuse::ClientIp;
use crate::auth::verify_password;
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;
use serde_json::json;

const STEP: &str = "/console/tweede-stap";
const ENROL: &str = "/console/tweede-stap/instellen";
const VOLUNTARY: &str = "/console/tweede-stap/aanzetten";

#[derive(Template, WebTemplate)]
#[template(path = "console/second_factor.html")]
struct SecondFactorPage {
    t: Ct,
    csrf: String,
    error: String,
    /// Enrolment: the QR code (a `data:` URL of an SVG) and the key to type in.
    qr: String,
    key: String,
    /// Turning the second step on from a signed-in session: the password is asked first.
    ask_password: bool,
    /// Where the form posts.
    action: &'static str,
}

impl SecondFactorPage {
    fn new(t: Ct, csrf: &str, action: &'static str, enrolment: Option<Enrolment>) -> SecondFactorPage {
        let (qr, key) = enrolment.map(|e| (e.qr, e.key)).unwrap_or_default();
        SecondFactorPage { t, csrf: csrf.to_string(), error: String::new(), qr, key, ask_password: false, action }
    }

    fn with_error(mut self, error: &str) -> SecondFactorPage {
        self.error = error.to_string();
        self
    }
}

/// The session waiting for its second factor, or where to go instead.
fn pending(session: Option<Extension<SessionAuth>>) -> Result<SessionAuth, Redirect> {
    match session {
        Some(Extension(s)) if s.stage == Stage::Password => Ok(s),
        Some(_) => Err(Redirect::to("/console")),
        None => Err(Redirect::to(SIGN_IN)),
    }
}

/// The answer when a code ended the session or found the second factor locked: the cookie
/// goes, the page says why.
fn ended(t: Ct, jar: CookieJar, e: &AppError) -> Option<Response> {
    let (status, text) = if second_factor::is_locked(e) {
        (StatusCode::FORBIDDEN, t.get("second_factor_locked"))
    } else if matches!(e, AppError::Unauthorized(_)) {
        (StatusCode::UNAUTHORIZED, t.get("too_many_codes"))
    } else {
        return None;
    };
    let jar = jar.remove(Cookie::build(session::COOKIE).path("/"));
    Some((status, jar, message_page(t, t.get("second_factor"), text)).into_response())
}

pub async fn second_factor_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    session: Option<Extension<SessionAuth>>,
    Query(q): Query<LangQuery>,
) -> Response {
    let s = match pending(session) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    if s.user.totp_enabled_at.is_none() {
        return Redirect::to(ENROL).into_response();
    }
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    (jar, SecondFactorPage::new(t, &s.csrf, STEP, None)).into_response()
}

/// The enrolment page: a new secret for this view, kept on this session only, as a QR code and
/// as text.
pub async fn enrol_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Query(q): Query<LangQuery>,
) -> Response {
    let s = match pending(session) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    if s.user.totp_enabled_at.is_some() {
        return Redirect::to(STEP).into_response();
    }
    match second_factor::new_enrolment(&state, &s).await {
        Ok(e) => (jar, SecondFactorPage::new(t, &s.csrf, ENROL, Some(e))).into_response(),
        Err(e) => render_error(t, e, rid.0),
    }
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
    /// Only when turning the second step on from a signed-in session (its first step).
    #[serde(default)]
    password: String,
}

pub async fn second_factor_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Form(form): Form<CodeForm>,
) -> Response {
    let s = match pending(session) {
        Ok(s) => s,
        Err(r) => return r.into_response(),
    };
    let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
    match session::second_factor(&state, &client, &s, &form.code, t.lang).await {
        Ok(cookie) => (jar.add(cookie), Redirect::to("/console")).into_response(),
        Err(AppError::Validation(_)) => {
            let (enrolment, action) = if s.user.totp_enabled_at.is_none() {
                match second_factor::current_enrolment(&state, &s) {
                    Ok(e) => (e, ENROL),
                    Err(e) => return render_error(t, e, rid.0),
                }
            } else {
                (None, STEP)
            };
            let page = SecondFactorPage::new(t, &s.csrf, action, enrolment).with_error(t.get("wrong_code"));
            (StatusCode::UNPROCESSABLE_ENTITY, jar, page).into_response()
        }
        Err(e) => ended(t, jar.clone(), &e).unwrap_or_else(|| render_error(t, e, rid.0)),
    }
}

/// `GET /console/tweede-stap/aanzetten`: a signed-in account whose role does not require a
/// second factor turns one on (from then on every sign-in asks for it). The password is asked
/// again first.
pub async fn voluntary_form(c: Console) -> Response {
    let t = c.t;
    if c.session.user.totp_enabled_at.is_some() {
        return message_page(t, t.get("second_factor"), t.get("second_factor_is_on"));
    }
    let mut page = SecondFactorPage::new(t, &c.session.csrf, VOLUNTARY, None);
    page.ask_password = true;
    (c.jar, page).into_response()
}

/// `POST /console/tweede-stap/aanzetten`: with `password`, checks it and shows a new key; with
/// `code`, the first code confirms the key this session showed (every session of the account
/// ends; this browser gets a new one).
pub async fn voluntary_submit(
    State(state): State<AppState>,
    client: ClientIp,
    c: Console,
    rid: RequestId,
    Form(form): Form<CodeForm>,
) -> Response {
    let t = c.t;
    let user = &c.session.user;
    if user.totp_enabled_at.is_some() {
        return message_page(t, t.get("second_factor"), t.get("second_factor_is_on"));
    }
    if !form.password.is_empty() {
        return password_again(&state, &client, c, rid, form.password).await;
    }
    if c.session.pending_totp.is_none() {
        return Redirect::to(VOLUNTARY).into_response();
    }
    match second_factor::check_code(&state, &client, &c.session, &form.code, t.lang).await {
        Ok(Accepted::Enrolled) => match session::start(&state, user.id, Stage::Full).await {
            Ok(cookie) => {
                (c.jar.add(cookie), message_page(t, t.get("second_factor"), t.get("second_factor_is_on"))).into_response()
            }
            Err(e) => render_error(t, e, rid.0),
        },
        Ok(Accepted::Code) => message_page(t, t.get("second_factor"), t.get("second_factor_is_on")),
        Err(AppError::Validation(_)) => match second_factor::current_enrolment(&state, &c.session) {
            Ok(e) => {
                let page = SecondFactorPage::new(t, &c.session.csrf, VOLUNTARY, e).with_error(t.get("wrong_code"));
                (StatusCode::UNPROCESSABLE_ENTITY, c.jar, page).into_response()
            }
            Err(e) => render_error(t, e, rid.0),
        },
        Err(e) => render_error(t, e, rid.0),
    }
}

/// The password given again before a key is shown (throttled and audited like sign-in).
async fn password_again(state: &AppState, client: &ClientIp, c: Console, rid: RequestId, password: String) -> Response {
    let t = c.t;
    let user = &c.session.user;
    let target = format!("staff:{}", user.id);
    if let Err(e) =
        crate::abuse::check(state, "staff_sign_in", &state.config.abuse_limits.staff_sign_in, client, &[&target]).await
    {
        return render_error(t, e, rid.0);
    }
    let hash = user.password_hash.clone();
    let ok = match tokio::task::spawn_blocking(move || verify_password(&password, &hash)).await {
        Ok(ok) => ok,
        Err(e) => return render_error(t, AppError::Internal(format!("password check: {e}")), rid.0),
    };
    if !ok {
        let details = json!({"reason": "password", "during": "second_factor_enrolment"});
        if let Err(e) = state.store.audit(state.now_ms(), &target, "staff.sign_in_failed", Some(&target), &details).await {
            return render_error(t, e.into(), rid.0);
        }
        let mut page = SecondFactorPage::new(t, &c.session.csrf, VOLUNTARY, None).with_error(t.get("wrong_password"));
        page.ask_password = true;
        return (StatusCode::UNPROCESSABLE_ENTITY, c.jar, page).into_response();
    }
    match second_factor::new_enrolment(state, &c.session).await {
        Ok(e) => (c.jar, SecondFactorPage::new(t, &c.session.csrf, VOLUNTARY, Some(e))).into_response(),
        Err(e) => render_error(t, e, rid.0),
    }
}
