//! The request side: a requester fills in the enquiry (it lands in the team's shared queue),
//! another person approves it — which sends it through the delivery engine — or returns it
//! with a comment. The four-eyes rule holds in the domain, in the handler and in the store's
//! conditional update, so no race can slip past it.

use super::texts::{EnquiryFacts, enquiry_content};
use super::views::{EnquiryDeliveries, EnquiryList, EnquiryLocation, EnquiryPhoto, EnquirySummary, EnquiryView};
use super::visible;
use crate::alerting::actions::text_field;
use crate::alerting::views::{add_counts, iso};
use crate::auth::StaffUser;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use buurtnet_domain::Operation;
use buurtnet_domain::enquiry::{DEFAULT_RADIUS_M, DecisionRefused, EnquiryState, IncidentType, MAX_RADIUS_M, may_decide};
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_domain::{Channel, ChannelSet, FieldErrors, NL_BOUNDS, Topic};
use buurtnet_store::actions::NewMessage;
use buurtnet_store::enquiries::{EnquiryRow, NewEnquiry};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

const MAX_DESCRIPTION: usize = 2000;
const MAX_QUESTIONS: usize = 2000;
const MAX_COMMENT: usize = 1000;
/// Enquiries go out at a lower priority than urgent actions (0–2), above information (7).
pub const PRIORITY: i64 = 6;

/// `POST /api/v1/enquiries`.
pub async fn create(state: &AppState, user: &StaffUser, body: &Value) -> AppResult<EnquiryView> {
    user.require(Operation::RequestEnquiry)?;
    let now = state.clock.now();
    let mut errors = FieldErrors::new();
    let incident = match body.get("incident_type").and_then(Value::as_str) {
        Some(s) => {
            let t = IncidentType::parse(s);
            if t.is_none() {
                errors.add("incident_type", "invalid_value", format!("Use one of {}.", IncidentType::choices()));
            }
            t
        }
        None => {
            errors.add("incident_type", "required", format!("Give the incident type: one of {}.", IncidentType::choices()));
            None
        }
    };
    let occurred_at = match body.get("occurred_at").and_then(Value::as_str) {
        Some(s) => match DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()) {
            Ok(t) if t > now + chrono::Duration::minutes(5) => {
                errors.add("occurred_at", "in_the_future", "The incident cannot lie in the future.");
                None
            }
            Ok(t) if t < now - chrono::Duration::days(60) => {
                errors.add("occurred_at", "too_old", "An enquiry is for incidents of the last 60 days.");
                None
            }
            Ok(t) => Some(t),
            Err(_) => {
                errors.add(
                    "occurred_at",
                    "invalid_time",
                    "Give 'occurred_at' as an RFC 3339 time, e.g. 2026-11-22T03:30:00+01:00.",
                );
                None
            }
        },
        None => {
            errors.add("occurred_at", "required", "Give the date and time of the incident ('occurred_at').");
            None
        }
    };
    let location = match body.get("location") {
        Some(l) => match (l.get("lat").and_then(Value::as_f64), l.get("lon").and_then(Value::as_f64)) {
            (Some(lat), Some(lon)) if NL_BOUNDS.contains(lat, lon) => {
                let located = state.areas.current().locate(lat, lon);
                match located.municipality {
                    Some(gm) => {
                        let inside = user.scope.covers(&state.areas.current().place_of(&gm));
                        if inside {
                            Some((lat, lon, gm))
                        } else {
                            errors.add(
                                "location",
                                "outside_scope",
                                format!("This location lies outside your scope ({}).", user.scope.code()),
                            );
                            None
                        }
                    }
                    None => {
                        errors.add("location", "outside_nl", "This location lies in no Dutch municipality.");
                        None
                    }
                }
            }
            (Some(_), Some(_)) => {
                errors.add("location", "outside_nl", "This location lies outside the Netherlands.");
                None
            }
            _ => {
                errors.add("location", "invalid_location", "Give the location as {\"lat\": 52.15, \"lon\": 5.38}.");
                None
            }
        },
        None => {
            errors.add("location", "required", "Give the location of the incident: {\"lat\": …, \"lon\": …}.");
            None
        }
    };
    let radius = match body.get("radius_m") {
        None | Some(Value::Null) => Some(DEFAULT_RADIUS_M),
        Some(v) => match v.as_i64() {
            Some(r) if (50..=MAX_RADIUS_M).contains(&r) => Some(r),
            _ => {
                errors.add("radius_m", "out_of_range", format!("Give a radius of 50 to {MAX_RADIUS_M} metres."));
                None
            }
        },
    };
    let description = text_field(body, "description", MAX_DESCRIPTION, true, &mut errors);
    let questions = text_field(body, "questions", MAX_QUESTIONS, true, &mut errors);
    let (Some(incident), Some(occurred_at), Some((lat, lon, municipality)), Some(radius_m), Some(description), Some(questions)) =
        (incident, occurred_at, location, radius, description, questions)
    else {
        return Err(AppError::Validation(errors));
    };
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let now_ms = now.timestamp_millis();
    let id = state
        .store
        .insert_enquiry(&NewEnquiry {
            scope: user.scope.code().to_string(),
            municipality,
            incident_type: incident.as_str().into(),
            occurred_at: occurred_at.timestamp_millis(),
            lat,
            lon,
            radius_m,
            description,
            questions,
            requested_by: user.id,
            now: now_ms,
        })
        .await?;
    state.store.audit(now_ms, &user.actor(), "enquiry.create", Some(&format!("enquiry:{id}")), &json!({})).await?;
    if let Err(e) = notify_approvers(state, id, user.id).await {
        // The request is in the queue whatever happens to the notice.
        tracing::warn!(enquiry.id = id, error = %e, "notifying the approvers failed");
    }
    view(state, user, id).await
}

