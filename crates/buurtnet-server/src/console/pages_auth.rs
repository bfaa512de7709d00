//! Sign-in, signing out (here or everywhere) and the password reset by e-mail link (the second
//! step and its enrolment: [`super::pages_second_factor`]).
//!
//! Forms before a session exists carry a double-submit CSRF token (`bn_csrf` cookie, HttpOnly,
//! SameSite=Strict); once a session exists, its own CSRF token (checked by
//! [`super::session::resolve`] before the handler runs).

use super::session::{self, SessionAuth, SignedIn, Stage};
use super::texts::Ct;
use super::{Console, SIGN_IN, language, message_page, render_error};
use crate::abuse::ClientIp;
use crate::auth::{hash_password, token_hash};
use crate::error::AppError;
use crate::http::RequestId;
use crate::state::AppState;
use askama::Template;
use askama_web::WebTemplate;
use axum::Extension;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use rand::Rng;
use serde::Deserialize;
use serde_json::json;

const PRE_CSRF: &str = "bn_csrf";

#[derive(Deserialize, Default)]
pub struct LangQuery {
    pub(super) lang: Option<String>,
}

/// The CSRF token for a form: the session's, or (before sign-in) this browser's double-submit
/// token, made on first use.
fn form_csrf(state: &AppState, jar: CookieJar, session: Option<&SessionAuth>) -> (CookieJar, String) {
    if let Some(s) = session {
        return (jar, s.csrf.clone());
    }
    if let Some(c) = jar.get(PRE_CSRF)
        && c.value().len() >= 32
    {
        let v = c.value().to_string();
        return (jar, v);
    }
    let bytes: [u8; 24] = rand::rng().random();
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let cookie = Cookie::build((PRE_CSRF, token.clone()))
        .path("/console")
        .same_site(SameSite::Strict)
        .secure(state.config.secure_cookies)
        .http_only(true)
        .build();
    (jar.add(cookie), token)
}

/// A form submitted without a session must carry the double-submit token (with a session the
/// middleware has checked the session's token already).
fn pre_session_csrf_ok(jar: &CookieJar, session: Option<&SessionAuth>, submitted: &str) -> bool {
    session.is_some() || jar.get(PRE_CSRF).is_some_and(|c| c.value().len() >= 32 && session::tokens_equal(c.value(), submitted))
}

fn expired_form(t: Ct, rid: RequestId) -> Response {
    render_error(t, AppError::bad_request("csrf", "The form has expired; reload the page and try again."), rid.0)
}

#[derive(Template, WebTemplate)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    t: Ct,
    csrf: String,
    email: String,
    error: String,
    demo: bool,
}

pub async fn sign_in_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    session: Option<Extension<SessionAuth>>,
    Query(q): Query<LangQuery>,
) -> Response {
    if let Some(Extension(s)) = &session
        && s.stage == Stage::Full
    {
        return Redirect::to("/console").into_response();
    }
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    let (jar, csrf) = form_csrf(&state, jar, session.as_ref().map(|e| &e.0));
    let demo = state.config.console.demo_notice;
    (jar, SignInPage { t, csrf, email: String::new(), error: String::new(), demo }).into_response()
}

#[derive(Deserialize, Default)]
pub struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

pub async fn sign_in_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Form(form): Form<SignInForm>,
) -> Response {
    let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
    let current = session.as_ref().map(|e| &e.0);
    if !pre_session_csrf_ok(&jar, current, &form.csrf) {
        return expired_form(t, rid);
    }
    match session::sign_in(&state, &client, &form.email, &form.password).await {
        Ok(signed) => {
            if let Some(s) = current
                && let Err(e) = state.store.revoke_staff_session(&s.token_hash, state.now_ms()).await
            {
                return render_error(t, e.into(), rid.0);
            }
            let (cookie, to) = match signed {
                SignedIn::Full(c) => (c, "/console"),
                SignedIn::SecondFactor(c) => (c, "/console/tweede-stap"),
                SignedIn::Enrol(c) => (c, "/console/tweede-stap/instellen"),
            };
            (jar.add(cookie), Redirect::to(to)).into_response()
        }
        Err(e @ (AppError::Unauthorized(_) | AppError::TooManyRequests { .. })) => {
            let status = e.status();
            let retry = match &e {
                AppError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
                _ => None,
            };
            let error = match (&e, t.lang) {
                (AppError::TooManyRequests { .. }, buurtnet_domain::Language::Nl) => {
                    "Te veel pogingen. Wacht even en probeer het opnieuw.".to_string()
                }
                (AppError::Unauthorized(_), buurtnet_domain::Language::Nl) => {
                    "Het e-mailadres of wachtwoord klopt niet.".to_string()
                }
                _ => e.public_message(),
            };
            let (jar, csrf) = form_csrf(&state, jar, current);
            let page =
                SignInPage { t, csrf, email: form.email.trim().to_string(), error, demo: state.config.console.demo_notice };
            let mut resp = (status, jar, page).into_response();
            if let Some(secs) = retry {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
            }
            resp
        }
        Err(e) => render_error(t, e, rid.0),
    }
}

