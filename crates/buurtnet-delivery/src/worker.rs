//! The delivery worker: claims due deliveries in batches, sends them through the channel's
//! provider, and records what became of them — retried later with exponential backoff and
//! jitter (honouring `Retry-After`), failed over to the person's next channel, expired when the
//! message can no longer help, or dead-lettered when its tries are used up.
//!
//! Every step is safe to repeat: a worker that dies leaves its claims to run out, and they are
//! claimed again with the same delivery id (the provider sees the same reference).

use crate::provider::{Content, Destination, Outcome, Outgoing, Provider, Urgency};
use buurtnet_domain::action::MessageKind;
use buurtnet_domain::{Channel, ChannelSet, Clock};
use buurtnet_store::deliveries::{ClaimedDelivery, Finished};
use buurtnet_store::device_batches::{BatchLeftover, DeviceDestination};
use buurtnet_store::{Store, StoreError};
use futures::StreamExt;
use futures::future::BoxFuture;
use rand::Rng;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The adapters per channel, and whether each is paused (shared by every worker of the
/// process that holds a clone).
#[derive(Clone)]
pub struct Providers {
    pub push: Arc<dyn Provider>,
    pub sms: Arc<dyn Provider>,
    pub voice: Arc<dyn Provider>,
    pub email: Arc<dyn Provider>,
    breakers: Arc<Mutex<HashMap<Channel, Breaker>>>,
}

impl Providers {
    pub fn new(push: Arc<dyn Provider>, sms: Arc<dyn Provider>, voice: Arc<dyn Provider>, email: Arc<dyn Provider>) -> Providers {
        Providers { push, sms, voice, email, breakers: Arc::default() }
    }

    /// One provider for every channel (the sandbox).
    pub fn all(p: Arc<dyn Provider>) -> Providers {
        Providers::new(p.clone(), p.clone(), p.clone(), p)
    }

    pub fn get(&self, c: Channel) -> &Arc<dyn Provider> {
        match c {
            Channel::Push => &self.push,
            Channel::Sms => &self.sms,
            Channel::Voice => &self.voice,
            Channel::Email => &self.email,
        }
    }
}

/// How the worker works; see the README's configuration table.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkerConfig {
    /// Deliveries claimed at once.
    pub batch: i64,
    /// Sends in flight at once per worker.
    pub concurrency: usize,
    /// How long a claim holds; a worker that died is taken over after this.
    pub lease_seconds: i64,
    /// Tries before a delivery is dead-lettered (and failed over); with the backoff this spans
    /// about an hour and a half of a provider being down. A delivery whose next try would come
    /// after the message's validity expires (and fails over) instead.
    pub max_attempts: i64,
    /// The first retry waits this long, doubling each time up to `backoff_max_seconds`.
    pub backoff_base_ms: i64,
    pub backoff_max_seconds: i64,
    /// How often an idle worker looks for work (other processes' work; its own process wakes
    /// it at once).
    pub poll_ms: u64,
    /// A send that takes longer is given up (and retried).
    pub send_timeout_seconds: u64,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            batch: 500,
            concurrency: 128,
            lease_seconds: 60,
            max_attempts: 20,
            backoff_base_ms: 2000,
            backoff_max_seconds: 300,
            poll_ms: 100,
            send_timeout_seconds: 30,
        }
    }
}

/// Links the worker puts in messages.
pub trait Links: PersonalLinks {
    /// The page where a person changes or stops their messages (`List-Unsubscribe`).
    fn unsubscribe_url(&self, participant_id: i64) -> Option<String>;

    /// The page a push notification of an action opens (the resident web app's action page),
    /// made for this one delivery: not guessable, and not an id to count through.
    fn action_page_url(&self, _delivery_id: i64) -> Option<String> {
        None
    }
}

/// Where a message that asks for replies (an enquiry) puts the recipient's own reply link; the
/// worker replaces it in every text when it sends.
pub const REPLY_URL_PLACEHOLDER: &str = "__BUURTNET_REPLY_URL__";

/// A recipient's own links in a message that asks for replies.
#[derive(Debug, Clone)]
pub struct Personal {
    /// The reply page, with a token bound to this person and this message's enquiry.
    pub reply_url: String,
    /// A one-click unsubscribe (RFC 8058) for this kind of message only.
    pub unsubscribe_url: Option<String>,
}

/// Makes a recipient's own links when a message that asks for replies is sent.
pub trait PersonalLinks: Send + Sync {
    /// `Ok(None)`: this message asks for no replies. `Err`: the links could not be made now
    /// (the delivery is tried again).
    fn personal(&self, message_id: i64, participant_id: i64) -> BoxFuture<'_, Result<Option<Personal>, String>>;