/// Tells the approvers whose scope holds the enquiry (not its requester) that a request waits
/// in their team's queue. No personal data: the incident type, the time, the number.
async fn notify_approvers(state: &AppState, id: i64, requester: i64) -> AppResult<()> {
    let Some(e) = state.store.enquiry(id).await? else { return Ok(()) };
    let incident = IncidentType::parse(&e.incident_type).unwrap_or(IncidentType::Other);
    let when = super::texts::dutch_time(DateTime::<Utc>::from_timestamp_millis(e.occurred_at).unwrap_or_default())
        .format("%d-%m-%Y %H:%M");
    let subject = format!("Buurtonderzoek {id} wacht op goedkeuring");
    let body = format!(
        "Er staat een aanvraag voor een buurtonderzoek in de wachtrij van {}: {} op {when}.\n\nControleer en verstuur de aanvraag, of stuur hem terug met een opmerking (GET /api/v1/enquiries?state=requested).\n\nA neighbourhood enquiry request ({}) waits in the queue of {} for approval.",
        e.municipality,
        incident.label(buurtnet_domain::Language::Nl).to_lowercase(),
        incident.label(buurtnet_domain::Language::En).to_lowercase(),
        e.municipality,
    );
    for approver in state.store.staff_with_role(Role::Approver.as_str()).await? {
        let Some(scope) = Scope::parse(&approver.scope) else { continue };
        let probe = StaffUser { id: approver.id, role: Role::Approver, scope };
        if approver.id != requester && visible(state, &probe, &e) {
            state.notifier.send_email(&approver.email, &subject, &body).await?;
        }
    }
    Ok(())
}

/// Reads an enquiry the user may see (404 otherwise: nothing of another scope shows).
pub async fn visible_enquiry(state: &AppState, user: &StaffUser, id: i64) -> AppResult<EnquiryRow> {
    let not_found = || AppError::NotFound(format!("There is no enquiry {id}."));
    let e = state.store.enquiry(id).await?.ok_or_else(not_found)?;
    if !visible(state, user, &e) {
        return Err(not_found());
    }
    Ok(e)
}

