//! Registering residents, verifying their contact points, and their self-service (view, change,
//! pause, export, delete). Registering a contact point that already exists never reveals that it
//! exists: the answer is the same and the owner is told instead.

use crate::abuse::{self, ClientIp};
use crate::error::{AppError, AppResult};
use crate::signing::{LinkClaims, LinkError};
use crate::state::App;
use crate::texts;
use buurtnet_domain::contact::{ContactKind, Email, Phone};
use buurtnet_domain::registration::{AddressDraft, AddressLocation, ParticipantDraft, parse_quiet_hours};
use buurtnet_domain::{ChannelSet, FieldErrors, Language, Topic, TopicSet, cell::cell_id};
use buurtnet_geo::{AreaIndex, Located};
use buurtnet_store::{NewAddress, NewContact, NewParticipant, ParticipantRecord, StoreError};
use rand::Rng;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

pub const VERIFY_EMAIL: &str = "verify-email";
pub const SELF_SERVICE: &str = "self-service";

/// Builds the stored address from a draft, its point and the areas it lies in. The address is
/// approximate when its point is (a postcode area's) or its areas are (the nearest ones, for a
/// point between outlines).
pub fn new_address(draft: &AddressDraft, lat: f64, lon: f64, approximate: bool, at: &Located) -> NewAddress {
    let (postcode, house_number) = match &draft.location {
        AddressLocation::Postcode { postcode, house_number } => {
            (Some(postcode.as_str().to_string()), Some(house_number.as_str().to_string()))
        }
        AddressLocation::Point { .. } => (None, None),
    };
    NewAddress {
        kind: draft.kind.as_str().to_string(),
        postcode,
        house_number,
        lat,
        lon,
        approximate: approximate || at.approximate,
        cell: cell_id(lat, lon),
        neighbourhood_code: at.neighbourhood.clone(),
        district_code: at.district.clone(),
        municipality_code: at.municipality.clone(),
        pc4: at.pc4.clone(),
        safety_region_code: at.safety_region.clone(),
        police_unit_code: at.police_unit.clone(),
        province_code: at.province.clone(),
        channels: draft.channels.bits(),
        quiet_hours: serde_json::to_string(&draft.quiet_hours).unwrap_or_else(|_| "[]".into()),
    }
}

/// Checks that a point lies in a Dutch municipality (when geography is loaded), or within
/// `tolerance_m` metres of one (`geocoder.nearest_area_within_m`: then it gets the nearest areas,
/// marked approximate), and returns the areas it is in.
pub fn locate_checked(
    areas: &AreaIndex,
    lat: f64,
    lon: f64,
    tolerance_m: f64,
    field: &str,
    errors: &mut FieldErrors,
) -> Option<Located> {
    let at = areas.locate_near(lat, lon, tolerance_m);
    if !areas.is_empty() && !at.in_netherlands() {
        errors.add(field, "outside_netherlands", "This point is not in a Dutch municipality.");
        return None;
    }
    Some(at)
}

/// Geocodes and locates every address of a draft.
async fn resolve_addresses(app: &App, draft: &ParticipantDraft) -> AppResult<Vec<NewAddress>> {
    let areas = app.areas.current();
    let mut errors = FieldErrors::new();
    let mut out = Vec::new();
    for (i, a) in draft.addresses.iter().enumerate() {
        let (lat, lon, approximate, field) = match &a.location {
            AddressLocation::Point { lat, lon } => (*lat, *lon, false, format!("addresses[{i}].lat")),
            AddressLocation::Postcode { postcode, house_number } => {
                match app.geocoder.geocode(&app.store, &areas, postcode, house_number).await? {
                    Some(g) => (g.lat, g.lon, g.approximate, format!("addresses[{i}].postcode")),
                    None => {
                        errors.add(format!("addresses[{i}].postcode"), "address_not_found", "We cannot find this postcode.");
                        continue;
                    }
                }
            }
        };
        let tolerance = app.config.geocoder.nearest_area_within_m;
        if let Some(at) = locate_checked(&areas, lat, lon, tolerance, &field, &mut errors) {
            out.push(new_address(a, lat, lon, approximate, &at));
        }
    }
    errors.into_result(out).map_err(AppError::Validation)
}