    /// The links of many (message, participant) pairs at once, in their order (a worker's
    /// batch: one write, not one per delivery). The default asks [`PersonalLinks::personal`]
    /// for each.
    fn personal_many<'a>(&'a self, wants: &'a [(i64, i64)]) -> BoxFuture<'a, Result<Vec<Option<Personal>>, String>> {
        Box::pin(async move {
            let mut out = Vec::with_capacity(wants.len());
            for (m, p) in wants {
                out.push(self.personal(*m, *p).await?);
            }
            Ok(out)
        })
    }
}

/// No links (tests, benchmarks).
pub struct NoLinks;

impl PersonalLinks for NoLinks {
    fn personal(&self, _message_id: i64, _participant_id: i64) -> BoxFuture<'_, Result<Option<Personal>, String>> {
        Box::pin(async { Ok(None) })
    }
}

impl Links for NoLinks {
    fn unsubscribe_url(&self, _participant_id: i64) -> Option<String> {
        None
    }
}

/// The texts of a message in one language, as the fan-out stored them.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoredTexts {
    pub title: String,
    pub text: String,
    pub sms: String,
    pub voice: String,
    #[serde(default)]
    pub html: Option<String>,
    /// The e-mail's plain text (the text with a footer); the text when absent.
    #[serde(default)]
    pub email_text: Option<String>,
}

/// A message's stored content (JSON in `messages.content`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StoredContent {
    pub nl: StoredTexts,
    pub en: Option<StoredTexts>,
    /// Groups an action's messages (push notification tag).
    #[serde(default)]
    pub thread: String,
    /// Extra fields for the push payload (kind, status, action id, url).
    #[serde(default)]
    pub push: serde_json::Map<String, serde_json::Value>,
}

/// What the worker needs to know of a message, cached briefly.
struct MessageInfo {
    kind: String,
    channels: ChannelSet,
    priority: i64,
    valid_until: i64,
    /// An action's start or update whose action has ended.
    action_ended: bool,
    content: StoredContent,
    fetched: Instant,
}

pub struct Worker {
    store: Store,
    clock: Arc<dyn Clock>,
    providers: Providers,
    links: Arc<dyn Links>,
    config: WorkerConfig,
    cache: Mutex<HashMap<i64, Arc<MessageInfo>>>,
    wake: Arc<tokio::sync::Notify>,
    /// Whose turn it is: a device batch or single deliveries (see [`Worker::run_once`]).
    batch_turn: AtomicBool,
}

/// A circuit breaker per channel, shared by a process's workers: after [`Breaker::THRESHOLD`] failures in a
/// row (time-outs, refused connections, 5xx, 429) the provider is paused — claimed deliveries
/// go back in the queue untried — for a cool-down that doubles up to a minute (or the
/// provider's own `Retry-After`); the first send after the pause is the probe. A provider that
/// is down for minutes is thus not hammered, and deliveries keep their tries for when it is
/// back. Only an optimisation: the queue in the database stays the truth.
#[derive(Debug, Default)]
struct Breaker {
    failures: u32,
    open_until: Option<Instant>,
    cooldown: Duration,
}

impl Breaker {
    const THRESHOLD: u32 = 20;
    const FIRST_COOLDOWN: Duration = Duration::from_secs(2);
    const MAX_COOLDOWN: Duration = Duration::from_secs(60);

    fn failed(&mut self, retry_after: Option<Duration>, channel: Channel) {
        self.failures = self.failures.saturating_add(1);
        let now = Instant::now();
        let open = self.open_until.is_some_and(|u| u > now);
        if self.failures >= Self::THRESHOLD && !open {
            self.cooldown =
                if self.cooldown.is_zero() { Self::FIRST_COOLDOWN } else { (self.cooldown * 2).min(Self::MAX_COOLDOWN) };
            let pause = retry_after.map_or(self.cooldown, |r| r.clamp(self.cooldown, Self::MAX_COOLDOWN * 5));
            self.open_until = Some(now + pause);
            metrics::counter!("buurtnet_provider_pauses_total", "channel" => channel.as_str()).increment(1);
            tracing::warn!(channel = channel.as_str(), pause_ms = pause.as_millis() as u64, "provider keeps failing: paused");
        }
    }

    fn worked(&mut self) {
        *self = Breaker::default();
    }
}

/// A claimed delivery ready for its provider.
struct ToSend {
    d: ClaimedDelivery,
    channel: Channel,
    msg: Arc<MessageInfo>,
    out: Outgoing,
    /// Its text waits for the recipient's own reply link.
    needs_link: bool,
}

/// A claimed delivery after the checks before sending.
enum Prepared {
    /// Nothing to send (expired, no destination, unreadable message): its result.
    Done(Result1),
    Send(Box<ToSend>),
}

/// What one send came to, before it is written.
struct Result1 {
    finished: Finished,
    failover: Option<(i64, i64, Channel)>,
    gone_device: Option<i64>,
}