fn state_of(e: &EnquiryRow) -> AppResult<EnquiryState> {
    EnquiryState::parse(&e.state).ok_or_else(|| AppError::Internal(format!("enquiry {} has unknown state", e.id)))
}

fn refused(r: DecisionRefused) -> AppError {
    match r {
        DecisionRefused::OwnRequest => AppError::Forbidden(r.message()),
        DecisionRefused::AlreadyDecided(_) => AppError::WrongState(r.message()),
    }
}

/// Whether `user` may decide on `e` now; a refusal (four-eyes, already decided) is audited.
async fn decide_or_audit(state: &AppState, user: &StaffUser, e: &EnquiryRow, action: &str) -> AppResult<()> {
    if let Err(r) = may_decide(state_of(e)?, e.requested_by, user.id) {
        let err = refused(r);
        state
            .store
            .audit(state.now_ms(), &user.actor(), action, Some(&format!("enquiry:{}", e.id)), &json!({"reason": err.code()}))
            .await?;
        return Err(err);
    }
    Ok(())
}

/// The refusal of an approval of a request that changed after its approver looked at it.
fn changed(e: &EnquiryRow) -> AppError {
    AppError::WrongState(format!(
        "This request changed after you opened it (its text or photo; it is now version {}): look at it again and approve what it says now.",
        e.version
    ))
}

/// `POST /api/v1/enquiries/{id}/approve` `{"version": n, …}`: optionally edits the texts, then
/// sends — the request as it was at version `n`, the one its approver reviewed (a photo
/// swapped since is refused with 409, never sent unseen).
pub async fn approve(state: &AppState, user: &StaffUser, id: i64, body: &Value) -> AppResult<EnquiryView> {
    user.require(Operation::ApproveEnquiry)?;
    let e = visible_enquiry(state, user, id).await?;
    decide_or_audit(state, user, &e, "enquiry.approve_refused").await?;
    let Some(reviewed) = body.get("version").and_then(Value::as_i64) else {
        return Err(AppError::invalid(
            "version",
            "missing_version",
            format!("Give the version of the request you reviewed ('version' of GET /api/v1/enquiries/{id}, now {}).", e.version),
        ));
    };
    if reviewed != e.version {
        let err = changed(&e);
        state
            .store
            .audit(
                state.now_ms(),
                &user.actor(),
                "enquiry.approve_refused",
                Some(&format!("enquiry:{id}")),
                &json!({"reason": "changed"}),
            )
            .await?;
        return Err(err);
    }
    let mut errors = FieldErrors::new();
    let description = text_field(body, "description", MAX_DESCRIPTION, false, &mut errors).unwrap_or(e.description.clone());
    let questions = text_field(body, "questions", MAX_QUESTIONS, false, &mut errors).unwrap_or(e.questions.clone());
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let incident = IncidentType::parse(&e.incident_type).unwrap_or(IncidentType::Other);
    let occurred_at = DateTime::<Utc>::from_timestamp_millis(e.occurred_at).unwrap_or_default();
    let photo_url = photo_of(state, id).await?.map(|p| p.0);
    let content = enquiry_content(&EnquiryFacts {
        id,
        incident,
        occurred_at,
        description: &description,
        questions: &questions,
        link_days: state.config.enquiries.link_days,
        photo_url: photo_url.as_deref(),
    });
    let now = state.now_ms();
    let channels: ChannelSet = [Channel::Push, Channel::Email].into_iter().collect();
    let message = NewMessage {
        action_id: None,
        kind: "enquiry".into(),
        status: "actual".into(),
        priority: PRIORITY,
        override_quiet: false,
        channels: channels.bits(),
        topic: Topic::Enquiry.as_str().into(),
        area: Some(json!({"circle": {"lat": e.lat, "lon": e.lon, "radius_m": e.radius_m}}).to_string()),
        scope: e.scope.clone(),
        content,
        created_by: user.id,
        send_at: now,
        valid_until: now + state.config.enquiries.validity_hours.max(1) * 3_600_000,
    };
    let sent = state.store.approve_enquiry(id, user.id, reviewed, &description, &questions, &message, now).await?;
    if sent.is_none() {
        // Someone else decided first, or the request changed meanwhile: say what happened.
        let e = visible_enquiry(state, user, id).await?;
        if e.state == EnquiryState::Requested.as_str() && e.version != reviewed {
            return Err(changed(&e));
        }
        return Err(refused(
            may_decide(state_of(&e)?, e.requested_by, user.id)
                .err()
                .unwrap_or(DecisionRefused::AlreadyDecided(EnquiryState::Sent)),
        ));
    }
    state.engine.wake_fanout.notify_waiters();
    let edited = description != e.description || questions != e.questions;
    state.store.audit(now, &user.actor(), "enquiry.approve", Some(&format!("enquiry:{id}")), &json!({"edited": edited})).await?;
    view(state, user, id).await
}

