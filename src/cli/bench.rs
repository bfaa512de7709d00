//! `buurtnet bench …`: measurements recorded in BENCHMARKS.md. Each run builds its own
//! databases (a SQLite file in a temporary folder; a fresh PostgreSQL database when an admin URL
//! is given) and removes them afterwards (the targeting benchmark can keep them for later runs,
//! see `bench_targeting`).

use anyhow::Context;
use buurtnet_geo::AreaIndex;
use buurtnet_server::services::demo::Population;
use buurtnet_server::services::import;
use buurtnet_store::{ConnectOptions, Store};
use buurtnet_targeting::geography;
use clap::Subcommand;
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
        /// its snapshot file); 0 leaves the cold start out.
        #[arg(long, default_value_t = 3)]
        cold_runs: usize,
        /// Keep the PostgreSQL and PostGIS databases (`buurtnet_bench_kept_targeting`,
        /// `buurtnet_bench_kept_postgis`) for a later `--reuse`.
        #[arg(long)]
        keep_postgres: bool,
        /// Measure on the population an earlier run kept (`--keep-sqlite` PATH, and with
        /// `--keep-postgres` its PostgreSQL databases) instead of generating it again.
        #[arg(long)]
        reuse: bool,
        /// Leave out the same counts and streams read from the database alone (slow at 3 M).
        #[arg(long)]
        replica_only: bool,
    },
    /// Address look-ups: exact postcode + house number in the in-memory address book (one
    /// core), side by side with the same look-ups in the SQLite address table.
    Addresses {
        /// Addresses in the book (the whole country has about 10 million).
        #[arg(long, default_value_t = 10_000_000)]
        addresses: usize,
        /// Addresses in the SQLite table measured beside it.
        #[arg(long, default_value_t = 1_000_000)]
        table_addresses: usize,
        /// Look-ups per round in the book (half of them miss); 5 rounds.
        #[arg(long, default_value_t = 2_000_000)]
        lookups: usize,
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
    /// Reports for the whole country on a populated database (`--database-url`, e.g. the one
    /// `bench targeting --keep-sqlite` leaves), after importing this many history actions over
    /// ten years (idempotent: the same references each run).
    Reports {
        #[arg(long, default_value_t = 100_000)]
        history: u64,
        #[arg(long, default_value_t = 5)]
        runs: usize,
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
    scratch_sqlite_at(None, false).await
}

pub(super) async fn scratch_sqlite_at(keep: Option<&Path>, reuse: bool) -> anyhow::Result<Scratch> {
    let (path, dir) = match keep {
        Some(p) => {
            anyhow::ensure!(reuse || !p.exists(), "{} exists already", p.display());
            anyhow::ensure!(!reuse || p.exists(), "{} does not exist: nothing to reuse", p.display());
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
    scratch_postgres_named(admin, label, &name, Kept::No).await
}

/// Whether a scratch PostgreSQL database outlives the run, and whether it is one kept earlier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kept {
    No,
    Keep,
    Reuse,
}

pub(super) async fn scratch_postgres_named(admin: &str, label: &'static str, name: &str, kept: Kept) -> anyhow::Result<Scratch> {
    if kept != Kept::Reuse {
        let admin_store = Store::connect(admin, &ConnectOptions { max_connections: 1, ..ConnectOptions::default() }).await?;
        admin_store.execute_admin(&format!("DROP DATABASE IF EXISTS {name}")).await?;
        admin_store.execute_admin(&format!("CREATE DATABASE {name}")).await?;
        admin_store.close().await;
    }
    let base = admin.rsplit_once('/').map(|(b, _)| b).context("the PostgreSQL URL needs a database part")?;
    let store = Store::connect(&format!("{base}/{name}"), &ConnectOptions::default()).await?;
    store.migrate().await?;
    let drop_db = (kept == Kept::No).then(|| (admin.to_string(), name.to_string()));
    Ok(Scratch { store, label, drop_db, _dir: None })
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

pub(super) fn p95(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let i = ((v.len() as f64) * 0.95).ceil() as usize;
    v[i.clamp(1, v.len()) - 1]
}

pub(super) fn peak_rss_mb() -> f64 {
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
    if let BenchCommand::Reports { history, runs } = cmd {
        let args = super::bench_reports::ReportsArgs { database_url: database_url.to_string(), history, runs };
        return super::bench_reports::bench_reports(&args).await;
    }
    let folder = geodata.context("the benchmarks need the CBS geodata: --geodata or BUURTNET_GEODATA")?;
    match cmd {
        BenchCommand::Replies { .. } | BenchCommand::Reports { .. } => Ok(()),
        BenchCommand::Addresses { addresses, table_addresses, lookups } => {
            super::bench_addresses::bench_addresses(addresses, table_addresses, lookups).await
        }
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
        BenchCommand::Targeting {
            participants,
            postgres,
            postgis,
            runs,
            json,
            keep_sqlite,
            cold_runs,
            keep_postgres,
            reuse,
            replica_only,
        } => {
            let opts = super::bench_targeting::TargetingOptions {
                runs,
                want_json: json,
                keep_sqlite,
                cold_runs,
                keep_postgres,
                reuse,
                replica_only,
            };
            super::bench_targeting::bench_targeting(folder, participants, postgres.as_deref(), postgis.as_deref(), opts).await
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
            import::ImportOptions { verified: true, skip_invalid: false, ..Default::default() },
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