pub async fn sign_out(State(state): State<AppState>, rid: RequestId, session: Option<Extension<SessionAuth>>) -> Response {
    let jar = CookieJar::new().remove(Cookie::build(session::COOKIE).path("/"));
    if let Some(Extension(s)) = session
        && let Err(e) = session::sign_out(&state, &s).await
    {
        return render_error(Ct { lang: Default::default() }, e, rid.0);
    }
    (jar, Redirect::to(SIGN_IN)).into_response()
}

pub async fn sign_out_everywhere(State(state): State<AppState>, console: Console, rid: RequestId) -> Response {
    match session::sign_out_everywhere(&state, console.user.id).await {
        Ok(_) => {
            let jar = console.jar.remove(Cookie::build(session::COOKIE).path("/"));
            let t = console.t;
            (jar, message_page(t, t.get("sign_out_everywhere"), t.get("signed_out_everywhere"))).into_response()
        }
        Err(e) => render_error(console.t, e, rid.0),
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "console/reset.html")]
struct ResetPage {
    t: Ct,
    csrf: String,
    /// `request` (ask for a link), `sent`, or `choose` (a new password).
    step: &'static str,
    error: String,
}

pub async fn reset_request_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    session: Option<Extension<SessionAuth>>,
    Query(q): Query<LangQuery>,
) -> Response {
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    let (jar, csrf) = form_csrf(&state, jar, session.as_ref().map(|e| &e.0));
    (jar, ResetPage { t, csrf, step: "request", error: String::new() }).into_response()
}

#[derive(Deserialize, Default)]
pub struct ResetRequestForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    email: String,
}

/// Sends a reset link when the address belongs to an enabled account; the answer is the same
/// either way. Throttled like sign-in.
pub async fn reset_request_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Form(form): Form<ResetRequestForm>,
) -> Response {
    let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
    if !pre_session_csrf_ok(&jar, session.as_ref().map(|e| &e.0), &form.csrf) {
        return expired_form(t, rid);
    }
    if let Err(e) = super::staff_admin::send_reset_link(&state, &client, &form.email, t.lang).await {
        return render_error(t, e, rid.0);
    }
    (jar, ResetPage { t, csrf: String::new(), step: "sent", error: String::new() }).into_response()
}

pub async fn reset_form(
    State(state): State<AppState>,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let (jar, t) = language(jar, q.lang.as_deref(), &headers, state.config.secure_cookies);
    match state.store.password_reset_account(&token_hash(&token), state.now_ms()).await {
        Ok(Some(_)) => {
            let (jar, csrf) = form_csrf(&state, jar, session.as_ref().map(|e| &e.0));
            (jar, ResetPage { t, csrf, step: "choose", error: String::new() }).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, message_page(t, t.get("reset_title"), t.get("link_invalid"))).into_response(),
        Err(e) => render_error(t, e.into(), rid.0),
    }
}

#[derive(Deserialize, Default)]
pub struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
}

#[allow(clippy::too_many_arguments)] // one extractor per input of the form
pub async fn reset_submit(
    State(state): State<AppState>,
    client: ClientIp,
    jar: CookieJar,
    headers: HeaderMap,
    rid: RequestId,
    session: Option<Extension<SessionAuth>>,
    Path(token): Path<String>,
    Form(form): Form<NewPasswordForm>,
) -> Response {
    let (jar, t) = language(jar, None, &headers, state.config.secure_cookies);
    let current = session.as_ref().map(|e| &e.0);
    if !pre_session_csrf_ok(&jar, current, &form.csrf) {
        return expired_form(t, rid);
    }
    if let Err(e) = crate::abuse::check(&state, "staff_sign_in", &state.config.abuse_limits.staff_sign_in, &client, &[]).await {
        return render_error(t, e, rid.0);
    }
    if form.password.chars().count() < 12 {
        let (jar, csrf) = form_csrf(&state, jar, current);
        let error = t.get("new_password").to_string();
        return (StatusCode::UNPROCESSABLE_ENTITY, jar, ResetPage { t, csrf, step: "choose", error }).into_response();
    }
    let pw = form.password.clone();
    let hash = match tokio::task::spawn_blocking(move || hash_password(&pw)).await {
        Ok(Ok(h)) => h,
        Ok(Err(e)) => return render_error(t, e.into(), rid.0),
        Err(e) => return render_error(t, AppError::Internal(format!("hashing: {e}")), rid.0),
    };
    match state.store.use_password_reset(&token_hash(&token), &hash, state.now_ms()).await {
        Ok(Some(id)) => {
            let actor = format!("staff:{id}");
            if let Err(e) = state.store.audit(state.now_ms(), &actor, "staff.password_reset", Some(&actor), &json!({})).await {
                return render_error(t, e.into(), rid.0);
            }
            (jar, message_page(t, t.get("reset_title"), t.get("password_set"))).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, message_page(t, t.get("reset_title"), t.get("link_invalid"))).into_response(),
        Err(e) => render_error(t, e.into(), rid.0),
    }
}
