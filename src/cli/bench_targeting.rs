//! `buurtnet bench targeting`: counts and full resolutions of circles and areas on the replica
//! (and from the database alone), side by side with PostGIS. With `--keep-sqlite` and
//! `--keep-postgres` the population stays for later runs with `--reuse`, which measure without
//! generating it again (several minutes at 3 M), e.g. two builds one after the other.

use super::bench::{Kept, Scratch, load_geography, machine, median, p95, peak_rss_mb, scratch_postgres_named, scratch_sqlite_at};
use anyhow::Context;
use buurtnet_domain::staff::Scope;
use buurtnet_domain::{Clock, SystemClock, Topic};
use buurtnet_geo::AreaIndex;
use buurtnet_server::services::demo::Population;
use buurtnet_store::Store;
use buurtnet_targeting::replica::{LiveIndex, LoadSource};
use buurtnet_targeting::{geography, reach as targeting};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

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

pub(super) struct TargetingOptions {
    pub(super) runs: usize,
    pub(super) want_json: bool,
    pub(super) keep_sqlite: Option<std::path::PathBuf>,
    pub(super) cold_runs: usize,
    pub(super) keep_postgres: bool,
    pub(super) reuse: bool,
    pub(super) replica_only: bool,
}

/// The median, or NaN for no measurements.
fn median_or_nan(v: &mut [f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { median(v) }
}

/// The areas from the database (a reused population keeps the areas it was made with).
async fn stored_geography(store: &Store) -> anyhow::Result<AreaIndex> {
    let rows = store.all_areas().await?;
    anyhow::ensure!(!rows.is_empty(), "the reused database holds no areas");
    Ok(AreaIndex::new(geography::records_from_rows(&rows)?))
}

pub(super) async fn bench_targeting(
    folder: &Path,
    participants: u64,
    postgres: Option<&str>,
    postgis: Option<&str>,
    opts: TargetingOptions,
) -> anyhow::Result<()> {
    let TargetingOptions { runs, want_json, keep_sqlite, cold_runs, keep_postgres, reuse, replica_only } = opts;
    anyhow::ensure!(!reuse || keep_sqlite.is_some(), "--reuse needs --keep-sqlite PATH of an earlier run");
    let keep_sqlite = keep_sqlite.as_deref();
    let kept = match (reuse, keep_postgres) {
        (true, _) => Kept::Reuse,
        (false, true) => Kept::Keep,
        (false, false) => Kept::No,
    };
    let pg_name = |purpose: &str| match kept {
        Kept::No => format!("buurtnet_bench_{}_{purpose}", std::process::id()),
        _ => format!("buurtnet_bench_kept_{purpose}"),
    };
    let mut backends: Vec<Scratch> = vec![scratch_sqlite_at(keep_sqlite, reuse).await?];
    if let Some(pg) = postgres {
        backends.push(scratch_postgres_named(pg, "postgres", &pg_name("targeting"), kept).await?);
    }
    let gis = match postgis {
        Some(url) => {
            let s = scratch_postgres_named(url, "postgis", &pg_name("postgis"), kept).await?;
            if !reuse {
                s.store.postgis_setup().await?;
            }
            Some(s)
        }
        None => None,
    };
    let stores: Vec<&Store> = backends.iter().map(|b| &b.store).collect();
    let index = if reuse { stored_geography(stores[0]).await? } else { load_geography(folder, &stores).await? };
    let now = SystemClock.now();

    // One pass of the generator feeds every database the same people.
    let start = Instant::now();
    let mut pop = Population::new(&index, if reuse { 0 } else { participants }, 2026, 0.2, now.timestamp_millis());
    let mut made = 0u64;
    let mut addresses = 0u64;
    if reuse {
        made = stores[0].count_rows("participants").await? as u64;
        addresses = stores[0].count_rows("addresses").await? as u64;
        for s in &stores[1..] {
            anyhow::ensure!(
                s.count_rows("addresses").await? as u64 == addresses,
                "the kept databases hold different populations"
            );
        }
    }
    loop {
        let chunk = if reuse { Vec::new() } else { pop.chunk(50_000) };
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
    if let Some(g) = &gis
        && !reuse
    {
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
    for b in backends.iter().filter(|_| cold_runs > 0) {
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
            let plan = || -> anyhow::Result<targeting::Plan> {
                let body = json!({"area": case.body, "topic": "urgent", "override_time_windows": true});
                let req = targeting::parse_request(&body, &index, now).map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(targeting::Plan::new(req, Scope::National, &index))
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
                let c = targeting::count_live(&snap, &plan);
                count_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                people = c.people;
            }
            // The parts of that count one by one (µs, p50): catching up, parsing the area, the
            // plan (covers, scope), counting on the replica.
            let (mut catch_us, mut parse_us, mut plan_us, mut walk_us) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for _ in 0..n {
                let t = Instant::now();
                let snap = live.catch_up(&b.store).await?;
                catch_us.push(t.elapsed().as_secs_f64() * 1e6);
                let body = json!({"area": case.body, "topic": "urgent", "override_time_windows": true});
                let t = Instant::now();
                let req = targeting::parse_request(&body, &index, now).map_err(|e| anyhow::anyhow!("{e}"))?;
                parse_us.push(t.elapsed().as_secs_f64() * 1e6);
                let t = Instant::now();
                let plan = targeting::Plan::new(req, Scope::National, &index);
                plan_us.push(t.elapsed().as_secs_f64() * 1e6);
                let t = Instant::now();
                std::hint::black_box(targeting::count_live(&snap, &plan));
                walk_us.push(t.elapsed().as_secs_f64() * 1e6);
            }
            let parts = [median(&mut catch_us), median(&mut parse_us), median(&mut plan_us), median(&mut walk_us)];
            println!(
                "{:<20} {:<8} parts of a count (p50 µs): catch up {:.0}, parse {:.0}, plan {:.0}, count {:.0}",
                case.name, b.label, parts[0], parts[1], parts[2], parts[3]
            );
            // The same count straight from the database (no replica), for comparison.
            let mut db_ms = Vec::new();
            for _ in 0..if replica_only { 0 } else { n.min(if big { 1 } else { 5 }) } {
                let t = Instant::now();
                let c = targeting::count(&b.store, plan()?).await?;
                db_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(c.people == people, "database and replica disagree on {}", case.name);
            }
            let db50 = median_or_nan(&mut db_ms);
            // Full resolution as sending does it: catch up, then stream every (person, channel).
            let mut resolve_ms = Vec::new();
            let mut recipients = 0u64;
            for _ in 0..n.min(if big { 3 } else { 7 }) {
                let t = Instant::now();
                let snap = live.catch_up(&b.store).await?;
                recipients = targeting::recipients_live(snap, plan()?).fold(0u64, |n, _| async move { n + 1 }).await;
                resolve_ms.push(t.elapsed().as_secs_f64() * 1000.0);
            }
            // The same stream read from the database instead of the replica.
            let mut db_resolve_ms = Vec::new();
            for _ in 0..if replica_only {
                0
            } else if big {
                1
            } else {
                3
            } {
                let t = Instant::now();
                let n = targeting::recipients(&b.store, plan()?).try_fold(0u64, |n, _| async move { Ok(n + 1) }).await?;
                db_resolve_ms.push(t.elapsed().as_secs_f64() * 1000.0);
                anyhow::ensure!(n == recipients, "database and replica streams disagree on {}", case.name);
            }
            let db_r50 = median_or_nan(&mut db_resolve_ms);
            let (c50, c95, r50, r95) = (median(&mut count_ms), p95(&mut count_ms), median(&mut resolve_ms), p95(&mut resolve_ms));
            ours_best_count = ours_best_count.min(c50);
            println!(
                "{:<20} {:<8} people {:>8}  count p50 {:>8.2} ms p95 {:>8.2} ms (database {:>8.1} ms) | resolve {:>8} messages p50 {:>8.1} ms p95 {:>8.1} ms (database {:>8.1} ms)",
                case.name, b.label, people, c50, c95, db50, recipients, r50, r95, db_r50
            );
            row[b.label] = json!({"people": people, "count_p50_ms": c50, "count_p95_ms": c95,
                "parts_p50_us": {"catch_up": parts[0], "parse": parts[1], "plan": parts[2], "count": parts[3]}, "count_from_database_p50_ms": db50,
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
