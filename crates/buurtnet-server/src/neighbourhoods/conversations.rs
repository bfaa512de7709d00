//! Conversations: members start them (a category, their street or neighbourhood), reply, invite
//! the neighbourhood officer or the municipality into a nuisance or trouble conversation, and
//! close their own. Officials open conversations for a neighbourhood (or a street of it) in
//! their scope and read and answer only those they were added to: the store's queries decide
//! that (`buurtnet_store::conversations`), and every read by an official is in the audit log.

use super::membership::{self, Resident};
use super::requests::{InviteBody, MessageBody, NewConversationBody, StaffConversationBody};
use super::views;
use crate::alerting::views::iso;
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::App;
use buurtnet_domain::neighbourhood::{Audience, Category, MAX_TEXT_CHARS, MAX_TITLE_CHARS, Official, text};
use buurtnet_domain::policy::official_of;
use buurtnet_domain::{AreaLevel, FieldErrors, Language};
use buurtnet_store::conversations::{Author, ConversationMessageRow, NewConversation, Reader, SeenConversation};
use serde_json::json;

/// How many conversations a list shows.
const LIST_LIMIT: i64 = 100;

fn not_found() -> AppError {
    AppError::NotFound("No such conversation, or it is not addressed to you.".into())
}

fn closed() -> AppError {
    AppError::WrongState("This conversation has been closed by the one who started it.".into())
}

fn category(raw: Option<&str>, errors: &mut FieldErrors) -> Option<Category> {
    let c = Category::parse(raw.unwrap_or_default());
    if c.is_none() {
        errors.add("category", "invalid_choice", format!("Choose one of: {}.", Category::choices()));
    }
    c
}

pub fn summary(s: &SeenConversation, reader: Reader) -> views::ConversationSummary {
    let c = &s.conversation;
    let started_by_me = match reader {
        Reader::Member(p) => c.started_by_participant == Some(p),
        Reader::Staff(u) => c.started_by_staff == Some(u),
    };
    views::ConversationSummary {
        id: c.id,
        category: c.category.clone(),
        audience: c.audience.clone(),
        neighbourhood: c.neighbourhood_code.clone(),
        street: c.street.clone(),
        title: c.title.clone(),
        closed: c.closed_at.is_some(),
        may_post: s.may_post && c.closed_at.is_none(),
        started_by_me,
        created_at: iso(c.created_at),
        updated_at: iso(c.updated_at),
    }
}

fn message(m: &ConversationMessageRow, lang: Language) -> views::ConversationMessage {
    let official = m.official.as_deref().and_then(Official::parse);
    let (author, kind) = match official {
        Some(o) => (o.label(lang).to_string(), o.as_str().to_string()),
        None => {
            let former = if lang == Language::Nl { "Oud-buurtbewoner" } else { "Former neighbour" };
            (m.author_name.clone().unwrap_or_else(|| former.to_string()), "resident".to_string())
        }
    };
    views::ConversationMessage {
        id: m.id,
        author,
        author_kind: kind,
        street: if official.is_some() { None } else { m.author_street.clone() },
        body: m.body.clone(),
        created_at: iso(m.created_at),
    }
}

async fn conversation_view(app: &App, reader: Reader, id: i64, lang: Language) -> AppResult<views::ConversationView> {
    let seen = app.store.conversation_for(reader, id).await?.ok_or_else(not_found)?;
    let messages = app.store.conversation_messages_for(reader, id).await?;
    Ok(views::ConversationView {
        conversation: summary(&seen, reader),
        messages: messages.iter().map(|m| message(m, lang)).collect(),
    })
}

/// The conversations a member reads, newest first.
pub async fn list_for_member(app: &App, r: &Resident, device_id: i64) -> AppResult<views::ConversationList> {
    membership::member(app, r, device_id).await?;
    let reader = Reader::Member(r.participant_id);
    let rows = app.store.conversations_for(reader, LIST_LIMIT).await?;
    Ok(views::ConversationList { conversations: rows.iter().map(|s| summary(s, reader)).collect() })
}

