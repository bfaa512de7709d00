//! `buurtnet bench fanout`: an urgent action to N recipients (a third each on Web Push with
//! real encryption, SMS and e-mail) through the whole engine — API step, fan-out, workers, the
//! real adapters — against loopback providers: a push service and an SMS gateway (both counting
//! HTTP servers in this process) and a real SMTP server (Debian's aiosmtpd, discarding mail).
//! Measured: send → first provider request, send → every delivery written (durable), and
//! deliveries per second per channel, beside the loopback's raw rates measured in the same run.
//! Optionally the national AMBER case: N anonymous push devices across the country.

use anyhow::Context;
use axum::Router;
use axum::routing::post;
use buurtnet_domain::action::Step;
use buurtnet_domain::registration::{AddressDraft, AddressLocation};
use buurtnet_domain::staff::{Role, Scope};
use buurtnet_domain::{AddressKind, Channel, ChannelSet, SystemClock, Topic, TopicSet};
use buurtnet_server::alerting::actions;
use buurtnet_server::auth::StaffUser;
use buurtnet_server::services::participants::new_address;
use buurtnet_server::wiring::engine;
use buurtnet_server::{App, AppState, Config};
use buurtnet_store::NewDevice;
use buurtnet_store::{NewContact, NewParticipant};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Arrivals at one loopback provider.
#[derive(Default)]
struct Arrivals {
    count: AtomicU64,
    first: Mutex<Option<Instant>>,
    last: Mutex<Option<Instant>>,
}

impl Arrivals {
    fn hit(&self) {
        let now = Instant::now();
        self.count.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut f) = self.first.lock()
            && f.is_none()
        {
            *f = Some(now);
        }
        if let Ok(mut l) = self.last.lock() {
            *l = Some(now);
        }
    }

    fn n(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn first(&self) -> Option<Instant> {
        self.first.lock().ok().and_then(|f| *f)
    }

    fn last(&self) -> Option<Instant> {
        self.last.lock().ok().and_then(|l| *l)
    }

    /// Arrivals per second between the first and the last.
    fn rate(&self) -> f64 {
        let (Some(f), Some(l)) = (self.first(), self.last()) else { return 0.0 };
        let secs = l.duration_since(f).as_secs_f64();
        if secs <= 0.0 { 0.0 } else { self.n().saturating_sub(1) as f64 / secs }
    }

    fn reset(&self) {
        self.count.store(0, Ordering::Relaxed);
        if let Ok(mut f) = self.first.lock() {
            *f = None;
        }
        if let Ok(mut l) = self.last.lock() {
            *l = None;
        }
    }
}

/// A loopback push service and SMS gateway: they count requests and answer as the real ones do
/// (201 for a push, CM's 200 JSON for an SMS).
struct Loopback {
    addr: SocketAddr,
    push: Arc<Arrivals>,
    sms: Arc<Arrivals>,
    raw: Arc<Arrivals>,
}

