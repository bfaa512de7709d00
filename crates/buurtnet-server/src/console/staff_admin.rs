//! Managing staff accounts (admins): create, change role and scope, disable and enable, make
//! someone set up their second step again; the password-reset link. Every change is audited by
//! ids. An admin manages only accounts whose scope lies within their own.

use crate::abuse::ClientIp;
use crate::auth::{StaffUser, generate_password, hash_password};
use crate::error::{AppError, AppResult};
use crate::state::{App, AppState};
use buurtnet_domain::Language;
use buurtnet_domain::Operation;
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_store::StaffUserRow;
use serde_json::json;

/// Whether `inner` lies within `outer` (the domain's rule, with the police unit of `inner` from
/// the area index).
pub fn scope_within(app: &App, outer: &Scope, inner: &Scope) -> bool {
    let index = app.areas.current();
    outer.contains(inner, index.place_of(inner.code()).police_unit)
}

/// A staff e-mail address as stored: the one normalisation of the domain crate
/// ([`buurtnet_domain::staff::normalise_email`]), used by the CLI as well.
pub fn normalised_email(email: &str) -> Option<String> {
    buurtnet_domain::staff::normalise_email(email)
}

fn require_admin(user: &StaffUser) -> AppResult<()> {
    user.require(Operation::ManageStaff)
}

/// The accounts an admin may see and manage.
pub async fn visible_staff(app: &App, admin: &StaffUser) -> AppResult<Vec<StaffUserRow>> {
    require_admin(admin)?;
    let all = app.store.list_staff_users().await?;
    Ok(all.into_iter().filter(|u| Scope::parse(&u.scope).is_some_and(|s| scope_within(app, &admin.scope, &s))).collect())
}

/// One account the admin may manage, or 404 (never telling whether it exists elsewhere).
async fn managed(app: &App, admin: &StaffUser, id: i64) -> AppResult<StaffUserRow> {
    require_admin(admin)?;
    let user = app.store.staff_user(id).await?.ok_or_else(|| AppError::NotFound("No such staff account.".into()))?;
    let scope = Scope::parse(&user.scope).ok_or_else(|| AppError::NotFound("No such staff account.".into()))?;
    if !scope_within(app, &admin.scope, &scope) {
        return Err(AppError::NotFound("No such staff account.".into()));
    }
    Ok(user)
}

/// A role and scope from a form, checked: a known role, a scope code that exists, within the
/// admin's own scope.
fn parse_role_scope(app: &App, admin: &StaffUser, role: &str, scope: &str) -> AppResult<(Role, Scope)> {
    let role = Role::parse(role).ok_or_else(|| AppError::invalid("role", "unknown_role", "Choose one of the roles."))?;
    let scope = Scope::parse(scope).ok_or_else(|| {
        AppError::invalid("scope", "unknown_scope", "The scope must be NL, a police unit (RE..) or a municipality (GM....).")
    })?;
    if scope != Scope::National && app.areas.current().get(scope.code()).is_none() {
        return Err(AppError::invalid("scope", "unknown_scope", format!("There is no area {}.", scope.code())));
    }
    if !scope_within(app, &admin.scope, &scope) {
        return Err(AppError::invalid("scope", "outside_scope", "This scope lies outside your own."));
    }
    Ok((role, scope))
}

async fn audit(app: &App, admin: &StaffUser, action: &str, id: i64, details: serde_json::Value) -> AppResult<()> {
    app.store.audit(app.now_ms(), &admin.actor(), action, Some(&format!("staff:{id}")), &details).await?;
    Ok(())
}

/// Creates an account with an unknown random password and e-mails its owner a link to choose
/// one. Returns the new id.
pub async fn create(app: &App, admin: &StaffUser, email: &str, role: &str, scope: &str, lang: Language) -> AppResult<i64> {
    require_admin(admin)?;
    let email =
        normalised_email(email).ok_or_else(|| AppError::invalid("email", "invalid_email", "Give a valid e-mail address."))?;
    let (role, scope) = parse_role_scope(app, admin, role, scope)?;
    if app.store.staff_user_by_email(&email).await?.is_some() {
        return Err(AppError::invalid("email", "taken", "There is already an account with this e-mail address."));
    }
    let password = generate_password();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("hashing: {e}")))??;
    let id = app.store.create_staff_user(&email, &hash, role.as_str(), scope.code(), app.now_ms()).await?;
    audit(app, admin, "staff.created", id, json!({"role": role.as_str(), "scope": scope.code()})).await?;
    mail_reset_link(app, id, &email, lang).await?;
    Ok(id)
}

