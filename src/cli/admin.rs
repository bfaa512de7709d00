//! `buurtnet admin …`: staff accounts and API tokens.

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
    /// Print a new API bearer token for an existing account.
    CreateToken {
        #[arg(long)]
        email: String,
    },
}

pub async fn run(store: &Store, cmd: AdminCommand) -> anyhow::Result<()> {
    let now = SystemClock.now().timestamp_millis();
    match cmd {
        AdminCommand::CreateUser { email, role, scope, password_stdin } => {
            let email_ok = buurtnet_domain::contact::Email::parse(&email)
                .with_context(|| format!("--email '{email}' is not an e-mail address"))?;
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
        AdminCommand::CreateToken { email } => {
            let user = store.staff_user_by_email(email.trim()).await?.with_context(|| format!("no staff account for {email}"))?;
            let (token, hash) = generate_token();
            store.create_api_token(user.id, &hash, now).await?;
            store.audit(now, "cli", "token.created", Some(&format!("staff:{}", user.id)), &json!({})).await?;
            println!("{token}");
        }
    }
    Ok(())
}
