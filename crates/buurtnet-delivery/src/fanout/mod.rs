//! The fan-out of a message: from its area (a start or an information message) or from the
//! people and devices its action's first message reached (updates, closing, cancellation) to
//! delivery rows, written in blocks so that the first deliveries leave while the rest of a
//! large audience is still being resolved.
//!
//! A fan-out is claimed under a lease that each block extends; a process that dies mid-way
//! leaves it to be claimed again, and the rerun skips every delivery already written (they are
//! unique per message, person, device and channel).
//!
//! Who an area reaches comes from the [`Audience`] the server passes in (its targeting); what a
//! message's kind means (area or first message, quiet hours, moot once its action ended) from
//! the domain's `MessageKind`.

mod audience;

pub use audience::{AreaAudience, Audience, People};

use buurtnet_domain::action::MessageKind;
use buurtnet_domain::{Channel, ChannelSet, Clock};
use buurtnet_store::Store;
use buurtnet_store::actions::MessageRow;
use buurtnet_store::deliveries::Target;
use futures::TryStreamExt;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;
use tokio::sync::Notify;

/// Recipients per block written at once.
const BLOCK: usize = 4096;
/// The first block is small, so the first messages leave within milliseconds; blocks then
/// double up to [`BLOCK`].
const FIRST_BLOCK: usize = 128;

/// The settings a fan-out runs with.
#[derive(Debug, Clone, Copy)]
pub struct FanoutConfig {
    /// How long a fan-out claim holds without a new block (`alerting.fanout_lease_seconds`).
    pub lease_ms: i64,
    /// Anonymous devices per batch (`alerting.worker.batch`).
    pub batch: i64,
    /// Whether anonymous devices are written as batches (`alerting.device_batches`).
    pub device_batches: bool,
}

/// The fan-out of one process: what it reads and writes, who areas reach, and the wake-ups.
pub struct Fanout {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    pub audience: Arc<dyn Audience>,
    pub config: FanoutConfig,
    /// This process asks for a fan-out now (other processes poll).
    pub wake_fanout: Arc<Notify>,
    /// Rung after each block written, for this process's workers.
    pub wake_workers: Arc<Notify>,
}

impl Fanout {
    fn now_ms(&self) -> i64 {
        self.clock.now().timestamp_millis()
    }

    fn lease_ms(&self) -> i64 {
        self.config.lease_ms
    }

    /// Runs fan-outs until `shutdown`: whenever one is due, or this process asks (`wake_fanout`).
    pub async fn run(self: Arc<Self>, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        let state = &*self;
        loop {
            if *shutdown.borrow() {
                return;
            }
            let worked = match state.fanout_once().await {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "fan-out failed; it will be taken up again");
                    false
                }
            };
            if !worked {
                tokio::select! {
                    _ = state.wake_fanout.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }

    /// Claims one due fan-out and runs it. False when there was none.
    pub async fn fanout_once(&self) -> anyhow::Result<bool> {
        let state = self;
        let now = state.now_ms();
        let Some(msg) = state.store.claim_fanout(now, now + state.lease_ms()).await? else {
            return Ok(false);
        };
        let started = std::time::Instant::now();
        let claim = Claim(AtomicI64::new(msg.fanout_lease));
        let kind = MessageKind::parse(&msg.kind);
        let (done, quiet_ends) = if kind.is_some_and(MessageKind::reaches_its_area) {
            match from_area(state, &msg, &claim).await? {
                Some(ends) => (true, ends),
                None => (false, Vec::new()),
            }
        } else {
            (from_first_message(state, &msg, &claim).await?, Vec::new())
        };
        if done {
            let n = state.store.finish_fanout(msg.id, state.now_ms()).await?;
            tracing::info!(message.id = msg.id, message.kind = %msg.kind, recipients = n, duration_ms = started.elapsed().as_millis() as u64, "fan-out done");
            if let Some(at) = again_after_quiet_hours(state, &msg, &quiet_ends) {
                state.store.fanout_again_at(msg.id, at).await?;
            }
        }
        Ok(true)
    }
}

/// An information message waits for quiet hours rather than skipping the people in them: when
/// some were kept out, the fan-out runs again just after the first of those windows ends
/// (while the message is valid), adding the people and channels now reachable.
fn again_after_quiet_hours(state: &Fanout, msg: &MessageRow, quiet_ends: &[chrono::NaiveTime]) -> Option<i64> {
    if !MessageKind::parse(&msg.kind).is_some_and(MessageKind::waits_out_quiet_hours) || msg.override_quiet {
        return None;
    }
    let now = state.clock.now();
    let at = quiet_ends
        .iter()
        .map(|end| buurtnet_domain::quiet_hours::next_local_time(now, *end).timestamp_millis() + 60_000)
        .min()?;
    (at < msg.valid_until).then_some(at)
}

/// The claim a fan-out holds: its lease, moved on with every block. A fan-out whose lease ran
/// out and was taken over by another process stops at its next block.
struct Claim(AtomicI64);

impl Claim {
    fn lost(msg: &MessageRow) -> anyhow::Error {
        anyhow::anyhow!("the fan-out of message {} was taken over by another process", msg.id)
    }

