//! Staff authentication: argon2id password hashes, API bearer tokens (only their SHA-256 is
//! stored) and the [`StaffUser`] extractor (a bearer token or a console session).

use crate::console::session::{SessionAuth, Stage};
use crate::error::AppError;
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use buurtnet_domain::Operation;
use buurtnet_domain::staff::{Role, Scope};
use rand::Rng;
use sha2::{Digest, Sha256};

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt_bytes: [u8; 16] = rand::rng().random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let hash = Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("hashing: {e}"))?;
    Ok(hash.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A strong random password for a new account (printed once).
pub fn generate_password() -> String {
    let bytes: [u8; 18] = rand::rng().random();
    B64.encode(bytes)
}

/// How long a new API token is valid unless told otherwise.
pub const DEFAULT_TOKEN_DAYS: i64 = 90;

/// A new API token (`bn_…`) and the hash to store.
pub fn generate_token() -> (String, String) {
    let bytes: [u8; 32] = rand::rng().random();
    let token = format!("bn_{}", B64.encode(bytes));
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The staff member behind an `Authorization: Bearer …` header.
#[derive(Debug, Clone)]
pub struct StaffUser {
    pub id: i64,
    pub role: Role,
    pub scope: Scope,
}

impl StaffUser {
    /// Refuses (403) unless the domain's policy lets this role (and scope) perform `op`.
    pub fn require(&self, op: Operation) -> Result<(), AppError> {
        if !op.allows(self.role) {
            return Err(AppError::Forbidden(format!("Your role ({}) may not do this.", self.role.as_str())));
        }
        if op.needs_national_scope() && !self.scope.is_national() {
            return Err(AppError::Forbidden("This is only for staff with a national scope.".into()));
        }
        Ok(())
    }

    /// Whether the policy lets this role perform `op` (for what a page shows).
    pub fn may(&self, op: Operation) -> bool {
        self.require(op).is_ok()
    }

    /// Audit-log actor name: never an e-mail address.
    pub fn actor(&self) -> String {
        format!("staff:{}", self.id)
    }
}

impl FromRequestParts<AppState> for StaffUser {
    type Rejection = AppError;

    /// A bearer token (`Authorization: Bearer …`), or else a console session that has passed its
    /// second factor (resolved, with its CSRF rules, by `console::session::resolve`).
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already signed in and counted by the API's policy layer (`crate::policy::enforce`).
        if let Some(user) = parts.extensions.get::<StaffUser>() {
            return Ok(user.clone());
        }
        let Some(header) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            return match parts.extensions.get::<SessionAuth>() {
                Some(s) if s.stage == Stage::Full => {
                    let user = StaffUser::from_row(&s.user)?;
                    crate::abuse::check_staff(state, user.id).await?;
                    Ok(user)
                }
                _ => Err(AppError::Unauthorized("Sign in: send 'Authorization: Bearer <token>'.".into())),
            };
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| AppError::Unauthorized("The Authorization header must be 'Bearer <token>'.".into()))?;
        let user = state
            .store
            .staff_user_by_token(&token_hash(token), state.now_ms())
            .await?
            .ok_or_else(|| AppError::Unauthorized("This token is not valid (unknown, expired or revoked).".into()))?;
        let user = StaffUser::from_row(&user)?;
        crate::abuse::check_staff(state, user.id).await?;
        Ok(user)
    }
}

/// How the caller of a request signed in (only hashes are kept): what a long-lived response,
/// the staff live feed, checks again while it runs.
#[derive(Debug, Clone)]
pub enum Credential {
    /// An API token (`Authorization: Bearer …`).
    Token(String),
    /// A console session (the `bn_staff` cookie).
    Session(String),
}

impl Credential {
    /// The credential of a request that signed in as a [`StaffUser`]: the bearer token when one
    /// is sent (then the cookie is never read), else the session resolved for it.
    pub fn of(headers: &HeaderMap, session: Option<&SessionAuth>) -> Option<Credential> {
        if let Some(h) = headers.get(axum::http::header::AUTHORIZATION) {
            let token = h.to_str().ok()?.strip_prefix("Bearer ")?.trim();
            return Some(Credential::Token(token_hash(token)));
        }
        session.filter(|s| s.stage == Stage::Full).map(|s| Credential::Session(s.token_hash.clone()))
    }

    /// Whether it still signs in `user` with the same role and scope now: false once the token
    /// or session was revoked or expired, the account disabled, or its role or scope changed.
    /// Read from the database, so a change made by any process counts.
    pub async fn still_grants(&self, app: &crate::state::App, user: &StaffUser) -> Result<bool, AppError> {
        let row = match self {
            Credential::Token(hash) => app.store.staff_user_by_token(hash, app.now_ms()).await?,
            Credential::Session(hash) => {
                crate::console::session::lookup_hash(app, hash.clone()).await?.filter(|s| s.stage == Stage::Full).map(|s| s.user)
            }
        };
        Ok(row.is_some_and(|row| {
            !row.disabled
                && row.id == user.id
                && Role::parse(&row.role) == Some(user.role)
                && Scope::parse(&row.scope).as_ref() == Some(&user.scope)
        }))
    }
}

impl StaffUser {
    /// The signed-in view of a stored account.
    pub fn from_row(user: &buurtnet_store::StaffUserRow) -> Result<StaffUser, AppError> {
        let role = Role::parse(&user.role).ok_or_else(|| AppError::Internal(format!("user {} has unknown role", user.id)))?;
        let scope = Scope::parse(&user.scope).ok_or_else(|| AppError::Internal(format!("user {} has unknown scope", user.id)))?;
        Ok(StaffUser { id: user.id, role, scope })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_round_trip() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
