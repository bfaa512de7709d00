//! `buurtnet bench …`: measurements recorded in BENCHMARKS.md. Each run builds its own
//! databases (a SQLite file in a temporary folder; a fresh PostgreSQL database when an admin URL
//! is given) and removes them afterwards.

use anyhow::Context;
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{Clock, SystemClock, Topic};
use buurtnet_geo::AreaIndex;
use buurtnet_server::services::demo::Population;
use buurtnet_server::services::import;
use buurtnet_store::{ConnectOptions, Store};
use buurtnet_targeting::replica::{LiveIndex, LoadSource};
use buurtnet_targeting::{geography, reach};
use clap::Subcommand;
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Bulk import: generate a CSV of N participants spread by district inhabitants and import it.
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Also run on PostgreSQL: an admin URL of a server where a scratch database may be created.
        #[arg(long)]
        postgres: Option<String>,
    },
    /// Point lookup: which areas contain a point, for N population-weighted points.
    Lookup {
        #[arg(long, default_value_t = 500_000)]
        points: u64,
        #[arg(long)]
        postgres: Option<String>,
        /// Measure on a full-resolution-like copy instead, built in memory: every 2024 district
        /// split into four neighbourhoods (about 14,000) and every outline of every level given
        /// a vertex at least every this many metres.
        #[arg(long)]
        densify_metres: Option<f64>,
    },
    /// Targeting: count and full resolution latency for circles and areas, against PostGIS.
    Targeting {
        #[arg(long, default_value_t = 3_000_000)]
        participants: u64,
        /// PostgreSQL admin URL for our PostgreSQL backend's scratch database.
        #[arg(long)]
        postgres: Option<String>,
        /// PostgreSQL admin URL of a server with PostGIS, for the side-by-side comparison.
        #[arg(long)]
        postgis: Option<String>,
        /// Repetitions per count measurement.
        #[arg(long, default_value_t = 21)]
        runs: usize,
        /// End the output with one JSON line holding every figure.
        #[arg(long)]
        json: bool,
        /// Keep the SQLite database at this path (e.g. to measure a server on it afterwards).
        #[arg(long)]
        keep_sqlite: Option<std::path::PathBuf>,
        /// Repetitions of each cold start of the replica (full load from the database, and from
        /// its snapshot file).
        #[arg(long, default_value_t = 3)]
        cold_runs: usize,
    },
    /// Replies to an enquiry: concurrent clients post replies with a photo (about 1 MB) to a
    /// running server (`buurtnet serve` on the same database); replies/s, latency, none lost.
    Replies {
        /// The running server.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        /// The server's database (the links are made there); default: the configured one.
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long, default_value_t = 2000)]
        replies: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
        /// Size of the photo each reply carries, in KiB (a noisy JPEG of about this size).
        #[arg(long, default_value_t = 1024)]
        photo_kib: usize,
        /// Send a camera-like 2400 × 1800 photo of about that size (the server scales it down)
        /// instead of a noise picture.
        #[arg(long)]
        camera: bool,
    },
    /// Fan-out: an action to N recipients (a third each on push, SMS, e-mail) through the whole
    /// engine against loopback providers; first request, durable, deliveries/s, raw loopback.
    Fanout {
        #[arg(long, default_value_t = 100_000)]
        recipients: u64,
        /// PostgreSQL admin URL: run on a scratch PostgreSQL database instead of SQLite.
        #[arg(long)]
        postgres: Option<String>,
        /// Delivery workers.
        #[arg(long, default_value_t = 2)]
        workers: usize,
        /// Sends to the same population (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Also the national AMBER case with this many anonymous push devices (e.g. 3000000).
        #[arg(long, default_value_t = 0)]
        national_devices: u64,
        /// Print one JSON object with every figure.
        #[arg(long)]
        json: bool,
    },
}

