//! `buurtnet admin …`: staff accounts and API tokens, link keys, and the jobs table.

use anyhow::Context;
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_domain::{Clock, SystemClock};
use buurtnet_server::auth::{generate_password, generate_token, hash_password};
use buurtnet_store::Store;
use clap::Subcommand;
use serde_json::json;
use std::io::Read;

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Create a staff account. Prints a generated password once unless --password-stdin is given.
    CreateUser {
        #[arg(long)]
        email: String,
        /// dispatcher, requester, approver, handler, neighbourhood-officer, municipality-officer, regional-coordinator, admin
        #[arg(long)]
        role: String,
        /// What the account covers: a municipality (GM…), a police unit (RE…) or NL.
        #[arg(long)]
        scope: String,
        /// Read the password from standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Print a new API bearer token for an existing account (only its hash is stored).
    CreateToken {
        #[arg(long)]
        email: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = buurtnet_server::auth::DEFAULT_TOKEN_DAYS)]
        days: i64,
    },
    /// List API tokens (id, account, created, expires, revoked), optionally of one account.
    ListTokens {
        #[arg(long)]
        email: Option<String>,
    },
    /// Revoke an API token by its id (see list-tokens); it stops working at once.
    RevokeToken {
        /// The token's id.
        id: i64,
    },
    /// Disable a staff account: its console sessions and API tokens stop working at once.
    DisableUser {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled staff account again (it signs in anew; old tokens stay revoked).
    EnableUser {
        #[arg(long)]
        email: String,
    },
    /// Remove an account's second factor (a lost phone) and end its sessions: at the next
    /// sign-in they set up a new one.
    ResetSecondFactor {
        #[arg(long)]
        email: String,
    },
    /// Put a new link-signing key in the secrets file; the old one keeps verifying links it
    /// signed until they expire. Running servers pick the new key up within seconds.
    RotateLinkKey,
    /// List the periodic and deferred jobs: state, due time, attempts, runs, last error.
    Jobs {
        /// Only jobs whose last run failed (and deferred jobs that were given up).
        #[arg(long)]
        failed: bool,
    },
}

/// E-mail addresses of staff are stored and looked up as the domain normalises them (the same
/// rule as at sign-in, password reset and on the admin pages).
fn staff_email(email: &str) -> anyhow::Result<String> {
    buurtnet_domain::staff::normalise_email(email).with_context(|| format!("--email '{email}' is not an e-mail address"))
}

fn time(ms: Option<i64>) -> String {
    ms.and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| "-".into())
}

