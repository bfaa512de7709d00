//! The live feed: Server-Sent Events of action messages, for the console (all messages within
//! the staff member's scope, and the tips residents send, for dispatchers) and for open resident
//! pages (the texts of actions whose area holds the resident's point). Each process polls the
//! database for new action messages and tips, so what arrives through any process reaches every
//! open page.

use crate::auth::{Credential, StaffUser};
use crate::state::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use buurtnet_geo::target_area::{Member, TargetArea, parse_area};
use futures::Stream;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast;

/// One action message or tip as the feed shows it.
pub struct LiveEvent {
    /// The SSE event name: `message` (an action message) or `tip` (a resident's tip).
    pub event: &'static str,
    /// The message's id, or the tip's (reply) id.
    pub message_id: i64,
    pub action_id: i64,
    pub scope: String,
    /// `actual`, `exercise` or `test` (tests are not shown to residents).
    pub status: String,
    /// The action's area, parsed once for every subscriber.
    pub area: Option<TargetArea>,
    /// The coarse cells the area overlaps (`None`: everywhere), for "where I am" pages.
    pub coarse: Option<std::collections::HashSet<i64>>,
    /// `{"id", "action_id", "kind", "status", "nl": {title, text}, "en": {…}, "sent_at"}`; for
    /// a tip the reply as `GET /actions/{id}/tips` lists it, with `action_id`.
    pub json: Value,
}

/// Open resident feeds per process at most (each costs a connection and a task).
const MAX_PUBLIC_FEEDS: usize = 10_000;

pub struct Feed {
    tx: broadcast::Sender<Arc<LiveEvent>>,
    open_public: Arc<AtomicUsize>,
    /// Open resident feeds per client address (IPv6 per /64): one address cannot take every
    /// slot of the process.
    open_by_client: ClientCounts,
}

/// Open resident feeds per client address key.
type ClientCounts = Arc<Mutex<HashMap<String, usize>>>;

impl Default for Feed {
    fn default() -> Self {
        Feed { tx: broadcast::channel(1024).0, open_public: Arc::default(), open_by_client: Arc::default() }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}

/// Counts an open resident feed (in the process, and for its client address when known);
/// released when the stream ends.
struct Slot {
    open: Arc<AtomicUsize>,
    client: Option<(ClientCounts, String)>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
        if let Some((map, key)) = &self.client {
            let mut m = map.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(n) = m.get_mut(key) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    m.remove(key);
                }
            }
        }
    }
}

/// Why a resident feed was not opened.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The process has as many resident feeds open as it takes.
    Full,
    /// This client address has as many feeds open as one address may.
    ClientFull,
}

/// Takes a resident feed's slot: one of the process's, and one of `client`'s (at most
/// `per_client`, 0 = no limit per address).
fn public_slot(feed: &Feed, client: Option<String>, per_client: usize) -> Result<Slot, Refused> {
    let client = match client {
        Some(key) => {
            let mut m = feed.open_by_client.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let n = m.entry(key.clone()).or_insert(0);
            if per_client > 0 && *n >= per_client {
                return Err(Refused::ClientFull);
            }
            *n += 1;
            Some((feed.open_by_client.clone(), key))
        }
        None => None,
    };
    // From here on the slot releases what it took, also when the process is full.
    let slot = Slot { open: feed.open_public.clone(), client };
    if feed.open_public.fetch_add(1, Ordering::Relaxed) >= MAX_PUBLIC_FEEDS {
        return Err(Refused::Full);
    }
    Ok(slot)
}

/// How far back each poll looks: ids are taken before their transaction commits, so a
/// message can appear after one with a higher id.
const WINDOW_MS: i64 = 60_000;