impl Worker {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        providers: Providers,
        links: Arc<dyn Links>,
        config: WorkerConfig,
        wake: Arc<tokio::sync::Notify>,
    ) -> Worker {
        Worker {
            store,
            clock,
            providers,
            links,
            config,
            cache: Mutex::new(HashMap::new()),
            wake,
            batch_turn: AtomicBool::new(false),
        }
    }

    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    /// How long a claim holds: at least as long as the slowest possible batch (every round of
    /// `concurrency` sends taking the whole send time-out), so a claim only runs out when its
    /// worker died — never while a slow provider is still working through it.
    fn lease_ms(&self) -> i64 {
        let rounds = (self.config.batch.max(1) as u64).div_ceil(self.config.concurrency.max(1) as u64);
        let slowest = (rounds + 1) * self.config.send_timeout_seconds;
        (self.config.lease_seconds.max(0) as u64).max(slowest) as i64 * 1000
    }

    /// Runs until `shutdown` is true: works while there is work, otherwise waits for a wake-up
    /// from this process or the poll interval.
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match self.run_once().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(error = %e, "delivery worker: database error; trying again shortly");
                    0
                }
            };
            if worked == 0 {
                tokio::select! {
                    _ = self.wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(self.config.poll_ms)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Works off one claim: alternately a batch of anonymous devices first or single
    /// deliveries first (the other when there is none), so that neither starves the other.
    /// Returns how many deliveries it handled.
    pub async fn run_once(&self) -> Result<usize, StoreError> {
        let batch_turn = !self.batch_turn.fetch_xor(true, Ordering::Relaxed);
        if batch_turn && let Some(n) = self.run_device_batch().await? {
            return Ok(n);
        }
        let n = self.run_deliveries().await?;
        if n == 0
            && !batch_turn
            && let Some(n) = self.run_device_batch().await?
        {
            return Ok(n);
        }
        Ok(n)
    }

    /// Claims one batch of deliveries and works it off.
    async fn run_deliveries(&self) -> Result<usize, StoreError> {
        let now = self.now_ms();
        let claimed = self.store.claim_deliveries(now, now + self.lease_ms(), self.config.batch).await?;
        if claimed.is_empty() {
            return Ok(0);
        }
        let n = claimed.len();
        let results = self.work(claimed).await;
        // The failover rows first: once a delivery is recorded as failed, its replacement
        // must already exist (a crash in between may repeat the failover, never lose it).
        let mut failovers: HashMap<(i64, i64), Vec<buurtnet_store::deliveries::Target>> = HashMap::new();
        for r in &results {
            if let Some((message_id, pid, channel)) = r.failover {
                let priority = self.cached(message_id).await.map(|m| m.priority).unwrap_or(5);
                failovers.entry((message_id, priority)).or_default().push((pid, 0, channel));
            }
        }
        for ((message_id, priority), targets) in failovers {
            let added = self.store.insert_deliveries(message_id, priority, self.now_ms(), &targets).await?;
            metrics::counter!("buurtnet_delivery_failovers_total").increment(added);
        }
        let finished: Vec<Finished> = results.iter().map(|r| r.finished.clone()).collect();
        self.store.finish_deliveries(self.now_ms(), &finished).await?;
        self.after(&results).await;
        Ok(n)
    }

    /// Metrics, and push subscriptions the push service said are gone.
    async fn after(&self, results: &[Result1]) {
        for r in results {
            metrics::counter!("buurtnet_deliveries_total", "state" => r.finished.state).increment(1);
            if let Some(device) = r.gone_device
                && let Err(e) = self.store.remove_device(device, self.now_ms()).await
            {
                tracing::warn!(device.id = device, error = %e, "removing a gone push subscription failed");
            }
        }
    }

    /// Claims one batch of anonymous devices (see `buurtnet_store::device_batches`), pushes to
    /// each, and completes it: a delivery row only for each device not reached at once.
    /// `None` when no batch was due.
    async fn run_device_batch(&self) -> Result<Option<usize>, StoreError> {
        let now = self.now_ms();
        let Some(batch) = self.store.claim_device_batch(now, now + self.lease_ms()).await? else {
            return Ok(None);
        };
        let n = batch.devices.len();
        let Some(msg) = self.cached(batch.message_id).await else {
            // The message is unreadable now: the batch waits a little, its try given back.
            self.store.release_device_batch(&batch, now + 5000).await?;
            return Ok(Some(0));
        };
        if msg.action_ended || now > msg.valid_until {
            self.store.finish_device_batch(&batch, msg.priority, "expired", 0, &[], now).await?;
            metrics::counter!("buurtnet_deliveries_total", "state" => "expired").increment(n as u64);
            return Ok(Some(n));
        }
        let destinations: HashMap<i64, DeviceDestination> =
            self.store.device_destinations(&batch.devices).await?.into_iter().map(|d| (d.id, d)).collect();
        let mut leftovers = Vec::new();
        let claimed: Vec<ClaimedDelivery> = batch
            .devices
            .iter()
            .enumerate()
            .filter_map(|(i, device)| {
                // A device deleted or paused since the message was sent gets nothing.
                let Some(to) = destinations.get(device).filter(|d| !d.paused) else {
                    leftovers.push(BatchLeftover {
                        delivery_id: batch.first_id + i as i64,
                        device_id: *device,
                        state: "failed",
                        next_at: now,
                        attempts: batch.attempts,
                        error: Some("no destination".into()),
                    });
                    return None;
                };
                let to = Some(to);
                Some(ClaimedDelivery {
                    id: batch.first_id + i as i64,
                    message_id: batch.message_id,
                    participant_id: 0,
                    device_id: *device,
                    channel: Channel::Push.as_str().to_string(),
                    attempts: batch.attempts,
                    language: to.map_or_else(|| "nl".to_string(), |d| d.language.clone()),
                    contact: None,
                    endpoint: to.and_then(|d| d.endpoint.clone()),
                    p256dh: to.and_then(|d| d.p256dh.clone()),
                    auth: to.and_then(|d| d.auth.clone()),
                    device_live: true,
                })
            })
            .collect();
        let results = self.work(claimed).await;
        let mut sent = 0i64;
        for r in &results {
            let f = &r.finished;
            if f.state == "sent" {
                sent += 1;
                continue;
            }
            let Some(device_id) = usize::try_from(f.id - batch.first_id).ok().and_then(|i| batch.devices.get(i)) else {
                continue;
            };
            leftovers.push(BatchLeftover {
                delivery_id: f.id,
                device_id: *device_id,
                state: f.state,
                next_at: f.next_at,
                attempts: f.attempts - i64::from(f.untried),
                error: f.error.clone(),
            });
        }
        if !self.store.finish_device_batch(&batch, msg.priority, "done", sent, &leftovers, self.now_ms()).await? {
            tracing::warn!(batch.id = batch.id, "a device batch was taken over by another worker before it was completed");
        }
        self.after(&results).await;
        Ok(Some(n))
    }

    /// Sends claimed deliveries: the checks before sending, the recipients' own links, one
    /// request per message (or per provider batch), and what each came to.
    async fn work(&self, claimed: Vec<ClaimedDelivery>) -> Vec<Result1> {
        let n = claimed.len();
        let concurrency = self.config.concurrency.max(1);
        let prepared: Vec<Prepared> =
            futures::stream::iter(claimed).map(|d| self.prepare(d)).buffer_unordered(concurrency).collect().await;
        let mut results = Vec::with_capacity(n);
        let mut sends = Vec::with_capacity(n);
        for p in prepared {
            match p {
                Prepared::Done(r) => results.push(r),
                Prepared::Send(s) => sends.push(*s),
            }
        }
        let sends = self.with_links(sends, &mut results).await;
        let mut by_channel: HashMap<Channel, Vec<ToSend>> = HashMap::new();
        for s in sends {
            by_channel.entry(s.channel).or_default().push(s);
        }
        // One request per message, or per batch for a provider whose API takes several.
        let mut groups = Vec::new();
        for (channel, mut sends) in by_channel {
            let limit = self.providers.get(channel).batch_limit().max(1);
            while !sends.is_empty() {
                let rest = sends.split_off(sends.len().min(limit));
                groups.push(std::mem::replace(&mut sends, rest));
            }
        }
        let sent: Vec<Vec<Result1>> =
            futures::stream::iter(groups).map(|g| self.send_group(g)).buffer_unordered(concurrency).collect().await;
        results.extend(sent.into_iter().flatten());
        results
    }

    async fn cached(&self, message_id: i64) -> Option<Arc<MessageInfo>> {
        if let Ok(cache) = self.cache.lock()
            && let Some(m) = cache.get(&message_id)
            && m.fetched.elapsed() < Duration::from_secs(2)
        {
            return Some(m.clone());
        }
        let row = match self.store.message(message_id).await {
            Ok(Some(row)) => row,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(message.id = message_id, error = %e, "reading a message failed");
                return None;
            }
        };
        let action_ended = match row.action_id {
            Some(a) if MessageKind::parse(&row.kind).is_some_and(MessageKind::moot_once_action_ends) => {
                matches!(self.store.action(a).await, Ok(Some(a)) if a.state == "closed" || a.state == "cancelled")
            }
            _ => false,
        };
        let content: StoredContent = match serde_json::from_str(&row.content) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(message.id = message_id, error = %e, "a message's stored content is unreadable");
                return None;
            }
        };
        let info = Arc::new(MessageInfo {
            kind: row.kind,
            channels: ChannelSet::from_bits(row.channels),
            priority: row.priority,
            valid_until: row.valid_until,
            action_ended,
            content,
            fetched: Instant::now(),
        });
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(message_id, info.clone());
        }
        Some(info)
    }

    /// Back in the queue at `next_at` without having been tried: the claim's try is given back.
    fn untried(&self, d: &ClaimedDelivery, next_at: i64, why: String) -> Result1 {
        let mut f = self.finished(d, "pending", Some(why));
        f.next_at = next_at;
        f.untried = true;
        Result1 { finished: f, failover: None, gone_device: None }
    }

    fn finished(&self, d: &ClaimedDelivery, state: &'static str, error: Option<String>) -> Finished {
        Finished { id: d.id, attempts: d.attempts, state, next_at: self.now_ms(), provider_id: None, error, untried: false }
    }

    /// Where a failed delivery goes next (see [`next_channel`]).
    async fn next_channel(&self, d: &ClaimedDelivery, failed: Channel, msg: &MessageInfo) -> Option<(i64, i64, Channel)> {
        if d.participant_id == 0 {
            return None;
        }
        let bits = self.store.person_channels(d.participant_id).await.ok()?;
        next_channel(ChannelSet::from_bits(bits), failed, msg.channels, msg.priority).map(|c| (d.message_id, d.participant_id, c))
    }

    /// Everything before the provider: the message, its validity, the destination.
    async fn prepare(&self, d: ClaimedDelivery) -> Prepared {
        let plain = |f: Finished| Prepared::Done(Result1 { finished: f, failover: None, gone_device: None });
        let Some(channel) = d.channel() else {
            return plain(self.finished(&d, "failed", Some("unknown channel".into())));
        };
        let Some(msg) = self.cached(d.message_id).await else {
            // The message is unreadable now: try again later rather than lose it.
            let mut f = self.finished(&d, "pending", Some("message unavailable".into()));
            f.next_at = self.now_ms() + 5000;
            return plain(f);
        };
        let now = self.now_ms();
        if msg.action_ended || now > msg.valid_until {
            let why = if msg.action_ended { "action ended" } else { "past its validity" };
            return plain(self.finished(&d, "expired", Some(why.into())));
        }
        let to = match (channel, &d.contact, &d.endpoint, &d.p256dh, &d.auth) {
            (Channel::Sms | Channel::Voice, Some(phone), ..) => Some(Destination::Phone(phone.clone())),
            (Channel::Email, Some(email), ..) => Some(Destination::Email(email.clone())),
            // The sandbox shows pushes per device (the demo's devices have no subscription).
            (Channel::Push, ..) if d.device_live && self.providers.push.name() == "sandbox" => Some(Destination::Push {
                endpoint: format!("device:{}", d.device_id),
                p256dh: String::new(),
                auth: String::new(),
            }),
            (Channel::Push, _, Some(endpoint), Some(p256dh), Some(auth)) => {
                Some(Destination::Push { endpoint: endpoint.clone(), p256dh: p256dh.clone(), auth: auth.clone() })
            }
            _ => None,
        };
        let Some(to) = to else {
            // Unsubscribed, deleted, or the contact is no longer verified: nothing to send to.
            let failover = self.next_channel(&d, channel, &msg).await;
            return Prepared::Done(Result1 {
                finished: self.finished(&d, "failed", Some("no destination".into())),
                failover,
                gone_device: None,
            });
        };
        // A message that asks for replies carries the recipient's own link, made for the whole
        // batch before sending (see `with_links`).
        let needs_link = d.participant_id != 0 && MessageKind::parse(&msg.kind).is_some_and(|k| k.carries_personal_link(channel));
        let out = self.outgoing(&d, channel, &msg, to, None);
        Prepared::Send(Box::new(ToSend { d, channel, msg, out, needs_link }))
    }

    /// Puts each recipient's own reply link into the sends that need one, made for the whole
    /// batch at once. When the links cannot be made now, those deliveries wait a few seconds
    /// (their try given back).
    async fn with_links(&self, sends: Vec<ToSend>, results: &mut Vec<Result1>) -> Vec<ToSend> {
        let wants: Vec<(i64, i64)> =
            sends.iter().filter(|s| s.needs_link).map(|s| (s.d.message_id, s.d.participant_id)).collect();
        if wants.is_empty() {
            return sends;
        }
        let links = self.links.personal_many(&wants).await;
        let mut links = match links {
            Ok(l) if l.len() == wants.len() => l.into_iter(),
            other => {
                let why = match other {
                    Err(e) => e,
                    Ok(_) => "the links did not match the batch".into(),
                };
                let mut kept = Vec::with_capacity(sends.len());
                for s in sends {
                    if s.needs_link {
                        results.push(self.untried(&s.d, self.now_ms() + 5000, format!("personal link: {why}")));
                    } else {
                        kept.push(s);
                    }
                }
                return kept;
            }
        };
        sends
            .into_iter()
            .map(|mut s| {
                if s.needs_link
                    && let Some(Some(p)) = links.next()
                {
                    s.out = self.outgoing(&s.d, s.channel, &s.msg, s.out.to.clone(), Some(&p));
                }
                s
            })
            .collect()
    }

    /// Waits until `n` more messages may go to the provider under its per-second limit, counted
    /// in the database for every process sharing it (windows of one second by the injected
    /// clock; a window found full is waited out).
    async fn take_permits(&self, channel: Channel, provider: &dyn Provider, n: usize) -> Result<(), StoreError> {
        let limit = i64::from(provider.messages_per_second());
        if limit == 0 || n == 0 {
            return Ok(());
        }
        let key = format!("provider_rate:{}", channel.as_str());
        loop {
            let now = self.now_ms();
            let window = now - now.rem_euclid(1000);
            if self.store.add_to_counter(&key, window, n as i64).await? <= limit {
                return Ok(());
            }
            // Full (what was just counted keeps the limit on the safe side): the next window.
            tokio::time::sleep(Duration::from_millis((window + 1000 - now).clamp(5, 1000) as u64)).await;
        }
    }

    /// How long the channel's provider is paused (see [`Breaker`]), if it is.
    fn paused(&self, channel: Channel) -> Option<Duration> {
        let breakers = self.providers.breakers.lock().ok()?;
        let until = breakers.get(&channel)?.open_until?;
        until.checked_duration_since(Instant::now())
    }

    /// Feeds a group's outcomes to the channel's breaker.
    fn record(&self, channel: Channel, outcomes: &[Outcome]) {
        let Ok(mut breakers) = self.providers.breakers.lock() else { return };
        let b = breakers.entry(channel).or_default();
        for o in outcomes {
            match o {
                Outcome::Retry { retry_after, .. } => b.failed(*retry_after, channel),
                _ => b.worked(),
            }
        }
    }

    /// Sends a group of one channel (one message, or one provider batch) and concludes each.
    async fn send_group(&self, group: Vec<ToSend>) -> Vec<Result1> {
        let Some(channel) = group.first().map(|s| s.channel) else { return Vec::new() };
        if let Some(wait) = self.paused(channel) {
            // The provider is down: back in the queue for when the pause ends, the try given
            // back (a pause never uses up a delivery's tries).
            let next_at = self.now_ms() + wait.as_millis() as i64;
            let why = format!("{} paused: its provider keeps failing", channel.as_str());
            return group.iter().map(|s| self.untried(&s.d, next_at, why.clone())).collect();
        }
        let provider = self.providers.get(channel);
        if let Err(e) = self.take_permits(channel, provider.as_ref(), group.len()).await {
            // The shared count is unreadable: back in the queue shortly, the try given back.
            tracing::warn!(error = %e, "rate limit count failed; trying again shortly");
            let next_at = self.now_ms() + 1000;
            return group.iter().map(|s| self.untried(&s.d, next_at, "rate limit count unavailable".into())).collect();
        }
        let started = Instant::now();
        let timeout = Duration::from_secs(self.config.send_timeout_seconds);
        let outcomes = if group.len() == 1 {
            match tokio::time::timeout(timeout, provider.send(&group[0].out)).await {
                Ok(o) => vec![o],
                Err(_) => Vec::new(),
            }
        } else {
            let outs: Vec<Outgoing> = group.iter().map(|s| s.out.clone()).collect();
            tokio::time::timeout(timeout, provider.send_batch(&outs)).await.unwrap_or_default()
        };
        metrics::histogram!("buurtnet_provider_latency_seconds", "channel" => channel.as_str(), "provider" => provider.name())
            .record(started.elapsed().as_secs_f64());
        let timed_out = Outcome::Retry { reason: "provider timed out".into(), retry_after: None };
        self.record(channel, if outcomes.is_empty() { std::slice::from_ref(&timed_out) } else { &outcomes });
        let mut outcomes = outcomes.into_iter();
        let mut results = Vec::with_capacity(group.len());
        for s in group {
            // A provider that timed out (or answered for fewer messages) is tried again.
            let outcome =
                outcomes.next().unwrap_or_else(|| Outcome::Retry { reason: "provider timed out".into(), retry_after: None });
            results.push(self.conclude(&s.d, s.channel, &s.msg, outcome).await);
        }
        results
    }

    /// What a provider's outcome means for the delivery.
    async fn conclude(&self, d: &ClaimedDelivery, channel: Channel, msg: &MessageInfo, outcome: Outcome) -> Result1 {
        let plain = |f: Finished| Result1 { finished: f, failover: None, gone_device: None };
        let now = self.now_ms();
        match outcome {
            Outcome::Accepted { provider_id } => {
                let mut f = self.finished(d, "sent", None);
                f.provider_id = provider_id;
                plain(f)
            }
            Outcome::Retry { reason, retry_after } => {
                if d.attempts >= self.config.max_attempts {
                    let failover = self.next_channel(d, channel, msg).await;
                    return Result1 { finished: self.finished(d, "dead", Some(reason)), failover, gone_device: None };
                }
                let wait = backoff(d.attempts, self.config.backoff_base_ms, self.config.backoff_max_seconds * 1000);
                let wait = retry_after.map(|r| (r.as_millis() as i64).max(wait)).unwrap_or(wait);
                if now + wait > msg.valid_until {
                    let failover = self.next_channel(d, channel, msg).await;
                    return Result1 {
                        finished: self.finished(d, "expired", Some(format!("{reason}; no retry before the message expires"))),
                        failover,
                        gone_device: None,
                    };
                }
                let mut f = self.finished(d, "pending", Some(reason));
                f.next_at = now + wait;
                plain(f)
            }
            Outcome::Gone { reason } => {
                let failover = self.next_channel(d, channel, msg).await;
                let gone_device = (channel == Channel::Push && d.device_id != 0).then_some(d.device_id);
                Result1 { finished: self.finished(d, "failed", Some(reason)), failover, gone_device }
            }
            Outcome::Rejected { reason } => {
                let failover = self.next_channel(d, channel, msg).await;
                Result1 { finished: self.finished(d, "failed", Some(reason)), failover, gone_device: None }
            }
        }
    }

    fn outgoing(
        &self,
        d: &ClaimedDelivery,
        channel: Channel,
        msg: &MessageInfo,
        to: Destination,
        personal: Option<&Personal>,
    ) -> Outgoing {
        let (language, texts) = match (d.language.as_str(), &msg.content.en) {
            ("en", Some(en)) => ("en", en),
            _ => ("nl", &msg.content.nl),
        };
        let personalised;
        let texts = match personal {
            Some(p) => {
                personalised = personalise(texts, &p.reply_url);
                &personalised
            }
            // No link to give (e.g. an anonymous device): the place for it stays empty.
            None if texts.email_text.as_deref().is_some_and(|t| t.contains(REPLY_URL_PLACEHOLDER)) => {
                personalised = personalise(texts, "");
                &personalised
            }
            None => texts,
        };
        let unsubscribe_url = match personal {
            Some(p) if p.unsubscribe_url.is_some() => p.unsubscribe_url.clone(),
            _ if channel == Channel::Email && d.participant_id != 0 => self.links.unsubscribe_url(d.participant_id),
            _ => None,
        };
        let mut content = Content { title: texts.title.clone(), ..Content::default() };
        match channel {
            Channel::Push => {
                let mut payload = msg.content.push.clone();
                payload.insert("title".into(), texts.title.clone().into());
                payload.insert("body".into(), texts.text.clone().into());
                // The tag is the delivery's stable reference (a repeat after a crash replaces
                // itself on the phone); the thread groups an action's messages.
                payload.insert("tag".into(), format!("bn{}", d.id).into());
                payload.insert("thread".into(), msg.content.thread.clone().into());
                payload.insert("message_id".into(), d.message_id.into());
                payload.insert("message_kind".into(), msg.kind.clone().into());
                content.text = texts.text.clone();
                if let Some(p) = personal {
                    payload.insert("url".into(), p.reply_url.clone().into());
                }
                if payload.contains_key("action_id")
                    && let Some(page) = self.links.action_page_url(d.id)
                {
                    payload.insert("page".into(), page.into());
                }
                content.push_payload = Some(serde_json::Value::Object(payload).to_string());
            }
            Channel::Sms => content.text = texts.sms.clone(),
            Channel::Voice => {
                content.text = texts.voice.clone();
                content.replays = 2;
            }
            Channel::Email => {
                content.text = texts.email_text.clone().unwrap_or_else(|| texts.text.clone());
                content.html = texts.html.clone();
                content.one_click_unsubscribe = personal.is_some_and(|p| p.unsubscribe_url.is_some());
                content.unsubscribe_url = unsubscribe_url;
            }
        }
        let urgency = match msg.priority {
            0 => Urgency::Alarm,
            // Urgent actions, and a resident's emergency alert to their alarm neighbours (3).
            1..=3 => Urgency::High,
            4..=7 => Urgency::Normal,
            _ => Urgency::Low,
        };
        let ttl = ((msg.valid_until - self.now_ms()).max(0) / 1000) as u64;
        Outgoing {
            delivery_id: d.id,
            reference: format!("bn{}", d.id),
            thread: msg.content.thread.clone(),
            channel,
            to,
            language: language.to_string(),
            content,
            urgency,
            time_to_live: Duration::from_secs(ttl),
        }
    }
}