pub async fn run(store: &Store, config: &buurtnet_server::Config, cmd: AdminCommand) -> anyhow::Result<()> {
    let now = SystemClock.now().timestamp_millis();
    match cmd {
        AdminCommand::CreateUser { email, role, scope, password_stdin } => {
            let email_ok = staff_email(&email)?;
            let role_v = Role::parse(&role).with_context(|| {
                let all: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                format!("--role '{role}' is not a role; use one of: {}", all.join(", "))
            })?;
            let scope_v = Scope::parse(&scope).with_context(|| {
                format!("--scope '{scope}' is not a scope; use NL, a police unit (RE03) or a municipality (GM0307)")
            })?;
            if scope_v != Scope::National && store.get_area(scope_v.code()).await?.is_none() && store.count_areas().await? > 0 {
                anyhow::bail!("--scope {}: no such area; run import-areas or check the code", scope_v.code());
            }
            let (password, generated) = if password_stdin {
                let mut s = String::new();
                std::io::stdin().read_to_string(&mut s).context("cannot read the password from standard input")?;
                let p = s.trim_end_matches(['\n', '\r']).to_string();
                anyhow::ensure!(p.chars().count() >= 12, "the password must have at least 12 characters");
                (p, false)
            } else {
                (generate_password(), true)
            };
            if store.staff_user_by_email(email_ok.as_str()).await?.is_some() {
                anyhow::bail!("an account for {} already exists", email_ok.as_str());
            }
            let id = store
                .create_staff_user(email_ok.as_str(), &hash_password(&password)?, role_v.as_str(), scope_v.code(), now)
                .await?;
            store
                .audit(
                    now,
                    "cli",
                    "staff.created",
                    Some(&format!("staff:{id}")),
                    &json!({"role": role_v.as_str(), "scope": scope_v.code()}),
                )
                .await?;
            println!("created staff account {id}: {} ({}, {})", email_ok.as_str(), role_v.as_str(), scope_v.code());
            if generated {
                println!("password (shown once): {password}");
            }
        }
        AdminCommand::CreateToken { email, days } => {
            anyhow::ensure!((1..=3650).contains(&days), "--days must be between 1 and 3650");
            let email = staff_email(&email)?;
            let user = store.staff_user_by_email(&email).await?.with_context(|| format!("no staff account for {email}"))?;
            anyhow::ensure!(!user.disabled, "the account {email} is disabled");
            let (token, hash) = generate_token();
            let expires = now + days * 86_400_000;
            let id = store.create_api_token(user.id, &hash, now, expires).await?;
            store
                .audit(now, "cli", "token.created", Some(&format!("staff:{}", user.id)), &json!({"token": id, "days": days}))
                .await?;
            eprintln!("token {id} for {email}, valid until {}", time(Some(expires)));
            println!("{token}");
        }
        AdminCommand::ListTokens { email } => {
            let email = email.as_deref().map(staff_email).transpose()?;
            let tokens = store.api_tokens(email.as_deref()).await?;
            println!("{:>6}  {:<36} {:<20} {:<20} {:<20} state", "id", "account", "created", "expires", "revoked");
            for t in tokens {
                let state = if t.revoked_at.is_some() {
                    "revoked"
                } else if t.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "valid"
                };
                println!(
                    "{:>6}  {:<36} {:<20} {:<20} {:<20} {state}",
                    t.id,
                    t.email,
                    time(Some(t.created_at)),
                    time(t.expires_at),
                    time(t.revoked_at)
                );
            }
        }
        AdminCommand::RevokeToken { id } => {
            anyhow::ensure!(store.revoke_api_token(id, now).await?, "no valid token with id {id} (see admin list-tokens)");
            store.audit(now, "cli", "token.revoked", None, &json!({"token": id})).await?;
            println!("token {id} revoked");
        }
        AdminCommand::DisableUser { email } => {
            let user =
                store.staff_user_by_email(&staff_email(&email)?).await?.with_context(|| format!("no staff account {email}"))?;
            store.set_staff_disabled(user.id, true, now).await?;
            store.audit(now, "cli", "staff.disabled", Some(&format!("staff:{}", user.id)), &json!({})).await?;
            println!("staff account {} disabled; its sessions and API tokens have ended", user.id);
        }
        AdminCommand::EnableUser { email } => {
            let user =
                store.staff_user_by_email(&staff_email(&email)?).await?.with_context(|| format!("no staff account {email}"))?;
            store.set_staff_disabled(user.id, false, now).await?;
            store.audit(now, "cli", "staff.enabled", Some(&format!("staff:{}", user.id)), &json!({})).await?;
            println!("staff account {} enabled", user.id);
        }
        AdminCommand::ResetSecondFactor { email } => {
            let user =
                store.staff_user_by_email(&staff_email(&email)?).await?.with_context(|| format!("no staff account {email}"))?;
            store.reset_totp(user.id).await?;
            store.revoke_staff_sessions_of(user.id, now).await?;
            store.audit(now, "cli", "staff.second_factor_reset", Some(&format!("staff:{}", user.id)), &json!({})).await?;
            println!("the second factor of staff account {} was removed; it is set up again at the next sign-in", user.id);
        }
        AdminCommand::RotateLinkKey => {
            let path = config.secrets_path();
            let file = buurtnet_server::secrets::rotate(&path, now, config.longest_link_ms())?;
            store.audit(now, "cli", "link_key.rotated", None, &json!({"key": file.link_keys[0].id})).await?;
            println!(
                "new link-signing key {} in {}; {} older key(s) still verify links until they expire",
                file.link_keys[0].id,
                path.display(),
                file.link_keys.len() - 1
            );
        }
        AdminCommand::Jobs { failed } => {
            let jobs = store.jobs(failed).await?;
            print!("{}", buurtnet_server::jobs::admin::table(&jobs, now));
            if jobs.is_empty() {
                println!("(no {}jobs)", if failed { "failed " } else { "" });
            }
        }
    }
    Ok(())
}