/// Polls for new action messages once a second and hands each to every open feed once.
pub async fn poll(state: AppState) {
    let mut seen: HashMap<i64, i64> = HashMap::new();
    let mut seen_tips: HashMap<i64, i64> = HashMap::new();
    let mut first = true;
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let now = state.now_ms();
        let rows = match state.store.recent_action_messages(now - WINDOW_MS, 1000).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: reading new messages failed");
                continue;
            }
        };
        seen.retain(|_, at| *at >= now - 2 * WINDOW_MS);
        for m in rows {
            if seen.insert(m.id, m.created_at).is_some() || first {
                // Seen before (or sent before this process started).
                continue;
            }
            let content: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
            // The area of an update is its action's.
            let area_json = match (&m.area, m.action_id) {
                (Some(a), _) => Some(a.clone()),
                (None, Some(action)) => state.store.action(action).await.ok().flatten().map(|a| a.area),
                _ => None,
            };
            let index = state.areas.current();
            let area_value = area_json.and_then(|a| serde_json::from_str::<Value>(&a).ok());
            let area = area_value.as_ref().and_then(|v| parse_area(v, &index).ok());
            let coarse = match area_value.as_ref().and_then(|v| parse_area(v, &index).ok()) {
                Some(a) => buurtnet_targeting::reach::area_coarse_cells(a),
                None => Some(Default::default()),
            };
            let event = LiveEvent {
                event: "message",
                message_id: m.id,
                action_id: m.action_id.unwrap_or(0),
                scope: m.scope.clone(),
                status: m.status.clone(),
                area,
                coarse,
                json: json!({
                    "id": m.id,
                    "action_id": m.action_id,
                    "kind": m.kind,
                    "status": m.status,
                    "action_kind": content["push"]["kind"],
                    "action_level": content["push"]["level"],
                    "nl": {"title": content["nl"]["title"], "text": content["nl"]["text"]},
                    "en": {"title": content["en"]["title"], "text": content["en"]["text"]},
                    "sent_at": super::actions::millis(m.created_at),
                }),
            };
            let _ = state.live_feed.tx.send(Arc::new(event));
        }
        tips(&state, now, &mut seen_tips, first).await;
        first = false;
    }
}

/// Hands the tips received since the last poll to the open staff feeds.
async fn tips(state: &AppState, now: i64, seen: &mut HashMap<i64, i64>, first: bool) {
    let rows = match state.store.recent_tips(now - WINDOW_MS, 1000).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "live feed: reading new tips failed");
            return;
        }
    };
    seen.retain(|_, at| *at >= now - 2 * WINDOW_MS);
    for (reply_id, action_id) in rows {
        if seen.insert(reply_id, now).is_some() || first {
            continue;
        }
        let (Ok(Some(action)), Ok(Some(reply))) = (state.store.action(action_id).await, state.store.reply(reply_id).await) else {
            continue;
        };
        let mut json = match crate::replies::view::reply_json(state, &reply).await.map(serde_json::to_value) {
            Ok(Ok(json)) => json,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, reply = reply_id, "live feed: a tip could not be written");
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %e, reply = reply_id, "live feed: a tip could not be read");
                continue;
            }
        };
        json["action_id"] = json!(action_id);
        let event = LiveEvent {
            event: "tip",
            message_id: reply_id,
            action_id,
            scope: action.scope,
            status: action.status,
            area: None,
            // Tips are for staff only: no resident feed matches them.
            coarse: Some(Default::default()),
            json,
        };
        let _ = state.live_feed.tx.send(Arc::new(event));
    }
}

/// One open feed.
struct Open {
    rx: broadcast::Receiver<Arc<LiveEvent>>,
    filter: Filter,
    _slot: Option<Slot>,
    state: AppState,
    recheck: Duration,
    next_check: tokio::time::Instant,
}