/// Where a failed delivery goes next: the person's next reachable channel (`theirs`: their
/// verified contact points, also one they did not choose for this message: they signed up to be
/// reached) within the message's channels, in the order SMS, e-mail, and a voice call only for
/// alarms and AMBER Alerts (priority 0). Push is never a failover target: every device of the
/// person got its own delivery. A channel that already has a delivery of this message for the
/// person is skipped when the row is written, so failover never loops.
pub fn next_channel(theirs: ChannelSet, failed: Channel, message_channels: ChannelSet, priority: i64) -> Option<Channel> {
    [Channel::Sms, Channel::Email, Channel::Voice]
        .into_iter()
        .filter(|c| *c != failed && (*c != Channel::Voice || priority == 0))
        .find(|c| theirs.contains(*c) && message_channels.contains(*c))
}

/// After a provider's delivery report said delivery `id` failed (the message never reached
/// the phone): its replacement on the person's next channel, while the message is still valid
/// and its action open. True when a replacement was written.
pub async fn fail_over_reported(store: &Store, id: i64, now: i64) -> Result<bool, StoreError> {
    let Some(d) = store.delivery(id).await? else { return Ok(false) };
    let (Some(failed), true) = (Channel::parse(&d.channel), d.participant_id != 0) else { return Ok(false) };
    let Some(msg) = store.message(d.message_id).await? else { return Ok(false) };
    if now > msg.valid_until {
        return Ok(false);
    }
    if let Some(a) = msg.action_id
        && MessageKind::parse(&msg.kind).is_some_and(MessageKind::moot_once_action_ends)
        && store.action(a).await?.is_some_and(|a| a.state == "closed" || a.state == "cancelled")
    {
        return Ok(false);
    }
    let theirs = ChannelSet::from_bits(store.person_channels(d.participant_id).await?);
    let Some(next) = next_channel(theirs, failed, ChannelSet::from_bits(msg.channels), msg.priority) else { return Ok(false) };
    let added = store.insert_deliveries(d.message_id, msg.priority, now, &[(d.participant_id, 0, next)]).await?;
    metrics::counter!("buurtnet_delivery_failovers_total").increment(added);
    Ok(added > 0)
}

