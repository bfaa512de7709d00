//! Alarm neighbours and the emergency button (the rules are `buurtnet_domain::alarm`'s). Both
//! sides are members of the neighbourhood conversations with a home address that has a street
//! and house number. An invitation is a random code of which only a keyed hash is stored, valid
//! 15 minutes and used once; the neighbour agrees by entering it. A press writes its message and
//! the delivery rows for exactly one's alarm neighbours in one transaction (the store's
//! `insert_emergency_press`), which the delivery workers send at the priority just below urgent
//! actions; a cancellation expires what has not left and sends a second message to the same
//! people.

use super::alarm_views::{AlarmNeighbour, AlarmNeighbours, Both, Invitation, Press, PressEntry, Presses};
use super::membership::{self, Resident};
use super::requests::AcceptAlarmBody;
use crate::abuse::{self, ClientIp};
use crate::alerting::content;
use crate::alerting::views::iso;
use crate::error::{AppError, AppResult};
use crate::state::App;
use buurtnet_domain::action::{EMERGENCY_PRIORITY, MessageKind, MessageStatus};
use buurtnet_domain::action_text::Texts;
use buurtnet_domain::alarm::{self, CODE_LENGTH};
use buurtnet_domain::{Channel, ChannelSet, Language, Topic};
use buurtnet_store::actions::NewMessage;
use buurtnet_store::deliveries::Target;
use rand::Rng;
use serde_json::{Map, json};

/// The 112 notice in both languages.
pub fn notice() -> Both {
    Both { nl: alarm::notice_112(Language::Nl).into(), en: alarm::notice_112(Language::En).into() }
}

/// The keyed hash an invitation code is stored as.
fn code_hash(app: &App, code: &str) -> String {
    app.signer.counter_key(&format!("alarm-invitation:{code}"))
}

fn code_error(code: &'static str, message: &str) -> AppError {
    AppError::invalid("code", code, message)
}

/// One's street address (for the alert), or 422 saying why alarm neighbours need one.
async fn street_address(app: &App, participant_id: i64) -> AppResult<String> {
    match app.store.home_street_address(participant_id).await? {
        Some(a) => Ok(alarm::address_line(&a.street, &a.house_number, a.city.as_deref())),
        None => Err(AppError::invalid(
            "address",
            "no_street_address",
            "Alarm neighbours need a verified home address with a street and house number (postcode and house number).",
        )),
    }
}

/// Refuses (409) when a participant has the most alarm neighbours already.
async fn room_for_one_more(app: &App, participant_id: i64, whose: &str) -> AppResult<()> {
    if app.store.alarm_pair_count(participant_id).await? >= alarm::MAX_ALARM_NEIGHBOURS {
        return Err(AppError::WrongState(format!(
            "{whose} {} alarm neighbours already, the most there can be; end one first.",
            alarm::MAX_ALARM_NEIGHBOURS
        )));
    }
    Ok(())
}

/// `POST …/alarm-neighbours/invitations`: a new code for a neighbour.
pub async fn invite(app: &App, r: &Resident, device_id: i64) -> AppResult<Invitation> {
    membership::member(app, r, device_id).await?;
    street_address(app, r.participant_id).await?;
    room_for_one_more(app, r.participant_id, "You have").await?;
    let mut bytes = [0u8; CODE_LENGTH];
    rand::rng().fill(&mut bytes);
    let code = alarm::code_from_bytes(&bytes);
    let now = app.now_ms();
    let expires_at = now + alarm::INVITATION_MINUTES * 60_000;
    app.store.insert_alarm_invitation(r.participant_id, &code_hash(app, &code), now, expires_at).await?;
    Ok(Invitation { code, expires_at: iso(expires_at), notice_112: notice() })
}