impl Open {
    /// The next event to send; `None` ends the stream.
    async fn next(&mut self) -> Option<Event> {
        loop {
            let received = match &self.filter {
                Filter::Staff(staff) => {
                    tokio::select! {
                        biased;
                        _ = tokio::time::sleep_until(self.next_check) => {
                            if !staff.still_granted(&self.state).await {
                                return None;
                            }
                            self.next_check = tokio::time::Instant::now() + self.recheck;
                            continue;
                        }
                        r = self.rx.recv() => r,
                    }
                }
                _ => self.rx.recv().await,
            };
            let ev = match received {
                Ok(ev) => ev,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if !self.keeps(&ev) {
                continue;
            }
            if let (Filter::Staff(staff), "tip") = (&self.filter, ev.event) {
                // A tip holds a resident's words (and maybe a phone number and photos): shown
                // only to a credential that still grants it, checked now.
                if !staff.still_granted(&self.state).await {
                    return None;
                }
                self.next_check = tokio::time::Instant::now() + self.recheck;
                let target = format!("reply:{}", ev.message_id);
                let details = json!({"action": ev.action_id, "via": "live"});
                let actor = staff.user.actor();
                if let Err(e) = self.state.store.audit(self.state.now_ms(), &actor, "tip.view", Some(&target), &details).await {
                    tracing::warn!(error = %e, "live feed: a tip view could not be audited; not shown");
                    continue;
                }
            }
            return Some(Event::default().event(ev.event).id(ev.message_id.to_string()).data(ev.json.to_string()));
        }
    }

    fn keeps(&self, ev: &LiveEvent) -> bool {
        match &self.filter {
            Filter::Staff(staff) => {
                let scope = &staff.user.scope;
                (ev.event != "tip" || staff.tips) && scope.sees_record_of(&ev.scope)
            }
            Filter::Point(lat, lon) => {
                ev.event == "message" && ev.status != "test" && ev.area.as_ref().is_some_and(|a| area_holds(a, *lat, *lon))
            }
            Filter::Coarse(cell) => {
                ev.event == "message" && ev.status != "test" && ev.coarse.as_ref().is_none_or(|c| c.contains(cell))
            }
        }
    }
}

/// Whether a point lies in an event's area.
pub(crate) fn area_holds(area: &TargetArea, lat: f64, lon: f64) -> bool {
    let cell = buurtnet_domain::cell::cell_id(lat, lon);
    area.members.iter().any(|m| match m {
        Member::Shape(s) => s.contains(lat, lon),
        Member::Code { outline: Some(o), .. } => o.matches(cell, lat, lon),
        Member::Code { outline: None, .. } => true,
    })
}

/// A staff member's feed: every message within their scope, and its tips when `tips`
/// (dispatchers and admins only; each tip shown is audited as a view by them). The feed checks
/// `credential` again at least every `console.live_recheck_ms` and before each tip, and ends
/// once it no longer grants this user, role and scope (revoked, signed out everywhere,
/// disabled, role or scope changed: by any process sharing the database).
pub struct StaffFeed {
    pub user: StaffUser,
    pub tips: bool,
    pub credential: Credential,
}

impl StaffFeed {
    async fn still_granted(&self, state: &AppState) -> bool {
        match self.credential.still_grants(state, &self.user).await {
            Ok(granted) => granted,
            Err(e) => {
                // Fail closed: the page reconnects and signs in again.
                tracing::warn!(error = %e, "live feed: checking the session or token failed; ending the feed");
                false
            }
        }
    }
}

/// Which events a subscriber gets.
pub enum Filter {
    /// Staff: see [`StaffFeed`].
    Staff(StaffFeed),
    /// A resident page: messages whose area holds the point (no tests).
    Point(f64, f64),
    /// A "where I am" page: messages whose area overlaps the coarse cell (no tests); the page
    /// itself decides whether its precise position is inside.
    Coarse(i64),
}

/// The feed as Server-Sent Events (`event: message`, JSON data), with keep-alive comments.
/// `None` when the process has as many resident feeds open as it takes.
pub fn stream(state: AppState, filter: Filter) -> Option<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let slot = match filter {
        Filter::Point(..) | Filter::Coarse(_) => Some(public_slot(&state.live_feed, None, 0).ok()?),
        Filter::Staff(_) => None,
    };
    Some(sse(state, filter, slot))
}

/// A resident feed for one client address (its key as the abuse limits count it): refused
/// when the process, or this address (`alerting.public_feeds_per_address`), has as many open
/// as it may.
pub fn public_stream(
    state: AppState,
    filter: Filter,
    client: String,
) -> Result<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>, Refused> {
    let slot = public_slot(&state.live_feed, Some(client), state.config.alerting.public_feeds_per_address)?;
    Ok(sse(state, filter, Some(slot)))
}

fn sse(state: AppState, filter: Filter, slot: Option<Slot>) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let rx = state.live_feed.subscribe();
    let recheck = Duration::from_millis(state.config.console.live_recheck_ms.max(100));
    let feed = Open { rx, filter, _slot: slot, state, recheck, next_check: tokio::time::Instant::now() + recheck };
    let s = futures::stream::unfold(feed, |mut feed| async move {
        let event = feed.next().await?;
        Some((Ok(event), feed))
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_takes_only_its_share_of_the_slots() {
        let feed = Feed::default();
        let a: Vec<Slot> = (0..3).filter_map(|_| public_slot(&feed, Some("192.0.2.7".into()), 3).ok()).collect();
        assert_eq!(a.len(), 3);
        assert_eq!(public_slot(&feed, Some("192.0.2.7".into()), 3).err(), Some(Refused::ClientFull));
        assert!(public_slot(&feed, Some("192.0.2.8".into()), 3).is_ok(), "another address still gets one");
        drop(a);
        assert_eq!(feed.open_public.load(Ordering::Relaxed), 0);
        assert!(feed.open_by_client.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty());
        assert!(public_slot(&feed, Some("192.0.2.7".into()), 3).is_ok());
    }
}