/// The texts with the recipient's reply link in place of [`REPLY_URL_PLACEHOLDER`] (escaped
/// for the HTML).
fn personalise(t: &StoredTexts, url: &str) -> StoredTexts {
    let html_url: String = url
        .chars()
        .map(|c| match c {
            '&' => "&amp;".to_string(),
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '"' => "&quot;".to_string(),
            '\'' => "&#39;".to_string(),
            c => c.to_string(),
        })
        .collect();
    let r = |s: &str| s.replace(REPLY_URL_PLACEHOLDER, url);
    StoredTexts {
        title: r(&t.title),
        text: r(&t.text),
        sms: r(&t.sms),
        voice: r(&t.voice),
        html: t.html.as_deref().map(|h| h.replace(REPLY_URL_PLACEHOLDER, &html_url)),
        email_text: t.email_text.as_deref().map(r),
    }
}

/// The wait before try `attempts + 1`: `base · 2^(attempts-1)`, capped, with ±20% jitter so
/// that deliveries failed together do not retry together.
pub fn backoff(attempts: i64, base_ms: i64, max_ms: i64) -> i64 {
    let exp = (attempts - 1).clamp(0, 20) as u32;
    let raw = base_ms.saturating_mul(1i64 << exp).min(max_ms).max(1);
    let jitter = rand::rng().random_range(0.8..1.2);
    (raw as f64 * jitter) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        for (attempt, expect) in [(1, 2000.0), (2, 4000.0), (3, 8000.0), (10, 300_000.0)] {
            for _ in 0..50 {
                let w = backoff(attempt, 2000, 300_000) as f64;
                assert!(w >= expect * 0.8 - 1.0 && w <= expect * 1.2, "attempt {attempt}: {w}");
            }
        }
    }

    #[test]
    fn the_breaker_opens_after_failures_in_a_row_and_backs_off() {
        let mut b = Breaker::default();
        for _ in 0..Breaker::THRESHOLD - 1 {
            b.failed(None, Channel::Sms);
        }
        assert!(b.open_until.is_none(), "not yet");
        b.worked();
        for _ in 0..Breaker::THRESHOLD - 1 {
            b.failed(None, Channel::Sms);
        }
        assert!(b.open_until.is_none(), "a success in between starts the count again");
        b.failed(None, Channel::Sms);
        let first = b.open_until.map(|u| u.saturating_duration_since(Instant::now()));
        assert!(first.is_some_and(|d| d > Duration::from_millis(1500) && d <= Breaker::FIRST_COOLDOWN), "{first:?}");
        // Failing again while open changes nothing; after it, the pause doubles.
        b.failed(None, Channel::Sms);
        assert_eq!(b.cooldown, Breaker::FIRST_COOLDOWN);
        b.open_until = Some(Instant::now());
        b.failed(None, Channel::Sms);
        assert_eq!(b.cooldown, Breaker::FIRST_COOLDOWN * 2);
        for _ in 0..10 {
            b.open_until = Some(Instant::now());
            b.failed(None, Channel::Sms);
        }
        assert_eq!(b.cooldown, Breaker::MAX_COOLDOWN, "capped");
        // The provider's Retry-After counts.
        let mut b = Breaker::default();
        for _ in 0..Breaker::THRESHOLD {
            b.failed(Some(Duration::from_secs(120)), Channel::Push);
        }
        let pause = b.open_until.map(|u| u.saturating_duration_since(Instant::now()));
        assert!(pause.is_some_and(|d| d > Duration::from_secs(110)), "{pause:?}");
    }
}
