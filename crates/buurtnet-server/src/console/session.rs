//! Staff sessions: sign-in with password and second factor, the session cookie, and the
//! middleware that resolves it on every request and enforces the CSRF rules.
//!
//! The cookie `bn_staff` holds a random token; the database holds only its SHA-256, the stage
//! (`password` until the second factor is given, then `full`), a per-session CSRF token and
//! when it was last used. Every request reads the row (and marks it used), so a revoked session,
//! a disabled account or an idle session ends at once in every process.
//!
//! CSRF: a request authenticated by the cookie with an unsafe method must (1) not come from
//! another site (`Sec-Fetch-Site`, `Origin`) and (2) carry the session's CSRF token, either as
//! the `X-CSRF-Token` header (scripts) or as the `csrf` field of a form. Bearer-token requests
//! never read the cookie.

use crate::abuse::ClientIp;
use crate::auth::{token_hash, verify_password};
use crate::error::{AppError, AppResult};
use crate::state::{App, AppState};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use base64::Engine;
use buurtnet_domain::staff::Role;
use buurtnet_store::StaffUserRow;
use rand::Rng;
use serde_json::json;

pub const COOKIE: &str = "bn_staff";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The roles that must give a second factor (others may enrol one; then it is asked too).
pub fn second_factor_required(role: Role) -> bool {
    role.requires_second_factor()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// The password was right; the second factor is still due.
    Password,
    Full,
}

