//! The handler's work on replies to an enquiry (stored in the one replies model, see
//! [`crate::replies`]): the inbox with filters, classification, forwarding to the investigating
//! team, and the final answer that makes a reply handled.

use super::requests::visible_enquiry;
use super::texts;
use super::views::{RepliesView, ReplyView};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::replies::model::direct_message;
use crate::replies::photos::PhotoStore;
use crate::replies::view::{overdue, reply_json};
use crate::state::AppState;
use buurtnet_delivery::provider::{Attachment, Content, Destination, Outcome, Outgoing, Urgency};
use buurtnet_domain::enquiry::Classification;
use buurtnet_domain::{Channel, FieldErrors, Operation};
use buurtnet_store::enquiries::{DirectMessage, EnquiryRow, ReplyRow};
use serde_json::{Value, json};
use std::time::Duration;

const MAX_ANSWER: usize = 5000;

/// A reply the user may see, with its enquiry.
async fn visible_reply(state: &AppState, user: &StaffUser, id: i64) -> AppResult<(ReplyRow, EnquiryRow)> {
    let not_found = || AppError::NotFound(format!("There is no reply {id}."));
    let r = state.store.reply(id).await?.ok_or_else(not_found)?;
    // A tip answers an action: it is no enquiry's reply to handle.
    let enquiry = r.enquiry_id.ok_or_else(not_found)?;
    let e = visible_enquiry(state, user, enquiry).await.map_err(|_| not_found())?;
    Ok((r, e))
}

/// `GET /api/v1/enquiries/{id}/replies?status=new|classified|answered|overdue`.
pub async fn list(state: &AppState, user: &StaffUser, enquiry: i64, filter: Option<&str>) -> AppResult<RepliesView> {
    user.require(Operation::ReadReplies)?;
    if let Some(f) = filter
        && !matches!(f, "new" | "classified" | "answered" | "overdue")
    {
        return Err(AppError::invalid("status", "invalid_value", "Use one of new, classified, answered, overdue."));
    }
    let e = visible_enquiry(state, user, enquiry).await?;
    let mut out = Vec::new();
    for r in state.store.replies(e.id).await? {
        let keep = match filter {
            None => true,
            Some("overdue") => overdue(state, &r),
            Some(s) => r.status == s,
        };
        if keep {
            out.push(reply_json(state, &r).await?);
        }
    }
    state.store.audit(state.now_ms(), &user.actor(), "replies.read", Some(&format!("enquiry:{}", e.id)), &json!({})).await?;
    Ok(RepliesView { enquiry_id: e.id, replies: out })
}

/// `POST /api/v1/replies/{id}/classify` (`classification`).
pub async fn classify(state: &AppState, user: &StaffUser, id: i64, body: &Value) -> AppResult<ReplyView> {
    user.require(Operation::HandleReplies)?;
    let (r, _) = visible_reply(state, user, id).await?;
    let c = body.get("classification").and_then(Value::as_str).and_then(Classification::parse).ok_or_else(|| {
        AppError::invalid("classification", "invalid_value", format!("Use one of {}.", Classification::choices()))
    })?;
    let now = state.now_ms();
    state.store.classify_reply(r.id, c.as_str(), now).await?;
    state
        .store
        .audit(now, &user.actor(), "reply.classify", Some(&format!("reply:{}", r.id)), &json!({"classification": c.as_str()}))
        .await?;
    let r = state.store.reply(id).await?.ok_or_else(|| AppError::NotFound(format!("There is no reply {id}.")))?;
    reply_json(state, &r).await
}

