//! Devices linked to a participant's account through a self-service link. A self-service link
//! links one device at most (it is spent by linking), the participant is told by e-mail (or
//! SMS) each time, and their own page and export list the linked devices, each with a way to
//! unlink it: a forwarded link cannot add a stranger's phone silently and for good.

use super::participants::{SELF_SERVICE, self_service_link, send_email, send_sms};
use crate::error::{AppError, AppResult};
use crate::state::App;
use crate::texts;
use buurtnet_domain::Language;
use buurtnet_store::{DeviceRecord, ParticipantRecord};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

fn iso(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

/// The push service a device's subscription goes to (its host only: enough to tell a phone
/// from a laptop, never the endpoint itself, which is the browser's).
fn push_service(d: &DeviceRecord) -> Option<String> {
    let endpoint = d.endpoint.as_deref()?;
    reqwest::Url::parse(endpoint).ok().and_then(|u| u.host_str().map(str::to_string))
}

/// One linked device as the participant's page and export show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LinkedDevice {
    pub id: i64,
    pub push: bool,
    /// The push service's host (never the endpoint).
    pub push_service: Option<String>,
    pub language: String,
    pub paused: bool,
    pub registered_at: Option<String>,
    pub updated_at: Option<String>,
}

pub fn device_json(d: &DeviceRecord) -> LinkedDevice {
    LinkedDevice {
        id: d.id,
        push: d.endpoint.is_some(),
        push_service: push_service(d),
        language: d.language.clone(),
        paused: d.paused,
        registered_at: iso(d.created_at),
        updated_at: iso(d.updated_at),
    }
}

/// The devices linked to a participant.
pub async fn linked(app: &App, participant_id: i64) -> AppResult<Vec<DeviceRecord>> {
    Ok(app.store.participant_devices(participant_id).await?)
}

/// Everything stored about a participant (`participants::export`) with their linked devices.
pub async fn export(app: &App, record: &ParticipantRecord) -> AppResult<super::participants::ParticipantExport> {
    let mut v = super::participants::export(record);
    let devices = linked(app, record.participant.id).await?;
    v.devices = Some(devices.iter().map(device_json).collect());
    v.neighbourhood = crate::neighbourhoods::membership::export(app, record.participant.id).await?;
    Ok(v)
}

fn link_invalid() -> AppError {
    let mut e = buurtnet_domain::FieldErrors::new();
    e.add("token", "link_invalid", "This sign-in link is not valid, has expired or was used already; ask for a new one.");
    AppError::Validation(e)
}

/// Links `device` to the participant of a self-service `token`, spending the token for
/// linking (it still opens the participant's own page until it expires), and tells the
/// participant. Returns the participant's id.
pub async fn link(app: &App, device: &DeviceRecord, token: &str) -> AppResult<i64> {
    let now = app.now_ms();
    let claims = app.signer.verify(token, SELF_SERVICE, now).map_err(|_| link_invalid())?;
    if app.store.participant(claims.id).await?.is_none() {
        return Err(link_invalid());
    }
    if !app.store.spend_link(&crate::auth::token_hash(token.trim()), claims.exp).await? {
        return Err(link_invalid());
    }
    app.store.link_device(device.id, claims.id, now).await?;
    app.store
        .audit(now, "resident", "device.link", Some(&format!("participant:{}", claims.id)), &json!({"device": device.id}))
        .await?;
    tell_participant(app, claims.id).await?;
    Ok(claims.id)
}

/// E-mails the participant (every e-mail address; by SMS when they have none) that a device
/// was linked, with a fresh self-service link to unlink it.
async fn tell_participant(app: &App, participant_id: i64) -> AppResult<()> {
    let Some(record) = app.store.participant(participant_id).await? else { return Ok(()) };
    let lang = Language::parse(&record.participant.language).unwrap_or_default();
    let link = self_service_link(app, participant_id);
    let emails: Vec<&str> = record.contacts.iter().filter(|c| c.kind == "email").map(|c| c.value.as_str()).collect();
    if !emails.is_empty() {
        let mail = texts::device_linked_email(lang, &link, app.config.links.self_service_hours);
        for to in emails {
            send_email(app, to, &mail.subject, &mail.body).await?;
        }
        return Ok(());
    }
    for c in record.contacts.iter().filter(|c| c.kind == "phone") {
        send_sms(app, &c.value, &texts::device_linked_sms(lang, &link)).await?;
    }
    Ok(())
}

/// Unlinks one of the participant's devices (404 when it is not theirs).
pub async fn unlink(app: &App, record: &ParticipantRecord, device_id: i64) -> AppResult<()> {
    let now = app.now_ms();
    if !app.store.unlink_device(device_id, record.participant.id, now).await? {
        return Err(AppError::NotFound("No device with this id is linked to your registration.".into()));
    }
    app.store
        .audit(
            now,
            "participant",
            "device.unlink",
            Some(&format!("participant:{}", record.participant.id)),
            &json!({"device": device_id}),
        )
        .await?;
    Ok(())
}

/// Parses a device id from a path or form (404 for anything else).
pub fn device_id(raw: &str) -> AppResult<i64> {
    raw.trim().parse::<i64>().map_err(|_| AppError::NotFound("No device with this id is linked to your registration.".into()))
}
