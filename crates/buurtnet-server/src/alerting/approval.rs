//! Two-person approval of actions (`approval.second_person`; by default national AMBER
//! Alerts): another dispatcher of the action's scope, or a national administrator, approves the
//! draft as they saw it (its version); `send` refuses until then. The rule holds in the domain
//! ([`may_approve`]), here, and in the store's conditional update, which itself refuses the
//! creator, a changed draft and a second approval.

use super::actions::visible;
use super::views::{ActionView, ApprovalView, MessageView, iso};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_domain::action::{ActionKind, ActionState, Level};
use buurtnet_domain::approval::{ApprovalRefused, may_approve};
use buurtnet_store::actions::ActionRow;
use serde_json::{Value, json};

/// Whether `a` needs a second person's approval before it is sent.
pub fn needed(state: &AppState, a: &ActionRow) -> bool {
    match (ActionKind::parse(&a.kind), Level::parse(&a.level)) {
        (Some(kind), Some(level)) => state.config.approval.needs_second_person(kind, level),
        // An unreadable row is refused elsewhere; here it is held back rather than let through.
        _ => true,
    }
}

/// The refusal of `send` for an action that still waits for its second person.
pub fn send_refusal(a: &ActionRow) -> AppError {
    AppError::WrongState(format!(
        "This {} action needs a second person's approval before it is sent: another dispatcher or a national administrator \
         approves it (POST /api/v1/actions/{}/approve, or the button on its page).",
        a.level, a.id
    ))
}

/// What the action's view says about its approval.
pub fn describe(state: &AppState, a: &ActionRow) -> ApprovalView {
    ApprovalView {
        second_person_required: needed(state, a),
        approved_by: a.approved_by,
        approved_at: a.approved_at.and_then(iso),
    }
}

fn refused(r: ApprovalRefused) -> AppError {
    match r {
        ApprovalRefused::OwnAction => AppError::Forbidden(r.message()),
        _ => AppError::WrongState(r.message()),
    }
}

fn check(state: &AppState, user: &StaffUser, a: &ActionRow, reviewed: i64) -> AppResult<Result<(), ApprovalRefused>> {
    let st = ActionState::parse(&a.state).ok_or_else(|| AppError::Internal(format!("action {} has unknown state", a.id)))?;
    Ok(may_approve(st, needed(state, a), a.approved_by.is_some(), a.created_by, user.id, (reviewed, a.version)))
}

/// `POST /api/v1/actions/{id}/approve` `{"version": n}`: the second person's approval of the
/// draft at version `n` (the `version` of `GET /api/v1/actions/{id}` they looked at).
pub async fn approve(state: &AppState, user: &StaffUser, id: i64, body: &Value) -> AppResult<ActionView> {
    user.require(Operation::ApproveAction)?;
    let a = visible(state, user, id).await?;
    let Some(reviewed) = body.get("version").and_then(Value::as_i64) else {
        return Err(AppError::invalid(
            "version",
            "missing_version",
            format!("Give the version of the action you looked at ('version' of GET /api/v1/actions/{id}, now {}).", a.version),
        ));
    };
    let now = state.now_ms();
    let target = format!("action:{id}");
    if let Err(r) = check(state, user, &a, reviewed)? {
        let err = refused(r);
        state.store.audit(now, &user.actor(), "action.approve_refused", Some(&target), &json!({"reason": err.code()})).await?;
        return Err(err);
    }
    if !state.store.approve_action(id, user.id, reviewed, now).await? {
        // Changed, approved or sent at the same moment: say what happened.
        let a = visible(state, user, id).await?;
        let err = refused(check(state, user, &a, reviewed)?.err().unwrap_or(ApprovalRefused::AlreadyApproved));
        state.store.audit(now, &user.actor(), "action.approve_refused", Some(&target), &json!({"reason": err.code()})).await?;
        return Err(err);
    }
    state
        .store
        .audit(
            now,
            &user.actor(),
            "action.approve",
            Some(&target),
            &json!({"version": reviewed, "level": a.level, "kind": a.kind}),
        )
        .await?;
    super::actions::view(state, user, id).await
}

/// `POST /api/v1/messages/{id}/approve`: a second officer releases an information message held
/// for approval (`approval.information_municipalities`); it then goes out at its send time, or
/// at once when that has passed. Never by its writer (also refused by the store's update).
pub async fn approve_message(state: &AppState, user: &StaffUser, id: i64) -> AppResult<MessageView> {
    user.require(Operation::ApproveInformation)?;
    let m = super::information::visible(state, user, id).await?;
    let now = state.now_ms();
    let target = format!("message:{id}");
    let refusal = if m.created_by == user.id {
        Some(AppError::Forbidden(
            "You wrote this message yourself; another officer of the municipality must approve it (four-eyes rule).".into(),
        ))
    } else if m.fanout_state != "held" {
        Some(AppError::WrongState(if m.approved_by.is_some() {
            "This message has already been approved by a second person.".into()
        } else {
            "This message needs no second person's approval; it goes out at its send time.".into()
        }))
    } else {
        None
    };
    if let Some(err) = refusal {
        state.store.audit(now, &user.actor(), "message.approve_refused", Some(&target), &json!({"reason": err.code()})).await?;
        return Err(err);
    }
    if !state.store.approve_message(id, user.id, now).await? {
        return Err(AppError::WrongState("This message has been approved at the same moment by someone else.".into()));
    }
    state.engine.wake_fanout.notify_waiters();
    state.store.audit(now, &user.actor(), "message.approve", Some(&target), &json!({})).await?;
    super::information::view(state, user, id).await
}