/// `POST /api/v1/replies/{id}/forward`: the reply and its photos by e-mail to the
/// investigating team's configured address. Sent at once; when the mail server does not take
/// it, the handler is told and nothing is recorded (they try again).
pub async fn forward(state: &AppState, user: &StaffUser, id: i64) -> AppResult<ReplyView> {
    user.require(Operation::HandleReplies)?;
    let (r, e) = visible_reply(state, user, id).await?;
    let addresses = &state.config.enquiries.forward_addresses;
    let to = addresses.get(&e.municipality).or_else(|| addresses.get(&e.scope)).cloned().ok_or_else(|| {
        AppError::invalid(
            "team",
            "no_forward_address",
            format!("No forwarding address is configured for {} (enquiries.forward_addresses).", e.municipality),
        )
    })?;
    let store = PhotoStore::new(state.config.photo_dir());
    let mut attachments = Vec::new();
    let photo_rows = state.store.reply_photos(r.id).await?;
    for p in &photo_rows {
        match store.get(&p.sha256).await {
            Ok(bytes) => attachments.push(Attachment {
                filename: format!("reactie-{}-foto-{}.jpg", r.id, p.position + 1),
                content_type: "image/jpeg".into(),
                bytes,
            }),
            Err(err) => return Err(AppError::Internal(format!("reply photo {} is unreadable: {err}", p.id))),
        }
    }
    let (subject, text) = texts::forward_text(&e, &r, attachments.len());
    let msg = Outgoing {
        delivery_id: 0,
        reference: format!("fwd{}x{}", r.id, crate::secrets::random_hex(4)),
        thread: format!("enquiry-{}", e.id),
        channel: Channel::Email,
        to: Destination::Email(to),
        language: "nl".into(),
        content: Content { title: subject, text, attachments, ..Content::default() },
        urgency: Urgency::Normal,
        time_to_live: Duration::from_secs(3600),
    };
    let provider = state.providers.get(Channel::Email).clone();
    match tokio::time::timeout(Duration::from_secs(30), provider.send(&msg)).await {
        Ok(Outcome::Accepted { .. }) => {}
        Ok(other) => {
            tracing::warn!(reply.id = r.id, outcome = ?other, "forwarding a reply failed");
            return Err(AppError::Unavailable("The e-mail to the team could not be sent now; please try again.".into()));
        }
        Err(_) => return Err(AppError::Unavailable("The mail server did not answer in time; please try again.".into())),
    }
    let now = state.now_ms();
    state.store.mark_reply_forwarded(r.id, now).await?;
    state
        .store
        .audit(now, &user.actor(), "reply.forward", Some(&format!("reply:{}", r.id)), &json!({"photos": photo_rows.len()}))
        .await?;
    let r = state.store.reply(id).await?.ok_or_else(|| AppError::NotFound(format!("There is no reply {id}.")))?;
    reply_json(state, &r).await
}

/// `POST /api/v1/replies/{id}/answer` (`body`, and/or `template`: used, other_case,
/// not_relevant): the final answer, e-mailed to the resident; the reply is then handled.
pub async fn answer(state: &AppState, user: &StaffUser, id: i64, body: &Value) -> AppResult<ReplyView> {
    user.require(Operation::HandleReplies)?;
    let (r, e) = visible_reply(state, user, id).await?;
    if r.status == "answered" {
        return Err(AppError::WrongState("This reply has been answered already.".into()));
    }
    let mut errors = FieldErrors::new();
    let free = crate::alerting::actions::text_field(body, "body", MAX_ANSWER, false, &mut errors);
    let template = match body.get("template").and_then(Value::as_str) {
        Some(t) => match texts::answer_template(t) {
            Some(pair) => Some(pair),
            None => {
                errors.add("template", "invalid_value", format!("Use one of {}.", texts::ANSWER_TEMPLATES));
                None
            }
        },
        None => None,
    };
    if free.is_none() && template.is_none() && errors.is_empty() {
        errors.add("body", "required", "Write the answer to the resident ('body'), or choose a 'template'.");
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let join = |t: Option<&str>| match (t, free.as_deref()) {
        (Some(t), Some(f)) => format!("{t}\n\n{f}"),
        (Some(t), None) => t.to_string(),
        (None, Some(f)) => f.to_string(),
        (None, None) => String::new(),
    };
    let (nl, en) = (join(template.map(|t| t.0)), join(template.map(|t| t.1)));
    let now = state.now_ms();
    let message = DirectMessage {
        message: direct_message("reply_answer", texts::answer_content(e.id, &nl, &en), now, state),
        participant_id: r.participant_id,
        channel: "email",
    };
    let stored_answer = if r.language == "en" { &en } else { &nl };
    if !state.store.answer_reply(r.id, stored_answer, message, now).await? {
        return Err(AppError::WrongState("This reply has been answered already.".into()));
    }
    state.engine.wake_workers.notify_waiters();
    state.store.audit(now, &user.actor(), "reply.answer", Some(&format!("reply:{}", r.id)), &json!({})).await?;
    let r = state.store.reply(id).await?.ok_or_else(|| AppError::NotFound(format!("There is no reply {id}.")))?;
    reply_json(state, &r).await
}