/// Sends an account SMS (code, link, notice) unless the number's daily cap over every endpoint
/// is reached; then silently nothing (the caller's answer never depends on it).
pub(crate) async fn send_sms(app: &App, to: &str, body: &str) -> AppResult<()> {
    if abuse::may_send_to(app, to).await? {
        app.notifier.send_sms(to, body).await?;
    }
    Ok(())
}

/// As [`send_sms`], for e-mail.
pub(crate) async fn send_email(app: &App, to: &str, subject: &str, body: &str) -> AppResult<()> {
    if abuse::may_send_to(app, to).await? {
        app.notifier.send_email(to, subject, body).await?;
    }
    Ok(())
}

fn six_digit_code() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000))
}

/// Registers a participant (from the API or the web form). The result is the same whether or
/// not the e-mail address or phone number was known.
/// Registers a resident; `campaign` is the code of the recruitment campaign whose link they
/// came through (recorded as the campaign's id while the campaign runs; otherwise ignored: a
/// poster outliving its campaign must not stop anyone signing up).
pub async fn register(app: &App, client: &ClientIp, draft: ParticipantDraft, campaign: Option<&str>) -> AppResult<()> {
    let targets: Vec<&str> = draft.email.iter().map(|e| e.as_str()).chain(draft.phone.iter().map(|p| p.as_str())).collect();
    abuse::check(app, "register", &app.config.abuse_limits.register, client, &targets).await?;
    let addresses = resolve_addresses(app, &draft).await?;
    let now = app.now_ms();

    // Known contact points: tell their owner, reveal nothing to the caller.
    let mut known = false;
    if let Some(email) = &draft.email
        && let Some(c) = app.store.contact("email", email.as_str()).await?
    {
        known = true;
        let lang = owner_language(app, c.participant_id).await?;
        let link = self_service_link(app, c.participant_id);
        let mail = texts::already_registered_email(lang, &link);
        send_email(app, email.as_str(), &mail.subject, &mail.body).await?;
    }
    if let Some(phone) = &draft.phone
        && let Some(c) = app.store.contact("phone", phone.as_str()).await?
    {
        known = true;
        let lang = owner_language(app, c.participant_id).await?;
        send_sms(app, phone.as_str(), &texts::already_registered_sms(lang)).await?;
    }
    if known {
        return Ok(());
    }

    let municipality = addresses.first().and_then(|a| a.municipality_code.clone());
    let mut contacts = Vec::new();
    if let Some(e) = &draft.email {
        contacts.push(NewContact { kind: "email".into(), value: e.as_str().into(), mobile: false, verified_at: None });
    }
    if let Some(p) = &draft.phone {
        contacts.push(NewContact { kind: "phone".into(), value: p.as_str().into(), mobile: p.is_mobile(), verified_at: None });
    }
    let new = NewParticipant {
        external_id: draft.external_id.clone(),
        language: draft.language.as_str().into(),
        topics: draft.topics.bits(),
        age_confirmed: true,
        paused: false,
        municipality_code: municipality,
        created_at: now,
        contacts,
        addresses,
    };
    match app.store.insert_participants(std::slice::from_ref(&new)).await {
        Ok(ids) => {
            if let (Some(code), Some(id)) = (campaign, ids.first())
                && let Some(c) = crate::reports::campaigns::running(app, code).await?
            {
                app.store.set_participant_campaign(*id, c).await?;
            }
        }
        // Registered concurrently by someone else a moment ago: same answer as above.
        Err(StoreError::Conflict(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    metrics::counter!("buurtnet_registrations_total").increment(1);
    if let Some(e) = &draft.email {
        send_email_verification(app, e, draft.language).await?;
    }
    if let Some(p) = &draft.phone {
        send_phone_code(app, p, draft.language).await?;
    }
    Ok(())
}

async fn owner_language(app: &App, participant_id: i64) -> AppResult<Language> {
    let p = app.store.participant(participant_id).await?;
    Ok(p.and_then(|p| Language::parse(&p.participant.language)).unwrap_or_default())
}

pub fn self_service_link(app: &App, participant_id: i64) -> String {
    let exp = app.now_ms() + app.config.links.self_service_hours * 3_600_000;
    let token = app.signer.sign(&LinkClaims { purpose: SELF_SERVICE.into(), id: participant_id, exp });
    format!("{}/mijn/{token}", app.config.public_url())
}

async fn send_email_verification(app: &App, email: &Email, lang: Language) -> AppResult<()> {
    let Some(c) = app.store.contact("email", email.as_str()).await? else { return Ok(()) };
    let hours = app.config.links.verify_email_hours;
    let token = app.signer.sign(&LinkClaims { purpose: VERIFY_EMAIL.into(), id: c.id, exp: app.now_ms() + hours * 3_600_000 });
    let link = format!("{}/bevestigen/{token}", app.config.public_url());
    let mail = texts::verify_email(lang, &link, hours);
    send_email(app, email.as_str(), &mail.subject, &mail.body).await?;
    Ok(())
}

async fn send_phone_code(app: &App, phone: &Phone, lang: Language) -> AppResult<()> {
    let Some(c) = app.store.contact("phone", phone.as_str()).await? else { return Ok(()) };
    if c.verified_at.is_some() {
        return Ok(());
    }
    let code = six_digit_code();
    let minutes = app.config.links.phone_code_minutes;
    let now = app.now_ms();
    let stored = app
        .store
        .set_verification_code(
            c.id,
            &app.signer.hash_code(c.id, &code),
            now + minutes * 60_000,
            now,
            app.config.links.phone_code_daily_sends,
        )
        .await?;
    if !stored {
        // The number's daily budget of codes is used up: nothing is sent, and the caller's
        // answer stays the same (it must not tell whether the number is registered).
        metrics::counter!("buurtnet_phone_codes_refused_total").increment(1);
        return Ok(());
    }
    send_sms(app, phone.as_str(), &texts::phone_code(lang, &code, minutes)).await?;
    Ok(())
}

/// Confirms an e-mail address from the signed link. Returns the owner's language.
pub async fn verify_email(app: &App, client: &ClientIp, token: &str) -> AppResult<Language> {
    abuse::check(app, "verify_email", &app.config.abuse_limits.verify_email, client, &[]).await?;
    let claims = app.signer.verify(token, VERIFY_EMAIL, app.now_ms()).map_err(link_error)?;
    let contact = app
        .store
        .contact_by_id(claims.id)
        .await?
        .ok_or_else(|| AppError::NotFound("This registration no longer exists.".into()))?;
    app.store.mark_contact_verified(contact.id, app.now_ms()).await?;
    owner_language(app, contact.participant_id).await
}

pub fn link_error(e: LinkError) -> AppError {
    match e {
        LinkError::Expired => AppError::bad_request("link_expired", "This link has expired; ask for a new one."),
        LinkError::Invalid => AppError::bad_request("link_invalid", "This link is not valid."),
    }
}

const INVALID_PHONE: &str = "This is not a valid phone number (e.g. +31612345678).";

fn invalid_phone() -> AppError {
    let mut e = FieldErrors::new();
    e.add("phone", "invalid_phone", INVALID_PHONE);
    AppError::Validation(e)
}

/// Confirms a phone number with the 6-digit code sent by SMS. Every try is spent in one
/// conditional statement before the code is compared, so parallel guesses cannot exceed the
/// tries of a code (`phone_code_attempts`) nor the number's daily budget across resends.
/// Every failure reads the same — unknown number, already confirmed, wrong, expired or tried
/// too often — so the answer never tells whether a number is registered.
pub async fn verify_phone(app: &App, client: &ClientIp, phone: &str, code: &str) -> AppResult<()> {
    let refused = || {
        AppError::bad_request(
            "code_invalid",
            "The code is wrong, has expired or was tried too often; ask for a new code and try again.",
        )
    };
    let phone = Phone::parse(phone).ok_or_else(invalid_phone)?;
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        let mut e = FieldErrors::new();
        e.add("code", "invalid_code_format", "The code has 6 digits.");
        return Err(AppError::Validation(e));
    }
    abuse::check(app, "verify_phone", &app.config.abuse_limits.verify_phone, client, &[phone.as_str()]).await?;
    let Some(c) = app.store.contact("phone", phone.as_str()).await? else { return Err(refused()) };
    let links = &app.config.links;
    let now = app.now_ms();
    let Some(hash) = app.store.spend_code_attempt(c.id, now, links.phone_code_attempts, links.phone_code_daily_budget).await?
    else {
        return Err(refused());
    };
    if !app.signer.code_matches(c.id, code, &hash) {
        return Err(refused());
    }
    app.store.mark_contact_verified(c.id, now).await?;
    Ok(())
}

/// Sends a new SMS code to an unverified number (silently nothing for unknown numbers).
pub async fn resend_phone_code(app: &App, client: &ClientIp, phone: &str) -> AppResult<()> {
    let phone = Phone::parse(phone).ok_or_else(invalid_phone)?;
    abuse::check(app, "resend_code", &app.config.abuse_limits.resend_code, client, &[phone.as_str()]).await?;
    if let Some(c) = app.store.contact("phone", phone.as_str()).await? {
        let lang = owner_language(app, c.participant_id).await?;
        send_phone_code(app, &phone, lang).await?;
    }
    Ok(())
}

/// Sends a self-service link to a known e-mail address or phone number; the answer is the same
/// for unknown ones.
pub async fn request_self_service(app: &App, client: &ClientIp, email: Option<&str>, phone: Option<&str>) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    let email = email.filter(|s| !s.trim().is_empty()).map(|s| {
        let e = Email::parse(s);
        if e.is_none() {
            errors.add("email", "invalid_email", "This is not a valid e-mail address.");
        }
        e
    });
    let phone = phone.filter(|s| !s.trim().is_empty()).map(|s| {
        let p = Phone::parse(s);
        if p.is_none() {
            errors.add("phone", "invalid_phone", INVALID_PHONE);
        }
        p
    });
    if email.is_none() && phone.is_none() {
        errors.add("email", "no_contact", "Give your e-mail address or phone number.");
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    let targets: Vec<&str> =
        email.iter().flatten().map(|e| e.as_str()).chain(phone.iter().flatten().map(|p| p.as_str())).collect();
    abuse::check(app, "self_service_link", &app.config.abuse_limits.self_service_link, client, &targets).await?;
    if let Some(Some(e)) = email
        && let Some(c) = app.store.contact("email", e.as_str()).await?
    {
        let lang = owner_language(app, c.participant_id).await?;
        let mail =
            texts::self_service_email(lang, &self_service_link(app, c.participant_id), app.config.links.self_service_hours);
        send_email(app, e.as_str(), &mail.subject, &mail.body).await?;
    }
    if let Some(Some(p)) = phone
        && let Some(c) = app.store.contact("phone", p.as_str()).await?
    {
        let lang = owner_language(app, c.participant_id).await?;
        let sms = texts::self_service_sms(lang, &self_service_link(app, c.participant_id));
        send_sms(app, p.as_str(), &sms).await?;
    }
    Ok(())
}

/// The participant a self-service token belongs to.
pub async fn self_service_record(app: &App, token: &str) -> AppResult<ParticipantRecord> {
    let claims = app.signer.verify(token, SELF_SERVICE, app.now_ms()).map_err(link_error)?;
    app.store.participant(claims.id).await?.ok_or_else(|| AppError::NotFound("This registration no longer exists.".into()))
}

fn iso(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339())
}

/// Everything stored about a participant (GDPR articles 15 and 20), with their linked devices.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParticipantExport {
    pub id: i64,
    pub external_id: Option<String>,
    pub language: String,
    pub topics: Vec<&'static str>,
    pub age_confirmed: bool,
    pub paused: bool,
    pub municipality: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
    pub contacts: Vec<ContactExport>,
    pub addresses: Vec<AddressExport>,
    /// Devices linked through a self-service link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub devices: Option<Vec<super::linked_devices::LinkedDevice>>,
    /// Membership of the neighbourhood conversations and one's messages there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neighbourhood: Option<crate::neighbourhoods::views::NeighbourhoodExport>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContactExport {
    /// `email` or `phone`.
    pub kind: String,
    pub value: String,
    pub verified: bool,
    pub verified_at: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddressExport {
    pub id: i64,
    pub kind: String,
    pub postcode: Option<String>,
    pub house_number: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub approximate: bool,
    pub channels: Vec<&'static str>,
    /// `[{"channels", "from", "to"}]`.
    #[schema(value_type = Vec<Object>)]
    pub quiet_hours: Value,
    pub areas: AddressAreasExport,
}

/// The areas an address lies in.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AddressAreasExport {
    pub neighbourhood: Option<String>,
    pub district: Option<String>,
    pub municipality: Option<String>,
    pub pc4: Option<String>,
    pub safety_region: Option<String>,
    pub police_unit: Option<String>,
    pub province: Option<String>,
}