pub(super) struct Scratch {
    pub(super) store: Store,
    pub(super) label: &'static str,
    drop_db: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

pub(super) async fn scratch_sqlite() -> anyhow::Result<Scratch> {
    scratch_sqlite_at(None).await
}

async fn scratch_sqlite_at(keep: Option<&Path>) -> anyhow::Result<Scratch> {
    let (path, dir) = match keep {
        Some(p) => {
            anyhow::ensure!(!p.exists(), "{} exists already", p.display());
            (p.to_path_buf(), None)
        }
        None => {
            let dir = tempfile::tempdir()?;
            (dir.path().join("bench.db"), Some(dir))
        }
    };
    let url = format!("sqlite://{}", path.display());
    let store = Store::connect(&url, &ConnectOptions::default()).await?;
    store.migrate().await?;
    Ok(Scratch { store, label: "sqlite", drop_db: None, _dir: dir })
}

pub(super) async fn scratch_postgres(admin: &str, label: &'static str, purpose: &str) -> anyhow::Result<Scratch> {
    let name = format!("buurtnet_bench_{}_{purpose}", std::process::id());
    let admin_store = Store::connect(admin, &ConnectOptions { max_connections: 1, ..ConnectOptions::default() }).await?;
    admin_store.execute_admin(&format!("DROP DATABASE IF EXISTS {name}")).await?;
    admin_store.execute_admin(&format!("CREATE DATABASE {name}")).await?;
    admin_store.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b).context("the PostgreSQL URL needs a database part")?;
    let store = Store::connect(&format!("{base}/{name}"), &ConnectOptions::default()).await?;
    store.migrate().await?;
    Ok(Scratch { store, label, drop_db: Some((admin.to_string(), name)), _dir: None })
}

impl Scratch {
    pub(super) async fn finish(self) -> anyhow::Result<()> {
        self.store.close().await;
        if let Some((admin, name)) = self.drop_db {
            let a = Store::connect(&admin, &ConnectOptions { max_connections: 1, ..ConnectOptions::default() }).await?;
            a.execute_admin(&format!("DROP DATABASE IF EXISTS {name}")).await?;
            a.close().await;
        }
        Ok(())
    }
}

pub(super) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn p95(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64) * 0.95).ceil() as usize;
    v[i.clamp(1, v.len()) - 1]
}

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

pub(super) async fn load_geography(folder: &Path, stores: &[&Store]) -> anyhow::Result<AreaIndex> {
    let f = folder.to_path_buf();
    let records = tokio::task::spawn_blocking(move || buurtnet_geo::load_folder(&f)).await??;
    let rows = geography::rows_from_records(&records);
    for s in stores {
        s.replace_areas(&rows, "bench").await?;
    }
    Ok(AreaIndex::new(records))
}