/// `POST …/alarm-neighbours` (`code`): the invited neighbour agrees; both become alarm
/// neighbours. Every refusal names `code` and stores nothing.
pub async fn accept(app: &App, r: &Resident, device_id: i64, body: AcceptAlarmBody) -> AppResult<AlarmNeighbours> {
    membership::member(app, r, device_id).await?;
    let raw = body.code.as_deref().map(str::trim).unwrap_or_default();
    if raw.is_empty() {
        return Err(code_error("required", "Give the code your neighbour was shown."));
    }
    let unknown = || code_error("unknown_code", "No invitation has this code; ask your neighbour for a new one.");
    let code = alarm::normalise_code(raw).ok_or_else(unknown)?;
    let hash = code_hash(app, &code);
    let invitation = app.store.alarm_invitation(&hash).await?.ok_or_else(unknown)?;
    let now = app.now_ms();
    if invitation.participant_id == r.participant_id {
        return Err(code_error("own_code", "This is your own code: give it to the neighbour you invite."));
    }
    if invitation.used_at.is_some() {
        return Err(code_error("code_used", "This code was used already; ask your neighbour for a new one."));
    }
    if invitation.expires_at <= now {
        return Err(code_error(
            "code_expired",
            format!("This code has expired (codes are valid {} minutes); ask for a new one.", alarm::INVITATION_MINUTES).as_str(),
        ));
    }
    let inviter = invitation.participant_id;
    if app.store.neighbourhood_member(inviter).await?.is_none() {
        return Err(code_error("inviter_not_member", "The neighbour who made this code is no longer a member."));
    }
    if app.store.are_alarm_neighbours(inviter, r.participant_id).await? {
        return Err(AppError::WrongState("You are alarm neighbours already.".into()));
    }
    street_address(app, r.participant_id).await?;
    room_for_one_more(app, r.participant_id, "You have").await?;
    room_for_one_more(app, inviter, "Your neighbour has").await?;
    if app.store.accept_alarm_invitation(&hash, r.participant_id, now).await?.is_none() {
        return Err(code_error("code_used", "This code was used or expired just now; ask your neighbour for a new one."));
    }
    app.store
        .audit(
            now,
            "resident",
            "alarm_neighbours.pair",
            Some(&format!("participant:{}", r.participant_id)),
            &json!({"with": inviter}),
        )
        .await?;
    list(app, r, device_id).await
}

/// `GET …/alarm-neighbours`: one's alarm neighbours by display name and street.
pub async fn list(app: &App, r: &Resident, device_id: i64) -> AppResult<AlarmNeighbours> {
    membership::member(app, r, device_id).await?;
    let mut out = Vec::new();
    for n in app.store.alarm_neighbours_of(r.participant_id).await? {
        let street = app.store.verified_homes(n.participant_id).await?.into_iter().find_map(|h| h.street);
        out.push(AlarmNeighbour { id: n.id, display_name: n.display_name, street, since: iso(n.created_at) });
    }
    Ok(AlarmNeighbours { alarm_neighbours: out, notice_112: notice() })
}

/// `DELETE …/alarm-neighbours/{pid}`: either side ends a pair.
pub async fn end(app: &App, r: &Resident, device_id: i64, pair: &str) -> AppResult<()> {
    membership::member(app, r, device_id).await?;
    let not_found = || AppError::NotFound("You have no such alarm neighbour.".into());
    let pair: i64 = pair.trim().parse().map_err(|_| not_found())?;
    if !app.store.end_alarm_pair(pair, r.participant_id).await? {
        return Err(not_found());
    }
    app.store
        .audit(
            app.now_ms(),
            "resident",
            "alarm_neighbours.end",
            Some(&format!("participant:{}", r.participant_id)),
            &json!({"pair": pair}),
        )
        .await?;
    Ok(())
}

/// Where an alert to `people` goes: every push device of theirs, and SMS and voice where they
/// chose them for a home address (and the number is verified).
async fn targets(app: &App, people: &[i64]) -> AppResult<Vec<Target>> {
    let mut out: Vec<Target> = app.store.devices_of(people).await?.into_iter().map(|(p, d)| (p, d, Channel::Push)).collect();
    for &p in people {
        let chosen = ChannelSet::from_bits(app.store.home_channels(p).await?);
        for c in [Channel::Sms, Channel::Voice] {
            if chosen.contains(c) {
                out.push((p, 0, c));
            }
        }
    }
    Ok(out)
}

/// The message of an alert or its cancellation.
fn message(kind: MessageKind, nl: &Texts, en: &Texts, thread: &str, now: i64) -> NewMessage {
    let mut push = Map::new();
    push.insert("emergency".into(), true.into());
    NewMessage {
        action_id: None,
        kind: kind.as_str().into(),
        status: MessageStatus::Actual.as_str().into(),
        priority: EMERGENCY_PRIORITY,
        override_quiet: true,
        channels: [Channel::Push, Channel::Sms, Channel::Voice].into_iter().collect::<ChannelSet>().bits(),
        topic: Topic::Urgent.as_str().into(),
        area: None,
        // No staff scope: staff never read these (`MessageKind::is_between_residents`).
        scope: String::new(),
        content: content::stored(nl, en, thread, true, push, &[], false),
        created_by: 0,
        send_at: now,
        valid_until: now + alarm::ALERT_VALIDITY_MINUTES * 60_000,
    }
}

/// Who pressed, as the alert names them: display name and address line (a fallback for an
/// address without a street, per language).
async fn presser(app: &App, r: &Resident, device_id: i64) -> AppResult<(String, [String; 2])> {
    let m = membership::member(app, r, device_id).await?;
    let address = match street_address(app, r.participant_id).await {
        Ok(line) => [line.clone(), line],
        Err(_) => ["adres onbekend".into(), "address unknown".into()],
    };
    Ok((m.display_name, address))
}