/// A member starts a conversation; returns its id.
pub async fn start_as_member(app: &App, r: &Resident, device_id: i64, body: NewConversationBody) -> AppResult<i64> {
    membership::member(app, r, device_id).await?;
    let mut errors = FieldErrors::new();
    let category = category(body.category.as_deref(), &mut errors);
    let audience = match Audience::parse(body.audience.as_deref().unwrap_or_default()) {
        Some(a) if a.is_available() => Some(a),
        Some(_) => {
            errors.add(
                "audience",
                "not_yet_available",
                "Alarm neighbours are not available yet; choose street or neighbourhood.",
            );
            None
        }
        None => {
            errors.add("audience", "invalid_choice", format!("Choose one of: {}.", Audience::choices()));
            None
        }
    };
    let title = text("title", body.title.as_deref(), MAX_TITLE_CHARS, &mut errors);
    let text_body = text("body", body.body.as_deref(), MAX_TEXT_CHARS, &mut errors);
    let own = r.neighbourhoods();
    let home = match body.neighbourhood.as_deref().map(str::trim) {
        Some(code) => r.homes.iter().find(|h| h.neighbourhood_code == code),
        None if own.len() == 1 => r.homes.first(),
        None => None,
    };
    if home.is_none() {
        errors.add("neighbourhood", "invalid_choice", format!("Choose one of your neighbourhoods: {}.", own.join(", ")));
    }
    let street = home.and_then(|h| r.street_in(&h.neighbourhood_code, &h.municipality_code, None));
    if audience == Some(Audience::Street) && street.is_none() {
        errors.add("audience", "no_street", "We do not know the street of your home address; choose neighbourhood.");
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let (Some(category), Some(audience), Some(title), Some(text_body), Some(home)) = (category, audience, title, text_body, home)
    else {
        return Err(AppError::Internal("validated conversation lost a field".into()));
    };
    let new = NewConversation {
        category: category.as_str().into(),
        audience: audience.as_str().into(),
        neighbourhood_code: home.neighbourhood_code.clone(),
        municipality_code: home.municipality_code.clone(),
        street: if audience == Audience::Street { street.clone() } else { None },
        title,
        body: text_body,
        author: Author::Member { participant_id: r.participant_id, street },
        now: app.now_ms(),
    };
    Ok(app.store.start_conversation(&new).await?)
}

/// A conversation a member reads, with its messages.
pub async fn view_for_member(app: &App, r: &Resident, device_id: i64, id: i64) -> AppResult<views::ConversationView> {
    membership::member(app, r, device_id).await?;
    conversation_view(app, Reader::Member(r.participant_id), id, r.language).await
}

fn message_text(body: MessageBody) -> AppResult<String> {
    let mut errors = FieldErrors::new();
    let t = text("body", body.body.as_deref(), MAX_TEXT_CHARS, &mut errors);
    errors.into_result(t)?.ok_or_else(|| AppError::Internal("validated message lost its text".into()))
}

/// A member's reply; returns its id.
pub async fn post_as_member(app: &App, r: &Resident, device_id: i64, id: i64, body: MessageBody) -> AppResult<i64> {
    membership::member(app, r, device_id).await?;
    let text_body = message_text(body)?;
    let seen = app.store.conversation_for(Reader::Member(r.participant_id), id).await?.ok_or_else(not_found)?;
    let c = &seen.conversation;
    if c.closed_at.is_some() {
        return Err(closed());
    }
    if !seen.may_post {
        return Err(AppError::Forbidden("You follow this neighbourhood and read along; only its residents post here.".into()));
    }
    let street = r.street_in(&c.neighbourhood_code, &c.municipality_code, c.street.as_deref());
    let author = Author::Member { participant_id: r.participant_id, street };
    app.store.add_conversation_message(id, &author, &text_body, app.now_ms()).await?.ok_or_else(not_found)
}

/// A member invites the neighbourhood officer or the municipality into a nuisance or trouble
/// conversation they take part in: every such official whose scope covers the neighbourhood.
pub async fn invite(app: &App, r: &Resident, device_id: i64, id: i64, body: InviteBody) -> AppResult<views::Invited> {
    membership::member(app, r, device_id).await?;
    let official = Official::parse(body.official.as_deref().unwrap_or_default())
        .ok_or_else(|| AppError::invalid("official", "invalid_choice", format!("Choose one of: {}.", Official::choices())))?;
    let seen = app.store.conversation_for(Reader::Member(r.participant_id), id).await?.ok_or_else(not_found)?;
    let c = &seen.conversation;
    if !Category::parse(&c.category).is_some_and(Category::admits_officials) {
        return Err(AppError::invalid(
            "official",
            "not_for_category",
            "The police and the municipality can only be invited into nuisance and trouble conversations.",
        ));
    }
    if c.closed_at.is_some() {
        return Err(closed());
    }
    if !seen.may_post {
        return Err(AppError::Forbidden("Only the residents taking part in this conversation can invite an official.".into()));
    }
    let index = app.areas.current();
    let place = index.place_of(&c.neighbourhood_code);
    let staff: Vec<i64> = app
        .store
        .staff_with_role(official.role().as_str())
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .filter(|u| buurtnet_domain::staff::Scope::parse(&u.scope).is_some_and(|s| s.covers(&place)))
        .map(|u| u.id)
        .collect();
    if staff.is_empty() {
        return Err(AppError::WrongState(format!(
            "No {} takes part in buurtnet for this neighbourhood yet.",
            official.label(Language::En).to_lowercase()
        )));
    }
    let added = app.store.add_conversation_officials(id, &staff, official.as_str(), Some(r.participant_id), app.now_ms()).await?;
    app.store
        .audit(
            app.now_ms(),
            "resident",
            "conversation.invite",
            Some(&format!("conversation:{id}")),
            &json!({"official": official.as_str(), "added": added}),
        )
        .await?;
    Ok(views::Invited { official: official.as_str().into(), added })
}

/// The starter closes their conversation.
pub async fn close(app: &App, reader: Reader, id: i64) -> AppResult<()> {
    if app.store.close_conversation(id, reader, app.now_ms()).await? {
        return Ok(());
    }
    let seen = app.store.conversation_for(reader, id).await?.ok_or_else(not_found)?;
    if seen.conversation.closed_at.is_some() {
        return Err(closed());
    }
    Err(AppError::Forbidden("Only the one who started this conversation can close it.".into()))
}

/// An official's own conversations (none for anyone else) and the counts per category in one's
/// scope; the list is audited as a read.
pub async fn list_for_staff(app: &App, user: &StaffUser) -> AppResult<views::StaffConversations> {
    let index = app.areas.current();
    let counts = app
        .store
        .conversation_counts()
        .await?
        .into_iter()
        .filter(|c| user.scope.covers(&index.place_of(&c.municipality_code)))
        .map(|c| views::CategoryCount { municipality: c.municipality_code, category: c.category, open: c.open, closed: c.closed })
        .collect();
    let reader = Reader::Staff(user.id);
    let rows = app.store.conversations_for(reader, LIST_LIMIT).await?;
    if !rows.is_empty() {
        let ids: Vec<i64> = rows.iter().map(|s| s.conversation.id).collect();
        app.store.audit(app.now_ms(), &user.actor(), "conversation.list", None, &json!({"conversations": ids})).await?;
    }
    Ok(views::StaffConversations { counts, conversations: rows.iter().map(|s| summary(s, reader)).collect() })
}

/// The official taking part, or 403 for the roles that only see counts.
fn official(user: &StaffUser) -> AppResult<Official> {
    official_of(user.role).ok_or_else(|| {
        AppError::Forbidden(
            "Only the neighbourhood officer and the municipality take part in conversations; you see counts.".into(),
        )
    })
}

/// An official opens a conversation for a neighbourhood of their scope (or one street of it).
pub async fn start_as_staff(app: &App, user: &StaffUser, body: StaffConversationBody) -> AppResult<i64> {
    let official = official(user)?;
    let mut errors = FieldErrors::new();
    let category = category(body.category.as_deref(), &mut errors);
    let code = body.audience.as_deref().map(str::trim).unwrap_or_default().to_string();
    let index = app.areas.current();
    let place = index.place_of(&code);
    let municipality = match index.get(&code) {
        Some(a) if a.level == AreaLevel::Neighbourhood && place.municipality.is_some() => {
            if user.scope.covers(&place) {
                place.municipality.map(str::to_string)
            } else {
                errors.add("audience", "out_of_scope", "This neighbourhood is not in your scope.");
                None
            }
        }
        _ => {
            errors.add("audience", "invalid_neighbourhood", "Give the CBS code of a neighbourhood (BU…).");
            None
        }
    };
    let street = match body.street.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(_) => text("street", body.street.as_deref(), 100, &mut errors),
    };
    let title = text("title", body.title.as_deref(), MAX_TITLE_CHARS, &mut errors);
    let text_body = text("body", body.body.as_deref(), MAX_TEXT_CHARS, &mut errors);
    let (Some(category), Some(municipality), Some(title), Some(text_body)) = (category, municipality, title, text_body) else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let audience = if street.is_some() { Audience::Street } else { Audience::Neighbourhood };
    let new = NewConversation {
        category: category.as_str().into(),
        audience: audience.as_str().into(),
        neighbourhood_code: code.clone(),
        municipality_code: municipality,
        street,
        title,
        body: text_body,
        author: Author::Official { staff_user_id: user.id, official: official.as_str().into() },
        now: app.now_ms(),
    };
    let id = app.store.start_conversation(&new).await?;
    app.store
        .audit(
            app.now_ms(),
            &user.actor(),
            "conversation.start",
            Some(&format!("conversation:{id}")),
            &json!({"neighbourhood": code}),
        )
        .await?;
    Ok(id)
}

