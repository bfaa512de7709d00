//! `buurtnet bench lookup --densify-metres M`: point lookup on outlines as heavy as the official
//! full-resolution files. The shared demo data is simplified (tens of vertices per area) and has
//! neighbourhoods for two regions only, so the benchmark builds a national copy in memory: each
//! 2024 district cut into four neighbourhoods (its bounding box in quarters), and every outline
//! of every level densified to a vertex every M metres.

use super::bench::{machine, median};
use buurtnet_domain::AreaLevel;
use buurtnet_geo::{AreaIndex, AreaRecord};
use buurtnet_server::services::demo::Population;
use geo::{BooleanOps, BoundingRect, Densify, Haversine, MultiPolygon, Rect};
use std::path::Path;
use std::time::Instant;

fn quarters(d: &AreaRecord, out: &mut Vec<AreaRecord>) {
    let Some(r) = d.geometry.bounding_rect() else { return };
    let c = r.center();
    let cells = [
        Rect::new(r.min(), c),
        Rect::new((c.x, r.min().y), (r.max().x, c.y)),
        Rect::new((r.min().x, c.y), (c.x, r.max().y)),
        Rect::new(c, r.max()),
    ];
    for (i, cell) in cells.iter().enumerate() {
        let part: MultiPolygon<f64> = d.geometry.intersection(&cell.to_polygon());
        if part.0.is_empty() {
            continue;
        }
        out.push(AreaRecord {
            code: format!("BU{}{:02}", d.code.trim_start_matches("WK"), i + 1),
            name: format!("{} {}", d.name, i + 1),
            level: AreaLevel::Neighbourhood,
            parent_code: Some(d.code.clone()),
            province_code: None,
            inhabitants: d.inhabitants.map(|n| n / 4),
            geometry: part,
        });
    }
}

pub async fn bench_dense_lookup(folder: &Path, points: u64, metres: f64) -> anyhow::Result<()> {
    anyhow::ensure!(metres >= 0.5, "--densify-metres must be at least 0.5");
    let f = folder.to_path_buf();
    let started = Instant::now();
    let (original, dense) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let records = buurtnet_geo::load_folder(&f)?;
        let mut areas: Vec<AreaRecord> = records.iter().filter(|a| a.level != AreaLevel::Neighbourhood).cloned().collect();
        for d in records.iter().filter(|a| a.level == AreaLevel::District) {
            quarters(d, &mut areas);
        }
        for a in &mut areas {
            if a.level != AreaLevel::Country {
                a.geometry = Haversine.densify(&a.geometry, metres);
            }
        }
        Ok((AreaIndex::new(records), AreaIndex::new(areas)))
    })
    .await??;
    let built = started.elapsed().as_secs_f64();
    let vertices = |level: AreaLevel| {
        let v: Vec<usize> = dense
            .areas()
            .iter()
            .filter(|a| a.level == level)
            .map(|a| {
                a.geometry.0.iter().map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()).sum()
            })
            .collect();
        (v.len(), v.iter().sum::<usize>())
    };
    println!("machine: {}", machine());
    for level in AreaLevel::ALL.iter().filter(|l| **l != AreaLevel::Country) {
        let (n, total) = vertices(*level);
        if n > 0 {
            println!(
                "  {:<14} {:>6} areas, {:>11} vertices, {:>7.0} per area",
                level.as_str(),
                n,
                total,
                total as f64 / n as f64
            );
        }
    }
    println!("built and indexed in {built:.1} s");
    let mut pop = Population::new(&original, points, 7, 0.0, 0);
    let mut pts = Vec::with_capacity(points as usize);
    while let Some((_, p)) = pop.next_participant() {
        pts.push(p[0]);
    }
    let mut rates = Vec::new();
    let mut found = (0usize, 0usize);
    for _ in 0..5 {
        let start = Instant::now();
        found = (0, 0);
        for (lat, lon) in &pts {
            let l = dense.locate(*lat, *lon);
            found.0 += usize::from(l.municipality.is_some());
            found.1 += usize::from(l.neighbourhood.is_some());
        }
        rates.push(pts.len() as f64 / start.elapsed().as_secs_f64());
    }
    println!(
        "lookup densified: {} points, all levels: median {:.0} points/s on one core ({} in a municipality, {} in a neighbourhood)",
        pts.len(),
        median(&mut rates),
        found.0,
        found.1
    );
    Ok(())
}
