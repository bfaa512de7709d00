//! A resident's reply through their personal link — to an enquiry or, as a tip, to an urgent
//! action: the link checked, the text and call-back number validated, photos re-encoded into the
//! photo folder, the reply and the acknowledgement written in one transaction, and audited.

use super::Answers;
use super::photos::{self, PhotoStore};
use super::texts;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::enquiry::{MAX_REPLY_PHOTOS, MAX_REPLY_TEXT};
use buurtnet_domain::{Channel, ChannelSet, FieldErrors, Language, Topic};
use buurtnet_store::actions::{ActionRow, NewMessage};
use buurtnet_store::enquiries::EnquiryRow;
use buurtnet_store::replies::{DirectMessage, NewReply, ReplyPhotoRow, ReplyTokenRow};
use serde_json::json;

/// Messages to one resident about their reply go out at the priority of enquiries.
pub const DIRECT_PRIORITY: i64 = 6;

/// Why a reply link does not open the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// Never issued (or mistyped, or forged).
    Unknown,
    Expired,
    /// A reply was already sent with it.
    Used,
    /// The enquiry is closed (or the action has ended).
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

/// What a working reply link answers, as the reply page shows it.
#[derive(Debug, Clone)]
pub enum Subject {
    Enquiry(EnquiryRow),
    Action(ActionRow),
}

impl Subject {
    pub fn answers(&self) -> Answers {
        match self {
            Subject::Enquiry(e) => Answers::Enquiry(e.id),
            Subject::Action(a) => Answers::Action(a.id),
        }
    }

    /// Whether replies are still taken: a sent (not closed) enquiry, an active action.
    fn open(&self) -> bool {
        match self {
            Subject::Enquiry(e) => e.state == "sent",
            Subject::Action(a) => a.state == "active",
        }
    }

    /// The thread a message about a reply to this joins.
    fn thread(&self) -> String {
        match self {
            Subject::Enquiry(e) => format!("enquiry-{}", e.id),
            Subject::Action(a) => format!("action-{}", a.id),
        }
    }
}

/// What a reply link answers, or why the link does not work.
pub async fn open_link(state: &AppState, token: &str) -> AppResult<Result<(Subject, ReplyTokenRow), LinkProblem>> {
    let token = token.trim();
    if token.len() != 43 || !token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Ok(Err(LinkProblem::Unknown));
    }
    let Some(row) = state.store.reply_token(&crate::auth::token_hash(token)).await? else {
        return Ok(Err(LinkProblem::Unknown));
    };
    let subject = match row.answers() {
        Some(Answers::Enquiry(id)) => state.store.enquiry(id).await?.map(Subject::Enquiry),
        Some(Answers::Action(id)) => state.store.action(id).await?.map(Subject::Action),
        None => None,
    };
    let Some(subject) = subject else {
        return Ok(Err(LinkProblem::Unknown));
    };
    if row.used_at.is_some() {
        return Ok(Err(LinkProblem::Used));
    }
    if row.expires_at <= state.now_ms() {
        return Ok(Err(LinkProblem::Expired));
    }
    if !subject.open() {
        return Ok(Err(LinkProblem::Closed));
    }
    Ok(Ok((subject, row)))
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
    let (subject, link) = open_link(state, token).await?.map_err(SubmitError::Link)?;
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
        message: direct_message("reply_ack", texts::acknowledgement(&subject.thread()), now, state),
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
    let about = match subject.answers() {
        Answers::Enquiry(e) => {
            metrics::counter!("buurtnet_enquiry_replies_total").increment(1);
            json!({"enquiry": e, "photos": encoded.len()})
        }
        Answers::Action(a) => {
            metrics::counter!("buurtnet_action_tips_total").increment(1);
            json!({"action": a, "photos": encoded.len()})
        }
    };
    state.store.audit(now, "resident", "reply.create", Some(&format!("reply:{id}")), &about).await?;
    Ok(id)
}

/// A message to one resident about their reply (acknowledgement, answer): e-mail, at the
/// priority of enquiries (below urgent actions, above information).
pub fn direct_message(kind: &str, content: String, now: i64, state: &AppState) -> NewMessage {
    NewMessage {
        action_id: None,
        kind: kind.into(),
        status: "actual".into(),
        priority: DIRECT_PRIORITY,
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