/// Everything stored about a participant, without the linked devices.
pub fn export(record: &ParticipantRecord) -> ParticipantExport {
    let p = &record.participant;
    ParticipantExport {
        id: p.id,
        external_id: p.external_id.clone(),
        language: p.language.clone(),
        topics: TopicSet::from_bits(p.topics).names(),
        age_confirmed: p.age_confirmed,
        paused: p.paused,
        municipality: p.municipality_code.clone(),
        created_at: iso(p.created_at),
        updated_at: iso(p.updated_at),
        contacts: record
            .contacts
            .iter()
            .map(|c| ContactExport {
                kind: c.kind.clone(),
                value: c.value.clone(),
                verified: c.verified_at.is_some(),
                verified_at: c.verified_at.and_then(iso),
            })
            .collect(),
        addresses: record
            .addresses
            .iter()
            .map(|a| AddressExport {
                id: a.id,
                kind: a.kind.clone(),
                postcode: a.postcode.clone(),
                house_number: a.house_number.clone(),
                lat: a.lat,
                lon: a.lon,
                approximate: a.approximate,
                channels: ChannelSet::from_bits(a.channels).names(),
                quiet_hours: serde_json::from_str::<Value>(&a.quiet_hours).unwrap_or(Value::Null),
                areas: AddressAreasExport {
                    neighbourhood: a.neighbourhood_code.clone(),
                    district: a.district_code.clone(),
                    municipality: a.municipality_code.clone(),
                    pc4: a.pc4.clone(),
                    safety_region: a.safety_region_code.clone(),
                    police_unit: a.police_unit_code.clone(),
                    province: a.province_code.clone(),
                },
            })
            .collect(),
        devices: None,
        neighbourhood: None,
    }
}

