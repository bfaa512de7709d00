//! The live feed: Server-Sent Events of action messages, for the console (all messages within
//! the staff member's scope) and for open resident pages (the texts of actions whose area holds
//! the resident's point). Each process polls the database for new action messages, so a
//! message sent through any process reaches every open page.

use crate::state::AppState;
use axum::response::sse::{Event, KeepAlive, Sse};
use buurtnet_domain::staff::Scope;
use buurtnet_geo::target_area::{Member, parse_area};
use futures::Stream;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;

/// One action message as the feed shows it.
#[derive(Debug, Clone)]
pub struct LiveEvent {
    pub message_id: i64,
    pub action_id: i64,
    pub scope: String,
    pub area: Option<Value>,
    /// `{"id", "action_id", "kind", "status", "nl": {title, text}, "en": {…}, "sent_at"}`.
    pub json: Value,
}

pub struct Feed {
    tx: broadcast::Sender<Arc<LiveEvent>>,
}

impl Default for Feed {
    fn default() -> Self {
        Feed { tx: broadcast::channel(1024).0 }
    }
}

impl Feed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<LiveEvent>> {
        self.tx.subscribe()
    }
}

/// Polls for new action messages once a second and hands them to every open feed.
pub async fn poll(state: AppState) {
    let mut last = match state.store.last_message_id().await {
        Ok(id) => id,
        Err(e) => {
            tracing::warn!(error = %e, "live feed: cannot read the newest message; starting from the beginning");
            0
        }
    };
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        let rows = match state.store.action_messages_after(last, 100).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::warn!(error = %e, "live feed: reading new messages failed");
                continue;
            }
        };
        for m in rows {
            last = m.id;
            let content: Value = serde_json::from_str(&m.content).unwrap_or(Value::Null);
            // The area of an update is its action's: read it from the first message.
            let area = match (&m.area, m.action_id) {
                (Some(a), _) => serde_json::from_str(a).ok(),
                (None, Some(action)) => {
                    state.store.action(action).await.ok().flatten().and_then(|a| serde_json::from_str(&a.area).ok())
                }
                _ => None,
            };
            let event = LiveEvent {
                message_id: m.id,
                action_id: m.action_id.unwrap_or(0),
                scope: m.scope.clone(),
                area,
                json: json!({
                    "id": m.id,
                    "action_id": m.action_id,
                    "kind": m.kind,
                    "status": m.status,
                    "action_kind": content["push"]["kind"],
                    "nl": {"title": content["nl"]["title"], "text": content["nl"]["text"]},
                    "en": {"title": content["en"]["title"], "text": content["en"]["text"]},
                    "sent_at": super::actions::millis(m.created_at),
                }),
            };
            let _ = state.live_feed.tx.send(Arc::new(event));
        }
    }
}

/// Whether a point lies in an event's area.
fn area_holds(state: &AppState, area: &Value, lat: f64, lon: f64) -> bool {
    let index = state.areas.current();
    let Ok(parsed) = parse_area(area, &index) else { return false };
    let cell = buurtnet_domain::cell::cell_id(lat, lon);
    parsed.members.iter().any(|m| match m {
        Member::Shape(s) => s.contains(lat, lon),
        Member::Code { outline: Some(o), .. } => o.matches(cell, lat, lon),
        Member::Code { outline: None, .. } => true,
    })
}

/// Which events a subscriber gets.
pub enum Filter {
    /// Staff: every message within the scope.
    Staff(Scope),
    /// A resident page: messages whose area holds the point (every message without a point).
    Point(Option<(f64, f64)>),
}

/// The feed as Server-Sent Events (`event: message`, JSON data), with keep-alive comments.
pub fn stream(state: AppState, filter: Filter) -> Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>> {
    let rx = state.live_feed.subscribe();
    let s = futures::stream::unfold((rx, state, filter), |(mut rx, state, filter)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    let keep = match &filter {
                        Filter::Staff(Scope::National) => true,
                        Filter::Staff(scope) => ev.scope == scope.code(),
                        Filter::Point(None) => true,
                        Filter::Point(Some((lat, lon))) => ev.area.as_ref().is_some_and(|a| area_holds(&state, a, *lat, *lon)),
                    };
                    if keep {
                        let event = Event::default().event("message").id(ev.message_id.to_string()).data(ev.json.to_string());
                        return Some((Ok(event), (rx, state, filter)));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(s).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