/// The session behind this request's cookie, put in the request's extensions by [`resolve`].
#[derive(Debug, Clone)]
pub struct SessionAuth {
    pub token_hash: String,
    pub user: StaffUserRow,
    pub stage: Stage,
    pub csrf: String,
    /// The sealed TOTP secret this session's enrolment page showed last (see
    /// [`super::second_factor`]).
    pub pending_totp: Option<String>,
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill(&mut buf[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// The session cookie for `token` (`Secure` when `secure_cookies` says the server is behind TLS).
pub fn cookie(app: &App, token: String) -> Cookie<'static> {
    Cookie::build((COOKIE, token)).path("/").http_only(true).same_site(SameSite::Strict).secure(app.config.secure_cookies).build()
}

/// Starts a session for `user_id` at `stage`; returns the cookie to set.
pub async fn start(app: &App, user_id: i64, stage: Stage) -> AppResult<Cookie<'static>> {
    let token = random_token(32);
    let csrf = random_token(24);
    let stage = match stage {
        Stage::Password => "password",
        Stage::Full => "full",
    };
    app.store.create_staff_session(&token_hash(&token), user_id, stage, &csrf, app.now_ms()).await?;
    Ok(cookie(app, token))
}

/// The live session of a cookie value, if any (marks it used).
pub async fn lookup(app: &App, token: &str) -> AppResult<Option<SessionAuth>> {
    lookup_hash(app, token_hash(token)).await
}

/// The live session with this token hash, if any (marks it used): what an open live feed
/// checks again while it runs.
pub async fn lookup_hash(app: &App, hash: String) -> AppResult<Option<SessionAuth>> {
    let now = app.now_ms();
    let idle = app.config.console.session_idle_minutes.max(1) * 60_000;
    let max = app.config.console.session_max_hours.max(1) * 3_600_000;
    let Some(live) = app.store.live_staff_session(&hash, now, now - idle, now - max).await? else {
        return Ok(None);
    };
    let stage = if live.session.stage == "full" { Stage::Full } else { Stage::Password };
    Ok(Some(SessionAuth {
        token_hash: hash,
        user: live.user,
        stage,
        csrf: live.session.csrf_token,
        pending_totp: live.session.pending_totp_secret,
    }))
}

/// What a right password leads to.
#[derive(Debug)]
pub enum SignedIn {
    /// Signed in fully (no second factor for this account).
    Full(Cookie<'static>),
    /// The second factor is due (the account has one).
    SecondFactor(Cookie<'static>),
    /// The account must enrol a second factor first.
    Enrol(Cookie<'static>),
}

async fn audit_sign_in(app: &App, actor: &str, action: &str, target: Option<i64>, details: serde_json::Value) {
    let target = target.map(|id| format!("staff:{id}"));
    if let Err(e) = app.store.audit(app.now_ms(), actor, action, target.as_deref(), &details).await {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

/// Checks an e-mail address and password. Throttled per client address and per address typed
/// (known or not, so the answer never tells which accounts exist); every attempt is audited by
/// account id only.
pub async fn sign_in(app: &App, client: &ClientIp, email: &str, password: &str) -> AppResult<SignedIn> {
    let email = super::staff_admin::normalised_email(email).unwrap_or_else(|| email.trim().to_lowercase());
    crate::abuse::check(app, "staff_sign_in", &app.config.abuse_limits.staff_sign_in, client, &[&email]).await?;
    let user = app.store.staff_user_by_email(&email).await?;
    // Hash even for unknown accounts, so that timing does not tell them apart.
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_string());
    let pw = password.to_string();
    let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
        .await
        .map_err(|e| AppError::Internal(format!("password check: {e}")))?;
    let refused = || AppError::Unauthorized("The e-mail address or password is not right.".into());
    let user = match user {
        Some(u) if ok && !u.disabled => u,
        Some(u) => {
            let reason = if u.disabled { "disabled" } else { "password" };
            audit_sign_in(app, "anonymous", "staff.sign_in_failed", Some(u.id), json!({"reason": reason})).await;
            return Err(refused());
        }
        None => {
            audit_sign_in(app, "anonymous", "staff.sign_in_failed", None, json!({"reason": "unknown_account"})).await;
            return Err(refused());
        }
    };
    let role = Role::parse(&user.role).ok_or_else(|| AppError::Internal(format!("user {} has an unknown role", user.id)))?;
    if user.skip_second_factor {
        audit_sign_in(
            app,
            &format!("staff:{}", user.id),
            "staff.sign_in",
            Some(user.id),
            json!({"second_factor": "skipped_demo"}),
        )
        .await;
        return Ok(SignedIn::Full(start(app, user.id, Stage::Full).await?));
    }
    if user.totp_enabled_at.is_some() {
        return Ok(SignedIn::SecondFactor(start(app, user.id, Stage::Password).await?));
    }
    if second_factor_required(role) {
        return Ok(SignedIn::Enrol(start(app, user.id, Stage::Password).await?));
    }
    audit_sign_in(app, &format!("staff:{}", user.id), "staff.sign_in", Some(user.id), json!({"second_factor": false})).await;
    Ok(SignedIn::Full(start(app, user.id, Stage::Full).await?))
}

/// Checks a TOTP code for a session at the `password` stage (also the first code of an
/// enrolment; see [`super::second_factor::check_code`] for the limits). On success the session
/// is replaced by a new, full one (a new token: nothing learnt before the second factor is
/// worth anything after it; an enrolment has ended every session of the account).
pub async fn second_factor(
    app: &App,
    client: &ClientIp,
    session: &SessionAuth,
    code: &str,
    lang: buurtnet_domain::Language,
) -> AppResult<Cookie<'static>> {
    let user = &session.user;
    let accepted = super::second_factor::check_code(app, client, session, code, lang).await?;
    if accepted == super::second_factor::Accepted::Code {
        app.store.revoke_staff_session(&session.token_hash, app.now_ms()).await?;
    }
    let enrolled = accepted == super::second_factor::Accepted::Enrolled;
    audit_sign_in(
        app,
        &format!("staff:{}", user.id),
        "staff.sign_in",
        Some(user.id),
        json!({"second_factor": "totp", "enrolled": enrolled}),
    )
    .await;
    start(app, user.id, Stage::Full).await
}

/// Ends this session.
pub async fn sign_out(app: &App, session: &SessionAuth) -> AppResult<()> {
    app.store.revoke_staff_session(&session.token_hash, app.now_ms()).await?;
    audit_sign_in(app, &format!("staff:{}", session.user.id), "staff.sign_out", Some(session.user.id), json!({})).await;
    Ok(())
}

/// Ends every session of this account ("sign out everywhere").
pub async fn sign_out_everywhere(app: &App, staff_id: i64) -> AppResult<u64> {
    let n = app.store.revoke_staff_sessions_of(staff_id, app.now_ms()).await?;
    audit_sign_in(app, &format!("staff:{staff_id}"), "staff.sign_out_everywhere", Some(staff_id), json!({"sessions": n})).await;
    Ok(n)
}

/// An argon2id hash of a random password nobody knows: checked against for unknown accounts.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3ZC5T0Sd3Eo8bU7O6MFa1gC6n2o0r0x0l1d2o3m5o4c";

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a request comes from this site: `Sec-Fetch-Site` (sent by every current browser,
/// never settable by a page) must be `same-origin` or `none` (typed or bookmarked), and an
/// `Origin` header must name the host the request was sent to. With our `no-referrer` policy
/// browsers send `Origin: null` for form posts; that alone decides nothing (the CSRF token does).
fn same_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok())
        && site != "same-origin"
        && site != "none"
    {
        return false;
    }
    if let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok())
        && origin != "null"
    {
        let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
        return !host.is_empty() && origin_host == host;
    }
    true
}

fn csrf_refusal(path: &str, message: &str) -> Response {
    if path.starts_with("/api/") {
        AppError::Forbidden(message.to_string()).into_response()
    } else {
        (StatusCode::FORBIDDEN, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.to_string()).into_response()
    }
}

/// Constant-time comparison of two tokens.
pub fn tokens_equal(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Resolves the session cookie of `req` (unless a bearer token is sent) and, for unsafe
/// methods, enforces the CSRF rules; the live session goes into the request's extensions. A
/// refusal is the response to send instead.
pub async fn authenticate(state: &AppState, req: Request) -> Result<Request, Response> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return Ok(req);
    }
    let jar = CookieJar::from_headers(req.headers());
    let Some(token) = jar.get(COOKIE).map(|c| c.value().to_string()) else {
        return Ok(req);
    };
    let session = match lookup(state, &token).await {
        Ok(Some(s)) => s,
        Ok(None) => return Ok(req),
        Err(e) => return Err(e.into_response()),
    };
    let path = req.uri().path().to_string();
    let mut req = req;
    if !is_safe(req.method()) {
        if !same_site(req.headers()) {
            return Err(csrf_refusal(&path, "Refused: this request came from another site."));
        }
        let header_token = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_string);
        let ok = match header_token {
            Some(t) => tokens_equal(&t, &session.csrf),
            None => {
                let is_form = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
                if is_form {
                    let (parts, body) = req.into_parts();
                    let bytes = match axum::body::to_bytes(body, 1024 * 1024).await {
                        Ok(b) => b,
                        Err(_) => return Err(AppError::PayloadTooLarge("The form is too large.".into()).into_response()),
                    };
                    let field = form_urlencoded::parse(&bytes).find(|(k, _)| k == "csrf").map(|(_, v)| v.into_owned());
                    req = Request::from_parts(parts, Body::from(bytes));
                    field.is_some_and(|t| tokens_equal(&t, &session.csrf))
                } else {
                    false
                }
            }
        };
        if !ok {
            return Err(csrf_refusal(
                &path,
                "Refused: the form has expired or lacks its CSRF token; reload the page and try again.",
            ));
        }
    }
    req.extensions_mut().insert(session);
    Ok(req)
}

/// The console's middleware: [`authenticate`] for every `/console` page. (Staff API routes do
/// the same in `crate::policy::enforce`; public pages and routes never read the staff cookie, so
/// a signed-in staff member can still use the resident pages and public API in the same browser.)
pub async fn resolve(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !req.uri().path().starts_with("/console") {
        return next.run(req).await;
    }
    match authenticate(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(refusal) => refusal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_dummy_hash_is_a_valid_argon2id_hash() {
        assert!(argon2::password_hash::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("", DUMMY_HASH));
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("console.example.org"));
        assert!(same_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://console.example.org"));
        assert!(same_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(same_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_site(&h));
        h.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_site(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(same_site(&h), "a same-origin form post under no-referrer");
        assert!(tokens_equal("abc", "abc") && !tokens_equal("abc", "abd") && !tokens_equal("abc", "ab"));
    }
}