pub(super) fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("model name")).map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    format!("{cpu}, {} cores", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

pub async fn run(cmd: BenchCommand, geodata: Option<&Path>, database_url: &str) -> anyhow::Result<()> {
    eprintln!("machine: {}", machine());
    if let BenchCommand::Replies { url, database_url: db, replies, concurrency, photo_kib, camera } = cmd {
        let args = super::bench_replies::RepliesArgs {
            url,
            database_url: db.unwrap_or_else(|| database_url.to_string()),
            replies,
            concurrency,
            photo_kib,
            camera,
        };
        return super::bench_replies::bench_replies(&args).await;
    }
    let folder = geodata.context("the benchmarks need the CBS geodata: --geodata or BUURTNET_GEODATA")?;
    match cmd {
        BenchCommand::Replies { .. } => Ok(()),
        BenchCommand::Fanout { recipients, postgres, workers, runs, national_devices, json } => {
            let args = super::bench_fanout::FanoutArgs { recipients, postgres, workers, runs, national_devices, json };
            super::bench_fanout::bench_fanout(folder, &args).await
        }
        BenchCommand::Import { rows, postgres } => bench_import(folder, rows, postgres.as_deref()).await,
        BenchCommand::Lookup { points, densify_metres: Some(m), .. } => {
            super::bench_dense::bench_dense_lookup(folder, points, m).await
        }
        BenchCommand::Lookup { points, postgres, densify_metres: None } => {
            bench_lookup(folder, points, postgres.as_deref()).await
        }
        BenchCommand::Targeting { participants, postgres, postgis, runs, json, keep_sqlite, cold_runs } => {
            let opts = TargetingOptions { runs, want_json: json, keep_sqlite, cold_runs };
            bench_targeting(folder, participants, postgres.as_deref(), postgis.as_deref(), opts).await
        }
    }
}

async fn bench_import(folder: &Path, rows: u64, postgres: Option<&str>) -> anyhow::Result<()> {
    let mut backends = vec![scratch_sqlite().await?];
    if let Some(pg) = postgres {
        backends.push(scratch_postgres(pg, "postgres", "import").await?);
    }
    let stores: Vec<&Store> = backends.iter().map(|b| &b.store).collect();
    let index = load_geography(folder, &stores).await?;
    // The CSV: population-weighted points, half with a postcode-less point, as municipalities export.
    let dir = tempfile::tempdir()?;
    let csv_path = dir.path().join("participants.csv");
    {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
        writeln!(out, "{}", import::COLUMNS.join(","))?;
        let mut pop = Population::new(&index, rows, 42, 0.0, 0);
        let mut i = 0u64;
        while let Some((p, points)) = pop.next_participant() {
            i += 1;
            let (lat, lon) = points[0];
            let channels = buurtnet_domain::ChannelSet::from_bits(p.addresses[0].channels).names().join(";");
            let phone = p.contacts.iter().find(|c| c.kind == "phone").map(|c| c.value.as_str()).unwrap_or("");
            writeln!(out, "ext-{i},import{i}@example.org,{phone},{lat:.6},{lon:.6},,,home,{channels},urgent;enquiry,nl")?;
        }
    }
    let size = std::fs::metadata(&csv_path)?.len();
    let arc = Arc::new(index);
    for b in backends {
        let f = std::fs::File::open(&csv_path)?;
        let start = Instant::now();
        let report = import::import_csv(
            &b.store,
            arc.clone(),
            std::io::BufReader::with_capacity(1 << 20, f),
            size,
            import::ImportOptions { verified: true, skip_invalid: false },
            0,
            &|_, _, _| {},
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let secs = start.elapsed().as_secs_f64();
        println!(
            "import {:<8} {:>9} rows in {:>6.1} s = {:>8.0} rows/s ({} participants, {} addresses)",
            b.label,
            report.lines,
            secs,
            report.lines as f64 / secs,
            report.participants,
            report.addresses
        );
        b.finish().await?;
    }
    Ok(())
}

async fn bench_lookup(folder: &Path, points: u64, postgres: Option<&str>) -> anyhow::Result<()> {
    let mut backends = vec![scratch_sqlite().await?];
    if let Some(pg) = postgres {
        backends.push(scratch_postgres(pg, "postgres", "lookup").await?);
    }
    let stores: Vec<&Store> = backends.iter().map(|b| &b.store).collect();
    let index = load_geography(folder, &stores).await?;
    let mut pop = Population::new(&index, points, 7, 0.0, 0);
    let mut pts = Vec::with_capacity(points as usize);
    while let Some((_, p)) = pop.next_participant() {
        pts.push(p[0]);
    }
    for b in backends {
        // Every process builds its index from the areas in its database.
        let start = Instant::now();
        let rows = b.store.all_areas().await?;
        let idx = AreaIndex::new(geography::records_from_rows(&rows)?);
        let load = start.elapsed().as_secs_f64();
        let mut rates = Vec::new();
        let mut found = 0usize;
        for _ in 0..5 {
            let start = Instant::now();
            found = pts.iter().filter(|(lat, lon)| idx.locate(*lat, *lon).municipality.is_some()).count();
            rates.push(pts.len() as f64 / start.elapsed().as_secs_f64());
        }
        println!(
            "lookup {:<8} index of {} areas loaded in {:.2} s; {} points, all levels: median {:.0} points/s on one core ({} in a municipality)",
            b.label,
            idx.len(),
            load,
            pts.len(),
            median(&mut rates),
            found
        );
        b.finish().await?;
    }
    Ok(())
}

struct AreaCase {
    name: &'static str,
    body: Value,
    postgis: PostgisQuery,
}

enum PostgisQuery {
    Circle(f64, f64, f64),
    Area(&'static str),
}

fn cases() -> Vec<AreaCase> {
    let (lat, lon) = (52.1561, 5.3878);
    let circle = |name, r: f64| AreaCase {
        name,
        body: json!({"circle": {"lat": lat, "lon": lon, "radius_m": r}}),
        postgis: PostgisQuery::Circle(lat, lon, r),
    };
    let area = |name, code: &'static str| AreaCase { name, body: json!({"areas": [code]}), postgis: PostgisQuery::Area(code) };
    vec![
        circle("circle 400 m", 400.0),
        circle("circle 1 km", 1000.0),
        circle("circle 5 km", 5000.0),
        area("municipality GM0307", "GM0307"),
        area("police unit RE03", "RE03"),
        area("country NL", "NL"),
    ]
}

struct TargetingOptions {
    runs: usize,
    want_json: bool,
    keep_sqlite: Option<std::path::PathBuf>,
    cold_runs: usize,
}

async fn bench_targeting(
    folder: &Path,
    participants: u64,
    postgres: Option<&str>,
    postgis: Option<&str>,
    opts: TargetingOptions,
) -> anyhow::Result<()> {
    let TargetingOptions { runs, want_json, keep_sqlite, cold_runs } = opts;
    let keep_sqlite = keep_sqlite.as_deref();
    let mut backends = vec![scratch_sqlite_at(keep_sqlite).await?];
    if let Some(pg) = postgres {
        backends.push(scratch_postgres(pg, "postgres", "targeting").await?);
    }
    let gis = match postgis {
        Some(url) => {
            let s = scratch_postgres(url, "postgis", "postgis").await?;
            s.store.postgis_setup().await?;
            Some(s)
        }
        None => None,
    };
    let stores: Vec<&Store> = backends.iter().map(|b| &b.store).collect();
    let index = load_geography(folder, &stores).await?;
    let now = SystemClock.now();

    // One pass of the generator feeds every database the same people.
    let start = Instant::now();
    let mut pop = Population::new(&index, participants, 2026, 0.2, now.timestamp_millis());
    let mut made = 0u64;
    let mut addresses = 0u64;
    loop {
        let chunk = pop.chunk(50_000);
        if chunk.is_empty() {
            break;
        }
        let mut ids = Vec::new();
        for s in &stores {
            ids = s.insert_participants(&chunk).await?;
            // App users have a registered device (push is reachable only through one).
            s.add_participant_devices(&buurtnet_server::services::demo::app_users(&chunk, &ids), now.timestamp_millis()).await?;
        }
        if let Some(g) = &gis {
            let mut pts = Vec::new();
            let mut next_address = addresses as i64 + 1;
            for (p, id) in chunk.iter().zip(&ids) {
                for a in &p.addresses {
                    pts.push((next_address, *id, a.lat, a.lon));
                    next_address += 1;
                }
            }
            g.store.postgis_insert(&pts).await?;
        }
        made += chunk.len() as u64;
        addresses += chunk.iter().map(|p| p.addresses.len() as u64).sum::<u64>();
        eprint!("\rgenerated {made} participants, {addresses} addresses ({:.0} s)", start.elapsed().as_secs_f64());
    }
    eprintln!();
    if let Some(g) = &gis {
        g.store.postgis_index().await?;
    }
    for b in &backends {
        b.store.execute_admin("ANALYZE").await?;
    }
    println!("{made} participants with {addresses} addresses, loaded in {:.0} s", start.elapsed().as_secs_f64());

    // Each process keeps an in-memory replica for counting; load it as a server would at start.
    let mut replicas = Vec::new();
    for b in &backends {
        let t = Instant::now();
        let live = LiveIndex::default();
        let snap = live.catch_up(&b.store).await?;
        println!(
            "{:<8} replica of {} addresses loaded in {:.1} s; peak RSS so far {:.0} MB",
            b.label,
            snap.len(),
            t.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
        let mut ms = Vec::new();
        for _ in 0..51 {
            let t = Instant::now();
            live.catch_up(&b.store).await?;
            ms.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        println!("{:<8} catching up with the change feed (nothing new): p50 {:.3} ms", b.label, median(&mut ms));
        replicas.push(live);
    }

    // Cold start of a process: the replica loaded from the database, then from its snapshot file
    // (written as `serve` writes it after a load) plus catching up with the change feed.
    let snapshot_dir = tempfile::tempdir()?;
    let mut cold = serde_json::Map::new();
    for b in &backends {
        let id = b.store.get_or_init_meta("database_id", &format!("bench-{}", std::process::id())).await?;
        let path = snapshot_dir.path().join(format!("{}.snapshot", b.label));
        let mut from_db = Vec::new();
        for _ in 0..cold_runs.max(1) {
            let t = Instant::now();
            let live = LiveIndex::default();
            live.catch_up(&b.store).await?;
            from_db.push(t.elapsed().as_secs_f64());
        }
        let writer = LiveIndex::with_file(path.clone(), id.clone());
        writer.catch_up(&b.store).await?;
        let t = Instant::now();
        anyhow::ensure!(writer.save().await?, "the snapshot file was not written");
        let write_s = t.elapsed().as_secs_f64();
        let bytes = std::fs::metadata(&path)?.len();
        let mut from_file = Vec::new();
        for _ in 0..cold_runs.max(1) {
            let t = Instant::now();
            let live = LiveIndex::with_file(path.clone(), id.clone());
            let snap = live.catch_up(&b.store).await?;
            from_file.push(t.elapsed().as_secs_f64());
            anyhow::ensure!(live.loaded_from() == Some(LoadSource::File), "the snapshot file was not used");
            anyhow::ensure!(snap.len() == writer.snapshot().len(), "the snapshot file holds another replica");
        }
        let (db50, file50) = (median(&mut from_db), median(&mut from_file));
        println!(
            "{:<8} cold start of the replica: from the database p50 {:.2} s, from the snapshot file p50 {:.2} s ({:.0} MB, written in {:.2} s); {} runs each",
            b.label,
            db50,
            file50,
            bytes as f64 / 1e6,
            write_s,
            from_db.len()
        );
        cold.insert(
            b.label.to_string(),
            json!({"from_database_p50_s": db50, "from_snapshot_file_p50_s": file50, "snapshot_file_mb": bytes as f64 / 1e6, "snapshot_write_s": write_s}),
        );
    }

    let mut results = Vec::new();
    for case in cases() {
        let mut row = json!({"area": case.name});
        let mut ours_best_count = f64::MAX;
        for (b, live) in backends.iter().zip(&replicas) {
            let plan = || -> anyhow::Result<reach::Plan> {
                let body = json!({"area": case.body, "topic": "urgent", "override_time_windows": true});
                let req = reach::parse_request(&body, &index, now).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(reach::Plan::new(req, Scope::National, &index))
            };
            let big = matches!(case.postgis, PostgisQuery::Area("RE03" | "NL"));
            let n = if big { runs.clamp(1, 5) } else { runs.max(1) };
            let mut count_ms = Vec::new();
            let mut people = 0;
            for _ in 0..n {
                // What POST /api/v1/targeting/count does: cover the area while catching up with the
                // change feed, then count.
                let t = Instant::now();
                let (snap, plan) = tokio::join!(live.catch_up(&b.store), async { plan() });
                let (snap, plan) = (snap?, plan?);
                let c = reach::count_live(&snap, &plan);
                count_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                people = c.people;
            }
            // The same count straight from the database (no replica), for comparison.
            let mut db_ms = Vec::new();
            for _ in 0..n.min(if big { 1 } else { 5 }) {
                let t = Instant::now();
                let c = reach::count(&b.store, plan()?).await?;
                db_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(c.people == people, "database and replica disagree on {}", case.name);
            }
            let db50 = median(&mut db_ms);
            // Full resolution as sending does it: catch up, then stream every (person, channel).
            let mut resolve_ms = Vec::new();
            let mut recipients = 0u64;
            for _ in 0..n.min(if big { 3 } else { 7 }) {
                let t = Instant::now();
                let snap = live.catch_up(&b.store).await?;
                recipients = reach::recipients_live(snap, plan()?).fold(0u64, |n, _| async move { n + 1 }).await;
                resolve_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            // The same stream read from the database instead of the replica.
            let mut db_resolve_ms = Vec::new();
            for _ in 0..if big { 1 } else { 3 } {
                let t = Instant::now();
                let n = reach::recipients(&b.store, plan()?).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?;
                db_resolve_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(n == recipients, "database and replica streams disagree on {}", case.name);
            }
            let db_r50 = median(&mut db_resolve_ms);
            let (c50, c95, r50, r95) = (median(&mut count_ms), p95(&mut count_ms), median(&mut resolve_ms), p95(&mut resolve_ms));
            ours_best_count = ours_best_count.min(c50);
            println!(
                "{:<20} {:<8} people {:>8}  count p50 {:>8.2} ms p95 {:>8.2} ms (database {:>8.1} ms) | resolve {:>8} messages p50 {:>8.1} ms p95 {:>8.1} ms (database {:>8.1} ms)",
                case.name, b.label, people, c50, c95, db50, recipients, r50, r95, db_r50
            );
            row[b.label] = json!({"people": people, "count_p50_ms": c50, "count_p95_ms": c95, "count_from_database_p50_ms": db50,
                "messages": recipients, "resolve_p50_ms": r50, "resolve_p95_ms": r95, "resolve_from_database_p50_ms": db_r50});
        }
        if let Some(g) = &gis {
            let geometry = match &case.postgis {
                PostgisQuery::Area(code) => Some(backends[0].store.get_area(code).await?.context("area missing")?.geometry),
                PostgisQuery::Circle(..) => None,
            };
            let big = matches!(case.postgis, PostgisQuery::Area("RE03" | "NL"));
            let n = if big { runs.clamp(1, 3) } else { runs.clamp(1, 11) };
            let mut ms = Vec::new();
            let mut people = 0;
            for _ in 0..n {
                let t = Instant::now();
                people = match (&case.postgis, &geometry) {
                    (PostgisQuery::Circle(lat, lon, r), _) => g.store.postgis_count_circle(*lat, *lon, *r).await?,
                    (PostgisQuery::Area(_), Some(geo)) => g.store.postgis_count_geometry(geo).await?,
                    _ => 0,
                };
                ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            let (p50, p95v) = (median(&mut ms), p95(&mut ms));
            println!(
                "{:<20} {:<8} people {:>8}  count p50 {:>8.1} ms p95 {:>8.1} ms | PostGIS / our fastest count = {:.1}x",
                case.name,
                "postgis",
                people,
                p50,
                p95v,
                p50 / ours_best_count
            );
            row["postgis"] = json!({"people": people, "count_p50_ms": p50, "count_p95_ms": p95v});
            row["ratio_postgis_over_ours"] = json!(p50 / ours_best_count);
        }
        results.push(row);
    }
    let rss = peak_rss_mb();
    println!("peak resident memory of this process: {rss:.0} MB");
    if want_json {
        println!(
            "{}",
            json!({"participants": made, "addresses": addresses, "topic": Topic::Urgent.as_str(), "machine": machine(), "peak_rss_mb": rss, "cold_start": cold, "results": results})
        );
    }
    for b in backends {
        b.finish().await?;
    }
    if let Some(g) = gis {
        g.finish().await?;
    }
    Ok(())
}
