//! `buurtnet bench replies`: many concurrent clients send replies with a photo to a running
//! server, through the reply page's own form (multipart), as residents' phones would. The
//! benchmark makes a sent enquiry (to an empty spot in the North Sea, so nobody is messaged)
//! and one personal link per reply in the server's database, then fires; it reports replies per
//! second, latency percentiles, and checks that every accepted reply is stored with its photo.

use buurtnet_store::actions::NewMessage;
use buurtnet_store::enquiries::NewEnquiry;
use buurtnet_store::{ConnectOptions, Store};
use rand::Rng;
use std::sync::Arc;
use std::time::Instant;

pub struct RepliesArgs {
    pub url: String,
    pub database_url: String,
    pub replies: usize,
    pub concurrency: usize,
    pub photo_kib: usize,
    /// A camera-like photo (2400 × 1800, smooth with grain: scaled down by the server) instead
    /// of a noise picture of the same size (no scaling, but the most work to decode).
    pub camera: bool,
}

/// A noisy JPEG of at least `kib` KiB (noise does not compress).
fn photo(kib: usize) -> anyhow::Result<Vec<u8>> {
    let mut side = 512u32;
    loop {
        let mut rng = rand::rng();
        let img = image::RgbImage::from_fn(side, side * 3 / 4, |_, _| image::Rgb([rng.random(), rng.random(), rng.random()]));
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&img)?;
        if out.len() >= kib * 1024 || side >= 4096 {
            return Ok(out);
        }
        side = (f64::from(side) * ((kib * 1024) as f64 / out.len() as f64).sqrt() * 1.05) as u32 + 8;
    }
}

/// A camera-like JPEG of at least `kib` KiB: 2400 × 1800 pixels (4.3 megapixels, as a phone's
/// reduced-size photo) of gradients with grain, at the JPEG quality that reaches the size.
fn camera_photo(kib: usize) -> anyhow::Result<Vec<u8>> {
    let (w, h) = (2400u32, 1800u32);
    let mut rng = rand::rng();
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let grain: i32 = rng.random_range(-10..10);
        let c = |v: u32| (v as i32 + grain).clamp(0, 255) as u8;
        image::Rgb([c(x * 255 / w), c(y * 255 / h), c((x + y) / 2 % 256)])
    });
    let mut quality = 70u8;
    loop {
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality).encode_image(&img)?;
        if out.len() >= kib * 1024 || quality >= 98 {
            return Ok(out);
        }
        quality += 4;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[i.clamp(1, sorted.len()) - 1]
}

pub async fn bench_replies(args: &RepliesArgs) -> anyhow::Result<()> {
    let store = Store::connect(&args.database_url, &ConnectOptions { max_connections: 4, ..ConnectOptions::default() }).await?;
    let now = buurtnet_domain::Clock::now(&buurtnet_domain::SystemClock).timestamp_millis();
    let enquiry = store
        .insert_enquiry(&NewEnquiry {
            scope: "NL".into(),
            municipality: "GM0307".into(),
            incident_type: "burglary".into(),
            occurred_at: now - 3_600_000,
            lat: 52.6,
            lon: 3.5,
            radius_m: 50,
            description: "Benchmark".into(),
            questions: "Benchmark".into(),
            requested_by: -1,
            now,
        })
        .await?;
    let message = NewMessage {
        action_id: None,
        kind: "enquiry".into(),
        status: "test".into(),
        priority: 9,
        override_quiet: false,
        channels: 0,
        topic: "enquiry".into(),
        area: Some(r#"{"circle": {"lat": 52.6, "lon": 3.5, "radius_m": 50}}"#.into()),
        scope: "NL".into(),
        content: "{}".into(),
        created_by: -2,
        send_at: now,
        valid_until: now + 60_000,
    };
    // A new request is at its first version.
    store.approve_enquiry(enquiry, -2, 1, "Benchmark", "Benchmark", &message, now).await?;
    let mut tokens = Vec::with_capacity(args.replies);
    for i in 0..args.replies {
        let (token, hash) = buurtnet_server::replies::links::new_token();
        store
            .insert_reply_token(
                &hash,
                buurtnet_store::replies::Answers::Enquiry(enquiry),
                900_000_000 + i as i64,
                now,
                now + 86_400_000,
            )
            .await?;
        tokens.push(token);
    }
    let jpeg = Arc::new(if args.camera { camera_photo(args.photo_kib)? } else { photo(args.photo_kib)? });
    eprintln!(
        "enquiry {enquiry}: {} replies, {} concurrent clients, {} photo {} KiB, against {}",
        args.replies,
        args.concurrency,
        if args.camera { "camera-like 2400x1800" } else { "noise" },
        jpeg.len() / 1024,
        args.url
    );
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency).build()?;
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (client, queue, jpeg, url) = (client.clone(), queue.clone(), jpeg.clone(), args.url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures: Vec<String> = Vec::new();
            loop {
                let token = match queue.lock() {
                    Ok(mut q) => q.pop(),
                    Err(_) => None,
                };
                let Some(token) = token else { break };
                let form = reqwest::multipart::Form::new()
                    .text("text", "Ik zag twee mannen op een scooter wegrijden richting het station.")
                    .text("lang", "nl")
                    .part("photos", reqwest::multipart::Part::bytes(jpeg.to_vec()).file_name("foto.jpg"));
                let t = Instant::now();
                let r = client
                    .post(format!("{url}/antwoord/{token}"))
                    .header("accept", "application/json")
                    .multipart(form)
                    .send()
                    .await;
                match r {
                    Ok(resp) if resp.status().as_u16() == 201 => latencies.push(t.elapsed().as_secs_f64() * 1000.0),
                    Ok(resp) => failures.push(format!("HTTP {}", resp.status())),
                    Err(e) => failures.push(format!("{e}")),
                }
            }
            (latencies, failures)
        }));
    }
    let mut latencies = Vec::new();
    let mut failures = Vec::new();
    for t in tasks {
        let (l, f) = t.await?;
        latencies.extend(l);
        failures.extend(f);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let stored: Vec<String> =
        store.admin_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM replies WHERE enquiry_id = {enquiry}")).await?;
    let photos: Vec<String> = store
        .admin_strings(&format!(
            "SELECT CAST(COUNT(*) AS TEXT) FROM reply_photos WHERE reply_id IN (SELECT id FROM replies WHERE enquiry_id = {enquiry})"
        ))
        .await?;
    let stored: usize = stored.first().and_then(|s| s.parse().ok()).unwrap_or(0);
    let photos: usize = photos.first().and_then(|s| s.parse().ok()).unwrap_or(0);
    println!(
        "replies: {} accepted of {} in {elapsed:.1} s = {:.1} replies/s; latency p50 {:.0} ms, p95 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        args.replies,
        latencies.len() as f64 / elapsed,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or(0.0),
    );
    println!("stored: {stored} replies with {photos} photos; failed requests: {}", failures.len());
    if let Some(f) = failures.first() {
        println!("first failure: {f}");
    }
    anyhow::ensure!(stored == latencies.len() && photos == latencies.len(), "an accepted reply was not stored");
    store.close().await;
    Ok(())
}