async fn start_loopback() -> anyhow::Result<Loopback> {
    let (push, sms, raw) = (Arc::new(Arrivals::default()), Arc::new(Arrivals::default()), Arc::new(Arrivals::default()));
    let (p, s, r) = (push.clone(), sms.clone(), raw.clone());
    let app = Router::new()
        .route(
            "/push/{id}",
            post(move || {
                let p = p.clone();
                async move {
                    p.hit();
                    (axum::http::StatusCode::CREATED, "")
                }
            }),
        )
        .route(
            "/v1.0/message",
            post(move |body: axum::body::Bytes| {
                let s = s.clone();
                async move {
                    // One arrival per message of the batch (each has its own reference).
                    let messages = body.windows(11).filter(|w| *w == b"\"reference\"").count().max(1);
                    for _ in 0..messages {
                        s.hit();
                    }
                    axum::Json(json!({"details": "Created 1 message(s)", "errorCode": 0, "messages": []}))
                }
            }),
        )
        .route(
            "/raw",
            post(move || {
                let r = r.clone();
                async move {
                    r.hit();
                    axum::Json(json!({"details": "Created 1 message(s)", "errorCode": 0, "messages": []}))
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Loopback { addr, push, sms, raw })
}

/// Debian's aiosmtpd, discarding every mail; killed on drop.
struct SmtpSink {
    port: u16,
    child: std::process::Child,
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start_smtp_sink() -> anyhow::Result<SmtpSink> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let python = if Path::new("/usr/bin/python3").exists() { "/usr/bin/python3" } else { "python3" };
    let child = std::process::Command::new(python)
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Sink"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .context("cannot start aiosmtpd (install Debian's python3-aiosmtpd)")?;
    let sink = SmtpSink { port, child };
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return Ok(sink);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    anyhow::bail!("aiosmtpd did not start on port {port}")
}

/// The raw loopback rate: as many small POSTs as `concurrency` clients manage in `secs`.
async fn raw_http_rate(url: &str, concurrency: usize, secs: f64) -> anyhow::Result<f64> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let count = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, url, count) = (client.clone(), url.to_string(), count.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < deadline {
                if client.post(&url).body("{}").send().await.is_ok_and(|r| r.status().is_success()) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64())
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct FanoutArgs {
    pub recipients: u64,
    pub postgres: Option<String>,
    pub workers: usize,
    pub runs: usize,
    pub national_devices: u64,
    pub json: bool,
}

/// Where each channel's third of the people lives: three squares of about 1.8 km, 3.4 km apart
/// east of each other around Amersfoort, each inside its own 1.6 km circle.
const CENTRES: [(f64, f64); 3] = [(52.1561, 5.3378), (52.1561, 5.3878), (52.1561, 5.4378)];
const CHANNELS: [Channel; 3] = [Channel::Push, Channel::Sms, Channel::Email];

fn circle(g: usize) -> Value {
    json!({"circle": {"lat": CENTRES[g].0, "lon": CENTRES[g].1, "radius_m": 1600}})
}

/// The benchmark's people: a third each on push, SMS and e-mail, each third on a grid in its
/// own square.
fn population(index: &buurtnet_geo::AreaIndex, n: usize) -> Vec<NewParticipant> {
    let side = ((n as f64 / 3.0).sqrt().ceil() as usize).max(1);
    (0..n)
        .map(|i| {
            let (g, k) = (i % 3, i / 3);
            let (clat, clon) = CENTRES[g];
            let lat = clat - 0.0081 + (k / side) as f64 * (0.0162 / side as f64);
            let lon = clon - 0.01325 + (k % side) as f64 * (0.0265 / side as f64);
            let channel = CHANNELS[g];
            let draft = AddressDraft {
                kind: AddressKind::Home,
                location: AddressLocation::Point { lat, lon },
                channels: [channel].into_iter().collect::<ChannelSet>(),
                quiet_hours: vec![],
            };
            let address = new_address(&draft, lat, lon, false, &index.locate(lat, lon));
            let contact = match channel {
                Channel::Sms => {
                    vec![NewContact { kind: "phone".into(), value: format!("+316{i:08}"), mobile: true, verified_at: Some(0) }]
                }
                Channel::Email => vec![NewContact {
                    kind: "email".into(),
                    value: format!("p{i}@example.org"),
                    mobile: false,
                    verified_at: Some(0),
                }],
                _ => vec![],
            };
            NewParticipant {
                external_id: None,
                language: "nl".into(),
                topics: [Topic::Urgent].into_iter().collect::<TopicSet>().bits(),
                age_confirmed: true,
                paused: false,
                municipality_code: address.municipality_code.clone(),
                created_at: 0,
                contacts: contact,
                addresses: vec![address],
            }
        })
        .collect()
}

/// A subscription's browser keys: a valid P-256 public point and 16 random bytes.
fn subscription_keys() -> (String, String) {
    use base64::Engine;
    let p256dh = buurtnet_delivery::webpush::VapidKey::generate().public_key_base64url();
    let auth: [u8; 16] = rand::random();
    (p256dh, base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(auth))
}

fn config_for(loopback: &Loopback, smtp: &SmtpSink, workers: usize, data_dir: &Path) -> Config {
    let mut c = Config { data_dir: data_dir.to_path_buf(), ..Config::default() };
    c.providers.kind = "live".into();
    c.providers.smtp_url = Some(format!("smtp://127.0.0.1:{}", smtp.port));
    c.providers.smtp_pool_size = 16;
    c.providers.sms.url = format!("http://{}", loopback.addr);
    c.providers.sms.product_token = "bench".into();
    c.providers.sms.messages_per_second = 0;
    c.providers.voice.url = format!("http://{}", loopback.addr);
    c.providers.voice.product_token = "bench".into();
    c.providers.voice.caller = "+3188000000".into();
    c.push.allowed_hosts = Some(vec![loopback.addr.to_string()]);
    c.replica.snapshot_file = false;
    c.alerting.workers = workers;
    c.abuse_limits.enabled = false;
    c
}

/// One send: the figures of one run.
struct Run {
    answered_ms: f64,
    first_request_ms: f64,
    durable_ms: f64,
    done_ms: f64,
}

async fn one_send(
    state: &AppState,
    loopback: &Loopback,
    area: Value,
    http_expect: u64,
    timeout: Duration,
) -> anyhow::Result<(Run, i64)> {
    let user = StaffUser { id: 0, role: Role::Dispatcher, scope: Scope::National };
    loopback.push.reset();
    loopback.sms.reset();
    let body = json!({"kind": "gas_leak", "status": "test", "area": area, "title": "Benchmark", "body": "Dit is een test van buurtnet."});
    let req = actions::parse_new(&body, &state.areas.current(), &user, state.clock.now())
        .map_err(|e| anyhow::anyhow!("the benchmark action is invalid: {e:?}"))?;
    let id = actions::create(state, &user, req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let t0 = Instant::now();
    let v = actions::step(state, &user, id, Step::Send, &json!({})).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let answered_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let message_id = v.message_id().context("no message id")?;
    let mut durable_ms = None;
    let mut first_request_ms = None;
    let mut reads = 0u32;
    loop {
        let elapsed = t0.elapsed();
        anyhow::ensure!(elapsed < timeout, "the send did not finish within {timeout:?}");
        if first_request_ms.is_none() {
            first_request_ms = [loopback.push.first(), loopback.sms.first()]
                .into_iter()
                .flatten()
                .min()
                .map(|f| f.duration_since(t0).as_secs_f64() * 1000.0);
        }
        if durable_ms.is_none() && state.store.message(message_id).await?.is_some_and(|m| m.fanout_state == "done") {
            durable_ms = Some(elapsed.as_secs_f64() * 1000.0);
        }
        // Until the providers on loopback have had what they expect, their counters tell (the
        // database is read only after that, so that the reads do not slow the run they measure).
        let http_done = loopback.push.n() + loopback.sms.n() >= http_expect;
        if durable_ms.is_some() && http_done {
            // What is still waiting, read through the small index of unfinished deliveries
            // (the unary `+` keeps SQLite's planner off the per-message key, which would read
            // every row of the message each time and slow the run it measures).
            let waiting = state
                .store
                .admin_strings(&format!(
                    "SELECT CAST(COUNT(*) AS TEXT) FROM deliveries WHERE state IN ('pending', 'sending') AND +message_id = {message_id}"
                ))
                .await?;
            if waiting.first().is_some_and(|s| s == "0") {
                break;
            }
            reads += 1;
        }
        let pause = match (durable_ms.is_some(), http_done) {
            (false, _) => 2,
            (true, false) => 5,
            // Only e-mail left (read in the database), or still waiting after a second of
            // 20 ms reads (e-mail in the run for everyone): a coarser step, so that the count
            // does not slow the sending it waits for.
            (true, true) if http_expect == 0 || reads >= 50 => 200,
            (true, true) => 20,
        };
        tokio::time::sleep(Duration::from_millis(pause)).await;
    }
    let done_ms = t0.elapsed().as_secs_f64() * 1000.0;
    let run = Run {
        answered_ms,
        first_request_ms: first_request_ms.unwrap_or(f64::NAN),
        durable_ms: durable_ms.unwrap_or(f64::NAN),
        done_ms,
    };
    Ok((run, message_id))
}

fn med(v: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = v.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    super::bench::median(&mut v)
}

pub async fn bench_fanout(folder: &Path, args: &FanoutArgs) -> anyhow::Result<()> {
    let scratch = match &args.postgres {
        Some(url) => super::bench::scratch_postgres(url, "postgres", "fanout").await?,
        None => super::bench::scratch_sqlite().await?,
    };
    let store = scratch.store.clone();
    let index = super::bench::load_geography(folder, &[&store]).await?;
    let loopback = start_loopback().await?;
    let smtp = start_smtp_sink().await?;
    let data = tempfile::tempdir()?;
    let n = args.recipients as usize;
    let started = Instant::now();
    let people = population(&index, n);
    let mut ids = Vec::with_capacity(n);
    for chunk in people.chunks(10_000) {
        ids.extend(store.insert_participants(chunk).await?);
    }
    let push_people: Vec<i64> = ids.iter().step_by(3).copied().collect();
    store.add_participant_devices(&push_people, 0).await?;
    let (p256dh, auth) = subscription_keys();
    store
        .execute_admin(&format!(
            "UPDATE devices SET endpoint = 'http://{}/push/' || CAST(id AS TEXT), p256dh = '{p256dh}', auth = '{auth}'",
            loopback.addr
        ))
        .await?;
    eprintln!("{} participants ({} push devices) written in {:.1} s", n, push_people.len(), started.elapsed().as_secs_f64());

    let config = config_for(&loopback, &smtp, args.workers, data.path());
    let state = AppState(Arc::new(App::new(config, store.clone(), Arc::new(SystemClock), None).await?));
    state.live.catch_up(&store).await?;
    // The loopback's raw rate is measured before and after the sends, with nothing else of the
    // benchmark running, and the higher one counts: on a noisy machine (a database still busy
    // with the last run) one measurement alone can come out low and flatter the ratios.
    let raw_url = format!("http://{}/raw", loopback.addr);
    let raw_before = raw_http_rate(&raw_url, 128, 3.0).await?;
    let running = engine::start(&state, args.workers);
    let everyone = json!({"union": [circle(0), circle(1), circle(2)]});
    let per_group = [n.div_ceil(3), (n + 1) / 3, n / 3];
    let mut runs = Vec::new();
    let mut rates: [Vec<f64>; 3] = Default::default();
    let mut sustained: [Vec<f64>; 2] = Default::default();
    let mut email_message = None;
    for r in 0..args.runs.max(1) {
        let (run, _) =
            one_send(&state, &loopback, everyone.clone(), (per_group[0] + per_group[1]) as u64, Duration::from_secs(3600))
                .await?;
        eprintln!(
            "run {}, everyone: answered {:.1} ms, first provider request {:.1} ms, every delivery durable {:.0} ms, all sent {:.1} s",
            r + 1,
            run.answered_ms,
            run.first_request_ms,
            run.durable_ms,
            run.done_ms / 1000.0
        );
        runs.push(run);
        // Each channel alone: its third of the people, from send to the last one sent.
        for g in 0..3 {
            let (run, message_id) = one_send(
                &state,
                &loopback,
                circle(g),
                if CHANNELS[g] == Channel::Email { 0 } else { per_group[g] as u64 },
                Duration::from_secs(3600),
            )
            .await?;
            if CHANNELS[g] == Channel::Email {
                email_message = Some(message_id);
            }
            let rate = per_group[g] as f64 / (run.done_ms / 1000.0);
            eprintln!(
                "run {}, {} only: {} in {:.1} s = {rate:.0}/s",
                r + 1,
                CHANNELS[g].as_str(),
                per_group[g],
                run.done_ms / 1000.0
            );
            rates[g].push(rate);
            // The provider's side: its arrivals per second from the first to the last (the
            // sustained rate once sending runs, without the fan-out before it and the last
            // results written after it).
            match CHANNELS[g] {
                Channel::Push => sustained[0].push(loopback.push.rate()),
                Channel::Sms => sustained[1].push(loopback.sms.rate()),
                _ => {}
            }
        }
    }
    running.stop().await;
    let raw_after = raw_http_rate(&raw_url, 128, 3.0).await?;
    anyhow::ensure!(loopback.raw.n() > 0, "the raw loopback measurement reached nothing");
    let raw_http = raw_before.max(raw_after);
    let email = email_message.context("no e-mail run")?;
    // As many sends in flight as the engine's workers have.
    let engine_concurrency = state.config.alerting.worker.concurrency * args.workers.max(1);
    let raw_smtp = raw_smtp_rate(&state, email, engine_concurrency, 10_000).await?;
    eprintln!("loopback raw: HTTP {raw_before:.0} requests/s before, {raw_after:.0} after; SMTP {raw_smtp:.0} mails/s");

    let mut national = Value::Null;
    if args.national_devices > 0 {
        national = bench_national(&state, &loopback, args).await?;
    }
    let figures = json!({
        "bench": "fanout",
        "backend": scratch.label,
        "machine": super::bench::machine(),
        "recipients": n,
        "workers": args.workers,
        "runs": runs.len(),
        "answered_ms": med(runs.iter().map(|r| r.answered_ms)),
        "first_request_ms": med(runs.iter().map(|r| r.first_request_ms)),
        "durable_ms": med(runs.iter().map(|r| r.durable_ms)),
        "all_sent_ms": med(runs.iter().map(|r| r.done_ms)),
        "push_per_s": med(rates[0].iter().copied()),
        "sms_per_s": med(rates[1].iter().copied()),
        "email_per_s": med(rates[2].iter().copied()),
        "loopback_raw_per_s": raw_http,
        "loopback_raw_before_per_s": raw_before,
        "loopback_raw_after_per_s": raw_after,
        "smtp_raw_per_s": raw_smtp,
        "sms_vs_raw": med(rates[1].iter().copied()) / raw_http,
        "push_sustained_per_s": med(sustained[0].iter().copied()),
        "sms_sustained_per_s": med(sustained[1].iter().copied()),
        "sms_sustained_vs_raw": med(sustained[1].iter().copied()) / raw_http,
        "email_vs_raw": med(rates[2].iter().copied()) / raw_smtp,
        "national": national,
    });
    if args.json {
        println!("{figures}");
    } else {
        println!("{}", serde_json::to_string_pretty(&figures)?);
    }
    drop(smtp);
    scratch.finish().await?;
    Ok(())
}

/// The national AMBER case: N anonymous push devices spread over the country, one national
/// alert, time until the last push arrived.
async fn bench_national(state: &AppState, loopback: &Loopback, args: &FanoutArgs) -> anyhow::Result<Value> {
    let n = args.national_devices as usize;
    let started = Instant::now();
    let (p256dh, auth) = subscription_keys();
    let index = state.areas.current();
    let mut batch = Vec::with_capacity(10_000);
    let mut written = 0usize;
    let mut i = 0u64;
    while written < n {
        i += 1;
        // A deterministic spread over the country's box; points outside the country are skipped.
        let (lat, lon) = (50.75 + ((i * 7919) % 10_000) as f64 * 0.000_28, 3.36 + ((i * 104_729) % 10_000) as f64 * 0.000_38);
        if !index.locate(lat, lon).in_netherlands() {
            continue;
        }
        batch.push(NewDevice {
            endpoint: Some(format!("http://{}/push/n{i}", loopback.addr)),
            p256dh: Some(p256dh.clone()),
            auth: Some(auth.clone()),
            token_hash: format!("bench{i}"),
            language: "nl".into(),
            topics: [Topic::Urgent].into_iter().collect::<TopicSet>().bits(),
            place: buurtnet_store::DevicePlace::point(lat, lon),
            extra_places: Vec::new(),
        });
        if batch.len() == 10_000 || written + batch.len() == n {
            written += batch.len();
            state.store.register_anonymous_devices(&batch, 0).await?;
            batch.clear();
        }
    }
    eprintln!("{n} anonymous devices written in {:.1} s", started.elapsed().as_secs_f64());
    let user = StaffUser { id: 0, role: Role::Dispatcher, scope: Scope::National };
    let running = engine::start(state, args.workers);
    loopback.push.reset();
    let body = json!({"kind": "missing_person", "level": "national", "status": "test", "title": "AMBER Alert (benchmark)",
                      "body": "Dit is een test van buurtnet.", "consent": {"by": "benchmark"}});
    let req = actions::parse_new(&body, &index, &user, state.clock.now()).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let id = actions::create(state, &user, req).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    // A national action needs a second person's approval (`approval.second_person`), before
    // the clock starts.
    let second = StaffUser { id: user.id + 1, ..user.clone() };
    let version = state.store.action(id).await?.context("the benchmark action is gone")?.version;
    buurtnet_server::alerting::approval::approve(state, &second, id, &json!({"version": version}))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let t0 = Instant::now();
    let v = actions::step(state, &user, id, Step::Send, &json!({})).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let message_id = v.message_id().context("no message id")?;
    // Done when the fan-out is and nothing waits any more (single deliveries or device batches).
    let durable_ms = loop {
        if let Some(m) = state.store.message(message_id).await?
            && m.fanout_state == "done"
        {
            break t0.elapsed().as_secs_f64() * 1000.0;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    while state.store.queue_depth(state.now_ms()).await?.0 > 0 {
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(3600), "the national alert did not finish within an hour");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let last_ms = loopback.push.last().map_or(f64::NAN, |l| l.duration_since(t0).as_secs_f64() * 1000.0);
    let expect = loopback.push.n();
    anyhow::ensure!(expect >= n as u64, "only {expect} pushes for {n} devices");
    running.stop().await;
    let figures = json!({
        "devices": n,
        "pushes": expect,
        "durable_ms": durable_ms,
        "last_push_ms": last_ms,
        "push_per_s": loopback.push.rate(),
    });
    eprintln!("national: {figures}");
    Ok(figures)
}

/// The SMTP loopback's raw rate: the same adapter (the same pooled lettre transport) sending
/// the same alert e-mail (HTML and text, as stored for `message_id`) straight to the same SMTP
/// server, `n` times with as many sends in flight as the engine's workers, without the engine
/// around it. The rate runs from the start to the last accepted mail: a send that hangs
/// (aiosmtpd now and then leaves one unanswered) is left out rather than stretching the
/// measurement by its time-out.
async fn raw_smtp_rate(state: &AppState, message_id: i64, concurrency: usize, n: usize) -> anyhow::Result<f64> {
    use buurtnet_delivery::provider::{Content, Destination, Outcome, Outgoing, Provider, Urgency};
    let smtp_config = state.config.providers.smtp().context("no SMTP configured")?;
    let smtp = Arc::new(buurtnet_delivery::Smtp::from_config(&smtp_config)?);
    let row = state.store.message(message_id).await?.context("the e-mail message is gone")?;
    let stored: buurtnet_delivery::worker::StoredContent = serde_json::from_str(&row.content)?;
    let template = Outgoing {
        delivery_id: 0,
        reference: String::new(),
        thread: stored.thread.clone(),
        channel: Channel::Email,
        to: Destination::Email("raw@example.org".into()),
        language: "nl".into(),
        content: Content {
            title: stored.nl.title.clone(),
            text: stored.nl.email_text.clone().unwrap_or_else(|| stored.nl.text.clone()),
            html: stored.nl.html.clone(),
            unsubscribe_url: Some("http://127.0.0.1/mijn".into()),
            ..Content::default()
        },
        urgency: Urgency::Normal,
        time_to_live: Duration::from_secs(3600),
    };
    let started = Instant::now();
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let last_ok_us = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (smtp, next, failed, template) = (smtp.clone(), next.clone(), failed.clone(), template.clone());
        let last_ok_us = last_ok_us.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n as u64 {
                    break;
                }
                let mut m = template.clone();
                m.delivery_id = 1_000_000_000 + i as i64;
                m.reference = format!("raw{i}");
                // A send that hangs counts as failed rather than stalling the measurement.
                let sent = tokio::time::timeout(Duration::from_secs(10), smtp.send(&m)).await;
                if matches!(sent, Ok(Outcome::Accepted { .. })) {
                    last_ok_us.fetch_max(started.elapsed().as_micros() as u64, Ordering::Relaxed);
                } else {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let failed = failed.load(Ordering::Relaxed);
    if failed > 0 {
        eprintln!("raw SMTP: {failed} of {n} sends failed or hung (not counted)");
    }
    let span = (last_ok_us.load(Ordering::Relaxed) as f64 / 1e6).max(1e-3);
    Ok(n.saturating_sub(failed as usize) as f64 / span)
}