/// A press as its resident sees it.
pub(super) fn entry(p: &buurtnet_store::alarm_neighbours::PressRow) -> PressEntry {
    PressEntry { id: p.id, recipients: p.recipients, pressed_at: iso(p.created_at), cancelled_at: p.cancelled_at.and_then(iso) }
}

/// `POST …/emergency`: the alert goes to one's alarm neighbours at once. At most
/// `abuse_limits.emergency` presses per participant per window (429 beyond).
pub async fn press(app: &App, client: &ClientIp, r: &Resident, device_id: i64) -> AppResult<Press> {
    let (name, address) = presser(app, r, device_id).await?;
    let who = format!("participant:{}", r.participant_id);
    abuse::check(app, "emergency", &app.config.abuse_limits.emergency, client, &[&who]).await.map_err(|e| match e {
        AppError::TooManyRequests { retry_after_secs, .. } => AppError::TooManyRequests {
            message: format!(
                "You pressed the emergency button {} times within the hour, the most there can be. Call 112 in an emergency.",
                app.config.abuse_limits.emergency.per_target
            ),
            retry_after_secs,
        },
        other => other,
    })?;
    let now = app.now_ms();
    let recipients = app.store.alarm_recipients(r.participant_id).await?;
    let to = targets(app, &recipients).await?;
    let nl = alarm::alert_texts(&name, &address[0], Language::Nl);
    let en = alarm::alert_texts(&name, &address[1], Language::En);
    let thread = format!("emergency-{}", crate::secrets::random_hex(6));
    let m = message(MessageKind::Emergency, &nl, &en, &thread, now);
    let id = app.store.insert_emergency_press(r.participant_id, &m, &recipients, &to, now).await?;
    app.engine.wake_workers.notify_waiters();
    metrics::counter!("buurtnet_emergency_presses_total").increment(1);
    app.store
        .audit(now, "resident", "emergency.press", Some(&who), &json!({"press": id, "recipients": recipients.len()}))
        .await?;
    let p = PressEntry { id, recipients: recipients.len() as i64, pressed_at: iso(now), cancelled_at: None };
    Ok(Press { press: p, notice_112: notice() })
}

/// `POST …/emergency/{eid}/cancel`: a false press; the same people get "cancelled".
pub async fn cancel(app: &App, r: &Resident, device_id: i64, eid: &str) -> AppResult<Press> {
    let (name, address) = presser(app, r, device_id).await?;
    let not_found = || AppError::NotFound("You have no such press of the emergency button.".into());
    let id: i64 = eid.trim().parse().map_err(|_| not_found())?;
    let p = app.store.emergency_press(id, r.participant_id).await?.ok_or_else(not_found)?;
    let now = app.now_ms();
    if p.cancelled_at.is_some() {
        return Err(AppError::WrongState("This press was cancelled already.".into()));
    }
    if now - p.created_at > alarm::CANCEL_HOURS * 3_600_000 {
        return Err(AppError::WrongState(format!("A press can be cancelled within {} hours.", alarm::CANCEL_HOURS)));
    }
    let recipients = app.store.emergency_recipients(id).await?;
    let to = targets(app, &recipients).await?;
    let thread = match app.store.message(p.message_id).await? {
        Some(m) => serde_json::from_str::<serde_json::Value>(&m.content)
            .ok()
            .and_then(|c| c["thread"].as_str().map(str::to_string))
            .unwrap_or_default(),
        None => String::new(),
    };
    let nl = alarm::cancelled_texts(&name, &address[0], Language::Nl);
    let en = alarm::cancelled_texts(&name, &address[1], Language::En);
    let m = message(MessageKind::EmergencyCancelled, &nl, &en, &thread, now);
    if !app.store.cancel_emergency_press(id, r.participant_id, &m, &to, now).await? {
        return Err(AppError::WrongState("This press was cancelled already.".into()));
    }
    app.engine.wake_workers.notify_waiters();
    app.store
        .audit(now, "resident", "emergency.cancel", Some(&format!("participant:{}", r.participant_id)), &json!({"press": id}))
        .await?;
    let entry = PressEntry { cancelled_at: iso(now), ..entry(&p) };
    Ok(Press { press: entry, notice_112: notice() })
}

/// `GET …/emergency`: one's presses, newest first (the last 100).
pub async fn presses(app: &App, r: &Resident, device_id: i64) -> AppResult<Presses> {
    membership::member(app, r, device_id).await?;
    let presses = app.store.emergency_presses_of(r.participant_id, 100).await?.iter().map(entry).collect();
    Ok(Presses { presses, notice_112: notice() })
}