/// Changes role and scope (ends the account's sessions: they were granted for the old role).
pub async fn change(app: &App, admin: &StaffUser, id: i64, role: &str, scope: &str) -> AppResult<()> {
    let user = managed(app, admin, id).await?;
    let (role, scope) = parse_role_scope(app, admin, role, scope)?;
    if id == admin.id && !Operation::ManageStaff.allows(role) {
        return Err(AppError::invalid("role", "own_role", "You cannot take the admin role from yourself."));
    }
    app.store.set_staff_role(id, role.as_str(), scope.code(), app.now_ms()).await?;
    audit(
        app,
        admin,
        "staff.changed",
        id,
        json!({"role": role.as_str(), "scope": scope.code(), "old_role": user.role, "old_scope": user.scope}),
    )
    .await
}

/// Disables (ending every session and API token at once) or enables an account.
pub async fn set_disabled(app: &App, admin: &StaffUser, id: i64, disabled: bool) -> AppResult<()> {
    managed(app, admin, id).await?;
    if id == admin.id && disabled {
        return Err(AppError::invalid("id", "own_account", "You cannot disable your own account."));
    }
    app.store.set_staff_disabled(id, disabled, app.now_ms()).await?;
    audit(app, admin, if disabled { "staff.disabled" } else { "staff.enabled" }, id, json!({})).await
}

/// Removes an account's second factor: at the next sign-in they set up a new one (a lost phone).
pub async fn reset_second_factor(app: &App, admin: &StaffUser, id: i64) -> AppResult<()> {
    managed(app, admin, id).await?;
    app.store.reset_totp(id).await?;
    app.store.revoke_staff_sessions_of(id, app.now_ms()).await?;
    audit(app, admin, "staff.second_factor_reset", id, json!({})).await
}

async fn mail_reset_link(app: &App, id: i64, email: &str, lang: Language) -> AppResult<()> {
    if !crate::abuse::may_send_to(app, email).await? {
        return Ok(());
    }
    let (token, hash) = crate::auth::generate_token();
    let now = app.now_ms();
    let minutes = app.config.console.password_reset_minutes.max(1);
    app.store.create_password_reset(&hash, id, now, now + minutes * 60_000).await?;
    let link = format!("{}/console/wachtwoord/{token}", app.config.public_url());
    let (subject, body) = match lang {
        Language::Nl => (
            "buurtnet: kies je wachtwoord",
            format!(
                "Met deze link kies je een (nieuw) wachtwoord voor je buurtnet-account. De link werkt één keer, {minutes} minuten lang:\n\n{link}\n\nHeb je hier niet om gevraagd? Dan hoef je niets te doen."
            ),
        ),
        Language::En => (
            "buurtnet: choose your password",
            format!(
                "With this link you choose a (new) password for your buurtnet account. It works once, for {minutes} minutes:\n\n{link}\n\nDid you not ask for this? Then you need not do anything."
            ),
        ),
    };
    app.notifier.send_email(email, subject, &body).await?;
    Ok(())
}

/// The "forgot your password" form: throttled per client address and address typed (the
/// normalised address, or the text as typed when it is none); a link only for an enabled
/// account; the same answer either way. Everything that depends on whether the account exists
/// (the look-up, the audit entry, the link, the mail) runs after the answer, in a task of its
/// own, so the time to answer does not tell either.
pub async fn send_reset_link(state: &AppState, client: &ClientIp, typed: &str, lang: Language) -> AppResult<()> {
    let email = normalised_email(typed);
    let counted = email.clone().unwrap_or_else(|| typed.trim().to_lowercase());
    crate::abuse::check(state, "staff_sign_in", &state.config.abuse_limits.staff_sign_in, client, &[&counted]).await?;
    let state = state.clone();
    tokio::spawn(async move {
        if let Err(e) = reset_link_work(&state, email, lang).await {
            tracing::error!(error = %e, "sending a password-reset link failed");
        }
    });
    Ok(())
}

async fn reset_link_work(app: &App, email: Option<String>, lang: Language) -> AppResult<()> {
    let Some(email) = email else { return Ok(()) };
    let Some(user) = app.store.staff_user_by_email(&email).await? else { return Ok(()) };
    if user.disabled {
        return Ok(());
    }
    let actor = format!("staff:{}", user.id);
    app.store.audit(app.now_ms(), "anonymous", "staff.password_reset_requested", Some(&actor), &json!({})).await?;
    mail_reset_link(app, user.id, &user.email, lang).await
}