/// Applies a self-service change: `{"language", "topics", "paused", "addresses": [{"id",
/// "channels", "quiet_hours"}]}`, every field optional. All or nothing.
pub async fn update(app: &App, record: &ParticipantRecord, body: &Value) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    let Some(obj) = body.as_object() else {
        errors.add("", "invalid_body", "The request body must be a JSON object.");
        return Err(AppError::Validation(errors));
    };
    let p = &record.participant;
    let language = match obj.get("language") {
        None => p.language.clone(),
        Some(v) => match v.as_str().and_then(Language::parse) {
            Some(l) => l.as_str().to_string(),
            None => {
                errors.add("language", "invalid_language", "Language must be \"nl\" or \"en\".");
                p.language.clone()
            }
        },
    };
    let topics = match obj.get("topics") {
        None => p.topics,
        Some(v) => {
            let list = v.as_array().cloned().unwrap_or_default();
            let mut set = TopicSet::default();
            for (i, t) in list.iter().enumerate() {
                match t.as_str().and_then(Topic::parse) {
                    Some(t) => set.insert(t),
                    None => errors.add(format!("topics[{i}]"), "unknown_topic", "Use urgent, enquiry or information."),
                }
            }
            if set.is_empty() {
                errors.add("topics", "no_topics", "Choose at least one topic (or pause instead).");
            }
            set.bits()
        }
    };
    let paused = match obj.get("paused") {
        None => p.paused,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            errors.add("paused", "not_a_boolean", "Paused must be true or false.");
            p.paused
        }
    };
    let has_email = record.contacts.iter().any(|c| c.kind == ContactKind::Email.as_str());
    let phone = record.contacts.iter().find(|c| c.kind == ContactKind::Phone.as_str());
    let mut address_changes = Vec::new();
    if let Some(v) = obj.get("addresses") {
        let list = v.as_array().cloned().unwrap_or_default();
        for (i, a) in list.iter().enumerate() {
            let path = format!("addresses[{i}]");
            let Some(id) = a.get("id").and_then(Value::as_i64).filter(|id| record.addresses.iter().any(|x| x.id == *id)) else {
                errors.add(format!("{path}.id"), "unknown_address", "This is not one of your addresses.");
                continue;
            };
            let current = record.addresses.iter().find(|x| x.id == id);
            let mut channels = current.map(|c| ChannelSet::from_bits(c.channels)).unwrap_or_default();
            if let Some(cv) = a.get("channels") {
                channels = ChannelSet::EMPTY;
                for (j, c) in cv.as_array().cloned().unwrap_or_default().iter().enumerate() {
                    match c.as_str().and_then(buurtnet_domain::Channel::parse) {
                        Some(c) => channels.insert(c),
                        None => errors.add(format!("{path}.channels[{j}]"), "unknown_channel", "Use push, sms, voice or email."),
                    }
                }
                if channels.is_empty() {
                    errors.add(format!("{path}.channels"), "no_channels", "Choose at least one channel for this address.");
                }
                let phone_kind = phone.map(|p| buurtnet_domain::channel::PhoneKind::of(p.mobile));
                for channel in channels.iter() {
                    if let Some(missing) = channel.missing_contact(has_email, phone_kind) {
                        errors.add(format!("{path}.channels"), missing.code(), missing.message());
                    }
                }
            }
            let quiet = match a.get("quiet_hours") {
                None => current.map(|c| c.quiet_hours.clone()).unwrap_or_else(|| "[]".into()),
                Some(q) => {
                    let before = errors.len();
                    let list = parse_quiet_hours(Some(q), &format!("{path}.quiet_hours"), &mut errors);
                    if errors.len() > before {
                        continue;
                    }
                    serde_json::to_string(&list).unwrap_or_else(|_| "[]".into())
                }
            };
            address_changes.push((id, channels.bits(), quiet));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Validation(errors));
    }
    app.store.update_self_service(p.id, &language, topics, paused, &address_changes, app.now_ms()).await?;
    // Resuming is an answer to the yearly "still with us?" too.
    if p.paused && !paused {
        app.store.confirm_participant(p.id, app.now_ms()).await?;
    }
    Ok(())
}

/// Deletes everything about a participant. The audit log keeps no personal data.
pub async fn delete(app: &App, record: &ParticipantRecord) -> AppResult<()> {
    app.store.delete_participant(record.participant.id, app.now_ms()).await?;
    app.store.audit(app.now_ms(), "participant", "participant.deleted_self", None, &json!({})).await?;
    Ok(())
}
