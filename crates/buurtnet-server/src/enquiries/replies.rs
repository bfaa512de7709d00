//! Replies: a resident's reply through their personal link (checked, photos re-encoded into
//! the photo folder, the acknowledgement written with it in one transaction), and the
//! handler's work on it — the inbox with filters, classification, forwarding to the
//! investigating team, and the final answer that makes a reply handled.

use super::photos::{self, PhotoStore};
use super::requests::visible_enquiry;
use super::texts;
use super::views::{RepliesView, ReplyPhotoView, ReplyView, TipsView};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_delivery::provider::{Attachment, Content, Destination, Outcome, Outgoing, Urgency};
use buurtnet_domain::Operation;
use buurtnet_domain::enquiry::{Classification, MAX_REPLY_PHOTOS, MAX_REPLY_TEXT, is_overdue};
use buurtnet_domain::{Channel, ChannelSet, FieldErrors, Language, Topic};
use buurtnet_store::actions::NewMessage;
use buurtnet_store::enquiries::{DirectMessage, EnquiryRow, NewReply, ReplyPhotoRow, ReplyRow, ReplyTokenRow};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::time::Duration;

const MAX_ANSWER: usize = 5000;

/// Why a reply link does not open the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Never issued (or mistyped, or forged).
    Unknown,
    Expired,
    /// A reply was already sent with it.
    Used,
    /// The enquiry is closed.
    Closed,
}

impl LinkProblem {
    pub fn code(self) -> &'static str {
        match self {
            LinkProblem::Unknown => "link_unknown",
            LinkProblem::Expired => "link_expired",
            LinkProblem::Used => "link_used",
            LinkProblem::Closed => "enquiry_closed",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            LinkProblem::Unknown => 404,
            LinkProblem::Used => 409,
            LinkProblem::Expired | LinkProblem::Closed => 410,
        }
    }

    pub fn message(self, lang: Language) -> &'static str {
        match (self, lang) {
            (LinkProblem::Unknown, Language::Nl) => {
                "Deze link is niet geldig. Gebruik de link uit uw eigen e-mail of app-bericht."
            }
            (LinkProblem::Unknown, Language::En) => "This link is not valid. Use the link from your own e-mail or app message.",
            (LinkProblem::Expired, Language::Nl) => "Deze link is verlopen. Heeft u nog informatie? Bel de politie op 0900-8844.",
            (LinkProblem::Expired, Language::En) => {
                "This link has expired. Do you still have information? Call the police on 0900-8844."
            }
            (LinkProblem::Used, Language::Nl) => {
                "Met deze link is al gereageerd. Heeft u meer informatie? Bel de politie op 0900-8844."
            }
            (LinkProblem::Used, Language::En) => {
                "A reply has already been sent with this link. More information? Call the police on 0900-8844."
            }
            (LinkProblem::Closed, Language::Nl) => {
                "Dit buurtonderzoek is afgesloten. Heeft u nog informatie? Bel de politie op 0900-8844."
            }
            (LinkProblem::Closed, Language::En) => {
                "This enquiry has been closed. Do you still have information? Call the police on 0900-8844."
            }
        }
    }
}

/// The enquiry behind a reply link, or why the link does not work.
pub async fn open_link(state: &AppState, token: &str) -> AppResult<Result<(EnquiryRow, ReplyTokenRow), LinkProblem>> {
    let token = token.trim();
    if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(Err(LinkProblem::Unknown));
    }
    let Some(row) = state.store.reply_token(&crate::auth::token_hash(token)).await? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let Some(e) = state.store.enquiry(row.enquiry_id).await? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    if row.used_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if row.expires_at <= state.now_ms() {
        return Ok(Err(LinkProblem::Expired));
    }
    if e.state != "sent" {
        return Ok(Err(LinkProblem::Closed));
    }
    Ok(Ok((e, row)))
}

/// What a resident sent.
#[derive(Debug, Default)]
pub struct ReplyForm {
    pub text: String,
    pub phone: String,
    /// (file name as sent, bytes)
    pub photos: Vec<(String, Vec<u8>)>,
    pub language: Language,
}

/// Why a reply was not stored.
#[derive(Debug)]
pub enum SubmitError {
    Link(LinkProblem),
    Invalid(FieldErrors),
    Other(AppError),
}

impl From<AppError> for SubmitError {
    fn from(e: AppError) -> Self {
        SubmitError::Other(e)
    }
}

impl From<buurtnet_store::StoreError> for SubmitError {
    fn from(e: buurtnet_store::StoreError) -> Self {
        SubmitError::Other(e.into())
    }
}

