//! The second factor (TOTP) of staff sign-in:
//! - enrolment: each view of the enrolment page makes a new secret, kept (sealed) on that
//!   session only, so nobody else who knows the password ever sees the key that will be
//!   enrolled; confirming it ends EVERY session of the account (the caller starts a new full
//!   one) and tells the account by e-mail;
//! - checking a code of a confirmed second factor (each 30-second step once);
//! - guessing: the fifth wrong code ends the password-stage session; the tenth of an account
//!   within a day locks its second factor (every session ends) and tells the account and its
//!   admins by e-mail, until an admin resets it.

use super::session::{SessionAuth, Stage};
use super::staff_mail::{self, Notice};
use super::totp;
use super::totp_seal::TotpSeal;
use crate::abuse::ClientIp;
use crate::error::{AppError, AppResult};
use crate::state::App;
use buurtnet_domain::Language;
use serde_json::json;

/// Wrong codes after which a password-stage session ends.
pub const SESSION_FAILURES: i64 = 5;
/// Wrong codes of one account within [`DAY_MS`] after which its second factor locks.
pub const DAY_FAILURES: i64 = 10;
const DAY_MS: i64 = 86_400_000;

/// What the enrolment page shows: the QR code (a `data:` URL of an SVG) and the same key as
/// text for typing in.
pub struct Enrolment {
    pub qr: String,
    pub key: String,
}

fn view(secret: &str, account: &str) -> AppResult<Enrolment> {
    let url = totp::otpauth_url(secret, account).ok_or_else(|| AppError::Internal("otpauth url".into()))?;
    let qr = totp::qr_data_url(&url).ok_or_else(|| AppError::Internal("qr code".into()))?;
    Ok(Enrolment { qr, key: secret.to_string() })
}

/// A new secret for this view of the enrolment page, put on this session (replacing the one
/// it showed before).
pub async fn new_enrolment(app: &App, session: &SessionAuth) -> AppResult<Enrolment> {
    let secret = totp::new_secret();
    let sealed = app.totp_seal.seal(session.user.id, &secret)?;
    if !app.store.set_session_pending_totp(&session.token_hash, &sealed).await? {
        return Err(AppError::Unauthorized("This session has ended; sign in again.".into()));
    }
    view(&secret, &session.user.email)
}

/// The enrolment this session shows already (again after a wrong code), if any.
pub fn current_enrolment(app: &App, session: &SessionAuth) -> AppResult<Option<Enrolment>> {
    let secret = session.pending_totp.as_deref().and_then(|s| app.totp_seal.open(session.user.id, s));
    secret.map(|s| view(&s, &session.user.email)).transpose()
}

fn locked() -> AppError {
    AppError::Forbidden(
        "The second step of this account is locked after too many wrong codes; an administrator can reset it.".into(),
    )
}

/// Whether an error means the second factor is locked (the pages say so in their language).
pub fn is_locked(e: &AppError) -> bool {
    matches!(e, AppError::Forbidden(m) if m.starts_with("The second step of this account is locked"))
}

async fn audit(app: &App, actor: &str, action: &str, staff_id: i64, details: serde_json::Value) {
    let target = format!("staff:{staff_id}");
    if let Err(e) = app.store.audit(app.now_ms(), actor, action, Some(&target), &details).await {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

/// What a right code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepted {
    /// A code of the confirmed second factor.
    Code,
    /// The first code of an enrolment: the second factor is set up now and every session of
    /// the account has ended (the caller starts a new full one).
    Enrolled,
}

/// Checks a code for `session`: against the account's confirmed second factor or, while
/// enrolling, against the secret this session showed. Throttled per client address and per
/// account; wrong codes audited and counted (for a session at the password stage: the fifth
/// ends it, the tenth of the day locks the second factor). `lang` is the language of notices.
pub async fn check_code(app: &App, client: &ClientIp, session: &SessionAuth, code: &str, lang: Language) -> AppResult<Accepted> {
    let user = &session.user;
    crate::abuse::check(app, "staff_sign_in", &app.config.abuse_limits.staff_sign_in, client, &[&format!("staff:{}", user.id)])
        .await?;
    if user.totp_locked_at.is_some() {
        return Err(locked());
    }
    let now = app.now_ms();
    let enrolling = user.totp_enabled_at.is_none();
    let stored = if enrolling { session.pending_totp.clone() } else { user.totp_secret.clone() };
    let stored =
        stored.ok_or_else(|| AppError::bad_request("no_second_factor", "Open the page again to set up the second step."))?;
    let secret = app.totp_seal.open(user.id, &stored);
    if secret.is_none() {
        tracing::error!(staff.id = user.id, "a stored TOTP secret does not open with this secrets file's key");
    }
    let step = secret.as_deref().and_then(|s| totp::matching_step(s, code, now.div_euclid(1000)));
    let accepted = match step {
        Some(step) if enrolling => app.store.confirm_totp(user.id, &stored, step, now).await?,
        Some(step) => app.store.use_totp_step(user.id, step).await?,
        None => false,
    };
    if !accepted {
        return Err(wrong_code(app, session, step.is_some(), lang).await);
    }
    if !enrolling {
        if let Some(secret) = secret.filter(|_| !TotpSeal::is_sealed(&stored)) {
            // Stored before encryption and not sealed at start (another process wrote it): seal it now.
            app.store.replace_totp_secret(user.id, &stored, &app.totp_seal.seal(user.id, &secret)?).await?;
        }
        return Ok(Accepted::Code);
    }
    let actor = format!("staff:{}", user.id);
    audit(app, &actor, "staff.second_factor_enrolled", user.id, json!({})).await;
    staff_mail::send(app, &user.email, Notice::Enrolled, lang).await;
    Ok(Accepted::Enrolled)
}

/// Audits and counts a wrong code; returns the error to answer with.
async fn wrong_code(app: &App, session: &SessionAuth, reused: bool, lang: Language) -> AppError {
    let user = &session.user;
    let reason = if reused { "code_reused" } else { "code" };
    audit(app, "anonymous", "staff.sign_in_failed", user.id, json!({"reason": reason})).await;
    let wrong = AppError::invalid("code", "wrong_code", "This code is not right (or was used already).");
    if session.stage != Stage::Password {
        // A signed-in account turning a second factor on (it gave its password again).
        return wrong;
    }
    let now = app.now_ms();
    let counts = match app.store.record_totp_failure(user.id, &session.token_hash, now, DAY_MS).await {
        Ok(c) => c,
        Err(e) => return e.into(),
    };
    if counts.day >= DAY_FAILURES {
        match app.store.lock_totp(user.id, now).await {
            Ok(true) => {
                audit(app, "anonymous", "staff.second_factor_locked", user.id, json!({"wrong_codes": counts.day})).await;
                staff_mail::locked(app, user, lang).await;
            }
            Ok(false) => {}
            Err(e) => return e.into(),
        }
        return locked();
    }
    if counts.session >= SESSION_FAILURES {
        if let Err(e) = app.store.revoke_staff_session(&session.token_hash, now).await {
            return e.into();
        }
        audit(app, "anonymous", "staff.sign_in_ended", user.id, json!({"reason": "wrong_codes", "wrong_codes": counts.session}))
            .await;
        return AppError::Unauthorized("Too many wrong codes: sign in again.".into());
    }
    wrong
}