/// The request's photo: (public URL, width, height).
pub async fn photo_of(state: &AppState, id: i64) -> AppResult<Option<(String, i64, i64)>> {
    Ok(state
        .store
        .enquiry_photo(id)
        .await?
        .map(|(photo, w, h)| (format!("{}/media/{photo}.jpg", state.config.public_url()), w, h)))
}

/// `POST /api/v1/enquiries/{id}/photo` (the photo as the body, `image/jpeg`, `image/png` or
/// `image/webp`): the request's optional photo, shown to the residents; set or replaced while
/// the request waits for approval, by its team's requesters and approvers. Re-encoded (no EXIF).
pub async fn add_photo(
    state: &AppState,
    user: &StaffUser,
    id: i64,
    content_type: &str,
    bytes: Vec<u8>,
) -> AppResult<EnquiryView> {
    user.require(Operation::RequestEnquiry)?;
    let e = visible_enquiry(state, user, id).await?;
    if state_of(&e)? != EnquiryState::Requested {
        return Err(AppError::WrongState(format!("A photo is added before the enquiry is sent; this one is {}.", e.state)));
    }
    if !["image/jpeg", "image/png", "image/webp"].iter().any(|t| content_type.starts_with(t)) {
        return Err(AppError::invalid(
            "photo",
            "unsupported_type",
            "Send the photo as image/jpeg, image/png or image/webp.".to_string(),
        ));
    }
    let photo = tokio::task::spawn_blocking(move || super::photos::reencode(&bytes))
        .await
        .map_err(|e| AppError::Internal(format!("photo task failed: {e}")))?
        .map_err(|e| AppError::invalid("photo", "invalid_photo", e.0))?;
    let photo_id = crate::secrets::random_hex(16);
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD.encode(&photo.jpeg);
    let now = state.now_ms();
    let size = (i64::from(photo.width), i64::from(photo.height));
    if !state.store.set_enquiry_photo(&photo_id, id, size, &encoded, now).await? {
        return Err(AppError::WrongState("This enquiry has been decided on meanwhile.".into()));
    }
    state.store.audit(now, &user.actor(), "enquiry.photo", Some(&format!("enquiry:{id}")), &json!({"photo": photo_id})).await?;
    view(state, user, id).await
}

/// `POST /api/v1/enquiries/{id}/return`: back to the requester with a comment; never sent.
pub async fn give_back(state: &AppState, user: &StaffUser, id: i64, body: &Value) -> AppResult<EnquiryView> {
    user.require(Operation::ApproveEnquiry)?;
    let e = visible_enquiry(state, user, id).await?;
    decide_or_audit(state, user, &e, "enquiry.return_refused").await?;
    let mut errors = FieldErrors::new();
    let Some(comment) = text_field(body, "comment", MAX_COMMENT, true, &mut errors) else {
        return Err(AppError::Validation(errors));
    };
    let now = state.now_ms();
    if !state.store.return_enquiry(id, user.id, &comment, now).await? {
        return Err(AppError::WrongState("This enquiry has been decided on meanwhile.".into()));
    }
    state.store.audit(now, &user.actor(), "enquiry.return", Some(&format!("enquiry:{id}")), &json!({})).await?;
    view(state, user, id).await
}