/// Stores a resident's reply: the link must work, the text be there (at most 5,000
/// characters), at most 5 photos that really are JPEG, PNG or WebP photos within the limits,
/// and a call-back number that is one. Nothing is stored unless all of it is right.
pub async fn submit(state: &AppState, token: &str, form: ReplyForm) -> Result<i64, SubmitError> {
    let (enquiry, link) = open_link(state, token).await?.map_err(SubmitError::Link)?;
    let nl = form.language == Language::Nl;
    let mut errors = FieldErrors::new();
    let text = form.text.trim().to_string();
    if text.is_empty() {
        errors.add("text", "required", if nl { "Schrijf uw reactie." } else { "Write your reply." });
    } else if text.chars().count() > MAX_REPLY_TEXT {
        errors.add(
            "text",
            "too_long",
            if nl {
                format!("Uw reactie is te lang (ten hoogste {MAX_REPLY_TEXT} tekens).")
            } else {
                format!("Your reply is too long (at most {MAX_REPLY_TEXT} characters).")
            },
        );
    }
    let phone = match form.phone.trim() {
        "" => None,
        p => match buurtnet_domain::contact::Phone::parse(p) {
            Some(ph) => Some(ph.as_str().to_string()),
            None => {
                errors.add(
                    "phone",
                    "invalid_phone",
                    if nl { "Dit telefoonnummer klopt niet." } else { "This phone number is not valid." },
                );
                None
            }
        },
    };
    let photos_in: Vec<(String, Vec<u8>)> = form.photos.into_iter().filter(|(_, b)| !b.is_empty()).collect();
    if photos_in.len() > MAX_REPLY_PHOTOS {
        errors.add(
            "photos",
            "too_many_photos",
            if nl {
                format!("Stuur ten hoogste {MAX_REPLY_PHOTOS} foto's.")
            } else {
                format!("Send at most {MAX_REPLY_PHOTOS} photos.")
            },
        );
    }
    let mut encoded = Vec::new();
    if errors.is_empty() {
        for (i, (name, bytes)) in photos_in.into_iter().enumerate() {
            let slot =
                state.photo_slots.clone().acquire_owned().await.map_err(|e| AppError::Internal(format!("photo slots: {e}")))?;
            let result = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                photos::reencode(&bytes)
            })
            .await
            .map_err(|e| AppError::Internal(format!("photo task failed: {e}")))?;
            match result {
                Ok(p) => encoded.push(p),
                Err(e) => {
                    let shown: String = name.chars().filter(|c| !c.is_control()).take(80).collect();
                    errors.add(format!("photos[{i}]"), "invalid_photo", format!("{shown}: {}", e.0));
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(SubmitError::Invalid(errors));
    }
    let now = state.now_ms();
    let store = PhotoStore::new(state.config.photo_dir());
    let mut rows = Vec::new();
    for (i, p) in encoded.iter().enumerate() {
        let sha = store.put(&p.jpeg).await.map_err(|e| AppError::Internal(format!("storing a reply photo failed: {e}")))?;
        rows.push(ReplyPhotoRow {
            id: crate::secrets::random_hex(16),
            reply_id: 0,
            position: i as i64,
            sha256: sha,
            width: i64::from(p.width),
            height: i64::from(p.height),
            bytes: p.jpeg.len() as i64,
            created_at: now,
        });
    }
    // An anonymous tip (from the resident web app without an account) has nobody to e-mail.
    let ack = (link.participant_id != 0).then(|| DirectMessage {
        message: direct_message("reply_ack", texts::acknowledgement_content(enquiry.id), now, state),
        participant_id: link.participant_id,
        channel: "email",
    });
    let reply =
        NewReply { token_hash: link.token_hash.clone(), text, phone, language: form.language.as_str().into(), photos: rows, now };
    let Some(id) = state.store.insert_reply(&reply, ack).await? else {
        // Used (or expired) between the check and now.
        return Err(SubmitError::Link(LinkProblem::Used));
    };
    state.engine.wake_workers.notify_waiters();
    metrics::counter!("buurtnet_enquiry_replies_total").increment(1);
    state
        .store
        .audit(
            now,
            "resident",
            "reply.create",
            Some(&format!("reply:{id}")),
            &json!({"enquiry": enquiry.id, "photos": encoded.len()}),
        )
        .await?;
    Ok(id)
}

/// A message to one resident about their reply (acknowledgement, answer).
fn direct_message(kind: &str, content: String, now: i64, state: &AppState) -> NewMessage {
    NewMessage {
        action_id: None,
        kind: kind.into(),
        status: "actual".into(),
        priority: super::requests::PRIORITY,
        override_quiet: false,
        channels: [Channel::Email].into_iter().collect::<ChannelSet>().bits(),
        topic: Topic::Enquiry.as_str().into(),
        area: None,
        scope: "NL".into(),
        content,
        created_by: 0,
        send_at: now,
        valid_until: now + state.config.enquiries.validity_hours.max(1) * 3_600_000 * 7,
    }
}

/// A reply the user may see, with its enquiry.
async fn visible_reply(state: &AppState, user: &StaffUser, id: i64) -> AppResult<(ReplyRow, EnquiryRow)> {
    let not_found = || AppError::NotFound(format!("There is no reply {id}."));
    let r = state.store.reply(id).await?.ok_or_else(not_found)?;
    let e = visible_enquiry(state, user, r.enquiry_id).await.map_err(|_| not_found())?;
    Ok((r, e))
}

fn overdue(state: &AppState, r: &ReplyRow) -> bool {
    let received = DateTime::<Utc>::from_timestamp_millis(r.created_at).unwrap_or_default();
    is_overdue(received, r.status == "answered", state.clock.now())
}

pub(crate) async fn reply_json(state: &AppState, r: &ReplyRow) -> AppResult<ReplyView> {
    use crate::alerting::views::iso;
    let photos = state
        .store
        .reply_photos(r.id)
        .await?
        .into_iter()
        .map(|p| ReplyPhotoView {
            url: format!("{}/api/v1/reply-photos/{}", state.config.public_url(), p.id),
            id: p.id,
            width: p.width,
            height: p.height,
            bytes: p.bytes,
        })
        .collect();
    Ok(ReplyView {
        id: r.id,
        enquiry_id: r.enquiry_id,
        text: r.text.clone(),
        phone: r.phone.clone(),
        language: r.language.clone(),
        status: r.status.clone(),
        classification: r.classification.clone(),
        forwarded_at: r.forwarded_at.and_then(iso),
        answer: r.answer.clone(),
        answered_at: r.answered_at.and_then(iso),
        received_at: iso(r.created_at),
        overdue: overdue(state, r),
        photos,
    })
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

/// `GET /api/v1/actions/{id}/tips`: the tips residents reached by the action sent, newest
/// last, for the dispatchers of the action's control room only.
pub async fn tips(state: &AppState, user: &StaffUser, action_id: i64) -> AppResult<TipsView> {
    user.require(Operation::ReadTips)?;
    let action = crate::alerting::actions::visible(state, user, action_id).await?;
    let mut out = Vec::new();
    if let Some(channel) = state.store.tips_of_action(action.id).await? {
        for r in state.store.replies(channel.id).await? {
            out.push(reply_json(state, &r).await?);
        }
    }
    state.store.audit(state.now_ms(), &user.actor(), "tips.read", Some(&format!("action:{}", action.id)), &json!({})).await?;
    Ok(TipsView { action_id: action.id, tips: out })
}

/// `GET /api/v1/reply-photos/{id}`: a reply photo for staff who may see its enquiry (or, for a
/// tip, its action); every view is audited.
pub async fn photo(state: &AppState, user: &StaffUser, id: &str) -> AppResult<Vec<u8>> {
    let not_found = || AppError::NotFound("There is no such photo.".into());
    let p = state.store.reply_photo(id).await?.ok_or_else(not_found)?;
    let r = state.store.reply(p.reply_id).await?.ok_or_else(not_found)?;
    let e = state.store.enquiry(r.enquiry_id).await?.ok_or_else(not_found)?;
    match e.action_id {
        Some(action) => {
            user.require(Operation::ReadTips)?;
            crate::alerting::actions::visible(state, user, action).await.map_err(|_| not_found())?;
        }
        None => {
            user.require(Operation::ReadReplies)?;
            visible_reply(state, user, p.reply_id).await.map_err(|_| not_found())?;
        }
    }
    let bytes = PhotoStore::new(state.config.photo_dir()).get(&p.sha256).await.map_err(|_| not_found())?;
    state
        .store
        .audit(
            state.now_ms(),
            &user.actor(),
            "reply_photo.view",
            Some(&format!("reply_photo:{}", p.id)),
            &json!({"reply": p.reply_id}),
        )
        .await?;
    Ok(bytes)
}

/// The retention rule: photos of enquiries closed longer than `photo_retention_days` ago are
/// deleted (rows and files). Returns how many files went.
pub async fn apply_retention(state: &AppState) -> anyhow::Result<usize> {
    let cutoff = state.now_ms() - state.config.enquiries.photo_retention_days.max(0) * 86_400_000;
    let unused = state.store.expire_reply_photos(cutoff).await?;
    let store = PhotoStore::new(state.config.photo_dir());
    for sha in &unused {
        store.delete(sha).await?;
    }
    if !unused.is_empty() {
        tracing::info!(files = unused.len(), "reply photos past their retention deleted");
        state.store.audit(state.now_ms(), "system", "reply_photo.retention", None, &json!({"files": unused.len()})).await?;
    }
    Ok(unused.len())
}