    /// Moves the lease on; an error when the claim was lost.
    async fn extend(&self, state: &Fanout, msg: &MessageRow) -> anyhow::Result<()> {
        let next = state.now_ms() + state.lease_ms();
        if !state.store.extend_fanout(msg.id, self.0.load(Ordering::SeqCst), next).await? {
            return Err(Claim::lost(msg));
        }
        self.0.store(next, Ordering::SeqCst);
        Ok(())
    }
}

/// Writes one block and lets the workers know.
async fn write(state: &Fanout, msg: &MessageRow, claim: &Claim, targets: &mut Vec<Target>) -> anyhow::Result<()> {
    if targets.is_empty() {
        return Ok(());
    }
    state.store.insert_deliveries(msg.id, msg.priority, msg.send_at.min(state.now_ms()), targets).await?;
    targets.clear();
    state.wake_workers.notify_waiters();
    claim.extend(state, msg).await
}

/// Writes anonymous devices (ascending, none already in a batch of this message) as batches of
/// `worker.batch`, together with the claim's next lease.
async fn write_batches(state: &Fanout, msg: &MessageRow, claim: &Claim, devices: &mut Vec<i64>) -> anyhow::Result<()> {
    if devices.is_empty() {
        return Ok(());
    }
    let size = usize::try_from(state.config.batch).unwrap_or(1).max(1);
    let batches: Vec<Vec<i64>> = devices.chunks(size).map(<[i64]>::to_vec).collect();
    let next = state.now_ms() + state.lease_ms();
    let held = state
        .store
        .insert_device_batches(
            msg.id,
            msg.priority,
            msg.send_at.min(state.now_ms()),
            &batches,
            claim.0.load(Ordering::SeqCst),
            next,
        )
        .await?;
    if !held {
        return Err(Claim::lost(msg));
    }
    claim.0.store(next, Ordering::SeqCst);
    devices.clear();
    state.wake_workers.notify_waiters();
    Ok(())
}

/// The anonymous devices a (resumed) fan-out has already written, in batches or rows.
async fn already_written(state: &Fanout, message_id: i64) -> anyhow::Result<HashSet<i64>> {
    let mut done: HashSet<i64> = state.store.batched_devices(message_id).await?.into_iter().collect();
    done.extend(state.store.devices_with_rows(message_id).await?);
    Ok(done)
}

/// Whether an action's start (or update) should stop fanning out: the action ended.
async fn action_ended(state: &Fanout, msg: &MessageRow) -> anyhow::Result<bool> {
    Ok(match msg.action_id {
        Some(a) if MessageKind::parse(&msg.kind).is_some_and(MessageKind::moot_once_action_ends) => {
            state.store.action(a).await?.is_some_and(|a| a.state == "closed" || a.state == "cancelled")
        }
        _ => false,
    })
}

/// A start or information message: everyone in the area (and in the sender's scope) who wants
/// the topic and can be reached now, each once per channel; push to every device of a person;
/// and the anonymous devices in the area.
///
/// Done: `Some` with the local times at which quiet hours that kept people out end (see
/// [`again_after_quiet_hours`]); `None` when it stopped early (the action ended).
async fn from_area(state: &Fanout, msg: &MessageRow, claim: &Claim) -> anyhow::Result<Option<Vec<chrono::NaiveTime>>> {
    let Some(audience) = state.audience.of_message(msg).await? else {
        tracing::error!(message.id = msg.id, "a message's area no longer parses; nothing is sent");
        return Ok(Some(Vec::new()));
    };
    let allowed = ChannelSet::from_bits(msg.channels);

    let mut recipients = audience.people().await?;
    let mut block: Vec<Target> = Vec::with_capacity(BLOCK);
    let mut push_people: Vec<i64> = Vec::new();
    let mut blocks = 0u64;
    let mut size = FIRST_BLOCK;
    while let Some((participant_id, channel)) = recipients.try_next().await? {
        if !allowed.contains(channel) {
            continue;
        }
        if channel == Channel::Push {
            push_people.push(participant_id);
        } else {
            block.push((participant_id, 0, channel));
        }
        if block.len() + push_people.len() >= size {
            expand_push(state, &mut push_people, &mut block).await?;
            write(state, msg, claim, &mut block).await?;
            blocks += 1;
            size = (size * 2).min(BLOCK);
            if blocks.is_multiple_of(16) && action_ended(state, msg).await? {
                return Ok(Some(Vec::new()));
            }
        }
    }
    expand_push(state, &mut push_people, &mut block).await?;
    write(state, msg, claim, &mut block).await?;
    drop(recipients);
    let quiet_ends = audience.quiet_ends();
    // Anonymous devices have no person to bind an enquiry's reply link to: enquiries reach
    // participants only.
    let to_devices = MessageKind::parse(&msg.kind).is_some_and(MessageKind::reaches_anonymous_devices);
    if allowed.contains(Channel::Push) && to_devices && state.config.device_batches {
        devices_in_batches(state, msg, claim, audience.as_ref()).await?;
    } else if allowed.contains(Channel::Push) && to_devices {
        let mut devices = audience.devices();
        while let Some(id) = devices.try_next().await? {
            block.push((0, id, Channel::Push));
            if block.len() >= BLOCK {
                write(state, msg, claim, &mut block).await?;
            }
        }
        drop(devices);
        // Devices with further fixed places in the area (a device already reached is skipped
        // when written: one delivery per message, device and channel), and "where I am" devices
        // whose coarse cell overlaps the area.
        for id in audience.more_devices(state.now_ms()).await? {
            block.push((0, id, Channel::Push));
            if block.len() >= BLOCK {
                write(state, msg, claim, &mut block).await?;
            }
        }
        write(state, msg, claim, &mut block).await?;
    }
    Ok(Some(quiet_ends))
}

/// The anonymous devices of an area, written as batches (see `alerting.device_batches`): the
/// devices with a fixed place in the area, those with a further place in it, and "where I am"
/// devices whose coarse cell overlaps it, each once. Everywhere (a national alert) the devices
/// come in order of id and are written as they come, so that the first batches go out while
/// the rest of the country is still being read; an area's devices are gathered and sorted first.
async fn devices_in_batches(
    state: &Fanout,
    msg: &MessageRow,
    claim: &Claim,
    audience: &(dyn AreaAudience + '_),
) -> anyhow::Result<()> {
    let skip = already_written(state, msg.id).await?;
    let in_order = audience.everywhere_only();
    let first = usize::try_from(state.config.batch).unwrap_or(1).max(1);
    let mut size = first;
    let mut ids: Vec<i64> = Vec::new();
    let mut devices = audience.devices();
    while let Some(id) = devices.try_next().await? {
        if skip.contains(&id) {
            continue;
        }
        ids.push(id);
        if in_order && ids.len() >= size {
            ids.sort_unstable();
            write_batches(state, msg, claim, &mut ids).await?;
            size = (size * 2).min(first * 16);
            if action_ended(state, msg).await? {
                return Ok(());
            }
        }
    }
    drop(devices);
    // The devices reached through a further place or their coarse cell, but for those already
    // written above (read back when they were written as they came).
    let more = audience.more_devices(state.now_ms()).await?;
    let written = if in_order && !more.is_empty() { already_written(state, msg.id).await? } else { skip };
    ids.extend(more.into_iter().filter(|id| !written.contains(id)));
    ids.sort_unstable();
    ids.dedup();
    write_batches(state, msg, claim, &mut ids).await
}

/// Push for a person is one delivery per device of theirs.
async fn expand_push(state: &Fanout, people: &mut Vec<i64>, block: &mut Vec<Target>) -> anyhow::Result<()> {
    if people.is_empty() {
        return Ok(());
    }
    for (pid, device) in state.store.devices_of(people).await? {
        block.push((pid, device, Channel::Push));
    }
    people.clear();
    Ok(())
}

/// An update, closing or cancellation goes to exactly the people and devices the action's
/// first message reached, on the channel that reached them — once that fan-out is complete.
async fn from_first_message(state: &Fanout, msg: &MessageRow, claim: &Claim) -> anyhow::Result<bool> {
    let Some(action) = msg.action_id else { return Ok(true) };
    let Some(first) = state.store.action(action).await?.and_then(|a| a.first_message_id) else {
        return Ok(true);
    };
    let first_msg = state.store.message(first).await?;
    if first_msg.as_ref().is_some_and(|m| m.fanout_state != "done") {
        state.store.defer_fanout(msg.id, state.now_ms() + 250).await?;
        return Ok(false);
    }
    let mut after = 0i64;
    loop {
        let page = state.store.reached_targets(first, after, BLOCK as i64).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        // A person reached on several devices or channels keeps each.
        let mut block: Vec<Target> = page.into_iter().map(|(_, t)| t).collect();
        dedup(&mut block);
        write(state, msg, claim, &mut block).await?;
    }
    // The devices the first message reached in batches, but for those with a row of their own
    // there (reached one by one above, or not reached at all).
    let rows_there: HashSet<i64> = state.store.devices_with_rows(first).await?.into_iter().collect();
    let done = already_written(state, msg.id).await?;
    let mut after = 0i64;
    loop {
        let page = state.store.reached_batches(first, after, 16).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        let mut ids: Vec<i64> =
            page.into_iter().flat_map(|(_, d)| d).filter(|id| !rows_there.contains(id) && !done.contains(id)).collect();
        ids.sort_unstable();
        write_batches(state, msg, claim, &mut ids).await?;
    }
    Ok(true)
}

fn dedup(block: &mut Vec<Target>) {
    let mut seen: HashMap<(i64, i64, &'static str), ()> = HashMap::with_capacity(block.len());
    block.retain(|t| seen.insert((t.0, t.1, t.2.as_str()), ()).is_none());
}