/// `POST /api/v1/enquiries/{id}/close`: no more replies; the photo retention period starts.
pub async fn close(state: &AppState, user: &StaffUser, id: i64) -> AppResult<EnquiryView> {
    user.require(Operation::CloseEnquiry)?;
    let e = visible_enquiry(state, user, id).await?;
    let now = state.now_ms();
    if !state.store.close_enquiry(id, now).await? {
        return Err(AppError::WrongState(format!("Only a sent enquiry can be closed; this one is {}.", e.state)));
    }
    state.store.audit(now, &user.actor(), "enquiry.close", Some(&format!("enquiry:{id}")), &json!({})).await?;
    view(state, user, id).await
}

/// `GET /api/v1/enquiries/{id}`: the enquiry, its state and its figures.
pub async fn view(state: &AppState, user: &StaffUser, id: i64) -> AppResult<EnquiryView> {
    user.require(Operation::ReadEnquiries)?;
    let e = visible_enquiry(state, user, id).await?;
    let replies = state.store.replies(id).await?;
    let (mut recipients, mut deliveries) = (None, EnquiryDeliveries::default());
    if let Some(mid) = e.message_id {
        if let Some(m) = state.store.message(mid).await? {
            recipients = Some(m.recipients);
            deliveries.fanout = Some(m.fanout_state);
        }
        add_counts(&mut deliveries.channels, &state.store.delivery_counts(mid).await?);
    }
    Ok(EnquiryView {
        id: e.id,
        state: e.state.clone(),
        version: e.version,
        incident_type: e.incident_type.clone(),
        occurred_at: iso(e.occurred_at),
        location: EnquiryLocation { lat: e.lat, lon: e.lon },
        radius_m: e.radius_m,
        municipality: e.municipality.clone(),
        team: e.scope.clone(),
        description: e.description.clone(),
        questions: e.questions.clone(),
        photo: photo_of(state, id).await?.map(|(url, width, height)| EnquiryPhoto { url, width, height }),
        requested_by: e.requested_by,
        decided_by: e.decided_by,
        return_comment: e.return_comment.clone(),
        created_at: iso(e.created_at),
        sent_at: e.sent_at.and_then(iso),
        closed_at: e.closed_at.and_then(iso),
        minutes_incident_to_sending: e.sent_at.map(|s| (s - e.occurred_at) / 60_000),
        recipients,
        deliveries,
        replies: replies.len(),
        open_replies: replies.iter().filter(|r| r.status != "answered").count(),
    })
}

/// `GET /api/v1/enquiries?state=requested`: the team's shared queue (or any state), newest
/// first, within the user's scope.
pub async fn list(state: &AppState, user: &StaffUser, wanted: Option<&str>) -> AppResult<EnquiryList> {
    user.require(Operation::ReadEnquiries)?;
    if let Some(s) = wanted
        && EnquiryState::parse(s).is_none()
    {
        return Err(AppError::invalid("state", "invalid_value", "Use one of requested, returned, sent, closed."));
    }
    let municipality = match &user.scope {
        Scope::Municipality(gm) => Some(gm.as_str()),
        _ => None,
    };
    let rows = state.store.enquiries(municipality, wanted, 500).await?;
    let enquiries = rows
        .iter()
        .filter(|e| visible(state, user, e))
        .map(|e| EnquirySummary {
            id: e.id,
            state: e.state.clone(),
            incident_type: e.incident_type.clone(),
            occurred_at: iso(e.occurred_at),
            municipality: e.municipality.clone(),
            requested_by: e.requested_by,
            created_at: iso(e.created_at),
        })
        .collect();
    Ok(EnquiryList { enquiries })
}