/// A conversation an official was added to and whose neighbourhood their scope still covers
/// (their scope may have changed since), or 404.
async fn added_conversation(app: &App, user: &StaffUser, id: i64) -> AppResult<SeenConversation> {
    let seen = app.store.conversation_for(Reader::Staff(user.id), id).await?.ok_or_else(not_found)?;
    if !user.scope.covers(&app.areas.current().place_of(&seen.conversation.neighbourhood_code)) {
        return Err(not_found());
    }
    Ok(seen)
}

/// A conversation an official was added to (404 otherwise), audited as a read.
pub async fn view_for_staff(app: &App, user: &StaffUser, id: i64) -> AppResult<views::ConversationView> {
    added_conversation(app, user, id).await?;
    let v = conversation_view(app, Reader::Staff(user.id), id, Language::Nl).await?;
    app.store.audit(app.now_ms(), &user.actor(), "conversation.read", Some(&format!("conversation:{id}")), &json!({})).await?;
    Ok(v)
}

/// An official's answer in a conversation they were added to.
pub async fn post_as_staff(app: &App, user: &StaffUser, id: i64, body: MessageBody) -> AppResult<i64> {
    let text_body = message_text(body)?;
    let seen = added_conversation(app, user, id).await?;
    if seen.conversation.closed_at.is_some() {
        return Err(closed());
    }
    let official = official(user).map_err(|_| not_found())?;
    let author = Author::Official { staff_user_id: user.id, official: official.as_str().into() };
    let message = app.store.add_conversation_message(id, &author, &text_body, app.now_ms()).await?.ok_or_else(not_found)?;
    app.store
        .audit(
            app.now_ms(),
            &user.actor(),
            "conversation.answer",
            Some(&format!("conversation:{id}")),
            &json!({"message": message}),
        )
        .await?;
    Ok(message)
}
